"""Benchmark: patient-similarity graphs at SEER scale, with peers side by side.

Each stage runs in its own process (so peak RSS is per stage) on a simulated SEER-like breast cohort,
simulated and Gower-encoded once by a first "prepare" process (so stage RSS excludes the simulator). Every
stage also records its CPU seconds and the 1-minute load average: on a shared machine, wall times drift.

  ours        collapse duplicates → IVF kNN graph (faiss L1, nprobe calibrated) → Leiden,
              recall@k against exact Gower kNN on a 2,000-profile sample
  dask W      the kNN stage on a LocalCluster of W single-threaded worker processes (W = 1, 2)
  exact       exact faiss flat L1 kNN (extrapolated from a query sample above 150k profiles)
  sklearn     scikit-learn brute-force manhattan kNN (extrapolated from a 5,000-query sample)
  nx_louvain  networkx Louvain on our kNN graph (skipped above 3M edges)
  syntwin     SynTwin's reference at --ref-n patients: all-pairs Gower, percolation threshold, Louvain scan
  ours_ref    ours at --ref-n patients with the same resolution scan (Leiden), for the quality comparison

Usage:
  python bench/graph/bench_graph.py --n 100000                 # everything
  python bench/graph/bench_graph.py --n 1000000 --skip sklearn nx_louvain
  # 10M on a cluster: --n 10000000 --scheduler tcp://HOST:8786 (the dask stage then uses that cluster)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESOLUTIONS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _cohort(n: int, seed: int):
    """Simulated SEER-like breast cohort → (encoded rows, encoder)."""
    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.graphs import MixedEncoder

    c = simulate_cohort(n, site="breast", seed=seed)
    df = c.data.compute()
    s = c.schema
    enc = MixedEncoder(numeric=s.numeric, ordinal={k: list(v) for k, v in s.ordinal.items()},
                       categorical=s.categorical)
    return enc.fit_transform(df), enc


def stage_prepare(a) -> dict:
    """Simulate and encode the cohorts once; stages load the encoded rows (RSS without the simulator)."""
    out = {"stage": "prepare"}
    for n in (a.n, a.ref_n):
        t0 = time.perf_counter()
        X, enc = _cohort(n, a.seed)
        np.save(Path(a.workdir) / f"X_{n}.npy", X)
        (Path(a.workdir) / f"scale_{n}.json").write_text(json.dumps(enc.scale_))
        out[f"simulate_encode_{n}_s"] = time.perf_counter() - t0
        out[f"dim_{n}"] = int(X.shape[1])
    return out


def _load(a, n: int):
    X = np.load(Path(a.workdir) / f"X_{n}.npy")
    return X, json.loads((Path(a.workdir) / f"scale_{n}.json").read_text())


def stage_ours(a) -> dict:
    from syntwin.graphs import build_graph, community_stats, leiden, modularity
    from syntwin.graphs.dedup import collapse_duplicates

    X, scale = _load(a, a.n)
    t0 = time.perf_counter()
    prof = collapse_duplicates(X)
    del X
    t1 = time.perf_counter()
    g = build_graph(prof.unique, k=a.k, scale=scale, seed=a.seed, multiplicity=prof.counts,
                    recall_sample=2000)
    t2 = time.perf_counter() - g.meta["seconds_recall"]
    t3 = time.perf_counter()
    m = leiden(g, resolution=1.0, seed=a.seed, n_iterations=2)
    t4 = time.perf_counter()
    g.membership = m
    stats = community_stats(m, prof.counts)
    q = modularity(g, m)
    if a.workdir:
        g.save(Path(a.workdir) / f"graph_{a.n}")
    return {"stage": "ours", "n": a.n, "profiles": prof.n_profiles, "dedup_ratio": round(prof.ratio, 4),
            "dedup_s": t1 - t0, "knn_graph_s": t2 - t1, "leiden_s": t4 - t3,
            "graph_plus_leiden_s": (t2 - t0) + (t4 - t3), "recall_s": g.meta["seconds_recall"],
            "recall_at_k": g.meta["recall_at_k"], "edges": g.n_edges, "nprobe": g.meta.get("nprobe"),
            "nlist": g.meta.get("nlist"), "modularity": q, **stats, "peak_rss_gb": _rss_gb()}


def stage_dask(a) -> dict:
    from distributed import Client, LocalCluster

    from syntwin.graphs.dedup import collapse_duplicates
    from syntwin.graphs.knn import nearest_info

    X, _ = _load(a, a.n)
    U = collapse_duplicates(X).unique
    del X
    if a.scheduler:
        client, cluster = Client(a.scheduler), None
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40)
        client = Client(cluster)
    client.wait_for_workers(a.workers)
    t0 = time.perf_counter()
    I, D, info = nearest_info(U, None, a.k, client=client, seed=a.seed, exclude_self=True)
    t1 = time.perf_counter()
    worker_rss = client.run(_rss_gb)
    client.close()
    if cluster is not None:
        cluster.close()
    import hashlib

    digest = hashlib.blake2b(I.tobytes() + D.tobytes(), digest_size=8).hexdigest()
    return {"stage": f"dask{a.workers}", "n": a.n, "workers": a.workers, "knn_s": t1 - t0,
            "result_hash": digest, **info, "peak_rss_gb": _rss_gb() + sum(worker_rss.values())}


def stage_exact(a) -> dict:
    import faiss

    from syntwin.graphs.dedup import collapse_duplicates

    X, _ = _load(a, a.n)
    U = collapse_duplicates(X).unique
    del X
    nq = len(U) if len(U) <= 150_000 else 20_000
    q = U[np.random.default_rng(a.seed).choice(len(U), nq, replace=False)] if nq < len(U) else U
    t0 = time.perf_counter()
    index = faiss.IndexFlat(U.shape[1], faiss.METRIC_L1)
    index.add(U)
    index.search(q, a.k + 1)
    dt = time.perf_counter() - t0
    return {"stage": "exact", "n": a.n, "knn_s": dt * len(U) / nq, "extrapolated": nq < len(U),
            "peak_rss_gb": _rss_gb()}


def stage_sklearn(a) -> dict:
    from sklearn.neighbors import NearestNeighbors

    from syntwin.graphs.dedup import collapse_duplicates

    X, _ = _load(a, a.n)
    U = collapse_duplicates(X).unique
    del X
    nq = min(len(U), 5_000)
    q = U[np.random.default_rng(a.seed).choice(len(U), nq, replace=False)]
    t0 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=a.k + 1, algorithm="brute", metric="manhattan", n_jobs=2)
    nn.fit(U).kneighbors(q)
    dt = time.perf_counter() - t0
    return {"stage": "sklearn", "n": a.n, "knn_s": dt * len(U) / nq, "extrapolated": nq < len(U),
            "peak_rss_gb": _rss_gb()}


def stage_nx_louvain(a) -> dict:
    import networkx as nx

    from syntwin.graphs import SimilarityGraph

    g = SimilarityGraph.load(Path(a.workdir) / f"graph_{a.n}")
    if g.n_edges > 3_000_000:
        return {"stage": "nx_louvain", "n": a.n, "skipped": f"{g.n_edges} edges > 3M"}
    nxg = g.to_networkx(max_edges=3_000_000)
    t0 = time.perf_counter()
    parts = nx.community.louvain_communities(nxg, weight="weight", resolution=1.0, seed=a.seed)
    dt = time.perf_counter() - t0
    q = nx.community.modularity(nxg, parts, weight="weight")
    return {"stage": "nx_louvain", "n": a.n, "communities_s": dt, "communities": len(parts), "modularity": q,
            "peak_rss_gb": _rss_gb()}


def stage_syntwin(a) -> dict:
    from syntwin.graphs import resolution_scan
    from syntwin.graphs.reference import threshold_graph

    X, scale = _load(a, a.ref_n)
    t0 = time.perf_counter()
    g = threshold_graph(X, "auto", scale=scale)
    t1 = time.perf_counter()
    scan = resolution_scan(g, RESOLUTIONS, seed=a.seed, method="louvain")
    t2 = time.perf_counter()
    best = scan[scan.best].iloc[0]
    from syntwin.graphs import louvain

    m = louvain(g, resolution=float(best.resolution), seed=a.seed)
    g.membership = m
    g.save(Path(a.workdir) / "ref_syntwin")
    return {"stage": "syntwin", "n": a.ref_n, "graph_s": t1 - t0, "scan_s": t2 - t1, "total_s": t2 - t0,
            "threshold": g.meta["threshold"], "edges": g.n_edges, "best_resolution": float(best.resolution),
            "kept": int(best.kept), "coverage": float(best.coverage), "modularity": float(best.modularity),
            "peak_rss_gb": _rss_gb()}


def stage_ours_ref(a) -> dict:
    from syntwin.graphs import SimilarityGraph, build_graph, leiden, resolution_scan
    from syntwin.graphs.dedup import collapse_duplicates

    X, scale = _load(a, a.ref_n)
    t0 = time.perf_counter()
    prof = collapse_duplicates(X)
    g = build_graph(prof.unique, k=a.k, scale=scale, seed=a.seed, multiplicity=prof.counts)
    t1 = time.perf_counter()
    scan = resolution_scan(g, RESOLUTIONS, seed=a.seed)
    t2 = time.perf_counter()
    best = scan[scan.best].iloc[0]
    m = leiden(g, resolution=float(best.resolution), seed=a.seed)
    # expanded to patients, so that partitions can be compared with the reference's
    SimilarityGraph(n_nodes=len(X), edges=g.edges.iloc[:0], membership=prof.expand(m)).save(
        Path(a.workdir) / "ref_ours_patients")
    g.membership = m
    g.save(Path(a.workdir) / "ref_ours")
    return {"stage": "ours_ref", "n": a.ref_n, "graph_s": t1 - t0, "scan_s": t2 - t1, "total_s": t2 - t0,
            "edges": g.n_edges, "best_resolution": float(best.resolution), "kept": int(best.kept),
            "coverage": float(best.coverage), "modularity": float(best.modularity), "peak_rss_gb": _rss_gb()}


def cross_quality(a) -> dict:
    """Each method's partition scored on both graphs (γ = 1 modularity), and their agreement (ARI)."""
    from sklearn.metrics import adjusted_rand_score

    from syntwin.graphs import SimilarityGraph, modularity
    from syntwin.graphs.dedup import collapse_duplicates

    workdir = Path(a.workdir)
    ref = SimilarityGraph.load(workdir / "ref_syntwin")
    ours = SimilarityGraph.load(workdir / "ref_ours")
    ours_pat = SimilarityGraph.load(workdir / "ref_ours_patients").membership
    prof = collapse_duplicates(_load(a, a.ref_n)[0])
    first = np.full(prof.n_profiles, -1)
    first[prof.inverse[::-1]] = np.arange(prof.n_rows)[::-1]
    ref_on_profiles = ref.membership[first]  # SynTwin's label of each profile's first patient
    return {"stage": "cross",
            "Q_syntwin_graph_syntwin_partition": modularity(ref, ref.membership),
            "Q_syntwin_graph_ours_partition": modularity(ref, ours_pat),
            "Q_ours_graph_ours_partition": modularity(ours, ours.membership),
            "Q_ours_graph_syntwin_partition": modularity(ours, ref_on_profiles),
            "ari_ours_vs_syntwin": adjusted_rand_score(ref.membership, ours_pat)}


