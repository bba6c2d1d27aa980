"""k-nearest neighbours with faiss: exact (flat) or IVF coarse partitioning, optionally on Dask workers.

IVF (Jégou, Douze & Schmid, 2011): k-means centroids are learned on a sample, every reference point is routed
to its nearest centroid's cell, and a query scans only the ``nprobe`` cells whose centroids are nearest to it.
The centroids come from faiss's (L2) k-means and points and queries are routed to cells in L2 (Voronoi cells
of the k-means); distances inside the cells are computed in the search metric. With ``nprobe="auto"`` the
smallest power of two reaching ``target_recall`` on a 500-query sample is used.
faiss supports ``METRIC_L1`` for ``IndexFlat`` and ``IndexIVFFlat`` (checked with faiss-cpu 1.15), which
is the metric under which :class:`~syntwin.graphs.encode.MixedEncoder` vectors give Gower distances.

With a Dask client, the index is built once and written to a file that every worker loads (memory-mapped,
``faiss.IO_FLAG_MMAP_IFC``, so workers of one node share its pages) — nothing is scattered, so when a worker
is lost Dask simply runs its search tasks again elsewhere. The file goes to ``index_dir``, or the directory
set with :func:`index_directory`, or a temporary directory; workers that cannot see it (no shared
filesystem) get the serialised index as a task of the graph instead, which Dask can also rebuild. Query blocks of a fixed size (independent of the number of workers)
are searched in parallel and concatenated in order, so the output is the same whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math
import os
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from ._seed import int_seed, rng
from .store import SimilarityGraph

__all__ = ["nearest", "nearest_info", "prepared_search", "PreparedSearch", "BlockResults", "build_graph",
           "knn_edges", "estimate_recall", "index_directory", "METRICS",
           "METHODS"]

METRICS = {"l1": faiss.METRIC_L1, "l2": faiss.METRIC_L2}
METHODS = ("auto", "exact", "ivf")
EXACT_MAX_PAIRS = 100_000_000  # "auto" uses exact search while n_reference * n_query stays below this
CALIBRATION_QUERIES = 500  # queries on which nprobe="auto" measures recall against exact search
BLOCK_ROWS = 16_384  # query rows per task; fixed so that results never depend on the number of workers
_CACHE: OrderedDict[str, faiss.Index] = OrderedDict()  # per-process cache of loaded indexes (LRU)
_CACHE_SIZE = 2  # concurrent runs on one cluster alternate between their indexes
_INDEX_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("syntwin_knn_index_dir", default=None)


@contextlib.contextmanager
def index_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Within the block (and this thread), distributed searches write their index files below ``path``."""
    token = _INDEX_DIR.set(Path(path))
    try:
        yield Path(path)
    finally:
        _INDEX_DIR.reset(token)


