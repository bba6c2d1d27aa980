"""Communities of very large kNN graphs without one igraph of all edges: Leiden on a coarsened graph.

Patients are first grouped into micro-clusters (k-means cells of their encoded vectors, faiss, trained on a
seeded sample); the kNN edges are summed between micro-clusters (self-loops hold the weight inside a cell),
and Leiden runs on that small graph. Each patient takes its micro-cluster's community. This is one level of
the multilevel scheme Louvain and Leiden use themselves (Blondel et al. 2008; Traag, Waltman & van Eck 2019,
"aggregate network"), seeded by a geometric partition instead of local moves: modularity of a partition
made of whole cells is the same on the fine and on the aggregated graph, so Leiden on the aggregate
optimises the fine graph's modularity over partitions that do not split cells.

Aggregation works on edge blocks (``(src, dst, weight)`` arrays or Parquet parts), so the fine edges need
never be in one place: only the ``cells x cells`` sums are (sparse, a few edges per cell pair).

Modularity of a membership is computed from edge arrays directly (no igraph), with ``m`` the total weight:

.. math:: Q = \\sum_c \\Big(\\frac{W_c}{m} - \\gamma \\Big(\\frac{K_c}{2m}\\Big)^2\\Big)

where ``W_c`` is the weight of edges inside ``c`` and ``K_c`` the weighted degree of its nodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import faiss
import numpy as np

from ._seed import int_seed, rng
from .communities import _canonical, _check_resolution, _igraph_seed

__all__ = ["micro_clusters", "spatial_blocks", "aggregate_edges", "coarse_leiden", "coarsened_leiden",
           "coarsened_leiden_parts", "modularity_from_edges", "cell_sample_rows", "cell_centroids", "nearest_cell"]

TRAIN_PER_CELL = 64  # k-means training rows per micro-cluster (faiss's own minimum is 39)


def micro_clusters(X: np.ndarray, n_cells: int, *, seed: int = 0, niter: int = 20) -> np.ndarray:
    """k-means cell of every row of ``X`` (L2, faiss), centroids trained on a seeded sample.

    The sample has ``max(64 * n_cells, 20000)`` rows (all rows when fewer); the result depends on ``X`` and ``seed``.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    centroids = cell_centroids(X[cell_sample_rows(len(X), n_cells, seed)], n_cells, seed=seed, niter=niter)
    return nearest_cell(X, centroids)


def cell_sample_rows(n: int, n_cells: int, seed: int) -> np.ndarray:
    """Sorted rows (of ``n``) on which :func:`micro_clusters` trains its k-means."""
    if not 2 <= n_cells <= n:
        raise ValueError(f"n_cells must be in [2, {n}], got {n_cells}")
    return np.sort(rng(seed, "micro-sample").choice(n, min(n, max(TRAIN_PER_CELL * n_cells, 20_000)),
                                                    replace=False))


