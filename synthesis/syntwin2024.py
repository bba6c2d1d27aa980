"""SynTwin as published (Moore et al., PSB 2024; EpistasisLab/SynTwin code): community-based twins, designs A–F.

Given a distance source (:mod:`.allpairs`: Gower over their label-encoded features, streamed in row blocks, or
ready matrices) among the graph's patients and from them to synthetic patients:

1. graph: an edge wherever ``d <= t``, weight ``1 − d / max d`` (max over the edges); ``t`` is the *percolation
   threshold* as their ``step3_percolation_threshold.py`` computes it: the cumulative number of pairs at each
   distinct distance, min–max normalised, fitted by a logistic ``L / (1 + exp(−k (d − d0)))``; ``t`` = where the
   tangent at its inflection crosses zero, ``d0 − 2 / k``;
2. Louvain (igraph ``community_multilevel``, weighted) with their resolution scan (``step4b``): resolutions
   0–9 and 10 random seeds; per seed the resolution giving the most communities of ``>= min_size`` wins; the
   most frequent winner is used (ties: the most patients in such communities). Only communities
   ``>= min_size`` are kept — the method covers only their members;
3. per kept community (``step5b``): centre = member of highest (unweighted) eigenvector centrality in the
   community subgraph, radius = largest distance from the centre to a member; its *twins* = synthetic patients
   closer to the centre than the radius;
4. prediction for query ``i`` of community ``c`` with ``n`` other labelled *reference* members = fraction of
   events among A: those members; B: the twins of ``c``; C: both; D: the ``n`` twins of ``c`` closest to ``i``
   (ties at the ``n``-th distance all kept, as ``nsmallest(keep='all')``); E: A's and D's together; F: ``n``
   random reference patients outside ``c``. Without twins B and D are undefined and C, E equal A.

In the paper every graph patient is both query and reference (leave-one-out). With ``is_query`` the queries
(e.g. held-out patients, whose labels must reach nothing) sit in the graph beside labelled reference patients;
then A/C/E/F draw only on reference labels.

:func:`fit_product_multinomial_gibbs` is the paper's generator: one global mixture of product multinomials
(latent classes) fitted by collapsed-free Gibbs sampling with Dirichlet priors (K = 30).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .allpairs import DenseDistances, GowerCodes

__all__ = ["DESIGNS", "GowerCodes", "fit_product_multinomial_gibbs", "percolation_threshold", "resolution_scan",
           "syntwin_designs", "syntwin_designs_from", "threshold_from_pair_counts"]

DESIGNS = ("A", "B", "C", "D", "E", "F")
RESOLUTIONS = tuple(float(r) for r in range(10))  # their scan: 0, 1, ..., 9
SCAN_SEEDS = 10


def threshold_from_pair_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """Their percolation threshold from the pair count at each distinct distance (``step3``, exactly).

    ``y`` = cumulative pair count at each distinct distance ``x``, min–max normalised; fit
    ``y ≈ L / (1 + exp(−k (x − x0)))``; the tangent at the inflection ``x0`` crosses ``y = 0`` at
    ``x0 − 2 / k``. (Their ``curve_fit`` starts from ``(1, 1, 1)``; here from the curve's own midpoint and
    spread, which reaches the same least-squares fit where theirs converges and does not fail where it would not.)
    """
    from scipy.optimize import curve_fit

    x = np.asarray(values, dtype=np.float64)
    y = np.cumsum(np.asarray(counts, dtype=np.float64))
    if len(x) < 4 or y[-1] == y[0]:
        raise ValueError("the pair-count curve is too short or flat to fit a logistic (need >= 4 distinct distances)")
    y = (y - y.min()) / (y.max() - y.min())
    x0_guess = float(x[np.searchsorted(y, 0.5)])
    k_guess = 4.0 / max(float(np.ptp(x)) / 4, 1e-12)
    (big_l, k, x0), _ = curve_fit(lambda t, L, k, t0: L / (1 + np.exp(-k * (t - t0))), x, y,
                                  p0=(1.0, k_guess, x0_guess), maxfev=20_000)
    return float(x0 - 2.0 / k)


def percolation_threshold(d_real: np.ndarray) -> float:
    """:func:`threshold_from_pair_counts` of a square distance matrix (pairs ``i < j``)."""
    d = np.asarray(d_real, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"d_real must be a square distance matrix, got shape {d.shape}")
    if len(d) < 3:
        return 0.0
    return threshold_from_pair_counts(*DenseDistances(d, np.zeros((len(d), 0))).pair_counts())


_IGRAPH_RNG = threading.Lock()  # igraph's random generator is process-global: one seeded run at a time


def _seeded(call, seed: int):
    """Run ``call()`` with igraph's random generator seeded (Louvain's order, ARPACK's start vector)."""
    import igraph as ig

    with _IGRAPH_RNG:
        ig.set_random_number_generator(random.Random(int(seed)))
        try:
            return call()
        finally:
            ig.set_random_number_generator(random)