def check_matrix(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Validate a 2-D finite floating array and return it as C-contiguous float32."""
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{name} must have a floating dtype (float32 preferred), got {X.dtype}; "
                         "encode mixed data with MixedEncoder first")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return X


def _check_k(k: int, n: int, exclude_self: bool) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    limit = n - 1 if exclude_self else n
    if k < 1 or k > limit:
        raise ValueError(f"k must be in [1, {limit}] for {n} reference points"
                         f"{' (excluding each point itself)' if exclude_self else ''}, got {k}")
    return int(k)


def _default_nlist(n: int) -> int:
    return int(max(1, min(round(2 * math.sqrt(n)), n // 39)))


def _build_index(X: np.ndarray, metric: str, method: str, seed: int, nlist: int | None) -> faiss.Index:
    d = X.shape[1]
    if method == "exact":
        index = faiss.IndexFlat(d, METRICS[metric])
        index.add(X)
        return index
    nlist = ivf_nlist(len(X), nlist)
    index = trained_ivf(X[ivf_sample_rows(len(X), nlist, seed)], nlist, metric, seed)
    index.add(X)
    return index


def ivf_nlist(n: int, nlist: int | None) -> int:
    """The IVF cell count for ``n`` reference rows (default ``2 sqrt(n)``), checked."""
    nlist = _default_nlist(n) if nlist is None else int(nlist)
    if not 1 <= nlist <= n:
        raise ValueError(f"nlist must be in [1, {n}], got {nlist}")
    return nlist


def ivf_sample_rows(n: int, nlist: int, seed: int) -> np.ndarray:
    """Sorted rows (of ``n``) on which the IVF k-means is trained: ``max(64 nlist, 20000)`` of them."""
    return np.sort(rng(seed, "ivf-sample").choice(n, min(n, max(64 * nlist, 20_000)), replace=False))


def trained_ivf(sample: np.ndarray, nlist: int, metric: str, seed: int) -> faiss.IndexIVFFlat:
    """An empty IVF-flat index whose ``nlist`` cells are k-means (L2) cells of ``sample``."""
    d = sample.shape[1]
    km = faiss.Kmeans(d, nlist, niter=20, seed=int_seed(seed, "ivf-kmeans"), spherical=False)
    km.train(sample)
    quantizer = faiss.IndexFlatL2(d)  # cells are L2 k-means cells; routing in L2 is ~10x faster than L1
    quantizer.add(km.centroids)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, METRICS[metric])
    index.is_trained = True
    return index


def _search_block(index: faiss.Index, Q: np.ndarray, kk: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
    """Search one block; rows that IVF leaves short (label -1) are searched again over more cells."""
    if isinstance(index, faiss.IndexIVF):
        nlist = index.nlist
        index.nprobe = min(nprobe, nlist)
        D, I = index.search(Q, kk)
        short = np.flatnonzero((I < 0).any(axis=1))
        probe = index.nprobe
        while len(short) and probe < nlist:
            probe = min(nlist, probe * 4)
            index.nprobe = probe
            D[short], I[short] = index.search(Q[short], kk)
            short = short[(I[short] < 0).any(axis=1)]
    else:
        D, I = index.search(Q, kk)
    return D, I


def _finish(D: np.ndarray, I: np.ndarray, k: int, metric: str, self_ids: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Drop self matches, sort rows by (distance, index) and keep ``k`` columns."""
    I = I.astype(np.int64)
    D = D.astype(np.float32)
    if metric == "l2":
        D = np.sqrt(np.maximum(D, 0))
    if self_ids is not None:
        is_self = I == self_ids[:, None]
        # drop the self match where present, else the last (farthest) column
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), I.shape[1] - 1)
        keep = np.ones_like(I, dtype=bool)
        keep[np.arange(len(I)), drop] = False
        I = I[keep].reshape(len(I), -1)
        D = D[keep].reshape(len(D), -1)
    D = np.where(I < 0, np.inf, D).astype(np.float32)
    order = np.lexsort((np.where(I < 0, np.iinfo(np.int64).max, I), D), axis=1)
    return np.take_along_axis(I, order, 1)[:, :k], np.take_along_axis(D, order, 1)[:, :k]


