"""Wall time of per-group synthesis on Dask (1 vs 2 worker processes) against one global fit.

The cohort is the real SEER breast subset resampled to ``--rows`` patients (numeric columns jittered
by ±1 so rows are not exact copies); groups are ``--groups`` k-means clusters of the encoded
features (a stand-in for graph communities). Each configuration synthesises ``--rows`` twins.

Usage:
    .venv/bin/python bench/twins/bench_parallel.py [--rows 100000] [--groups 16] [--generator gaussian_copula]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.cluster import KMeans

from syntwin.graphs.encode import MixedEncoder
from syntwin.synthesis import synthesize

from bench_twins import EVENT, FEATURES, ROLES, TIME, load


def cohort(rows: int, seed: int):
    df = load()
    rng = np.random.default_rng(seed)
    big = df.iloc[rng.integers(0, len(df), rows)].reset_index(drop=True)
    for c in ROLES["numeric"]:
        big[c] = np.maximum(big[c] + rng.integers(-1, 2, rows), 0)
    return big


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=16)
    ap.add_argument("--generator", default="gaussian_copula")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    df = cohort(args.rows, args.seed)
    X = MixedEncoder(**ROLES).fit_transform(df[FEATURES])
    groups = KMeans(args.groups, n_init=1, random_state=args.seed).fit_predict(X)
    kw = dict(time=TIME, event=EVENT, seed=args.seed, **ROLES)
    print(f"{args.rows} rows, {args.groups} groups (sizes {np.bincount(groups).min()}-{np.bincount(groups).max()}),"
          f" generator {args.generator}, load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    glob = synthesize(df, args.generator, args.rows, **kw)
    t_global = time.perf_counter() - t0
    print(f"global model, this process:        {t_global:6.1f} s", flush=True)
    results = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            out = synthesize(df, args.generator, args.rows, groups=groups, client=client, **kw)
            results[workers] = (time.perf_counter() - t0, out)
        print(f"per-group, {workers} worker process(es): {results[workers][0]:6.1f} s", flush=True)
    a, b = results[1][1], results[2][1]
    same = a.equals(b)
    if not same:
        for c in a.columns:
            ne = (a[c] != b[c]) & ~(a[c].isna() & b[c].isna())
            if ne.any():
                print(f"  differs: {c}: {int(ne.sum())} rows in groups {sorted(set(a.loc[ne, '_group']))}")
    print(f"speed-up 2 vs 1 worker: {results[1][0] / results[2][0]:.2f}x; per-group on 2 workers vs global: "
          f"{t_global / results[2][0]:.2f}x; identical output on 1 and 2 workers: {same}; "
          f"rows {len(glob)} / {len(results[2][1])}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
