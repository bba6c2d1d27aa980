"""MST: differentially private synthetic twins (McKenna, Miklau & Sheldon, JPC 2021; NIST 2018 winner).

Every column is a finite set of cells from its *public* domain — categorical and ordinal levels, the
event's 0/1, numeric and time bins from declared bounds and cut points — plus a cell for missing
values in every feature column; nothing about the domain is read from the data. With the privacy loss
``ρ`` (zero-concentrated DP) split in three as in the paper:

1. ``ρ/3``: every 1-way marginal is measured with Gaussian noise; their independence model (noisy counts
   clipped at 0 and normalised, ``n p_a ⊗ p_b`` for a pair) is formed from them (post-processing);
2. ``ρ/3``: ``d − 1`` pairs of columns are chosen one at a time by a private selection (OpenDP's
   noisy max, ``ρ/3/(d−1)`` each) among the pairs that join two unconnected parts, scored by how badly
   the 1-way model represents their 2-way marginal (L1 error): a maximum spanning tree;
3. ``ρ/3``: the chosen 2-way marginals are measured with Gaussian noise, a graphical model (private-pgm,
   ``mbi`` mirror descent) is fitted to all measurements, and twins are drawn from it along the tree.

Every noisy step is an OpenDP 0.16 measurement (``dp.mbi`` on a polars ``Context`` compositor, which
refuses any query beyond its budget); the accounting is the library's. ``(ε, δ)`` is turned into ``ρ``
through OpenDP's zCDP → approximate-DP conversion (``make_zCDP_to_approxDP``), and the ``ε`` reported is
that conversion applied to the compositor's own privacy map. ``δ`` defaults to ``1/n²`` (``n`` training
rows, treated as public). OpenDP's ``dp.mbi.MST()`` fails in 0.16 on a float rounding when its selection
budget is split (opendp/opendp#2789); here the split is asked a hair (1e-9 relative) below its share,
so the composed loss stays within the budget it is checked against.

Cells become values after sampling: levels as they are; a numeric or time bin ``(a, b]`` (the first
one ``[min, b]``) a value drawn **uniformly** within it (whole numbers for integer columns). Deviations
from the paper: no domain compression of rare 1-way cells (keep domains small with few cut points), and
OpenDP's noisy max stands in for the exponential mechanism (both select by a noisy score).

What the guarantee covers: the fitted model and every twin drawn from it (post-processing). It says
nothing about figures computed on the real rows elsewhere in a run (prediction, fidelity, attacks).
OpenDP draws its noise from the operating system's secure generator, which cannot be seeded (a known
seed would let anyone subtract the noise): two fits differ; a fitted (or saved and loaded) model samples
the same twins for the same seed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._table import CATEGORICAL, EVENT, NUMERIC, ORDINAL, TIME
from .base import Generator, seed_rng

#: Relative margin by which a split budget is asked below its share (see the module docstring).
HAIR = 1e-9


class PublicDomainError(ValueError):
    """A column has no public domain (levels or bounds), or the data holds values outside it."""

    def __init__(self, message: str, columns: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.columns = list(columns)


def _opendp():
    try:
        import opendp.prelude as dp
    except ImportError as exc:  # pragma: no cover - the dp extra is part of the test extra
        raise ImportError("the mst generator needs OpenDP: pip install 'syntwin[dp]'") from exc
    dp.enable_features("contrib")
    return dp


def rho_for(epsilon: float, delta: float) -> float:
    """The largest ρ whose zCDP → (ε, δ) conversion (OpenDP's) stays within ``epsilon`` at ``delta``."""
    dp = _opendp()
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)

    def eps_of(rho: float) -> float:
        m = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=1.0 / math.sqrt(2.0 * rho)))
        return m.map(1.0).epsilon(delta)

    lo, hi = 1e-12, max(1.0, float(epsilon))
    for _ in range(200):  # bisection on a monotone map
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if eps_of(mid) <= epsilon else (lo, mid)
        if hi / lo < 1 + 1e-12:
            break
    return lo


def epsilon_of(measurement: Any, d_in: Any, delta: float) -> float:
    """ε at ``delta`` of a ρ-zCDP OpenDP measurement, by OpenDP's conversion."""
    dp = _opendp()
    return float(dp.c.make_zCDP_to_approxDP(measurement).map(d_in).epsilon(delta))


