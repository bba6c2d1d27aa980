"""The kNN graph of rows held as partition files, built on Dask workers: the client holds no row and no edge.

Input: encoded partitions as ``.npy`` files (``(n_i, d)`` float32, in row order; global row ids run on across
the files). Every step is a task whose inputs are files or small arrays, so Dask can recompute any of them
after a worker loss (nothing is scattered; no task deletes its inputs, so a rerun gives the same output):

1. **Index.** One task gathers the IVF training sample (the rows :func:`~.knn.ivf_sample_rows` picks),
   trains the k-means cells, adds the partitions one after another (``index.add`` per partition; ids are the
   global row ids) and writes the index once with ``faiss.write_index``. Exact search (``method="exact"``)
   uses a flat index filled the same way. The result equals :func:`~.knn.build_graph`'s index on the
   concatenated rows.
2. **Calibration** (``nprobe="auto"``): exact distances of the 500 calibration queries are computed per
   partition and merged (top-``k``); one task loads the index and finds the smallest ``nprobe``.
3. **Search** per partition and query block (fixed :data:`~.knn.BLOCK_ROWS`), each task loading the index
   memory-mapped (``IO_FLAG_MMAP_IFC``). Each directed result becomes pair keys ``min(i, j) n + max(i, j)``,
   range-partitioned by ``min(i, j)`` into one bucket per input partition and written as a file.
4. **Symmetrise** per bucket (smallest distance per pair), then weights ``1 - d / max d`` with the global
   maximum (a number), written as ``edges/part.<b>.parquet``: concatenated in bucket order they are exactly
   :func:`~.knn.knn_edges`' sorted edge list, whatever the number of workers.

Communities (:func:`leiden_from_parts`) run in one worker task reading the edge parts (full Leiden), or
through :func:`~.coarsen.coarsened_leiden_parts` above a size where one igraph of all edges is too large.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from .knn import (BLOCK_ROWS, EXACT_MAX_PAIRS, METRICS, _finish, _load_index, _search_block, _write_index,
                  calibrate_nprobe, calibration_rows, edge_weights, ivf_nlist, ivf_sample_rows, min_per_key,
                  pair_keys, recall_of, recall_rows, trained_ivf)

__all__ = ["build_graph_parts", "read_edge_parts", "leiden_from_parts", "gather_rows", "EDGE_PART"]

EDGE_PART = "part.{:05d}.parquet"
FILE_MODE = 0o600  # encoded patients and their neighbours: owner-only


def _x(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def _rows(path: str) -> int:
    return int(_x(path).shape[0])


def gather_rows(files: list[str], offsets: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows ``ids`` (global, any order) of the partition files, as one float32 array."""
    ids = np.asarray(ids, dtype=np.int64)
    part = np.searchsorted(offsets, ids, side="right") - 1
    out = np.empty((len(ids), _x(files[0]).shape[1]), dtype=np.float32)
    for p in np.unique(part):
        sel = part == p
        out[sel] = _x(files[p])[ids[sel] - offsets[p]]
    return out


def _index_task(files: list[str], offsets: np.ndarray, metric: str, method: str, nlist: int, seed: int,
                folder: str) -> tuple[str, str]:
    """Task: train (IVF: on the seeded sample), add every partition in order, write the index file."""
    n, d = int(offsets[-1]), _x(files[0]).shape[1]
    if method == "exact":
        index = faiss.IndexFlat(d, METRICS[metric])
    else:
        index = trained_ivf(gather_rows(files, offsets, ivf_sample_rows(n, nlist, seed)), nlist, metric, seed)
    for f in files:
        index.add(np.ascontiguousarray(_x(f)))
    path, token = _write_index(index, Path(folder))
    os.chmod(path, FILE_MODE)
    return str(path), token