def _multilevel(g, resolution: float, seed: int) -> np.ndarray:
    return np.asarray(_seeded(lambda: g.community_multilevel(weights="weight", resolution=float(resolution)),
                              seed).membership)


def _checkpointed_multilevel(g, resolution: float, seed: int, checkpoint: str | None) -> np.ndarray:
    """:func:`_multilevel`, its membership kept in ``checkpoint`` (a folder) so a stopped scan resumes there."""
    if checkpoint is None:
        return _multilevel(g, resolution, seed)
    path = Path(checkpoint) / f"louvain_n{g.vcount()}_e{g.ecount()}_seed{seed}_res{resolution:g}.npy"
    if path.exists():
        return np.load(path)
    membership = _multilevel(g, resolution, seed).astype(np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".tmp"), "wb") as fh:
        np.save(fh, membership)
    path.with_suffix(".tmp").replace(path)
    return membership


def _best_of_seed(g, resolutions: Sequence[float], min_size: int, louvain_seed: int,
                  checkpoint: str | None = None) -> tuple[tuple, float, np.ndarray]:
    """One seed of the scan: the resolution with most communities ``>= min_size`` (ties: most patients in them)."""
    best = None
    for r in resolutions:
        membership = _checkpointed_multilevel(g, r, louvain_seed, checkpoint)
        sizes = np.bincount(membership)
        key = (int((sizes >= min_size).sum()), int(sizes[sizes >= min_size].sum()))
        if best is None or key > best[0]:
            best = (key, float(r), membership)
    return best


def _graph_from_edges(n: int, edges: np.ndarray, weights: np.ndarray):
    import igraph as ig

    g = ig.Graph(n=int(n), edges=np.asarray(edges))
    g.es["weight"] = np.asarray(weights).tolist()
    return g