def _spanning_tree_algorithm(record: dict, iters: int):
    """A ``dp.mbi`` algorithm doing MST's three steps inside one OpenDP adaptive composition."""
    dp = _opendp()
    from mbi import Domain
    from mbi.estimation import mirror_descent
    from opendp._internal import _make_transformation, _new_pure_function
    from opendp.extras.mbi._utilities import (
        Algorithm,
        Marginals,
        get_associated_metric,
        get_cardinalities,
        get_std,
        make_noise_marginals,
        make_stable_marginals,
    )

    def spend(make, scale: float, d_in, budget: float):
        """``make(scale)`` with the scale raised until the library's privacy map is within ``budget``."""
        m = make(scale)
        for _ in range(50):
            used = m.map(d_in)
            if used <= budget:
                return m, scale
            scale *= math.sqrt(used / budget) * (1.0 + 1e-9)  # ρ falls with the square of the scale
            m = make(scale)
        raise RuntimeError(f"no noise scale spends at most {budget}")

    @dataclass(kw_only=True, frozen=True)
    class SpanningTree(Algorithm):
        """ρ/3 on 1-way marginals, ρ/3 on d − 1 noisy-max selections, ρ/3 on the selected 2-way marginals."""

        log: dict = field(default_factory=dict, compare=False)

        @property
        def needs_model(self) -> bool:
            return False  # the 1-way model is fitted inside make_marginals

        def make_marginals(self, input_domain, input_metric, output_measure, d_in, d_out, *, marginals,
                           model):
            lp = get_associated_metric(output_measure)
            names = list(input_domain.columns)
            sizes = get_cardinalities(input_domain)
            ones, edges = [(c,) for c in names], list(itertools.combinations(names, 2))
            t_tables = make_stable_marginals(input_domain, input_metric, lp, ones + edges)
            d_tables = t_tables.map(d_in)
            rounds = max(len(names) - 1, 1)
            d_part, d_pick = d_out / 3.0 * (1.0 - HAIR), d_out / 3.0 / rounds * (1.0 - HAIR)
            space = t_tables.output_space
            sens = max(d_tables.values())  # one patient changes any count table by 1 (contributions=1)

            def noise(cliques):
                return spend(lambda s: make_noise_marginals(*space, output_measure, cliques, scale=s),
                             sens * math.sqrt(len(cliques) / (2.0 * d_part)), d_tables, d_part)

            def pick(candidates, expected):
                """OpenDP noisy max over the L1 errors ||M_ab − n p_a ⊗ p_b|| of the candidate pairs."""
                t_score = _make_transformation(
                    *space, output_domain=dp.vector_domain(dp.atom_domain(T="f64", nan=False)),
                    output_metric=dp.linf_distance(T="f64", monotonic=False),
                    function=lambda tabs: [float(np.abs(tabs[e] - expected[e]).sum()) for e in candidates],
                    stability_map=lambda d: max(d[e] for e in candidates))
                m, scale = spend(lambda s: t_score >> dp.m.then_noisy_max(output_measure, scale=s),
                                 sens / math.sqrt(2.0 * d_pick), d_tables, d_pick)  # non-monotonic: 2Δ
                return m, scale

            def function(qbl):
                m_one, s_one = noise(ones)
                oneway = qbl(m_one)
                # the independence model of the noisy 1-way counts (post-processing): n p_a, p_a >= 0
                total = float(np.mean([np.asarray(lm.noisy_measurement).sum() for lm in oneway]))
                p = {lm.clique[0]: np.maximum(np.asarray(lm.noisy_measurement, dtype=np.float64), 0.0) for lm in oneway}
                p = {c: v / v.sum() if v.sum() > 0 else np.full(len(v), 1.0 / len(v)) for c, v in p.items()}
                expected = {e: total * np.outer(p[e[0]], p[e[1]]) for e in edges}
                parent = {c: c for c in names}

                def root(c):
                    while parent[c] != c:
                        c = parent[c]
                    return c

                chosen, rho_pick = [], 0.0
                for _ in range(len(names) - 1):  # Kruskal on noisy scores: only pairs joining two parts
                    candidates = [e for e in edges if root(e[0]) != root(e[1])]
                    m_pick, s_pick = pick(candidates, expected)
                    e = candidates[int(qbl(m_pick))]
                    rho_pick += float(m_pick.map(d_tables))
                    chosen.append(e)
                    parent[root(e[0])] = root(e[1])
                measured = []
                if chosen:
                    m_two, s_two = noise(chosen)
                    measured = qbl(m_two)
                every = Marginals().add(*oneway, *measured)
                fitted = mirror_descent(Domain.fromdict(sizes), every.flatten(), iters=int(iters))
                self.log.update(edges=chosen, rho_oneway=float(m_one.map(d_tables)), rho_select=rho_pick,
                                rho_measure=float(m_two.map(d_tables)) if chosen else 0.0,
                                sigma_oneway=float(get_std(output_measure, s_one)),
                                sigma_pairs=float(get_std(output_measure, s_two)) if chosen else None,
                                selection_scale=float(s_pick) if chosen else None)
                return every, fitted

            d_mids = [d_part, *([d_pick] * (len(names) - 1)), *([d_part] if len(names) > 1 else [])]
            return (t_tables >> dp.c.then_adaptive_composition(output_measure, d_in=d_tables, d_mids=d_mids)
                    >> _new_pure_function(function))

    return SpanningTree(oneway="unkeyed", log=record)


