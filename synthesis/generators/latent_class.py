"""Latent class model (mixture of product multinomials): SynTwin's generator, in numpy.

Every column is discretised to a categorical code ``x_j`` (numeric → quantile bins, missing →
its own code; the survival pair → one joint ``(time bin, event)`` cell), and the table is modelled
as a mixture of ``K`` classes within which the columns are independent:

.. math::
    p(x) = \\sum_{k=1}^{K} \\pi_k \\prod_{j} \\theta_{k j x_j}

(Dunson & Xing, JASA 2009; SynTwin, Moore et al., PSB 2024, used K=30 fitted by Gibbs sampling).
Here the parameters are the MAP estimate by EM with a Dirichlet prior shrinking each class towards
the column marginals, ``θ_kjl = (N_kjl + α m_jl) / (N_k + α)``, which is fast and deterministic.
Sampling draws a class, then each code; a bin code becomes a value drawn from a *smoothed* distribution
of that bin — a Gaussian kernel density of the bin's training values (Silverman's bandwidth per bin),
reflected into the bin's range, so a twin value is not a training patient's value; it is rounded when the
column only holds integers. The survival cell (time bin, event) shapes the classes but is not what a twin
gets: each class's follow-up is drawn from its piecewise-constant event and censoring hazards (fitted with
the final class responsibilities, :mod:`._hazards`) and ends at the twin's own study end when the cohort
declares a follow-up rule (``use_constraints``): a twin diagnosed in 2015 is followed as long as a real
patient diagnosed in 2015 can be, and no twin is rejected for outliving the cutoff.

The number of classes ``K`` (``n_components="auto"``, the default) is chosen by held-out likelihood:
each candidate is fitted on 80 % of the rows (of a seeded sample of ``select_rows`` rows on larger tables)
and scored by the mean log-likelihood of the other 20 %; the best ``K`` is refitted on all rows. Too many
classes for the rows at hand make classes that describe a handful of patients, whose twins then reproduce
them: held-out likelihood penalises exactly that. The penalty shrinks as rows grow, so a sample errs, if at
all, towards fewer classes than all rows would choose (compared in bench/scale/bench_latent_class.py).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import logsumexp

from ._hazards import CompetingHazards, months_to_cutoff
from ._table import CATEGORICAL, EVENT, NUMERIC, ORDINAL, TIME
from .base import Generator, seed_rng


def _cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _BinnedValues:
    """Quantile bins of a numeric column and the training values inside each bin (NaN = last code)."""

    _transient = ("codes",)  # per-training-row codes: needed while fitting only, never saved

    def __init__(self, x: np.ndarray, n_bins: int, group: np.ndarray | None = None) -> None:
        ok = ~np.isnan(x)
        uniq = np.unique(x[ok])
        if len(uniq) <= n_bins:
            self.edges = (uniq[:-1] + uniq[1:]) / 2.0
        else:
            q = np.quantile(x[ok], np.linspace(0.0, 1.0, n_bins + 1))[1:-1]
            self.edges = np.unique(q)
        n_value_bins = len(self.edges) + 1
        code = self._raw_code(x, n_value_bins)
        if group is not None:  # joint cell (bin, group), e.g. (time bin, event)
            code = code * 2 + group
            n_value_bins *= 2
        # compact to observed cells so the model never wastes mass on impossible ones
        self.cells, self.codes = np.unique(code, return_inverse=True)
        order = np.lexsort((x, self.codes))
        self.sorted_values = x[order]
        counts = np.bincount(self.codes, minlength=len(self.cells))
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.count = counts
        self.integer = bool(ok.any()) and bool(np.all(x[ok] == np.round(x[ok])))

    def _raw_code(self, x: np.ndarray, n_value_bins: int) -> np.ndarray:
        ok = ~np.isnan(x)
        code = np.full(len(x), n_value_bins, dtype=np.int64)
        code[ok] = np.searchsorted(self.edges, x[ok], side="right")
        return code

    @property
    def n_codes(self) -> int:
        return len(self.cells)

    def code_of(self, x: np.ndarray) -> np.ndarray:
        """Compact code of new values (no group); -1 where the bin was never observed."""
        raw = self._raw_code(np.asarray(x, dtype=np.float64), len(self.edges) + 1)
        pos = np.clip(np.searchsorted(self.cells, raw), 0, len(self.cells) - 1)
        return np.where(self.cells[pos] == raw, pos, -1)

    def _bandwidths(self) -> None:
        """Per cell, Silverman's bandwidth ``0.9 min(sd, IQR/1.34) n^(-1/5)`` and the cell's value range."""
        self.bandwidth = np.zeros(len(self.cells))
        self.low, self.high = np.full(len(self.cells), np.nan), np.full(len(self.cells), np.nan)
        for i, (a, n) in enumerate(zip(self.start, self.count)):
            v = self.sorted_values[a:a + n]
            v = v[~np.isnan(v)]
            if len(v) < 2:
                continue
            q1, q3 = np.quantile(v, [0.25, 0.75])
            spread = min(float(np.std(v)), (q3 - q1) / 1.34) or float(np.std(v))
            self.bandwidth[i] = 0.9 * spread * len(v) ** -0.2
            self.low[i], self.high[i] = v[0], v[-1]

    def cell_minimum(self) -> np.ndarray:
        """Smallest training value of each cell (NaN for the missing-value cell)."""
        return self.sorted_values[self.start]

    def draw(self, codes: np.ndarray, rng: np.random.Generator, upper: np.ndarray | None = None) -> np.ndarray:
        """One value per code from a Gaussian kernel density of the bin, reflected into the bin's range.

        A training value of the bin plus ``N(0, h_b)`` noise (the smoothed bootstrap: a draw from the
        kernel density estimate), folded back into ``[min_b, max_b]``; rounded for integer columns. With
        ``upper`` (per row, NaN = none) the range is ``[min_b, min(max_b, upper)]``: only training values
        ``<= upper`` are picked (the cell's minimum when none is).
        """
        if not hasattr(self, "bandwidth"):
            self._bandwidths()
        count = self.count[codes]
        if upper is not None:  # values of a cell are sorted: those <= upper are its first ones
            below = np.array([np.searchsorted(self.sorted_values[a:a + c], u, side="right") if u == u else c
                              for a, c, u in zip(self.start[codes], count, upper)], dtype=np.int64)
            count = np.maximum(np.minimum(count, below), 1)
        pick = self.start[codes] + np.floor(rng.random(len(codes)) * count).astype(np.int64)
        value = self.sorted_values[pick] + rng.standard_normal(len(codes)) * self.bandwidth[codes]
        lo, hi = self.low[codes], self.high[codes]
        if upper is not None:
            hi = np.where(np.isnan(upper), hi, np.maximum(np.minimum(hi, upper), lo))
        width = np.where(hi > lo, hi - lo, 1.0)
        folded = np.abs(np.mod(value - lo, 2 * width) - width)  # reflection at both ends
        value = np.where(hi > lo, hi - folded, value)
        value = np.round(value) if self.integer else value
        return value if upper is None else np.where(value > upper, upper, value)


def _inverse_cdf(P: np.ndarray, z: np.ndarray, u: np.ndarray, rows: int = 262_144) -> np.ndarray:
    """Per row ``i``, the code ``l`` with ``F(l-1) <= u_i F(L) < F(l)``, ``F`` the cumulative sum of ``P[z_i]``.

    In blocks of ``rows`` rows, so the (rows, L) cumulative sums never hold all rows at once (each row's code
    depends on its own row only: the same codes for any block size).
    """
    out = np.empty(len(z), dtype=np.int64)
    for a in range(0, len(z), rows):
        cdf = np.cumsum(P[z[a:a + rows]], axis=1)
        out[a:a + rows] = np.minimum((u[a:a + rows, None] * cdf[:, -1:] > cdf).sum(axis=1), P.shape[1] - 1)
    return out


class LatentClassGenerator(Generator):
    """Mixture of product multinomials over discretised columns (see the module docstring).

    Args:
        n_components: Number of latent classes ``K``, or ``"auto"`` (default): the candidate of
            ``candidates`` with the best held-out log-likelihood (SynTwin used 30).
        n_bins: Quantile bins per numeric column (columns with fewer distinct values keep them all).
        n_time_bins: Quantile bins of the survival time (joint with the event); default ``n_bins``.
        alpha: Dirichlet prior strength pulling each class towards the column marginals.
        max_iter: Maximum EM iterations.
        tol: Stop when the mean log-likelihood improves by less than this.
        n_init: EM restarts from different random starts; the best log-likelihood wins.
        candidates: ``K`` tried by ``"auto"`` (those leaving at least 20 rows per class).
        select_rows: ``"auto"`` compares the candidates on a seeded sample of at most this many rows
            (``None``: all rows); the chosen ``K`` is then fitted on all rows.
        threads: Threads computing each EM iteration over row chunks (``None``: the machine's cores); the
            fit is the same bytes for any number.

    Attributes:
        weights_: Class weights ``π`` (K,).
        probs_: Per column, class-conditional code probabilities ``θ`` (K, L_j).
        log_likelihood_: Mean log-likelihood per row of the retained fit.
        n_iter_: EM iterations of the retained fit.
        n_components_: The number of classes fitted.
        selection_: ``K`` -> held-out mean log-likelihood (``"auto"`` only).
    """

    chunk_rows = 65_536  # rows per share of an EM iteration (fixed, so the sums never depend on the threads)

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        n_bins: int = 10,
        n_time_bins: int | None = None,
        alpha: float = 1.0,
        max_iter: int = 300,
        tol: float = 1e-6,
        n_init: int = 1,
        candidates: tuple[int, ...] = (1, 2, 4, 8, 16, 30),
        select_rows: int | None = 200_000,
        threads: int | None = None,
        survival_given: str | None = None,
    ) -> None:
        self.select_rows = select_rows
        self.threads = threads
        self.survival_given = survival_given
        self.n_components = n_components
        self.candidates = candidates
        self.n_bins = n_bins
        self.n_time_bins = n_time_bins
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self._check_params()  # at construction: a bad value fails where the generator is made, not in a task

    def _check_params(self) -> None:
        if self.n_components != "auto" and (isinstance(self.n_components, str) or int(self.n_components) < 1):
            raise ValueError(f"n_components must be >= 1 or 'auto', got {self.n_components!r}")
        if int(self.n_bins) < 1 or float(self.alpha) < 0:
            raise ValueError(f"n_bins must be >= 1 and alpha >= 0, got {self.n_bins}, {self.alpha}")
        for name in ("select_rows", "threads"):
            value = getattr(self, name, None)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or null, got {value!r}")

    # -- discretisation -------------------------------------------------------------------------
    def _discretise(self, codes: dict[str, np.ndarray]) -> None:
        spec = self.codec_.spec
        self.features_: list[str] = []  # modelled units: column names, or time for the survival cell
        self.binned_: dict[str, _BinnedValues] = {}
        self.n_codes_: list[int] = []
        self.survival_ = None
        X = []
        for c in self.codec_.columns:
            kind = spec.kind(c)
            if spec.time is not None and spec.event is not None and kind in (TIME, EVENT):
                if kind == EVENT:
                    continue
                # the survival pair: a joint (time bin, event) cell shapes the classes; each class's follow-up is
                # then drawn from its competing hazards (see _hazards)
                nb = int(self.n_time_bins or self.n_bins)
                self.survival_ = CompetingHazards(codes[c], codes[spec.event], nb, self._study_end(codes))
                self.binned_[c] = b = _BinnedValues(codes[c], nb, codes[spec.event])
                X.append(b.codes)
                self.n_codes_.append(b.n_codes)
                self.features_.append(c)
                continue
            if kind in (ORDINAL, CATEGORICAL):
                X.append(codes[c])
                self.n_codes_.append(self.codec_.n_codes(c))
            elif kind == EVENT:
                X.append(codes[c])
                self.n_codes_.append(2)
            else:
                nb = self.n_time_bins if (kind == TIME and self.n_time_bins) else self.n_bins
                b = _BinnedValues(codes[c], int(nb))
                self.binned_[c] = b
                X.append(b.codes)
                self.n_codes_.append(b.n_codes)
            self.features_.append(c)
        # (n, J) codes as int32, filled column by column (column_stack would first make an int64 copy)
        self._X = np.empty((len(X[0]), len(X)), dtype=np.int32)
        for j, col in enumerate(X):
            self._X[:, j] = col
        for b in self.binned_.values():  # per-training-row codes: in _X now
            del b.codes

    # -- EM ---------------------------------------------------------------------------------------
    def _onehot(self, X: np.ndarray) -> sp.csr_matrix:
        """The one-hot (n, D) matrix of the codes ``X`` (consumed: it becomes the column indices), built as
        CSR directly: every row has one entry per column, at increasing offsets, so no COO triplets (three n·J
        arrays) are formed or converted. Its entries are int8 ones: every product with a float64 array
        upcasts them exactly (1 → 1.0), so the sums are those of float64 ones in an eighth of the memory."""
        offsets = np.concatenate([[0], np.cumsum(self.n_codes_)[:-1]])
        n, J = X.shape
        D = int(np.sum(self.n_codes_))
        index = np.int32 if max(n * J, D) < np.iinfo(np.int32).max else np.int64
        if X.dtype == index:
            cols = X
            cols += offsets.astype(index)
        else:
            cols = np.empty((n, J), dtype=index)
            np.add(X, offsets, out=cols, casting="unsafe")
        indptr = np.arange(0, n * J + 1, J, dtype=index)
        return sp.csr_matrix((np.ones(n * J, dtype=np.int8), cols.ravel(), indptr), shape=(n, D))

    @staticmethod
    def _row_chunks(H: sp.csr_matrix, step: int) -> list[sp.csr_matrix]:
        """Row blocks of ``H`` that share its data and index arrays (``H[i:j]`` would copy them)."""
        out = []
        for i in range(0, H.shape[0], step):
            j = min(i + step, H.shape[0])
            a, b = H.indptr[i], H.indptr[j]
            out.append(sp.csr_matrix((H.data[a:b], H.indices[a:b], H.indptr[i:j + 1] - a),
                                     shape=(j - i, H.shape[1]), copy=False))
        return out

    def _m_step(self, Nk: np.ndarray, counts: np.ndarray, marg: np.ndarray, bounds) -> tuple:
        """MAP update from the expected class sizes ``N_k`` and code counts ``N_kjl`` (K, D)."""
        theta = np.empty_like(counts)
        for a, b in bounds:
            theta[:, a:b] = (counts[:, a:b] + self.alpha * marg[a:b]) / (Nk[:, None] + self.alpha)
        w = (Nk + 1.0) / (Nk.sum() + len(Nk))
        return np.log(w), np.log(np.maximum(theta, 1e-300))

    @staticmethod
    def _e_step(H: sp.csr_matrix, log_theta: np.ndarray, log_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row log-likelihood ``log p(x_i) = log Σ_k π_k Π_j θ_kjx`` and the responsibilities ``R_ik``.

        ``log p`` by the max-shifted log-sum-exp over the classes, computed in place on one (n, K) array
        (scipy's ``logsumexp`` spent more time on its checks and copies than on the sums).
        """
        L = np.asarray(H @ log_theta.T)  # (n, K): Σ_j log θ_kjx_j
        L += log_w
        top = L.max(axis=1, keepdims=True)
        L -= top
        np.exp(L, out=L)
        total = L.sum(axis=1, keepdims=True)
        L /= total
        return (top + np.log(total)).ravel(), L

    @classmethod
    def _chunk_statistics(cls, H: sp.csr_matrix, log_theta: np.ndarray, log_w: np.ndarray) -> tuple:
        """One chunk's share of an EM iteration: ``Σ_i log p(x_i)``, ``Σ_i R_ik`` and ``Σ_i R_ik H_id`` (K, D)."""
        norm, R = cls._e_step(H, log_theta, log_w)
        return float(norm.sum()), R.sum(axis=0), np.asarray(H.T @ R).T

    def _em(self, H, marg, bounds, rng, K: int) -> tuple:
        """EM from a random start; each iteration's sums over fixed row chunks (``chunk_rows``), added in
        chunk order, so the fit is the same bytes whatever the number of ``threads`` that compute them."""
        n, D = H.shape
        # start: each class's θ drawn around the marginals (breaks the symmetry of equal classes)
        log_theta = np.empty((K, D))
        for a, b in bounds:
            log_theta[:, a:b] = np.log(rng.dirichlet(marg[a:b] * (b - a) + 1e-3, size=K) + 1e-12)
        log_w = np.full(K, -np.log(K))
        step = int(self.chunk_rows)
        chunks = self._row_chunks(H, step)
        threads = min(len(chunks), getattr(self, "threads", None) or _cores())
        pool = ThreadPoolExecutor(threads) if threads > 1 else None  # scipy's sparse products release the GIL
        run = pool.map if pool is not None else map
        prev, ll, it = -np.inf, -np.inf, 0
        try:
            for it in range(1, int(self.max_iter) + 1):
                parts = list(run(lambda h: self._chunk_statistics(h, log_theta, log_w), chunks))
                ll = sum(p[0] for p in parts) / n
                Nk, counts = parts[0][1], parts[0][2]
                for _, nk, c in parts[1:]:
                    Nk, counts = Nk + nk, counts + c
                log_w, log_theta = self._m_step(Nk, counts, marg, bounds)
                if ll - prev < self.tol:
                    break
                prev = ll
        finally:
            if pool is not None:
                pool.shutdown()
        return ll, it, log_w, log_theta

    def _best_of_inits(self, H, bounds, seed: int, K: int, *key: int) -> tuple:
        marg = np.asarray(H.sum(axis=0, dtype=np.float64)).ravel() / H.shape[0]
        best = None
        for i in range(max(1, int(self.n_init))):
            res = self._em(H, marg, bounds, seed_rng(seed, 1, *key, i), K)
            if best is None or res[0] > best[0]:
                best = res
        return best

    def _select_k(self, H, bounds, seed: int) -> int:
        """``K`` with the best mean held-out log-likelihood.

        Each candidate is fitted on 80 % of the rows and scored on the other 20 % — of a seeded sample of
        ``select_rows`` rows when there are more.
        """
        rows = seed_rng(seed, 3).permutation(H.shape[0])
        n = len(rows) if self.select_rows is None else min(len(rows), int(self.select_rows))
        ks = sorted({int(k) for k in self.candidates if int(k) >= 1 and int(k) * 20 <= 0.8 * n} or {1})
        fit_rows, test_rows = np.sort(rows[: int(0.8 * n)]), np.sort(rows[int(0.8 * n):n])
        H_fit, H_test = H[fit_rows], H[test_rows]
        self.selection_ = {}
        for k in ks:
            _, _, log_w, log_theta = self._best_of_inits(H_fit, bounds, seed, k, 3, k)
            self.selection_[k] = round(float(self._e_step(H_test, log_theta, log_w)[0].mean()), 5)
        return max(self.selection_, key=self.selection_.get)

    def _survival_groups(self, codes: dict[str, np.ndarray]) -> tuple[np.ndarray, int] | None:
        """Codes of the ``survival_given`` column (categorical or ordinal) and their number, or None."""
        c = self.survival_given
        if c is None:
            return None
        if c not in self.codec_.columns or self.codec_.spec.kind(c) not in (ORDINAL, CATEGORICAL):
            raise ValueError(f"survival_given must name a categorical or ordinal column, got {c!r}")
        return np.asarray(codes[c], dtype=np.int64), int(self.codec_.n_codes(c))

    def _study_end(self, codes: dict[str, np.ndarray]) -> np.ndarray | None:
        """Per row, months from 1 January of its diagnosis year to the follow-up rule's cutoff (or None)."""
        rule = getattr(self, "follow_up_", None)
        return None if rule is None else months_to_cutoff(codes[rule["diagnosis_year"]], rule["cutoff"])

    def use_constraints(self, constraints) -> LatentClassGenerator:
        """Keep, by construction, a follow-up rule on this model's time column (see ``_hazards``) and every
        inequality ``low <= high`` between two numeric columns (see :meth:`_keep_inequalities`)."""
        self._constraints = list(constraints)
        return self

    def _inequality_rules(self) -> list[tuple[str, str]]:
        spec, out = self.codec_.spec, []
        for rule in getattr(self, "_constraints", ()):
            f = dict(rule.fields) if hasattr(rule, "fields") else dict(rule)
            if (getattr(rule, "kind", f.get("kind")) == "inequality" and f.get("low") in self.features_
                    and f.get("high") in self.features_
                    and spec.kind(f["low"]) == NUMERIC == spec.kind(f["high"])):
                out.append((str(f["low"]), str(f["high"])))
        return out

    def _keep_inequalities(self, out: dict, z: np.ndarray, rng: np.random.Generator) -> None:
        """Where a twin drew ``low > high``, draw ``low`` again from its class given ``low <= high``.

        The bin comes from the class's ``θ`` over the bins whose smallest training value is ``<= high`` (the
        missing-value bin stays allowed), the value from that bin below ``high`` (:meth:`_BinnedValues.draw`).
        A twin that drew ``low <= high`` keeps its draw, so each twin's ``low`` follows
        ``p(low | class, low <= high)`` exactly at the bin level: no twin is rejected.
        """
        for low, high in getattr(self, "inequalities_", ()):  # (models saved before it: none)
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(out[low] > out[high])
            if not len(bad):
                continue
            b = self.binned_[low]
            upper = out[high][bad]
            minimum = b.cell_minimum()
            P = self.probs_[self.features_.index(low)][z[bad]]
            allowed = np.isnan(minimum)[None, :] | (minimum[None, :] <= upper[:, None])
            P = np.where(allowed, P, 0.0)
            cdf = np.cumsum(P, axis=1)
            code = np.minimum((rng.random(len(bad))[:, None] * cdf[:, -1:] > cdf).sum(axis=1), P.shape[1] - 1)
            code = np.where(cdf[:, -1] > 0, code, int(np.nanargmin(minimum)))
            out[low][bad] = b.draw(code, rng, upper=np.where(np.isnan(minimum[code]), np.nan, upper))

    def _follow_up_rule(self) -> dict | None:
        spec = self.codec_.spec
        for rule in getattr(self, "_constraints", ()):
            f = dict(rule.fields) if hasattr(rule, "fields") else dict(rule)
            kind = getattr(rule, "kind", f.get("kind"))
            if (kind == "follow_up" and f.get("time") == spec.time and spec.event is not None
                    and f.get("diagnosis_year") in self.codec_.columns
                    and spec.kind(f["diagnosis_year"]) == NUMERIC):
                return {"diagnosis_year": str(f["diagnosis_year"]), "cutoff": str(f["cutoff"])}
        return None

    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        self._check_params()
        auto = self.n_components == "auto"
        self.follow_up_ = self._follow_up_rule()
        self._discretise(codes)
        given = self._survival_groups(codes) if self.survival_ is not None else None
        codes.clear()  # consumed: each column is in _X (then H) now, and the frame's encoding is not needed again
        H = self._onehot(self._X)
        del self._X  # in H now: one (n, J) array less while EM runs
        ends = np.cumsum(self.n_codes_)
        bounds = list(zip(np.concatenate([[0], ends[:-1]]), ends))
        self.n_components_ = self._select_k(H, bounds, seed) if auto else int(self.n_components)
        ll, it, log_w, log_theta = self._best_of_inits(H, bounds, seed, self.n_components_)
        if self.survival_ is not None:  # each class's hazards, weighted by the final responsibilities
            step = int(self.chunk_rows)  # one chunk's (rows, K) responsibilities at a time, not all n rows'
            blocks = ((slice(i, i + h.shape[0]), self._e_step(h, log_theta, log_w)[1])
                      for i, h in zip(range(0, H.shape[0], step), self._row_chunks(H, step)))
            self.survival_.fit(blocks, float(self.alpha), *(given if given is not None else ()))
            del self.survival_.design  # per-training-row: not kept
        self.inequalities_ = self._inequality_rules()
        self.log_likelihood_, self.n_iter_ = ll, it
        self.weights_ = np.exp(log_w)
        theta = np.exp(log_theta)
        self.probs_ = [theta[:, a:b] / theta[:, a:b].sum(axis=1, keepdims=True) for a, b in bounds]

    # -- sampling ---------------------------------------------------------------------------------
    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        rng = seed_rng(seed, 2)
        z = rng.choice(len(self.weights_), size=n, p=self.weights_ / self.weights_.sum())
        spec, out = self.codec_.spec, {}
        for c, P in zip(self.features_, self.probs_):
            code = _inverse_cdf(P, z, rng.random(n))
            kind = spec.kind(c)
            if kind == TIME and self.survival_ is not None:
                continue  # the cell only shaped the classes
            out[c] = self.binned_[c].draw(code, rng) if kind in (NUMERIC, TIME) else code
        self._keep_inequalities(out, z, rng)
        if self.survival_ is not None:  # after the features: the study end depends on the diagnosis year
            end = None
            if self.follow_up_ is not None:
                rule = self.follow_up_
                end = months_to_cutoff(np.round(out[rule["diagnosis_year"]]), rule["cutoff"]) - 12.0 * rng.random(n)
            given = self._survival_groups(out)
            out[spec.time], out[spec.event] = self.survival_.draw(z, end, rng, None if given is None else given[0])
        return out

    # -- prediction -------------------------------------------------------------------------------
    def event_proba(self, df: pd.DataFrame, *, horizon: float | None = None) -> np.ndarray:
        """P(event | features) under the fitted model: the twin-kNN limit of infinitely many twins.

        .. math::
            P(E{=}1, T{\\le}h \\mid x) = \\sum_k P(k \\mid x)\\, F_k(h),
            \\qquad P(k \\mid x) \\propto \\pi_k \\prod_{j \\in x} \\theta_{k j x_j}

        over the columns of ``df`` that the model knows (others, and the survival pair, are
        marginalised; unseen levels and never-observed bins are skipped), with ``F_k(h)`` class ``k``'s
        cumulative incidence of the event by ``h`` under its event and censoring hazards, without the
        study's end (``h`` = the longest follow-up when ``horizon`` is None).

        Returns:
            (n,) probabilities.
        """
        if not hasattr(self, "weights_"):
            raise ValueError("LatentClassGenerator is not fitted: call fit(df, ...) first")
        spec = self.codec_.spec
        if spec.event is None:
            raise ValueError("event_proba needs a model fitted with event=")
        log_post = np.tile(np.log(self.weights_), (len(df), 1))
        target = None
        for c, P in zip(self.features_, self.probs_):
            if c == spec.event:
                target = P
                continue
            if c == spec.time and self.survival_ is not None:
                continue
            if c not in df.columns:
                continue
            kind = spec.kind(c)
            if kind in (NUMERIC, TIME):
                code = self.binned_[c].code_of(df[c].to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                code = self.codec_.encode_column(c, df[c], unknown=-1)
            known = code >= 0
            logp = np.log(np.maximum(P, 1e-300))
            log_post[known] += logp[:, code[known]].T
        post = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
        if self.survival_ is not None:
            per_class = self.survival_.incidence(horizon)
        elif horizon is not None:
            raise ValueError("a horizon needs a model fitted with time= as well as event=")
        else:
            per_class = target[:, 1]
        return post @ per_class