def _write_index(index: faiss.Index, folder: Path) -> tuple[Path, str]:
    """Write ``index`` below ``folder`` under a unique name; return ``(path, content token)``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"knn-{uuid.uuid4().hex}.faiss"  # unique: concurrent searches never share a file
    faiss.write_index(index, str(path))
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return path, h.hexdigest()


@contextlib.contextmanager
def _shared_index(index: faiss.Index, client, index_dir: str | os.PathLike | None) -> Iterator[tuple[object, str]]:
    """Make ``index`` available to the workers; yield ``(source, token)`` for :func:`_remote_search`.

    ``source`` is the path of the index file when every worker sees it (a shared filesystem), else
    (a client whose workers are elsewhere) a future of a task holding the serialised index in the graph.
    Either is rebuilt by Dask after a worker loss; nothing is scattered. The file is removed after.
    """
    folder = Path(index_dir) if index_dir is not None else _INDEX_DIR.get()
    scratch = None
    if folder is None:
        folder = scratch = Path(tempfile.mkdtemp(prefix="syntwin-knn-"))
    path, token = _write_index(index, folder)
    try:
        if all(client.run(os.path.exists, str(path)).values()):
            yield str(path), token
        else:
            blob = client.submit(np.asarray, faiss.serialize_index(index), pure=False)
            yield blob, token
            del blob
    finally:
        path.unlink(missing_ok=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _load_index(source: str | np.ndarray, token: str) -> faiss.Index:
    """The index of ``token`` in this process, read once (memory-mapped from a file, or deserialised)."""
    if token in _CACHE:
        _CACHE.move_to_end(token)
        return _CACHE[token]
    if isinstance(source, str):
        if not os.path.exists(source):
            raise FileNotFoundError(f"kNN index file {source} is not visible on this Dask worker: the workers "
                                    "must share the filesystem of the index directory (the run directory)")
        _CACHE[token] = faiss.read_index(source, faiss.IO_FLAG_MMAP_IFC)
    else:
        _CACHE[token] = faiss.deserialize_index(source)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return _CACHE[token]


def _remote_search(source: str | np.ndarray, token: str, Q: np.ndarray, kk: int, k: int, nprobe: int,
                   metric: str, self_ids: np.ndarray | None, threads: int, post=None):
    """Task run on a worker: load the index once per process, search one block (``post`` of the pair)."""
    index = _load_index(source, token)
    faiss.omp_set_num_threads(threads)
    D, I = _search_block(index, Q, kk, nprobe)
    return _apply(post, _finish(D, I, k, metric, self_ids))


def _calibrate_nprobe(index: faiss.IndexIVF, reference: np.ndarray, query: np.ndarray, kk: int, metric: str,
                      seed: int, target: float) -> tuple[int, float]:
    """Smallest power-of-two ``nprobe`` whose recall on a 500-query sample reaches ``target``."""
    sample = query[calibration_rows(len(query), seed)]
    d_exact, _ = faiss.knn(sample, reference, kk, metric=METRICS[metric])
    return calibrate_nprobe(index, sample, d_exact[:, -1], kk, target)


def calibration_rows(n_query: int, seed: int) -> np.ndarray:
    """Sorted query rows on which ``nprobe="auto"`` measures recall."""
    return np.sort(rng(seed, "nprobe-sample").choice(n_query, min(CALIBRATION_QUERIES, n_query), replace=False))


def calibrate_nprobe(index: faiss.IndexIVF, sample: np.ndarray, kth: np.ndarray, kk: int,
                     target: float) -> tuple[int, float]:
    """Smallest power-of-two ``nprobe`` whose recall on ``sample`` (exact ``kk``-th distances ``kth``) reaches
    ``target``."""
    tol = 1e-5 * np.maximum(kth, 1.0)
    probe, recall = 1, 0.0
    while True:
        D, I = _search_block(index, sample, kk, probe)
        recall = float(((D <= (kth + tol)[:, None]) & (I >= 0)).mean())
        if recall >= target or probe >= index.nlist:
            return probe, recall
        probe = min(index.nlist, probe * 2)


def nearest(reference: np.ndarray, query: np.ndarray | None, k: int, *, metric: str = "l1",
            method: str = "auto", client=None, seed: int = 0, exclude_self: bool = False,
            nlist: int | None = None, nprobe: int | str = "auto", target_recall: float = 0.97,
            block_rows: int = BLOCK_ROWS, index_dir: str | os.PathLike | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference rows of every query row.

    Args:
        reference: ``(n, d)`` float array searched in.
        query: ``(m, d)`` float array, or None for ``reference`` itself.
        k: neighbours per query row.
        metric: ``"l1"`` (Gower on MixedEncoder vectors) or ``"l2"`` (Euclidean).
        method: ``"exact"`` (faiss flat), ``"ivf"`` (faiss IVF-flat) or ``"auto"`` (exact while
            ``n * m <= 1e8``).
        client: optional ``distributed.Client``; query blocks are then searched on its workers.
        seed: seeds the IVF sample, k-means and the calibration sample.
        exclude_self: query row ``i`` is reference row ``i``; it is left out of its own neighbours.
        nlist: IVF cells (default ``2 sqrt(n)``).
        nprobe: cells scanned per query, or ``"auto"``: the smallest power of two reaching ``target_recall``
            against exact search on 500 sampled queries.
        target_recall: recall@k aimed at by ``nprobe="auto"``.
        block_rows: query rows per search task (results do not depend on it).
        index_dir: where the index file the workers load is written (default: :func:`index_directory`'s,
            else a temporary directory); only used with ``client``.

    Returns:
        ``(indices int64 (m, k), distances float32 (m, k))``, rows sorted by distance then index.
    """
    I, D, _ = nearest_info(reference, query, k, metric=metric, method=method, client=client, seed=seed,
                           exclude_self=exclude_self, nlist=nlist, nprobe=nprobe, target_recall=target_recall,
                           block_rows=block_rows, index_dir=index_dir)
    return I, D