@dataclass
class _Column:
    """One modelled column as cells: ``levels`` (codes) or ``edges`` (bins); ``missing``: a last missing cell."""

    kind: str
    n_cells: int
    missing: bool
    edges: np.ndarray | None = None  # numeric/time: [min, cut_1, ..., cut_k, max]
    integer: bool = False


class MSTGenerator(Generator):
    """Differentially private twins by MST (see the module docstring).

    Args:
        epsilon: Privacy loss ε of the whole fit (at ``delta``).
        delta: δ; default ``1/n²`` for ``n`` training rows.
        domains: Public domain per column: categorical → list of levels; numeric and time →
            ``{"min": a, "max": b}`` and optionally ``"cuts"`` (interior bin edges) and ``"integer"``
            (whole-number values). Ordinal levels and the event's 0/1 come from the column roles.
        n_bins: Equal-width bins between min and max for numeric/time columns without ``cuts``.
        iters: Mirror-descent iterations of private-pgm's model fit.

    Attributes:
        rho_: ρ spent (the compositor's privacy map); ``epsilon_``/``delta_``: its (ε, δ).
        edges_: The selected spanning-tree pairs; ``pair_tables_``/``oneway_``: the model's marginals.
        sigma_: Gaussian noise standard deviation of the 1-way and of the 2-way measurements.
    """

    differentially_private = True
    needs_public_domains = True
    models_missing = True  # missing values are cells of their own: no data-dependent filling

    def __init__(self, epsilon: float = 1.0, delta: float | None = None, *,
                 domains: Mapping[str, Any] | None = None, n_bins: int = 6, iters: int = 1000) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.domains = domains
        self.n_bins = n_bins
        self.iters = iters

    def guarantee(self, n_rows: int) -> dict[str, Any]:
        """``{"epsilon", "delta", "rho", "mechanism", "accounting"}`` of a fit on ``n_rows`` rows."""
        eps, delta = float(self.epsilon), self._delta(n_rows)
        return {"epsilon": eps, "delta": delta, "rho": rho_for(eps, delta), "mechanism": "MST (McKenna et al. 2021)",
                "accounting": "OpenDP 0.16: rho-zCDP compositor, zCDP -> (epsilon, delta) conversion"}

    def _delta(self, n_rows: int) -> float:
        return float(self.delta) if self.delta is not None else 1.0 / max(int(n_rows), 2) ** 2

    # -- domains ---------------------------------------------------------------------------------
    def _columns(self, df: pd.DataFrame) -> dict[str, _Column]:
        spec, domains, out = self.codec_.spec, dict(self.domains or {}), {}
        lacking = []
        for c in self.codec_.columns:
            kind = spec.kind(c)
            if kind == EVENT:
                out[c] = _Column(kind, 2, False)
            elif kind == ORDINAL:
                out[c] = _Column(kind, len(spec.ordinal[c]) + 1, True)
            elif kind == CATEGORICAL:
                levels = domains.get(c)
                if not isinstance(levels, (list, tuple)) or not levels:
                    lacking.append(c)
                    continue
                self.codec_.levels[c] = np.asarray([str(v) for v in levels], dtype=object)
                out[c] = _Column(kind, len(levels) + 1, True)
            else:
                d = domains.get(c)
                if not isinstance(d, Mapping) or d.get("min") is None or d.get("max") is None:
                    lacking.append(c)
                    continue
                lo, hi = float(d["min"]), float(d["max"])
                cuts = d.get("cuts")
                cuts = (np.linspace(lo, hi, int(self.n_bins) + 1)[1:-1] if cuts is None
                        else np.asarray(sorted(float(x) for x in cuts)))
                if not hi > lo or (len(cuts) and not (lo <= cuts[0] and cuts[-1] < hi)):
                    raise PublicDomainError(f"column {c!r}: public bounds need min < cuts < max, got min={lo}, "
                                            f"max={hi}, cuts={list(cuts)}", [c])
                if kind == TIME and lo < 0:
                    raise PublicDomainError(f"time column {c!r} needs a public minimum >= 0, got {lo}", [c])
                edges = np.concatenate([[lo], cuts, [hi]])
                out[c] = _Column(kind, len(edges) - 1 + (kind == NUMERIC), kind == NUMERIC, edges,
                                 bool(d.get("integer", False)))
        if lacking:
            raise PublicDomainError(
                f"mst needs a public domain for {lacking}: declare it in the cohort mapping's `domains` "
                "(categorical: its list of levels; numeric/time: {min, max} and optionally cuts), never from the "
                "data, which would spend privacy without accounting for it", lacking)
        return out

    def _cells(self, codes: dict[str, np.ndarray], df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per column, the cell of every training row (the missing cell last)."""
        cells = {}
        for c, col in self.columns_.items():
            if col.kind == CATEGORICAL:
                code = self.codec_.encode_column(c, df[c], unknown=-1)
                bad = sorted({str(v) for v in df[c][code < 0]})
                if bad:
                    raise PublicDomainError(f"column {c!r} holds values {bad[:5]} outside its declared public "
                                            f"levels {list(self.codec_.levels[c])}: add them to the mapping's "
                                            "`domains`", [c])
                cells[c] = code
            elif col.kind in (ORDINAL, EVENT):
                cells[c] = codes[c].astype(np.int64)
            else:
                x = np.asarray(codes[c], dtype=np.float64)
                ok = ~np.isnan(x)
                cell = np.full(len(x), col.n_cells - 1, dtype=np.int64)  # numeric: missing cell
                clipped = np.clip(x[ok], col.edges[0], col.edges[-1])  # public bounds clamp, as in DP practice
                cell[ok] = np.clip(np.searchsorted(col.edges[1:-1], clipped, side="left"), 0, len(col.edges) - 2)
                cells[c] = cell
        return cells

    # -- fit ---------------------------------------------------------------------------------------
    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        import polars as pl

        if not float(self.epsilon) > 0:
            raise ValueError(f"epsilon must be > 0, got {self.epsilon}")
        self.columns_ = self._columns(df)
        for c, col in self.columns_.items():
            if col.missing:
                self.codec_.has_missing[c] = True  # a twin may be missing anywhere the domain allows
        cells = self._cells(codes, df)
        dp = _opendp()
        n = len(df)
        self.delta_ = self._delta(n)
        rho = rho_for(float(self.epsilon), self.delta_)
        # OpenDP always keeps a null key per column: the last cell of every column is that null
        frame = pl.LazyFrame({c: pl.Series(c, v, dtype=pl.UInt32).set(pl.Series(v == self.columns_[c].n_cells - 1),
                                                                        None)
                              for c, v in cells.items()})
        keys = {c: list(range(col.n_cells - 1)) for c, col in self.columns_.items()}
        log: dict = {}
        ctx = dp.Context.compositor(data=frame, privacy_unit=dp.unit_of(contributions=1),
                                    privacy_loss=dp.loss_of(rho=rho))
        query = ctx.query(rho=rho).contingency_table(keys=keys,
                                                     algorithm=_spanning_tree_algorithm(log, self.iters))
        table = query.release()
        self.rho_ = float(ctx.accountant.map(ctx.d_in))
        self.epsilon_ = epsilon_of(ctx.accountant, ctx.d_in, self.delta_)
        if self.epsilon_ > float(self.epsilon) * (1 + 1e-9):  # never release more than was asked for
            raise RuntimeError(f"OpenDP accounts ε = {self.epsilon_} > {self.epsilon}; nothing is released")
        self.sigma_ = {"oneway": log["sigma_oneway"], "pairs": log["sigma_pairs"],
                       "selection_scale": log["selection_scale"]}
        self.rho_steps_ = {"oneway": log["rho_oneway"], "select": log["rho_select"], "pairs": log["rho_measure"]}
        names = list(self.columns_)
        self.edges_ = [[names.index(a), names.index(b)] for a, b in log["edges"]]
        model = table.model
        self.pair_tables_ = [np.asarray(model.project((names[a], names[b])).datavector(flatten=False),
                                        dtype=np.float64) for a, b in self.edges_]
        self.oneway_ = []
        for j, c in enumerate(names):  # 1-way marginals from a pair holding the column (the model is consistent)
            k = next((i for i, e in enumerate(self.edges_) if j in e), None)
            if k is None:
                self.oneway_.append(np.asarray(model.project((c,)).datavector(), dtype=np.float64))
            else:
                self.oneway_.append(self.pair_tables_[k].sum(axis=1 if self.edges_[k][0] == j else 0))

    # -- sample --------------------------------------------------------------------------------------
    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        rng = seed_rng(seed, 2)
        names = list(self.columns_)
        cells = _forest_sample(len(names), self.oneway_, self.edges_, self.pair_tables_, n, rng)
        out = {}
        for j, (c, col) in enumerate(self.columns_.items()):
            cell = cells[j]
            if col.kind in (CATEGORICAL, ORDINAL, EVENT):
                out[c] = cell
                continue
            e, last = col.edges, len(col.edges) - 2
            b = np.minimum(cell, last)
            lo, hi = e[b], e[b + 1]
            if col.integer:
                a = np.where(b == 0, np.ceil(lo), np.floor(lo) + 1)
                top = np.maximum(np.floor(hi), a)
                value = np.floor(a + rng.random(n) * (top - a + 1)).clip(a, top)
            else:
                value = lo + rng.random(n) * (hi - lo)
            if col.missing:
                value = np.where(cell > last, np.nan, value)
            out[c] = value
        return out


def _forest_sample(d: int, oneway: list[np.ndarray], edges: list[list[int]], tables: list[np.ndarray], n: int,
                   rng: np.random.Generator) -> list[np.ndarray]:
    """Ancestral sampling of a tree-structured model: each part's root from its 1-way marginal, then each
    column from its 2-way marginal with an already drawn neighbour (exact for a model whose cliques form a forest)."""
    neighbours: dict[int, list[tuple[int, np.ndarray]]] = {j: [] for j in range(d)}
    for (a, b), t in zip(edges, tables):
        neighbours[a].append((b, t))
        neighbours[b].append((a, t.T))
    drawn: list[np.ndarray | None] = [None] * d
    for root in range(d):
        if drawn[root] is not None:
            continue
        drawn[root] = _draw(np.maximum(oneway[root], 0.0)[None, :].repeat(n, 0), rng)
        stack = [root]
        while stack:
            parent = stack.pop()
            for child, table in neighbours[parent]:
                if drawn[child] is None:
                    cond = np.maximum(table, 0.0)[drawn[parent]]  # rows: P(child, parent = drawn)
                    drawn[child] = _draw(cond, rng)
                    stack.append(child)
    return drawn  # type: ignore[return-value]


def _draw(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of ``weights`` (unnormalised; a zero row draws uniformly)."""
    total = weights.sum(axis=1, keepdims=True)
    p = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 1.0 / weights.shape[1])
    cdf = np.cumsum(p, axis=1)
    return np.minimum((rng.random(len(p))[:, None] * cdf[:, -1:] > cdf).sum(axis=1), p.shape[1] - 1)


__all__ = ["MSTGenerator", "PublicDomainError", "rho_for", "epsilon_of"]
