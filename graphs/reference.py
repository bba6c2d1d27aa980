"""SynTwin's reference graph: all-pairs distances, an edge wherever ``d <= t`` (percolation threshold).

Moore et al. (PSB 2024) join every pair of patients closer than a threshold ``t`` (Gower: 0.12), chosen at the
percolation transition of the graph, and weight edges ``1 - d / max d``. This module is the O(n²)
reference the kNN graphs are measured against (tests, benchmarks); it is meant for n up to a few 10⁴.

Percolation curve: the fraction ``S(t)`` of nodes in the largest component of the threshold graph.
Components of ``{d <= t}`` are those of the minimum spanning tree's edges ``<= t`` (the MST is the
single-linkage tree), so ``S(t)`` is exact at every ``t`` from one O(n² d) Prim pass with O(n) memory.
The threshold is read off a logistic fit ``S(t) = 1 / (1 + exp(-s (t - t0)))`` as the point where its
tangent at the inflection ``t0`` crosses ``S = 0``: ``t* = t0 - 2 / s`` (onset of the giant component).
"""

from __future__ import annotations

import faiss
import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from .knn import METRICS, check_matrix
from .store import SimilarityGraph

__all__ = ["logistic_onset", "minimum_spanning_tree", "percolation_curve", "percolation_threshold", "threshold_graph"]


def minimum_spanning_tree(X: np.ndarray, *, metric: str = "l1") -> pd.DataFrame:
    """Exact MST of the complete graph on the rows of ``X`` (Prim, O(n² d) time, O(n) memory).

    Returns:
        DataFrame ``src, dst, distance`` with ``n - 1`` rows (raw metric distances).
    """
    X = check_matrix(X).astype(np.float64)
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    n = len(X)
    best = np.full(n, np.inf)
    parent = np.zeros(n, dtype=np.int64)
    todo = np.ones(n, dtype=bool)
    src, dst, dist = np.empty(n - 1, np.int64), np.empty(n - 1, np.int64), np.empty(n - 1)
    cur = 0
    todo[0] = False
    remaining = np.arange(1, n)
    for step in range(n - 1):
        diff = X[remaining] - X[cur]
        d = np.abs(diff).sum(1) if metric == "l1" else np.sqrt((diff * diff).sum(1))
        closer = d < best[remaining]
        best[remaining[closer]] = d[closer]
        parent[remaining[closer]] = cur
        j = int(np.argmin(best[remaining]))
        cur = int(remaining[j])
        src[step], dst[step], dist[step] = parent[cur], cur, best[cur]
        remaining = np.delete(remaining, j)
    return pd.DataFrame({"src": src, "dst": dst, "distance": dist})


def percolation_curve(mst: pd.DataFrame, n: int, thresholds: np.ndarray | None = None,
                      multiplicity: np.ndarray | None = None) -> pd.DataFrame:
    """Largest-component fraction ``S(t)`` of the threshold graph, from its MST (union-find, exact).

    Args:
        mst: output of :func:`minimum_spanning_tree` (distances in the unit of ``thresholds``).
        n: number of nodes.
        thresholds: where to evaluate ``S`` (default 200 points from 0 to the largest MST edge).
        multiplicity: patients per node (component sizes count patients).
    """
    w = np.ones(n, dtype=np.int64) if multiplicity is None else np.asarray(multiplicity, dtype=np.int64)
    total = w.sum()
    order = np.argsort(mst["distance"].to_numpy(), kind="stable")
    a, b = mst["src"].to_numpy()[order], mst["dst"].to_numpy()[order]
    d = mst["distance"].to_numpy()[order]
    parent = np.arange(n)
    size = w.copy()

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    giant = np.empty(len(d))
    largest = int(w.max()) if n else 0
    for e in range(len(d)):
        ra, rb = root(a[e]), root(b[e])
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        largest = max(largest, int(size[ra]))
        giant[e] = largest
    if thresholds is None:
        thresholds = np.linspace(0.0, float(d.max()) if len(d) else 1.0, 200)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    pos = np.searchsorted(d, thresholds, side="right")  # MST edges <= t
    frac = np.where(pos > 0, giant[np.maximum(pos - 1, 0)], int(w.max()) if n else 0) / total
    return pd.DataFrame({"threshold": thresholds, "giant_fraction": frac})


def _logistic(t, t0, s):
    return 1.0 / (1.0 + np.exp(-s * (t - t0)))


def logistic_onset(t: np.ndarray, y: np.ndarray) -> float:
    """Fit ``y ≈ 1 / (1 + exp(-s (t - t0)))`` and return ``max(t0 - 2 / s, 0)``: where the tangent at the
    inflection crosses ``y = 0`` (SynTwin's step3_percolation_threshold.py)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if len(t) < 4 or np.ptp(y) == 0:
        raise ValueError("the percolation curve is flat or too short to fit a logistic")
    t0_guess = float(t[np.argmin(np.abs(y - 0.5))])
    s_guess = 4.0 / max(np.ptp(t) / 10, 1e-12)
    (t0, s), _ = curve_fit(_logistic, t, y, p0=(t0_guess, s_guess), maxfev=20_000)
    return float(max(t0 - 2.0 / s, 0.0))


def percolation_threshold(curve: pd.DataFrame) -> float:
    """Onset of the giant component: tangent of a logistic fit at its inflection, crossing ``S = 0``."""
    return logistic_onset(curve["threshold"].to_numpy(float), curve["giant_fraction"].to_numpy(float))


def threshold_graph(X: np.ndarray, threshold: float | str = "auto", *, scale: float = 1.0, metric: str = "l1",
                    multiplicity: np.ndarray | None = None, block_rows: int = 1024) -> SimilarityGraph:
    """SynTwin's graph: an edge for every pair with ``distance <= threshold`` (all pairs, blockwise).

    Args:
        X: ``(n, d)`` encoded rows; ``distance = metric distance / scale`` (``MixedEncoder.scale_`` → Gower).
        threshold: a distance, or ``"auto"`` for :func:`percolation_threshold` of the MST curve.
        multiplicity: patients per row (stored; used by the percolation curve).

    Returns:
        :class:`SimilarityGraph` with ``weight = 1 - d / max d`` over its edges; ``meta["threshold"]``.
    """
    X = check_matrix(X)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    n = len(X)
    meta = {"kind": "threshold", "metric": metric, "scale": float(scale)}
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be a number or 'auto', got {threshold!r}")
        mst = minimum_spanning_tree(X, metric=metric)
        mst["distance"] /= scale
        threshold = percolation_threshold(percolation_curve(mst, n, multiplicity=multiplicity))
        meta["threshold_rule"] = "percolation (logistic tangent)"
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    meta["threshold"] = float(threshold)
    parts = []
    for s in range(0, n, block_rows):
        D = faiss.pairwise_distances(X[s:s + block_rows], X, metric=METRICS[metric])
        if metric == "l2":
            D = np.sqrt(np.maximum(D, 0))
        D /= scale
        i, j = np.nonzero(D <= threshold)
        i += s
        keep = j > i
        parts.append((i[keep].astype(np.int64), j[keep].astype(np.int64), D[i[keep] - s, j[keep]]))
    src, dst, dist = (np.concatenate(p) for p in zip(*parts))
    dmax = float(dist.max()) if len(dist) else 0.0
    weight = np.ones_like(dist) if dmax <= 0 else 1.0 - dist / dmax
    edges = pd.DataFrame({"src": src, "dst": dst, "distance": dist, "weight": weight})
    return SimilarityGraph(n_nodes=n, edges=edges, multiplicity=multiplicity, meta=meta)