def nearest_info(reference: np.ndarray, query: np.ndarray | None, k: int, *, metric: str = "l1",
                 method: str = "auto", client=None, seed: int = 0, exclude_self: bool = False,
                 nlist: int | None = None, nprobe: int | str = "auto", target_recall: float = 0.97,
                 block_rows: int = BLOCK_ROWS, index_dir: str | os.PathLike | None = None
                 ) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`nearest`, also returning what was used (method, nlist, nprobe, calibration recall)."""
    search = prepared_search(reference, query, k, metric=metric, method=method, seed=seed,
                             exclude_self=exclude_self, nlist=nlist, nprobe=nprobe, target_recall=target_recall,
                             block_rows=block_rows)
    with search.blocks(client, index_dir) as blocks:
        parts = blocks.gather()
    I = np.concatenate([p[0] for p in parts])
    D = np.concatenate([p[1] for p in parts])
    return I, D, search.info


class PreparedSearch:
    """An index built and its ``nprobe`` chosen for one set of query rows, searched block by block.

    Made by :func:`prepared_search`; :meth:`blocks` runs the searches (on the workers with a client).
    """

    def __init__(self, index: faiss.Index, query: np.ndarray, k: int, kk: int, nprobe: int, metric: str,
                 exclude_self: bool, block_rows: int, info: dict) -> None:
        self.index, self.query, self.k, self.kk, self.nprobe = index, query, k, kk, nprobe
        self.metric, self.exclude_self, self.block_rows, self.info = metric, exclude_self, block_rows, info

    def _self_block(self, s: int) -> np.ndarray | None:
        if not self.exclude_self:
            return None
        return np.arange(s, min(s + self.block_rows, len(self.query)), dtype=np.int64)

    def _local_block(self, s: int, post):
        D, I = _search_block(self.index, self.query[s:s + self.block_rows], self.kk, self.nprobe)
        return _apply(post, _finish(D, I, self.k, self.metric, self._self_block(s)))

    @contextlib.contextmanager
    def blocks(self, client=None, index_dir: str | os.PathLike | None = None, post=None
               ) -> Iterator[BlockResults]:
        """Within the block, the searched query blocks: ``post(indices, distances)`` of each (the pair itself
        without ``post``), computed where the block was searched. With a client they stay on the workers as
        futures until gathered (:class:`BlockResults`); the index file lives as long as the block, so Dask can
        rerun a lost worker's searches."""
        starts = range(0, len(self.query), self.block_rows)
        rows = self.block_rows
        if client is None:
            # each block finished as it is searched: the raw (kk-wide, int64) results never pile up
            yield BlockResults([self._local_block(s, post) for s in starts], None,
                               [self.query[s:s + rows] for s in starts])
            return
        threads = max(1, min(client.nthreads().values(), default=1))
        with _shared_index(self.index, client, index_dir) as (source, token):
            futures = [client.submit(_remote_search, source, token, self.query[s:s + rows], self.kk, self.k,
                                     self.nprobe, self.metric, self._self_block(s), threads, post, pure=False)
                       for s in starts]
            results = BlockResults(futures, client, [self.query[s:s + rows] for s in starts])
            try:
                yield results
            finally:
                results.items = []  # the workers may drop the blocks once the caller is done
                del futures


class BlockResults:
    """Per-query-block results in query order: values, or futures on a cluster's workers."""

    def __init__(self, items: list, client, queries: list | None = None) -> None:
        self.items, self.client, self.queries = items, client, queries

    def map(self, fn, *args, with_query: bool = False) -> list:
        """``fn(result, *args)`` of every block (on the workers, where the results are), gathered in order;
        ``fn(result, query_rows, *args)`` with ``with_query`` (the block's query rows, sent with the task)."""
        blocks = [(item,) for item in self.items]
        if with_query:
            blocks = [(item, q) for item, q in zip(self.items, self.queries, strict=True)]
        if self.client is None:
            return [fn(*b, *args) for b in blocks]
        return self.client.gather([self.client.submit(fn, *b, *args, pure=False) for b in blocks])

    def gather(self) -> list:
        """The blocks' results, in order."""
        return self.items if self.client is None else self.client.gather(self.items)


def _apply(post, pair: tuple[np.ndarray, np.ndarray]):
    return pair if post is None else post(*pair)


