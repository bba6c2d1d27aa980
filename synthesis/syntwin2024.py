"""SynTwin as published (Moore et al., PSB 2024; EpistasisLab/SynTwin code): community-based twins, designs A–F.

Given all-pairs distances among the graph's patients (Gower) and from them to synthetic patients:

1. graph: an edge wherever ``d <= t``, weight ``1 − d / max d``; ``t`` is the *percolation threshold* as their
   ``step3_percolation_threshold.py`` computes it: a logistic curve fitted to the cumulative number of pairs
   within distance ``d``; ``t`` = where the tangent at its inflection crosses zero, ``t0 − 2 / s``;
2. Louvain (igraph ``community_multilevel``, weighted) with their resolution scan (``step4b``): resolutions
   0–9 and 10 random seeds; per seed the resolution giving the most communities of ``>= min_size`` wins; the
   most frequent winner is used (ties: the most patients in such communities). Only communities
   ``>= min_size`` are kept — the method covers only their members;
3. per kept community: centre = member of highest eigenvector centrality in the community subgraph, radius =
   largest distance from the centre to a member; its *twins* = synthetic patients within the radius;
4. prediction for query ``i`` of community ``c`` with ``n_c`` labelled *reference* members = fraction of events
   among A: the reference members of ``c`` (other than ``i``); B: the twins of ``c``; C: both; D: the
   ``n_c`` synthetic patients closest to ``i``; E: A's and D's together; F: ``n_c`` random reference patients
   outside ``c``.

In the paper every graph patient is both query and reference (leave-one-out). With ``is_query`` the queries
(e.g. held-out patients, whose labels must reach nothing) sit in the graph beside labelled reference patients;
then A/C/E/F draw only on reference labels.

:func:`fit_product_multinomial_gibbs` is the paper's generator: one global mixture of product multinomials
(latent classes) fitted by collapsed-free Gibbs sampling with Dirichlet priors (K = 30).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["DESIGNS", "fit_product_multinomial_gibbs", "percolation_threshold", "resolution_scan",
           "syntwin_designs"]

DESIGNS = ("A", "B", "C", "D", "E", "F")
RESOLUTIONS = tuple(float(r) for r in range(10))  # their scan: 0, 1, ..., 9
SCAN_SEEDS = 10


def percolation_threshold(d_real: np.ndarray, *, points: int = 200) -> float:
    """Their percolation threshold: logistic fit to the cumulative pair count, tangent crossing zero.

    ``N(t) = #{pairs i < j : d_ij <= t}`` on ``points`` thresholds from 0 to ``max d``; fit
    ``N(t) ≈ N_max / (1 + exp(−s (t − t0)))``; return ``max(t0 − 2 / s, 0)``.
    """
    from syntwin.graphs.reference import logistic_onset

    d = np.asarray(d_real, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"d_real must be a square distance matrix, got shape {d.shape}")
    if len(d) < 3:
        return 0.0
    pairs = np.sort(d[np.triu_indices(len(d), 1)])
    t = np.linspace(0.0, float(pairs[-1]), points)
    cumulative = np.searchsorted(pairs, t, side="right") / len(pairs)
    return logistic_onset(t, cumulative)


_IGRAPH_RNG = threading.Lock()  # igraph's random generator is process-global: one seeded run at a time


def _multilevel(g, resolution: float, seed: int) -> np.ndarray:
    import igraph as ig

    with _IGRAPH_RNG:
        ig.set_random_number_generator(random.Random(int(seed)))
        try:
            return np.asarray(g.community_multilevel(weights="weight", resolution=float(resolution)).membership)
        finally:
            ig.set_random_number_generator(random)


def _best_of_seed(g, resolutions: Sequence[float], min_size: int, louvain_seed: int) -> tuple[tuple, float, np.ndarray]:
    """One seed of the scan: the resolution with most communities ``>= min_size`` (ties: most patients in them)."""
    best = None
    for r in resolutions:
        membership = _multilevel(g, r, louvain_seed)
        sizes = np.bincount(membership)
        key = (int((sizes >= min_size).sum()), int(sizes[sizes >= min_size].sum()))
        if best is None or key > best[0]:
            best = (key, float(r), membership)
    return best


def _graph_from_edges(n: int, edges: np.ndarray, weights: np.ndarray):
    import igraph as ig

    g = ig.Graph(n=int(n), edges=np.asarray(edges).tolist())
    g.es["weight"] = np.asarray(weights).tolist()
    return g


def resolution_scan(g, *, resolutions: Sequence[float] = RESOLUTIONS, seeds: int = SCAN_SEEDS, min_size: int = 10,
                    seed: int = 0, client=None) -> tuple[float, np.ndarray, dict]:
    """Their resolution choice: per seed the resolution with most communities ``>= min_size`` wins; mode wins.

    Ties (per seed, and between equally frequent winners) go to the most patients in such communities.
    With a ``distributed.Client``, each seed's scan is one task on the cluster (the graph is rebuilt there
    from its edge list by a task, so a lost worker's share is recomputed); the result is the same.

    Returns:
        ``(resolution, membership, info)`` — membership of the chosen resolution at the first seed it won.
    """
    seeds_used = [int(seed) * 1000 + s for s in range(int(seeds))]
    if client is None:
        bests = [_best_of_seed(g, resolutions, min_size, s) for s in seeds_used]
    else:
        edges = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        weights = np.asarray(g.es["weight"], dtype=np.float64) if g.ecount() else np.zeros(0)
        import dask

        # the edge list (~16 MB per million edges) travels once, to the task that builds the graph on a worker
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1GB"}):
            remote = client.submit(_graph_from_edges, g.vcount(), edges.astype(np.int32), weights, pure=False)
        bests = client.gather([client.submit(_best_of_seed, remote, tuple(resolutions), int(min_size), s, pure=False)
                               for s in seeds_used])
    winners, partitions = [], {}
    for best in bests:
        winners.append(best[1])
        partitions.setdefault(best[1], (best[0], best[2]))
    counts = Counter(winners)
    chosen = max(counts, key=lambda r: (counts[r], partitions[r][0][1]))
    info = {"resolution_votes": {str(r): int(c) for r, c in sorted(counts.items())}}
    return chosen, partitions[chosen][1], info


def syntwin_designs(
    d_real: np.ndarray,
    d_real_syn: np.ndarray,
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
) -> tuple[pd.DataFrame, dict]:
    """Run SynTwin's designs A–F (see the module docstring).

    Args:
        d_real: (n, n) distances among the graph's real patients (e.g. Gower).
        d_real_syn: (n, m) distances from them to the synthetic patients.
        y_real: (n,) 0/1 outcome of the real patients; ignored (may be NaN) for queries.
        y_syn: (m,) 0/1 outcome of the synthetic patients.
        is_query: (n,) bool, patients to predict whose labels are never read; None = every patient is both
            query and reference (the paper's leave-one-out).
        threshold: Edge threshold; None = :func:`percolation_threshold`.
        resolutions, seeds: the resolution scan (:func:`resolution_scan`).
        min_size: Smallest community kept (SynTwin: 10).
        seed: Seed of Louvain and of design F's draws.
        client: A ``distributed.Client`` to run the resolution scan's seeds in parallel (same result).

    Returns:
        ``(predictions, info)``: one row per real patient — ``community`` (-1 outside kept communities) and
        ``A``..``F`` (NaN for non-queries and outside kept communities) — and ``threshold``, ``resolution``,
        ``modularity``, ``n_communities``, ``coverage`` (share of queries in kept communities), votes.
    """
    import igraph as ig

    d = np.asarray(d_real, dtype=np.float64)
    ds = np.asarray(d_real_syn, dtype=np.float64)
    y, ys = np.asarray(y_real, dtype=np.float64), np.asarray(y_syn, dtype=np.float64)
    n = len(d)
    if d.shape != (n, n) or ds.shape[0] != n or y.shape != (n,) or ys.shape != (ds.shape[1],):
        raise ValueError(f"shapes disagree: d_real {d.shape}, d_real_syn {ds.shape}, y_real {y.shape}, "
                         f"y_syn {ys.shape}")
    query = np.zeros(n, bool) if is_query is None else np.asarray(is_query, bool)
    if query.shape != (n,):
        raise ValueError(f"is_query must have one entry per real patient ({n}), got {query.shape}")
    reference = ~query
    loo = is_query is None
    targets = np.ones(n, bool) if loo else query
    thr = percolation_threshold(d) if threshold is None else float(threshold)
    iu, ju = np.triu_indices(n, 1)
    dij = d[iu, ju]
    keep = dij <= thr
    dmax = dij.max() if len(dij) else 1.0
    graph = ig.Graph(n=n, edges=np.column_stack([iu[keep], ju[keep]]).tolist())
    graph.es["weight"] = np.maximum(1.0 - dij[keep] / (dmax if dmax > 0 else 1.0), 1e-12).tolist()
    gamma, membership, votes = resolution_scan(graph, resolutions=resolutions, seeds=seeds, min_size=min_size,
                                               seed=seed, client=client)
    sizes = np.bincount(membership)
    kept = np.flatnonzero(sizes >= min_size)
    community = np.where(np.isin(membership, kept), membership, -1)
    pred = {k: np.full(n, np.nan) for k in DESIGNS}
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x5F,)))
    for c in kept:
        members = np.flatnonzero(membership == c)
        sub = graph.subgraph(members.tolist())
        centre = members[int(np.argmax(sub.eigenvector_centrality(weights="weight")))]
        radius = d[centre, members].max()
        twins = np.flatnonzero(ds[centre] <= radius)
        ref_members = members[reference[members]]
        outside = np.flatnonzero((membership != c) & reference)
        for i in members[targets[members]]:
            others = ref_members[ref_members != i]
            m = len(others)
            closest = np.argsort(ds[i], kind="stable")[:m]
            pred["A"][i] = y[others].mean() if m else np.nan
            pred["B"][i] = ys[twins].mean() if len(twins) else np.nan
            both = np.concatenate([y[others], ys[twins]])
            pred["C"][i] = both.mean() if len(both) else np.nan
            pred["D"][i] = ys[closest].mean() if m else np.nan
            pred["E"][i] = np.concatenate([y[others], ys[closest]]).mean() if m else np.nan
            if len(outside) and m:
                pred["F"][i] = y[rng.choice(outside, min(m, len(outside)), replace=False)].mean()
    frame = pd.DataFrame({"community": community, **pred})
    q = graph.modularity(membership.tolist(), weights="weight", resolution=gamma) if graph.ecount() else 0.0
    info = {"threshold": thr, "resolution": gamma, "modularity": float(q), "n_communities": int(len(kept)),
            "coverage": float((community[targets] >= 0).mean()) if targets.any() else 0.0,
            "edges": int(keep.sum()), **votes}
    return frame, info


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