def _exact_part(file: str, offset: int, queries: np.ndarray, kk: int, metric: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """Task: exact ``kk`` nearest rows of one partition for ``queries`` (global ids)."""
    x = np.ascontiguousarray(_x(file))
    D, I = faiss.knn(queries, x, min(kk, len(x)), metric=METRICS[metric])
    return D, I + offset


def _exact_distances(client, files, offsets, queries: np.ndarray, kk: int, metric: str) -> np.ndarray:
    """Exact sorted ``kk`` nearest distances of ``queries`` over all partitions (merged per partition)."""
    parts = client.gather([client.submit(_exact_part, files[p], int(offsets[p]), queries, kk, metric, pure=False)
                           for p in range(len(files)) if offsets[p + 1] > offsets[p]])
    D = np.concatenate([p[0] for p in parts], axis=1)
    return np.sort(D, axis=1)[:, :kk]


def _calibrate_task(path: str, token: str, sample: np.ndarray, kth: np.ndarray, kk: int,
                    target: float) -> tuple[int, float]:
    return calibrate_nprobe(_load_index(path, token), sample, kth, kk, target)


def _search_task(path: str, token: str, file: str, offset: int, start: int, stop: int, kk: int, k: int,
                 nprobe: int, metric: str, threads: int, n: int, scale: float, bounds: np.ndarray,
                 raw: str, name: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Task: search one query block, write its pair keys per bucket; return the bucket counts and the
    neighbours of the rows ``keep`` (global ids inside the block, for the recall estimate)."""
    index = _load_index(path, token)
    faiss.omp_set_num_threads(threads)
    ids = np.arange(offset + start, offset + stop, dtype=np.int64)
    I, D = _finish(*_search_block(index, np.ascontiguousarray(_x(file)[start:stop]), kk, nprobe), k, metric, ids)
    key, dist = pair_keys(I, D / np.float32(scale), ids, n)
    bucket = np.searchsorted(bounds, key // n, side="right") - 1
    order = np.argsort(bucket, kind="stable")
    key, dist, bucket = key[order], dist[order], bucket[order]
    cuts = np.searchsorted(bucket, np.arange(len(bounds) + 1))
    for b in range(len(bounds)):
        if cuts[b + 1] > cuts[b]:
            np.savez(Path(raw) / f"b{b:05d}.{name}.npz", key=key[cuts[b]:cuts[b + 1]],
                     dist=dist[cuts[b]:cuts[b + 1]])
    return np.diff(cuts), I[keep - ids[0]]


def _bucket_task(raw: str, b: int, names: list[str]) -> tuple[int, float]:
    """Task: the unique pairs of bucket ``b`` with their smallest distance; returns (pairs, max distance)."""
    files = [Path(raw) / f"b{b:05d}.{nm}.npz" for nm in names]
    blocks = [np.load(f) for f in files if f.exists()]
    key = np.concatenate([z["key"] for z in blocks]) if blocks else np.zeros(0, np.int64)
    dist = np.concatenate([z["dist"] for z in blocks]) if blocks else np.zeros(0, np.float32)
    key, dist = min_per_key(key, dist)
    np.savez(Path(raw) / f"bucket.{b:05d}.npz", key=key, dist=dist)  # inputs kept: a rerun gives the same
    return len(key), float(dist.max()) if len(dist) else 0.0


def _edges_task(raw: str, b: int, n: int, dmax: float, out: str) -> None:
    """Task: bucket ``b``'s edges with their weights, as ``out`` (Parquet, same columns as SimilarityGraph)."""
    src = Path(raw) / f"bucket.{b:05d}.npz"
    z = np.load(src)
    key, dist = z["key"], z["dist"]
    frame = pd.DataFrame({"src": key // n, "dst": key % n, "distance": dist.astype(np.float32),
                          "weight": edge_weights(dist, dmax)})
    tmp = f"{out}.tmp"
    frame.to_parquet(tmp, index=False)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, out)


def build_graph_parts(files: list[str | os.PathLike], edges_dir: str | os.PathLike, *, client, k: int = 15,
                      metric: str = "l1", method: str = "auto", seed: int = 0, scale: float = 1.0,
                      nlist: int | None = None, nprobe: int | str = "auto", target_recall: float = 0.97,
                      block_rows: int = BLOCK_ROWS, recall_sample: int = 0,
                      scratch: str | os.PathLike | None = None) -> dict:
    """Symmetrised kNN graph of the rows of ``files``, its edges written as ``edges_dir/part.<b>.parquet``.

    The same graph as :func:`~.knn.build_graph` on the concatenated rows (see the module docstring); the
    index file and intermediate pair files go to ``scratch`` (default: beside ``edges_dir``) and are removed.

    Returns ``{"n_nodes", "n_edges", "edge_files", "meta"}``; ``meta`` has the keys of
    :func:`~.knn.build_graph`'s (``seconds_*`` included).
    """
    import time

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    t0 = time.perf_counter()
    files = [str(f) for f in files]
    counts = client.gather([client.submit(_rows, f, pure=False) for f in files])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    if n < 2 or not 1 <= k < n:
        raise ValueError(f"a graph of {n} rows needs 1 <= k < {n}, got k={k}")
    if method == "auto":
        method = "exact" if n * n <= EXACT_MAX_PAIRS else "ivf"
    edges_dir = Path(edges_dir)
    work = Path(scratch) if scratch is not None else edges_dir.with_name(f".{edges_dir.name}.build")
    shutil.rmtree(work, ignore_errors=True)
    (work / "raw").mkdir(parents=True)
    kk = k + 1
    info: dict = {"method": method}
    nl = ivf_nlist(n, nlist) if method == "ivf" else 1
    try:
        path, token = client.submit(_index_task, files, offsets, metric, method, nl, seed, str(work),
                                    pure=False).result()
        if method == "ivf":
            info["nlist"] = nl
            if nprobe == "auto":
                sample = client.submit(gather_rows, files, offsets, calibration_rows(n, seed), pure=False).result()
                kth = _exact_distances(client, files, offsets, sample, kk, metric)[:, -1]
                nprobe, info["calibration_recall"] = client.submit(
                    _calibrate_task, path, token, sample, kth, kk, target_recall, pure=False).result()
            info["nprobe"] = int(nprobe)
        else:
            nprobe = 1
        rows = recall_rows(n, recall_sample, seed) if recall_sample > 0 else np.zeros(0, np.int64)
        threads = max(1, min(client.nthreads().values(), default=1))
        tasks, names = [], []
        for p, f in enumerate(files):
            for s in range(0, counts[p], block_rows):
                e = min(s + block_rows, counts[p])
                lo, hi = offsets[p] + s, offsets[p] + e
                keep = rows[(rows >= lo) & (rows < hi)]
                names.append(f"p{p:05d}.{s:012d}")
                tasks.append(client.submit(_search_task, path, token, f, int(offsets[p]), s, e, kk, k, int(nprobe),
                                           metric, threads, n, float(scale), offsets[:-1], str(work / "raw"),
                                           names[-1], keep, pure=False))
        found = [r[1] for r in client.gather(tasks)]
        del tasks
        buckets = client.gather([client.submit(_bucket_task, str(work / "raw"), b, names, pure=False)
                                 for b in range(len(files))])
        dmax = max((m for c, m in buckets if c), default=0.0)
        edges_dir.mkdir(parents=True, exist_ok=True)
        out = [str(edges_dir / EDGE_PART.format(b)) for b in range(len(files))]
        client.gather([client.submit(_edges_task, str(work / "raw"), b, n, dmax, out[b], pure=False)
                       for b in range(len(files))])
        meta = {"kind": "knn", "k": int(k), "metric": metric, "seed": int(seed), "scale": float(scale), **info,
                "seconds_knn": time.perf_counter() - t0}
        if recall_sample > 0:
            t1 = time.perf_counter()
            found = np.concatenate(found) if found else np.zeros((0, k), np.int64)
            xq = client.submit(gather_rows, files, offsets, rows, pure=False).result()
            d_exact = _exact_distances(client, files, offsets, xq, k + 1, metric)
            x_found = client.submit(gather_rows, files, offsets, found.reshape(-1),
                                    pure=False).result().reshape(len(rows), k, -1)
            meta["recall_at_k"] = recall_of(xq, d_exact, x_found, found, rows, k, metric, True)
            meta["seconds_recall"] = time.perf_counter() - t1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"n_nodes": n, "n_edges": int(sum(c for c, _ in buckets)), "edge_files": out, "meta": meta}


def read_edge_parts(edge_files: list[str | os.PathLike], columns: list[str] | None = None) -> pd.DataFrame:
    """The edge parts concatenated in order (one frame)."""
    return pd.concat([pd.read_parquet(f, columns=columns) for f in edge_files], ignore_index=True)


def _leiden_task(edge_files: list[str], n: int, resolution: float, seed: int) -> tuple[np.ndarray, float]:
    from .communities import leiden, modularity
    from .store import SimilarityGraph

    g = SimilarityGraph(n_nodes=n, edges=read_edge_parts(edge_files)).to_igraph(attributes=("weight",))
    membership = leiden(g, resolution=resolution, seed=seed)
    return membership, modularity(g, membership, resolution=resolution)


def leiden_from_parts(edge_files: list[str | os.PathLike], n: int, *, client, resolution: float = 1.0,
                      seed: int = 0) -> tuple[np.ndarray, float]:
    """Full Leiden (:func:`~.communities.leiden`) of the graph in ``edge_files``, in one task on a worker.

    Returns ``(membership, modularity)``: the same as :func:`~.communities.leiden` on the whole graph.
    """
    return client.submit(_leiden_task, [str(f) for f in edge_files], int(n), resolution, seed,
                         pure=False).result()