STAGES = {"prepare": stage_prepare, "ours": stage_ours, "dask": stage_dask, "exact": stage_exact,
          "sklearn": stage_sklearn,
          "nx_louvain": stage_nx_louvain, "syntwin": stage_syntwin, "ours_ref": stage_ours_ref}


def _run_stage(name: str, a, **extra) -> dict:
    cmd = [sys.executable, __file__, "--stage", name, "--n", str(a.n), "--k", str(a.k), "--seed", str(a.seed),
           "--ref-n", str(a.ref_n), "--workdir", a.workdir]
    for key, val in extra.items():
        cmd += [f"--{key}", str(val)]
    if a.scheduler:
        cmd += ["--scheduler", a.scheduler]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return {"stage": name, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = time.perf_counter() - t0
    print(json.dumps(res, default=float), flush=True)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--k", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ref-n", type=int, default=30_000, help="cohort size of the SynTwin comparison")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    skippable = [x for x in (*STAGES, "cross") if x != "prepare"]
    p.add_argument("--skip", nargs="*", default=[], choices=skippable)
    p.add_argument("--workdir", default=None)
    p.add_argument("--out", default=None, help="write all results as JSON here")
    p.add_argument("--stage", default=None, choices=list(STAGES), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.stage:
        res = STAGES[a.stage](a)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        res.update(cpu_s=ru.ru_utime + ru.ru_stime, loadavg_1min=os.getloadavg()[0])
        print(json.dumps(res, default=float))
        return
    with tempfile.TemporaryDirectory() as tmp:
        a.workdir = a.workdir or tmp
        results = []
        for name in STAGES:
            if name in a.skip:
                continue
            if name == "dask":
                counts = (a.workers,) if a.scheduler else (1, 2)
                results += [_run_stage("dask", a, workers=w) for w in counts]
            else:
                results.append(_run_stage(name, a))
        if "cross" not in a.skip and not {"syntwin", "ours_ref"} & set(a.skip):
            results.append(cross_quality(a))
            print(json.dumps(results[-1], default=float))
    _summary(results)
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=2, default=float))


