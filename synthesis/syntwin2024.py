"""SynTwin reference mode (Moore et al., PSB 2024): community-based twin prediction, designs A–F.

Given the distances among real evaluation patients and from them to synthetic patients:

1. graph of real patients: edge when ``d <= threshold``, weight ``1 − d / max d``; the default
   threshold is the *percolation threshold*, the smallest one at which the graph is connected (the
   longest edge of the minimum spanning tree);
2. Louvain communities (igraph multilevel) at each resolution of a scan, keeping the partition of
   highest (γ = 1) modularity; only communities with ``>= min_size`` members are kept — the method
   covers only their members;
3. per kept community: centre = member of highest eigenvector centrality in the community subgraph,
   radius = largest distance from the centre to a member; its *twins* = synthetic patients within
   the radius of the centre;
4. prediction for patient ``i`` of community ``c`` (``n_c`` members) = fraction of events among
   A: the other real members; B: the twins of ``c``; C: both; D: the ``n_c − 1`` synthetic patients
   closest to ``i``; E: A's and D's patients together; F: ``n_c − 1`` random real patients outside ``c``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import minimum_spanning_tree

__all__ = ["DESIGNS", "percolation_threshold", "syntwin_designs"]

DESIGNS = ("A", "B", "C", "D", "E", "F")


def percolation_threshold(d_real: np.ndarray) -> float:
    """Smallest distance threshold at which the threshold graph is connected (MST bottleneck)."""
    d = np.asarray(d_real, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"d_real must be a square distance matrix, got shape {d.shape}")
    if len(d) < 2:
        return 0.0
    # zero distances are 'no edge' for scipy: shift them to a tiny positive value
    tree = minimum_spanning_tree(np.where(d > 0, d, 1e-300) * ~np.eye(len(d), dtype=bool))
    return float(tree.data.max()) if tree.nnz else 0.0


def _louvain(n: int, edges: np.ndarray, weights: np.ndarray, resolutions: Sequence[float], seed: int):
    import igraph as ig

    g = ig.Graph(n=n, edges=edges.tolist())
    g.es["weight"] = weights.tolist()
    best = None
    for i, gamma in enumerate(resolutions):
        ig.set_random_number_generator(random.Random(int(seed) * 1000 + i))
        try:
            part = g.community_multilevel(weights="weight", resolution=float(gamma))
        finally:
            ig.set_random_number_generator(random)
        q = g.modularity(part.membership, weights="weight")
        if best is None or q > best[0] + 1e-12:
            best = (q, float(gamma), np.asarray(part.membership))
    return g, best


def syntwin_designs(
    d_real: np.ndarray,
    d_real_syn: np.ndarray,
    y_real: np.ndarray,
    y_syn: np.ndarray,
    *,
    threshold: float | None = None,
    resolutions: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0),
    min_size: int = 10,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Run SynTwin's designs A–F (see the module docstring).

    Args:
        d_real: (n, n) distances among real patients (e.g. Gower).
        d_real_syn: (n, m) distances from real to synthetic patients.
        y_real: (n,) 0/1 outcome of the real patients.
        y_syn: (m,) 0/1 outcome of the synthetic patients.
        threshold: Edge threshold; None = percolation threshold.
        resolutions: Louvain resolutions scanned.
        min_size: Smallest community kept (SynTwin: 10).
        seed: Seed of Louvain's node order and of design F's random draws.

    Returns:
        ``(predictions, info)``: a frame with one row per real patient — ``community`` (-1 when not in
        a kept community) and columns ``A``..``F`` (NaN outside kept communities) — and a dict with
        ``threshold``, ``resolution``, ``modularity``, ``n_communities``, ``coverage``.
    """
    d = np.asarray(d_real, dtype=np.float64)
    ds = np.asarray(d_real_syn, dtype=np.float64)
    y, ys = np.asarray(y_real, dtype=np.float64), np.asarray(y_syn, dtype=np.float64)
    n = len(d)
    if d.shape != (n, n) or ds.shape[0] != n or y.shape != (n,) or ys.shape != (ds.shape[1],):
        raise ValueError(f"shapes disagree: d_real {d.shape}, d_real_syn {ds.shape}, y_real {y.shape}, "
                         f"y_syn {ys.shape}")
    thr = percolation_threshold(d) if threshold is None else float(threshold)
    iu, ju = np.triu_indices(n, 1)
    keep = d[iu, ju] <= thr
    dmax = d[iu, ju].max() if len(iu) else 1.0
    edges = np.column_stack([iu[keep], ju[keep]])
    weights = 1.0 - d[iu, ju][keep] / (dmax if dmax > 0 else 1.0)
    graph, (q, gamma, membership) = _louvain(n, edges, np.maximum(weights, 1e-12), resolutions, seed)
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
        outside = np.flatnonzero(membership != c)
        m = len(members) - 1
        for i in members:
            others = members[members != i]
            closest = np.argsort(ds[i], kind="stable")[:m]
            pred["A"][i] = y[others].mean()
            pred["B"][i] = ys[twins].mean() if len(twins) else np.nan
            pred["C"][i] = np.concatenate([y[others], ys[twins]]).mean()
            pred["D"][i] = ys[closest].mean()
            pred["E"][i] = np.concatenate([y[others], ys[closest]]).mean()
            if len(outside):
                pred["F"][i] = y[rng.choice(outside, min(m, len(outside)), replace=False)].mean()
    frame = pd.DataFrame({"community": community, **pred})
    info = {"threshold": thr, "resolution": gamma, "modularity": float(q), "n_communities": int(len(kept)),
            "coverage": float((community >= 0).mean())}
    return frame, info