def cell_centroids(sample: np.ndarray, n_cells: int, *, seed: int = 0, niter: int = 20) -> np.ndarray:
    """k-means (L2, faiss) centroids of ``sample``."""
    km = faiss.Kmeans(sample.shape[1], int(n_cells), niter=niter, seed=int_seed(seed, "micro-kmeans"),
                      max_points_per_centroid=len(sample) // n_cells + 1)
    km.train(np.ascontiguousarray(sample, dtype=np.float32))
    return km.centroids


def nearest_cell(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cell (nearest centroid, L2) of every row of ``X``."""
    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(centroids)
    _, cell = index.search(np.ascontiguousarray(X, dtype=np.float32), 1)
    return cell[:, 0].astype(np.int64)


def aggregate_edges(blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], cells: np.ndarray,
                    n_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum edge weights between cells over edge blocks ``(src, dst, weight)``.

    Returns ``(a, b, weight)`` with ``a <= b`` (``a == b``: weight inside a cell), one row per cell pair.
    """
    keys, sums = [], []
    for src, dst, w in blocks:
        a, b = cells[np.asarray(src)], cells[np.asarray(dst)]
        key = np.minimum(a, b) * n_cells + np.maximum(a, b)
        u, inv = np.unique(key, return_inverse=True)
        keys.append(u)
        sums.append(np.bincount(inv, weights=np.asarray(w, dtype=np.float64), minlength=len(u)))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    key = np.concatenate(keys)
    u, inv = np.unique(key, return_inverse=True)
    weight = np.bincount(inv, weights=np.concatenate(sums), minlength=len(u))
    return u // n_cells, u % n_cells, weight


def coarse_leiden(a: np.ndarray, b: np.ndarray, weight: np.ndarray, n_cells: int, *, resolution: float = 1.0,
                  seed: int = 0, n_iterations: int = -1) -> np.ndarray:
    """Leiden (modularity) on the aggregated graph; returns one community per cell (0 = largest by cells).

    Self-loops carry each cell's internal weight. The node weights are passed explicitly as strengths with
    loops counted twice (the cells' summed fine degrees), so the null model is the fine graph's: igraph's
    default node weights for a graph with loops differ (measured: fewer, larger communities).
    """
    import igraph as ig

    resolution = _check_resolution(resolution)
    g = ig.Graph(n=int(n_cells), edges=np.column_stack([a, b]).tolist(), directed=False)
    g.es["weight"] = np.asarray(weight, dtype=np.float64)
    strength = g.strength(weights="weight", loops=True)  # loops twice; igraph's default weights differ
    with _igraph_seed(seed, "coarse-leiden"):
        part = g.community_leiden(objective_function="modularity", weights="weight", resolution=resolution,
                                  node_weights=strength, n_iterations=n_iterations)
    return _canonical(part.membership)


def modularity_from_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, membership: np.ndarray, *,
                          resolution: float = 1.0) -> float:
    """Weighted modularity of ``membership`` over undirected edges (formula in the module docstring)."""
    m = np.asarray(membership, dtype=np.int64)
    return _modularity(*_community_weights(src, dst, weight, m, int(m.max()) + 1), resolution)


def _community_weights(src, dst, weight, membership: np.ndarray, n_comm: int
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per community: weight inside, weighted degree; and the total weight (sums over edge blocks add up)."""
    w = np.asarray(weight, dtype=np.float64)
    cs, cd = membership[np.asarray(src)], membership[np.asarray(dst)]
    inside = np.bincount(cs[cs == cd], weights=w[cs == cd], minlength=n_comm)
    degree = np.bincount(cs, weights=w, minlength=n_comm) + np.bincount(cd, weights=w, minlength=n_comm)
    return inside, degree, float(w.sum())


def _modularity(inside: np.ndarray, degree: np.ndarray, total: float, resolution: float) -> float:
    if total <= 0:
        return 0.0
    return float((inside / total).sum() - resolution * ((degree / (2 * total)) ** 2).sum())


def _block_leiden(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, nodes: np.ndarray, resolution: float,
                  seed: int, block: int) -> np.ndarray:
    """Leiden on the subgraph induced by ``nodes`` (edges given in global ids, all inside the block)."""
    import igraph as ig

    local = np.searchsorted(nodes, src), np.searchsorted(nodes, dst)
    g = ig.Graph(n=len(nodes), edges=np.column_stack(local).tolist(), directed=False)
    g.es["weight"] = np.asarray(weight, dtype=np.float64)
    with _igraph_seed(int_seed(seed, "block", block), "block-leiden"):
        part = g.community_leiden(objective_function="modularity", weights="weight", resolution=resolution,
                                  n_iterations=2)
    return _canonical(part.membership)


def spatial_blocks(X: np.ndarray, n_blocks: int, *, seed: int = 0) -> np.ndarray:
    """Block of every row: k-means cells (few, large), so that most kNN edges stay inside a block."""
    if n_blocks <= 1:
        return np.zeros(len(X), dtype=np.int64)
    return micro_clusters(X, n_blocks, seed=int_seed(seed, "blocks"))


def coarsened_leiden(X: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *,
                     resolution: float = 1.0, seed: int = 0, block_rows: int = 125_000,
                     client=None) -> tuple[np.ndarray, dict]:
    """Communities of a kNN graph over the rows of ``X`` without one igraph of all its edges.

    Partition-then-merge (Wickramaarachchi et al., "Fast parallel algorithm for unfolding of communities
    in large graphs", IEEE HPEC 2014): rows are split into ``ceil(n / block_rows)`` spatial blocks
    (k-means of ``X``); Leiden runs on each block's induced subgraph (one task per block, on Dask workers
    when ``client`` is given), giving micro-communities; all edges, the ones between blocks included, are
    summed between micro-communities and Leiden runs on that aggregate; each row takes its
    micro-community's community. Block and aggregate runs are seeded by ``(seed, block)``, so the result
    does not depend on the number of workers.

    Returns ``(membership per row, 0 = largest community by rows; info)``: ``info`` has ``blocks``,
    ``micro_communities``, ``coarse_edges`` and ``inter_block_edge_share``.
    """
    resolution = _check_resolution(resolution)
    n = len(X)
    n_blocks = max(1, math.ceil(n / block_rows))
    block = spatial_blocks(X, n_blocks, seed=seed)
    inside = block[src] == block[dst]
    order = np.argsort(block[src[inside]], kind="stable")
    e_src, e_dst, e_w = src[inside][order], dst[inside][order], weight[inside][order]
    bounds = np.searchsorted(block[e_src], np.arange(n_blocks + 1))
    args = [(e_src[bounds[b]:bounds[b + 1]], e_dst[bounds[b]:bounds[b + 1]], e_w[bounds[b]:bounds[b + 1]],
             np.flatnonzero(block == b), resolution, seed, b) for b in range(n_blocks)]
    if client is not None and n_blocks > 1:
        futures = [client.submit(_block_leiden, *a, pure=False) for a in args]
        local = client.gather(futures)
    else:
        local = [_block_leiden(*a) for a in args]
    micro = np.empty(n, dtype=np.int64)
    offset = 0
    for a, labels in zip(args, local):
        micro[a[3]] = labels + offset
        offset += int(labels.max()) + 1 if len(labels) else 0
    a, b, w = aggregate_edges([(src, dst, weight)], micro, offset)
    per_micro = coarse_leiden(a, b, w, offset, resolution=resolution, seed=seed)
    info = {"blocks": n_blocks, "micro_communities": offset, "coarse_edges": int(len(a)),
            "inter_block_edge_share": round(float(1 - inside.mean()) if len(inside) else 0.0, 4)}
    return _canonical(per_micro[micro]), info


# ------------------------------------------------------------------ from partition files, on the workers
def _edges_of(file: str):
    import pandas as pd

    e = pd.read_parquet(file, columns=["src", "dst", "weight"])
    return e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy()


def _assign_task(x_file: str, centroids: np.ndarray) -> np.ndarray:
    return nearest_cell(np.load(x_file, mmap_mode="r"), centroids)


def _block_task(edge_files: list[str], block_file: str, b: int, resolution: float, seed: int) -> np.ndarray:
    """Task: Leiden on block ``b``'s induced subgraph, its edges read from the edge parts."""
    block = np.load(block_file, mmap_mode="r")
    kept = []
    for f in edge_files:
        src, dst, w = _edges_of(f)
        inside = (block[src] == b) & (block[dst] == b)
        kept.append((src[inside], dst[inside], w[inside]))
    src, dst, w = (np.concatenate(c) for c in zip(*kept))
    return _block_leiden(src, dst, w, np.flatnonzero(np.asarray(block) == b), resolution, seed, b)


def _aggregate_task(edge_file: str, block_file: str, micro_file: str, n_micro: int):
    """Task: one edge part summed between micro-communities, and how many of its edges stay in a block."""
    src, dst, w = _edges_of(edge_file)
    block = np.load(block_file, mmap_mode="r")
    inside = int((block[src] == block[dst]).sum())
    return aggregate_edges([(src, dst, w)], np.load(micro_file, mmap_mode="r"), n_micro), inside, len(src)


def _weights_task(edge_file: str, membership_file: str, n_comm: int):
    src, dst, w = _edges_of(edge_file)
    return _community_weights(src, dst, w, np.load(membership_file, mmap_mode="r"), n_comm)


def coarsened_leiden_parts(x_files: list, edge_files: list, *, client, resolution: float = 1.0, seed: int = 0,
                           block_rows: int = 125_000, scratch=None) -> tuple[np.ndarray, float, dict]:
    """:func:`coarsened_leiden` over encoded rows in ``.npy`` partition files and edges in Parquet parts.

    Every step is a task reading files: k-means of the blocks trained on a sample (gathered by a worker),
    rows assigned per partition, Leiden per block reading the blocks' edges from the parts, aggregation
    and modularity per edge part. The client holds per-row labels (int64) and the aggregate only.
    Returns ``(membership, modularity, info)``.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from .partitioned import gather_rows

    resolution = _check_resolution(resolution)
    x_files, edge_files = [str(f) for f in x_files], [str(f) for f in edge_files]
    counts = [int(np.load(f, mmap_mode="r").shape[0]) for f in x_files]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    n_blocks = max(1, math.ceil(n / block_rows))
    work = Path(scratch) if scratch is not None else Path(tempfile.mkdtemp(
        prefix=".coarsen.", dir=Path(edge_files[0]).parent.parent))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if n_blocks > 1:
            bseed = int_seed(seed, "blocks")
            sample = client.submit(gather_rows, x_files, offsets, cell_sample_rows(n, n_blocks, bseed),
                                   pure=False).result()
            centroids = client.submit(cell_centroids, sample, n_blocks, seed=bseed, pure=False).result()
            block = np.concatenate(client.gather([client.submit(_assign_task, f, centroids, pure=False)
                                                  for f in x_files]))
        else:
            block = np.zeros(n, dtype=np.int64)
        block_file, micro_file, member_file = (str(work / f"{x}.npy") for x in ("blocks", "micro", "membership"))
        np.save(block_file, block)
        local = client.gather([client.submit(_block_task, edge_files, block_file, b, resolution, seed, pure=False)
                               for b in range(n_blocks)])
        micro = np.empty(n, dtype=np.int64)
        offset = 0
        for b, labels in enumerate(local):
            micro[np.flatnonzero(block == b)] = labels + offset
            offset += int(labels.max()) + 1 if len(labels) else 0
        np.save(micro_file, micro)
        parts = client.gather([client.submit(_aggregate_task, f, block_file, micro_file, offset, pure=False)
                               for f in edge_files])
        a, b_, w = aggregate_edges([p[0] for p in parts], np.arange(offset), offset)
        per_micro = coarse_leiden(a, b_, w, offset, resolution=resolution, seed=seed)
        membership = _canonical(per_micro[micro])
        np.save(member_file, membership)
        n_comm = int(membership.max()) + 1
        sums = client.gather([client.submit(_weights_task, f, member_file, n_comm, pure=False) for f in edge_files])
        q = _modularity(sum(s[0] for s in sums), sum(s[1] for s in sums), sum(s[2] for s in sums), resolution)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n_edges = sum(p[2] for p in parts)
    info = {"blocks": n_blocks, "micro_communities": offset, "coarse_edges": int(len(a)),
            "inter_block_edge_share": round(1 - sum(p[1] for p in parts) / n_edges, 4) if n_edges else 0.0}
    return membership, q, info
