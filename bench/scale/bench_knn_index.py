"""Distributed kNN search: the index as a memory-mapped file per worker (syntwin) against a broadcast ``scatter``.

    .venv/bin/python bench/scale/bench_knn_index.py --n 200000 --d 24 --workers 2

Both searches use the same IVF index and the same query blocks on the same 2-process LocalCluster (one thread
each); the scatter peer is what ``graphs.knn`` did before (serialise, ``client.scatter(broadcast=True)``, one
deserialised copy per worker). Prints wall seconds of each, their ratio, each worker's resident memory after the
search (the file is mapped, so its pages are page cache shared by the workers of a node) and checks that both
give identical neighbours. Only the file variant survives the loss of a worker (tests/spine/test_fault_tolerance.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import faiss
import numpy as np
import psutil
from distributed import Client, LocalCluster

from syntwin.graphs import knn

K, NPROBE = 15, 8


def _scatter_search(blob, token, Q, kk, k, nprobe, metric, self_ids, threads):
    if token not in knn._CACHE:
        knn._CACHE.clear()
        knn._CACHE[token] = faiss.deserialize_index(blob)
    faiss.omp_set_num_threads(threads)
    D, I = knn._search_block(knn._CACHE[token], Q, kk, nprobe)
    return knn._finish(D, I, k, metric, self_ids)


def scatter_peer(client, index, X, block):
    blob = faiss.serialize_index(index)
    token = hashlib.blake2b(blob.data, digest_size=16).hexdigest()
    [fblob] = client.scatter([blob], broadcast=True, hash=False)
    futures = [client.submit(_scatter_search, fblob, token, X[s:s + block], K + 1, K, NPROBE, "l1",
                             np.arange(s, min(s + block, len(X))), 1, pure=False) for s in range(0, len(X), block)]
    parts = client.gather(futures)
    return np.concatenate([p[0] for p in parts])


def file_search(client, index, X, block):
    """syntwin's path (graphs.knn): the index written once, each worker memory-maps it."""
    with knn._shared_index(index, client, None) as (source, token):
        futures = [client.submit(knn._remote_search, source, token, X[s:s + block], K + 1, K, NPROBE, "l1",
                                 np.arange(s, min(s + block, len(X))), 1, pure=False)
                   for s in range(0, len(X), block)]
        parts = client.gather(futures)
    return np.concatenate([p[0] for p in parts])


def worker_rss(client) -> list[float]:
    return sorted(round(v / 2**20) for v in client.run(lambda: psutil.Process().memory_info().rss).values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    X = np.random.default_rng(0).random((a.n, a.d), dtype=np.float32)
    index = knn._build_index(X, "l1", "ivf", 0, None)
    print(f"load average before: {os.getloadavg()}; index {index.ntotal:,} x {a.d}, nlist {index.nlist}")
    rows = {}
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        for name in ("file", "scatter", "file", "scatter"):  # alternated, twice: the machine is shared
            client.run(knn._CACHE.clear)
            t = time.perf_counter()
            search = file_search if name == "file" else scatter_peer
            I = search(client, index, X, knn.BLOCK_ROWS)
            rows.setdefault(name, []).append(round(time.perf_counter() - t, 2))
            rows[f"{name}_I"] = I
            rows[f"{name}_rss_mib"] = worker_rss(client)
    same = rows["file_I"].tobytes() == rows["scatter_I"].tobytes()
    out = {"n": a.n, "d": a.d, "workers": a.workers, "file_s": rows["file"], "scatter_s": rows["scatter"],
           "ratio_scatter_over_file": round(min(rows["scatter"]) / min(rows["file"]), 2),
           "worker_rss_mib_file": rows["file_rss_mib"], "worker_rss_mib_scatter": rows["scatter_rss_mib"],
           "identical_neighbours": same, "load_after": os.getloadavg()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
