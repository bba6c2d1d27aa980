"""Coarsened Leiden (micro-clusters, graphs/coarsen.py) against full Leiden on the same kNN graph, side by side.

    .venv/bin/python bench/scale/bench_communities.py --n 200000 1000000

For each ``--n``: the default scenario's simulated cohort (breast), its training rows encoded as the pipeline
does, the kNN graph (k=15, Gower, faiss IVF, 2-worker LocalCluster for the searches), then
- full Leiden (igraph, one process, the current path for small cohorts),
- coarsened Leiden (partition-then-merge) with ``--block-rows`` rows per spatial block,
each timed, with the modularity of both on the fine graph and the agreement (adjusted Rand index) between them.
Also the ARI of two full Leiden runs with different seeds: the agreement the full method has with itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time

from distributed import Client, LocalCluster
from sklearn.metrics import adjusted_rand_score

from syntwin.cohort.simulate import simulate_cohort
from syntwin.graphs.coarsen import coarsened_leiden, modularity_from_edges
from syntwin.graphs.communities import community_stats, leiden
from syntwin.graphs.knn import build_graph
from syntwin.pipeline.cohort import cohort_encoder


def one_size(n: int, cells: list[int], client: Client, seed: int = 7) -> list[dict]:
    cohort = simulate_cohort(n, seed=seed)
    df = cohort.data.compute().reset_index(drop=True)
    enc = cohort_encoder(cohort.schema, {}).fit(df[cohort.schema.features])
    x = enc.transform(df)
    t = time.perf_counter()
    graph = build_graph(x, k=15, client=client, seed=seed, scale=enc.scale_)
    e = graph.edges
    src, dst, w = e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy()
    rows = [{"n": n, "edges": len(e), "seconds_knn": round(time.perf_counter() - t, 1)}]
    t = time.perf_counter()
    full = leiden(graph, seed=seed)
    full_s = time.perf_counter() - t
    other = leiden(graph, seed=seed + 1)
    row = {"n": n, "method": "full", "seconds": round(full_s, 1),
           "modularity": round(modularity_from_edges(src, dst, w, full), 4),
           "ari_vs_full": 1.0, "ari_full_seed2": round(adjusted_rand_score(full, other), 4),
           **{k: v for k, v in community_stats(full).items() if k in ("communities", "kept")}}
    rows.append(row)
    for c in cells:
        t = time.perf_counter()
        memb, info = coarsened_leiden(x, src, dst, w, seed=seed, block_rows=c, client=client)
        rows.append({"n": n, "method": "coarsened", **info,
                     "seconds": round(time.perf_counter() - t, 1),
                     "modularity": round(modularity_from_edges(src, dst, w, memb), 4),
                     "ari_vs_full": round(adjusted_rand_score(full, memb), 4),
                     **{k: v for k, v in community_stats(memb).items() if k in ("communities", "kept")}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[200_000])
    parser.add_argument("--block-rows", type=int, nargs="+", default=[250_000],
                        help="rows per spatial block of the coarsened method (scenario graph.block_rows)")
    args = parser.parse_args()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        for n in args.n:
            for row in one_size(n, args.block_rows, client):
                print(json.dumps(row), flush=True)
    finally:
        client.close()
        cluster.close()
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
