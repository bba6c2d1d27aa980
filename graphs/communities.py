"""Community detection on similarity graphs: Leiden, Louvain, SynTwin's resolution scan, coverage.

Modularity (Newman 2006; resolution γ of Reichardt & Bornholdt 2006), with ``A`` the weighted adjacency,
``k_i`` weighted degrees and ``m`` the total weight:

.. math:: Q = \\frac{1}{2m} \\sum_{ij} \\Big(A_{ij} - \\gamma \\frac{k_i k_j}{2m}\\Big) [c_i = c_j]

Leiden: Traag, Waltman & van Eck (2019), igraph's ``community_leiden``. Louvain: Blondel et al. (2008),
igraph's ``community_multilevel`` (the method SynTwin used). igraph draws from one process-wide generator:
it is swapped for a ``random.Random(seed)`` during each call and restored after, so results follow
``seed`` only (not thread-safe: do not run two calls in threads of one process at once).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ._seed import int_seed
from .store import SimilarityGraph

__all__ = ["leiden", "louvain", "modularity", "community_stats", "resolution_scan"]


@contextmanager
def _igraph_seed(seed: int, key: str):
    import igraph as ig

    ig.set_random_number_generator(random.Random(int_seed(seed, key)))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def _as_igraph(graph):
    import igraph as ig

    if isinstance(graph, SimilarityGraph):
        return graph.to_igraph(attributes=("weight",))
    if isinstance(graph, ig.Graph):
        return graph
    raise TypeError(f"graph must be a SimilarityGraph or igraph.Graph, got {type(graph).__name__}")


def _check_resolution(resolution: float) -> float:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float)) or not resolution > 0:
        raise ValueError(f"resolution must be a number > 0, got {resolution!r}")
    return float(resolution)


def _canonical(membership) -> np.ndarray:
    """Relabel communities by decreasing size, ties by first node, so labels are stable."""
    m = np.asarray(membership, dtype=np.int64)
    labels, first, counts = np.unique(m, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    new = np.empty(len(labels), dtype=np.int64)
    new[order] = np.arange(len(labels))
    return new[np.searchsorted(labels, m)]


def leiden(graph, *, resolution: float = 1.0, seed: int = 0, objective: str = "modularity",
           weights: bool = True, n_iterations: int = 2) -> np.ndarray:
    """Leiden communities (igraph); returns one label per node, 0 = largest community.

    Args:
        graph: :class:`SimilarityGraph` or ``igraph.Graph`` (with a ``weight`` edge attribute if weighted).
        resolution: γ (higher → more, smaller communities).
        objective: ``"modularity"`` or ``"CPM"``.
        weights: use edge weights.
        n_iterations: Leiden passes (igraph's default 2); negative runs until the partition is stable.
    """
    resolution = _check_resolution(resolution)
    if objective not in ("modularity", "CPM"):
        raise ValueError(f"objective must be 'modularity' or 'CPM', got {objective!r}")
    g = _as_igraph(graph)
    w = "weight" if weights and "weight" in g.es.attributes() else None
    with _igraph_seed(seed, "leiden"):
        part = g.community_leiden(objective_function=objective, weights=w, resolution=resolution,
                                  n_iterations=n_iterations)
    return _canonical(part.membership)


def louvain(graph, *, resolution: float = 1.0, seed: int = 0, weights: bool = True) -> np.ndarray:
    """Louvain communities (igraph multilevel), as SynTwin; labels as in :func:`leiden`."""
    resolution = _check_resolution(resolution)
    g = _as_igraph(graph)
    w = "weight" if weights and "weight" in g.es.attributes() else None
    with _igraph_seed(seed, "louvain"):
        part = g.community_multilevel(weights=w, resolution=resolution)
    return _canonical(part.membership)


def modularity(graph, membership: np.ndarray, *, resolution: float = 1.0, weights: bool = True) -> float:
    """Weighted modularity ``Q`` of ``membership`` (formula in the module docstring)."""
    g = _as_igraph(graph)
    w = "weight" if weights and "weight" in g.es.attributes() else None
    return float(g.modularity(list(np.asarray(membership)), weights=w, resolution=resolution))


def community_stats(membership: np.ndarray, multiplicity: np.ndarray | None = None,
                    min_size: int = 10) -> dict:
    """Communities, those with ``>= min_size`` patients ("kept", SynTwin's rule) and their coverage.

    Sizes count patients (node multiplicities when given). ``coverage`` = patients in kept communities / all.
    """
    m = np.asarray(membership, dtype=np.int64)
    w = np.ones(len(m), dtype=np.int64) if multiplicity is None else np.asarray(multiplicity, dtype=np.int64)
    sizes = np.bincount(m, weights=w).astype(np.int64)
    sizes = sizes[sizes > 0]
    kept = sizes >= min_size
    total = int(w.sum())
    return {"communities": int(len(sizes)), "kept": int(kept.sum()),
            "coverage": float(sizes[kept].sum() / total) if total else 0.0,
            "largest": int(sizes.max()) if len(sizes) else 0}


def resolution_scan(graph, resolutions: Iterable[float], *, min_size: int = 10, seed: int = 0,
                    method: str = "leiden", n_iterations: int = 2) -> pd.DataFrame:
    """Communities per resolution, and the best one by SynTwin's criterion.

    For each γ: ``communities``, ``kept`` (``>= min_size`` patients), ``coverage``, ``modularity`` (γ = 1,
    comparable across rows) and ``best``: the row with the most kept communities, ties broken by modularity.
    ``n_iterations`` is passed to :func:`leiden`.
    """
    if method not in ("leiden", "louvain"):
        raise ValueError(f"method must be 'leiden' or 'louvain', got {method!r}")
    resolutions = [_check_resolution(r) for r in resolutions]
    if not resolutions:
        raise ValueError("resolutions is empty")
    mult = graph.multiplicity if isinstance(graph, SimilarityGraph) else None
    g = _as_igraph(graph)
    rows = []
    for r in resolutions:
        if method == "leiden":
            m = leiden(g, resolution=r, seed=seed, n_iterations=n_iterations)
        else:
            m = louvain(g, resolution=r, seed=seed)
        rows.append({"resolution": r, **community_stats(m, mult, min_size), "modularity": modularity(g, m)})
    df = pd.DataFrame(rows)
    best = df.sort_values(["kept", "modularity"], ascending=False, kind="stable").index[0]
    df["best"] = df.index == best
    return df