def prepared_search(reference: np.ndarray, query: np.ndarray | None, k: int, *, metric: str = "l1",
                    method: str = "auto", seed: int = 0, exclude_self: bool = False, nlist: int | None = None,
                    nprobe: int | str = "auto", target_recall: float = 0.97,
                    block_rows: int = BLOCK_ROWS) -> PreparedSearch:
    """The checks, index and ``nprobe`` of :func:`nearest` (same arguments), ready to search by blocks."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    bad_int = isinstance(nprobe, bool) or not isinstance(nprobe, (int, np.integer)) or nprobe < 1
    if nprobe != "auto" and bad_int:
        raise ValueError(f"nprobe must be an integer >= 1 or 'auto', got {nprobe!r}")
    if not 0 < target_recall <= 1:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall!r}")
    if not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
        raise ValueError(f"block_rows must be an integer >= 1, got {block_rows!r}")
    reference = check_matrix(reference, "reference")
    query = reference if query is None else check_matrix(query, "query")
    if query.shape[1] != reference.shape[1]:
        raise ValueError(f"query has {query.shape[1]} columns but reference has {reference.shape[1]}")
    if exclude_self and query.shape[0] != reference.shape[0]:
        raise ValueError("exclude_self=True needs query rows to be the reference rows (same length)")
    k = _check_k(k, len(reference), exclude_self)
    if method == "auto":
        method = "exact" if len(reference) * len(query) <= EXACT_MAX_PAIRS else "ivf"
    index = _build_index(reference, metric, method, seed, nlist)
    kk = k + 1 if exclude_self else k
    info: dict = {"method": method}
    if method == "ivf":
        info["nlist"] = int(index.nlist)
        if nprobe == "auto":
            nprobe, info["calibration_recall"] = _calibrate_nprobe(index, reference, query, kk, metric, seed,
                                                                   target_recall)
        info["nprobe"] = int(nprobe)
    else:
        nprobe = 1
    return PreparedSearch(index, query, k, kk, int(nprobe), metric, exclude_self, int(block_rows), info)


def estimate_recall(X: np.ndarray, neighbors: np.ndarray, k: int | None = None, *, sample: int = 2000,
                    seed: int = 0, metric: str = "l1", exclude_self: bool = True) -> float:
    """Recall@k of ``neighbors`` (rows of ``X``'s kNN) against exact search on a sample of rows.

    A found neighbour counts as correct when its distance is within the exact k-th distance (up to float
    tolerance), so ties at the k-th distance do not count as misses:
    ``recall = mean_i |{j in N_i : d(i, j) <= d_k(i)}| / k``.
    """
    X = check_matrix(X)
    neighbors = np.asarray(neighbors)
    if neighbors.ndim != 2 or len(neighbors) != len(X):
        raise ValueError(f"neighbors must have shape ({len(X)}, k), got {neighbors.shape}")
    k = neighbors.shape[1] if k is None else _check_k(k, neighbors.shape[1], False)
    rows = recall_rows(len(X), sample, seed)
    _, d_exact = nearest(X, X[rows], k + (1 if exclude_self else 0), metric=metric, method="exact")
    found = neighbors[rows, :k]
    return recall_of(X[rows], d_exact, X[found], found, rows, k, metric, exclude_self)


def recall_rows(n: int, sample: int, seed: int) -> np.ndarray:
    """Sorted rows on which :func:`estimate_recall` checks the neighbours."""
    return np.sort(rng(seed, "recall-sample").choice(n, min(sample, n), replace=False))


def recall_of(xq: np.ndarray, d_exact: np.ndarray, x_found: np.ndarray, found: np.ndarray, rows: np.ndarray,
              k: int, metric: str, exclude_self: bool) -> float:
    """Recall@k of the neighbours ``found`` (rows ``x_found``) of queries ``xq`` given exact distances."""
    if exclude_self:  # the query itself is at distance 0 and occupies one exact slot
        d_exact = d_exact[:, 1:]
    kth = d_exact[:, k - 1].astype(np.float64)
    diff = xq[:, None, :].astype(np.float64) - x_found.astype(np.float64)
    d_found = np.abs(diff).sum(-1) if metric == "l1" else np.sqrt((diff ** 2).sum(-1))
    tol = 1e-5 * np.maximum(kth, 1.0)
    hits = (d_found <= (kth + tol)[:, None]) & (found >= 0)
    if exclude_self:
        hits &= found != rows[:, None]
    return float(hits.sum() / (len(rows) * k))


def knn_edges(indices: np.ndarray, distances: np.ndarray) -> pd.DataFrame:
    """Symmetrise a kNN result into unique undirected edges ``src < dst`` (keeping the smaller distance).

    The weight is ``1 - d / max d`` over the kept edges (SynTwin's weighting; 1 everywhere if ``max d = 0``).
    Works in place where it can: peak extra memory is about four int64 arrays of ``n * k``.
    """
    n, k = indices.shape
    key, dist = pair_keys(indices, distances, np.arange(n, dtype=np.int64), n)
    key, dist = min_per_key(key, dist)
    return pd.DataFrame({"src": key // n, "dst": key % n, "distance": dist.astype(np.float32),
                         "weight": edge_weights(dist, float(dist.max()) if len(dist) else 0.0)})


def pair_keys(indices: np.ndarray, distances: np.ndarray, row_ids: np.ndarray, n: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Directed kNN results of rows ``row_ids`` as undirected pair keys ``min * n + max`` and distances."""
    k = indices.shape[1]
    other = indices.reshape(-1)
    dist = distances.reshape(-1)
    hi = np.repeat(np.asarray(row_ids, dtype=np.int64), k)
    ok = (other >= 0) & (other != hi) & np.isfinite(dist)
    lo = np.minimum(hi, other)
    np.maximum(hi, other, out=hi)
    lo *= n
    lo += hi
    del hi
    return lo[ok], dist[ok]


def min_per_key(key: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys (sorted) with the smallest distance seen for each."""
    if not len(key):
        return key, dist
    order = np.argsort(key, kind="stable")
    key = key[order]
    dist = dist[order]
    del order
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[starts], np.minimum.reduceat(dist, starts)


def edge_weights(dist: np.ndarray, dmax: float) -> np.ndarray:
    """SynTwin's weight ``1 - d / max d`` (float32; 1 everywhere when ``max d = 0``)."""
    return np.ones_like(dist) if dmax <= 0 else (1.0 - dist / dmax).astype(np.float32)


def build_graph(X: np.ndarray, k: int = 15, *, metric: str = "l1", method: str = "auto", client=None,
                seed: int = 0, multiplicity: np.ndarray | None = None, scale: float = 1.0,
                nlist: int | None = None, nprobe: int | str = "auto", target_recall: float = 0.97,
                block_rows: int = BLOCK_ROWS, recall_sample: int = 0) -> SimilarityGraph:
    """Symmetrised weighted kNN graph of the rows of ``X``.

    Every row is linked to its ``k`` nearest other rows (:func:`nearest` with ``exclude_self``); the union of
    both directions gives unique edges ``src < dst`` with ``distance = metric distance / scale`` (pass
    ``MixedEncoder.scale_`` to store Gower distances) and ``weight = 1 - distance / max distance``.

    Args:
        X: ``(n, d)`` encoded rows (e.g. distinct profiles from :func:`collapse_duplicates`).
        multiplicity: optional patients per row, stored on the graph.
        recall_sample: when > 0, :func:`estimate_recall` on that many rows goes to ``meta["recall_at_k"]``
            (with ``meta["seconds_recall"]``); ``meta["seconds_knn"]`` is always recorded.

    The other arguments are those of :func:`nearest`.
    """
    X = check_matrix(X)
    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    if len(X) < 2:
        raise ValueError(f"a graph needs at least 2 rows, got {len(X)}")
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= len(X):
        raise ValueError(f"k must be < the number of rows ({len(X)}), got {k}")
    t0 = time.perf_counter()
    I, D, info = nearest_info(X, None, k, metric=metric, method=method, client=client, seed=seed,
                              exclude_self=True, nlist=nlist, nprobe=nprobe, target_recall=target_recall,
                              block_rows=block_rows)
    edges = knn_edges(I, D / np.float32(scale))
    meta = {"kind": "knn", "k": int(k), "metric": metric, "seed": int(seed), "scale": float(scale), **info,
            "seconds_knn": time.perf_counter() - t0}
    if recall_sample > 0:
        t1 = time.perf_counter()
        meta["recall_at_k"] = estimate_recall(X, I, k, sample=int(recall_sample), seed=seed, metric=metric)
        meta["seconds_recall"] = time.perf_counter() - t1
    return SimilarityGraph(n_nodes=len(X), edges=edges, multiplicity=multiplicity, meta=meta)