def resolution_scan(g, *, resolutions: Sequence[float] = RESOLUTIONS, seeds: int = SCAN_SEEDS, min_size: int = 10,
                    seed: int = 0, client=None, checkpoint: str | None = None,
                    edge_arrays: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray, dict]:
    """Their resolution choice: per seed the resolution with most communities ``>= min_size`` wins; mode wins.

    Ties (per seed, and between equally frequent winners) go to the most patients in such communities.
    With a ``distributed.Client``, each seed's scan is one task on the cluster (the graph is rebuilt there
    from its edge list by a task, so a lost worker's share is recomputed); the result is the same. With
    ``edge_arrays`` = ``(edges (E, 2), weights (E,))`` that ``g`` was built from spares reading them back. With
    ``checkpoint`` (a folder) each Louvain run's membership is saved there and reused: a scan stopped part-way
    resumes where it stopped, with the same result (files are keyed by graph size, seed and resolution).

    Returns:
        ``(resolution, membership, info)`` — membership of the chosen resolution at the seed, among those it
        won, with the most patients in communities ``>= min_size`` (their step4b).
    """
    seeds_used = [int(seed) * 1000 + s for s in range(int(seeds))]
    if client is None:
        bests = [_best_of_seed(g, resolutions, min_size, s, checkpoint) for s in seeds_used]
    else:
        if edge_arrays is None:
            edges = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
            weights = np.asarray(g.es["weight"], dtype=np.float64) if g.ecount() else np.zeros(0)
        else:  # the arrays g was built from: no Python list of tuples for a graph of 10^7 edges
            edges, weights = edge_arrays
        # the edge list (~16 MB per million edges) goes once to each worker, whose task builds its own copy of
        # the graph; the seeds are dealt round-robin to the copies (one copy alone would keep every seed on the
        # worker that holds it). A lost worker's copy and seeds are rebuilt elsewhere (nothing scattered).
        workers = sorted(client.scheduler_info()["workers"])[: len(seeds_used)]
        import dask

        edges, weights = edges.astype(np.int32), np.asarray(weights, np.float64)
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GB"}):
            copies = [client.submit(_graph_from_edges, g.vcount(), edges, weights, workers=[w],
                                    allow_other_workers=True, pure=False) for w in workers]
        bests = client.gather([client.submit(_best_of_seed, copies[i % len(copies)], tuple(resolutions),
                                             int(min_size), s, checkpoint, workers=[workers[i % len(workers)]],
                                             allow_other_workers=True, pure=False)
                               for i, s in enumerate(seeds_used)])
    winners, partitions = [], {}
    for best in bests:  # their final partition: of the seeds the winner won, the one with most patients kept
        winners.append(best[1])
        if best[1] not in partitions or best[0][1] > partitions[best[1]][0][1]:
            partitions[best[1]] = (best[0], best[2])
    counts = Counter(winners)
    chosen = max(counts, key=lambda r: (counts[r], partitions[r][0][1]))
    info = {"resolution_votes": {str(r): int(c) for r, c in sorted(counts.items())}}
    return chosen, partitions[chosen][1], info


def syntwin_designs(d_real: np.ndarray, d_real_syn: np.ndarray, y_real: np.ndarray, y_syn: np.ndarray,
                    **options) -> tuple[pd.DataFrame, dict]:
    """:func:`syntwin_designs_from` over ready matrices: ``d_real`` (n, n) among the graph's real patients (e.g.
    Gower) and ``d_real_syn`` (n, m) from them to the synthetic patients."""
    source = DenseDistances(d_real, d_real_syn)
    return syntwin_designs_from(source, y_real, y_syn, **options)