def _summary(results: list[dict]) -> None:
    r = {x["stage"]: x for x in results if "error" not in x}
    print("\n== summary ==")
    for x in results:
        if "cpu_s" in x:
            print(f"  [{x['stage']}] process wall {x['process_wall_s']:.1f} s, cpu {x['cpu_s']:.1f} s, "
                  f"peak RSS {x.get('peak_rss_gb', float('nan')):.2f} GB, load {x['loadavg_1min']:.1f}")
    if "ours" in r:
        o = r["ours"]
        print(f"ours n={o['n']:,}: profiles {o['profiles']:,} (ratio {o['dedup_ratio']}), kNN graph "
              f"{o['knn_graph_s']:.1f} s + Leiden {o['leiden_s']:.1f} s = {o['graph_plus_leiden_s']:.1f} s, "
              f"recall@k {o['recall_at_k']:.4f}, nprobe {o['nprobe']}, peak RSS {o['peak_rss_gb']:.2f} GB, "
              f"{o['communities']} communities ({o['kept']} >= 10, coverage {o['coverage']:.3f}), "
              f"Q {o['modularity']:.3f}")
        for peer in ("exact", "sklearn"):
            if peer in r:
                x = r[peer]
                print(f"  {peer} kNN {x['knn_s']:.1f} s{' (extrapolated)' if x['extrapolated'] else ''}: "
                      f"ours is {x['knn_s'] / o['knn_graph_s']:.1f}x faster")
        if "nx_louvain" in r and "communities_s" in r["nx_louvain"]:
            x = r["nx_louvain"]
            print(f"  networkx Louvain {x['communities_s']:.1f} s (Q {x['modularity']:.3f}): "
                  f"igraph Leiden is {x['communities_s'] / o['leiden_s']:.1f}x faster")
    if "dask1" in r and "dask2" in r:
        d1, d2 = r["dask1"], r["dask2"]
        print(f"dask kNN: 1 worker {d1['knn_s']:.1f} s, 2 workers {d2['knn_s']:.1f} s → speed-up "
              f"{d1['knn_s'] / d2['knn_s']:.2f}x; identical output: {d1['result_hash'] == d2['result_hash']}")
    if "syntwin" in r and "ours_ref" in r:
        s, o = r["syntwin"], r["ours_ref"]
        print(f"SynTwin reference n={s['n']:,}: {s['total_s']:.1f} s (threshold {s['threshold']:.3f}, "
              f"{s['edges']:,} edges, kept {s['kept']}, coverage {s['coverage']:.3f}, "
              f"Q {s['modularity']:.3f}); ours {o['total_s']:.1f} s (kept {o['kept']}, "
              f"coverage {o['coverage']:.3f}, Q {o['modularity']:.3f})"
              f" → {s['total_s'] / o['total_s']:.1f}x faster")
    if "cross" in r:
        c = r["cross"]
        print(f"  modularity on SynTwin's graph: ours {c['Q_syntwin_graph_ours_partition']:.3f}, SynTwin "
              f"{c['Q_syntwin_graph_syntwin_partition']:.3f}; on our graph: ours "
              f"{c['Q_ours_graph_ours_partition']:.3f}, SynTwin {c['Q_ours_graph_syntwin_partition']:.3f}; "
              f"ARI {c['ari_ours_vs_syntwin']:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