def syntwin_designs_from(
    source,
    y_real: np.ndarray,
    y_syn: np.ndarray,
    *,
    is_query: np.ndarray | None = None,
    threshold: float | None = None,
    resolutions: Sequence[float] = RESOLUTIONS,
    seeds: int = SCAN_SEEDS,
    min_size: int = 10,
    seed: int = 0,
    client=None,
    checkpoint: str | None = None,
    block_rows: int = 512,
) -> tuple[pd.DataFrame, dict]:
    """Run SynTwin's designs A–F (see the module docstring) on a distance source (:mod:`.allpairs`).

    The source gives the pair counts, the edges at or below the threshold and small distance blocks, so a
    :class:`GowerCodes` source never holds an n×n or n×m matrix (memory: the edge list plus one block).

    Args:
        source: :class:`~.allpairs.GowerCodes` or :class:`~.allpairs.DenseDistances` (``n`` real, ``m``
            synthetic patients).
        y_real: (n,) 0/1 outcome of the real patients; ignored (may be NaN) for queries.
        y_syn: (m,) 0/1 outcome of the synthetic patients.
        is_query: (n,) bool, patients to predict whose labels are never read; None = every patient is both
            query and reference (the paper's leave-one-out).
        threshold: Edge threshold; None = their percolation threshold (:func:`threshold_from_pair_counts`).
        resolutions, seeds: the resolution scan (:func:`resolution_scan`).
        min_size: Smallest community kept (SynTwin: 10).
        seed: Seed of Louvain and of design F's draws.
        client: A ``distributed.Client`` to run the resolution scan's seeds in parallel (same result).
        checkpoint: A folder keeping each Louvain run of the scan, so a stopped run resumes (same result).
        block_rows: queries per block of distances to twins (design D).

    Returns:
        ``(predictions, info)``: one row per real patient — ``community`` (-1 outside kept communities) and
        ``A``..``F`` (NaN for non-queries and outside kept communities) — and ``threshold``, ``resolution``,
        ``modularity``, ``n_communities``, ``coverage`` (share of queries in kept communities), votes.
    """
    n, n_syn = source.n, source.m
    y, ys = np.asarray(y_real, dtype=np.float64), np.asarray(y_syn, dtype=np.float64)
    if y.shape != (n,) or ys.shape != (n_syn,):
        raise ValueError(f"shapes disagree: {n} real and {n_syn} synthetic patients, y_real {y.shape}, "
                         f"y_syn {ys.shape}")
    query = np.zeros(n, bool) if is_query is None else np.asarray(is_query, bool)
    if query.shape != (n,):
        raise ValueError(f"is_query must have one entry per real patient ({n}), got {query.shape}")
    reference = ~query
    targets = np.ones(n, bool) if is_query is None else query
    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return round(clock[-1] - clock[-2], 1)

    thr = threshold_from_pair_counts(*source.pair_counts()) if threshold is None else float(threshold)
    seconds = {"pair_counts": lap()}
    src, dst, dist = source.edges(thr)
    edges = np.column_stack([src, dst])
    del src, dst
    dmax = float(dist.max()) if len(dist) else 0.0  # their step4b: weight 1 − d / max d over the edges
    weights = (1.0 - dist / dmax) if dmax > 0 else np.ones(len(dist))
    del dist
    graph = _graph_from_edges(n, edges, weights)
    seconds["edges"] = lap()
    gamma, membership, votes = resolution_scan(graph, resolutions=resolutions, seeds=seeds, min_size=min_size,
                                               seed=seed, client=client, checkpoint=checkpoint,
                                               edge_arrays=(edges, weights))
    del edges, weights
    seconds["resolution_scan"] = lap()
    sizes = np.bincount(membership)
    kept = np.flatnonzero(sizes >= min_size)
    community = np.where(np.isin(membership, kept), membership, -1)
    pred = {k: np.full(n, np.nan) for k in DESIGNS}
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x5F,)))
    for c in kept:
        members = np.flatnonzero(membership == c)
        # their step5: centre of highest (unweighted) eigenvector centrality; twins strictly within the radius
        sub = graph.subgraph(members.tolist())
        centre = members[int(np.argmax(_seeded(sub.eigenvector_centrality, seed)))]
        radius = source.real(centre, members).max()
        twins = np.flatnonzero(source.synthetic(centre)[0] < radius)
        ref_members = members[reference[members]]
        outside = np.flatnonzero((membership != c) & reference)
        asked = members[targets[members]]
        counts = np.array([len(ref_members) - int(reference[i]) for i in asked])
        closest_sum, closest_n = _closest_twins(source, asked, twins, counts, ys, block_rows)
        for i, m, s_d, n_d in zip(asked, counts, closest_sum, closest_n):
            others = ref_members[ref_members != i]
            pred["A"][i] = y[others].mean() if m else np.nan
            pred["B"][i] = ys[twins].mean() if len(twins) else np.nan
            both = np.concatenate([y[others], ys[twins]])
            pred["C"][i] = both.mean() if len(both) else np.nan
            pred["D"][i] = s_d / n_d if n_d else np.nan
            pred["E"][i] = (y[others].sum() + s_d) / (m + n_d) if m + n_d else np.nan
            if len(outside) and m:
                pred["F"][i] = y[rng.choice(outside, min(m, len(outside)), replace=False)].mean()
    frame = pd.DataFrame({"community": community, **pred})
    q = graph.modularity(membership.tolist(), weights="weight", resolution=gamma) if graph.ecount() else 0.0
    info = {"threshold": thr, "resolution": gamma, "modularity": float(q), "n_communities": int(len(kept)),
            "coverage": float((community[targets] >= 0).mean()) if targets.any() else 0.0,
            "edges": int(graph.ecount()), **votes, "seconds": {**seconds, "designs": lap()}}
    return frame, info


def _closest_twins(source, asked: np.ndarray, twins: np.ndarray, counts: np.ndarray, ys: np.ndarray,
                   block_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Design D per query: events and number among its ``counts[q]`` closest community twins, ties all kept.

    Their ``nsmallest(n=len(a_id), keep='all')`` over the community's twins: every twin at a distance ``<=`` the
    ``n``-th smallest (all of them when the community has ``<= n`` twins; none when ``n = 0``).
    """
    total, number = np.zeros(len(asked)), np.zeros(len(asked), np.int64)
    if not len(twins):
        return total, number
    y_tw = ys[twins]
    for s in range(0, len(asked), int(block_rows)):
        d = source.synthetic(asked[s:s + block_rows], twins)
        for r, m in enumerate(counts[s:s + block_rows]):
            if m <= 0:
                continue
            row = d[r]
            pick = row <= np.partition(row, m - 1)[m - 1] if m < len(row) else np.ones(len(row), bool)
            total[s + r], number[s + r] = y_tw[pick].sum(), pick.sum()
    return total, number


def fit_product_multinomial_gibbs(codes: np.ndarray, *, k: int = 30, iterations: int = 200, burn_in: int = 100,
                                  alpha: float = 1.0, beta: float = 1.0, seed: int = 0) -> dict:
    """Mixture of product multinomials (latent class model) by Gibbs sampling (Dunson & Xing, 2009 style).

    Model: ``z_i ~ Cat(π)``, ``x_ij | z_i = h ~ Cat(ψ_hj)``, priors ``π ~ Dir(α)``, ``ψ_hj ~ Dir(β)``. Each sweep
    draws ``z`` given ``(π, ψ)``, then ``π`` and ``ψ`` from their Dirichlet posteriors. The posterior mean of
    ``π`` and ``ψ`` over the sweeps after ``burn_in`` is returned.

    Args:
        codes: (n, p) non-negative integer codes (one column per categorical/binned variable).

    Returns:
        ``{"weights": (k,), "probs": [ (k, levels_j) per column ], "levels": [levels_j]}``.
    """
    x = np.asarray(codes, dtype=np.int64)
    if x.ndim != 2 or (x < 0).any():
        raise ValueError("codes must be a 2-d array of non-negative integers")
    if not 0 <= burn_in < iterations:
        raise ValueError("need 0 <= burn_in < iterations")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x61BB5,)))
    n, p = x.shape
    levels = [int(x[:, j].max()) + 1 for j in range(p)]
    z = rng.integers(0, k, n)
    sums_w, sums_p, kept = np.zeros(k), [np.zeros((k, lv)) for lv in levels], 0
    for it in range(int(iterations)):
        pi = rng.dirichlet(np.bincount(z, minlength=k) + alpha)
        psi = []
        for j, lv in enumerate(levels):
            counts = np.zeros((k, lv))
            np.add.at(counts, (z, x[:, j]), 1.0)
            psi.append(np.vstack([rng.dirichlet(row + beta) for row in counts]))
        logp = np.log(pi)[None, :] + sum(np.log(psi[j][:, x[:, j]]).T for j in range(p))
        logp -= logp.max(axis=1, keepdims=True)
        prob = np.exp(logp)
        prob /= prob.sum(axis=1, keepdims=True)
        z = (prob.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
        if it >= burn_in:
            sums_w += pi
            for j in range(p):
                sums_p[j] += psi[j]
            kept += 1
    return {"weights": sums_w / kept, "probs": [s / kept for s in sums_p], "levels": levels}


def sample_product_multinomial(model: dict, n: int, *, seed: int = 0) -> np.ndarray:
    """Draw ``n`` rows of codes from :func:`fit_product_multinomial_gibbs`'s model."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x5A3,)))
    w = model["weights"] / model["weights"].sum()
    z = rng.choice(len(w), int(n), p=w)
    cols = []
    for probs in model["probs"]:
        cum = probs[z].cumsum(axis=1)
        cols.append((cum > rng.random(int(n))[:, None] * cum[:, -1:]).argmax(axis=1))
    return np.column_stack(cols) if cols else np.empty((int(n), 0), np.int64)
