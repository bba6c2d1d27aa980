"""Benchmark: the full privacy evaluation (evaluate_privacy) of n twins, on 1 and 2 Dask workers.

Data: a simulated SEER-like breast cohort; ``n`` training patients, ``n / 4`` holdout patients and
``n`` twins drawn independently from the same simulator (an honest generator: the gate should pass,
so every attack runs to its full size). Each configuration runs in its own process so peak RSS is
per run; the LocalCluster has W single-threaded worker processes (W = 0 means no Dask client).

Usage:
  python bench/privacy/bench_privacy.py --n 100000 --workers 1 2
  python bench/privacy/bench_privacy.py --n 1000000 --workers 1 2 --out bench/privacy/results.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _one(n: int, workers: int, seed: int) -> dict:
    """Run one configuration in this process and return its figures."""
    import distributed

    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.privacy import evaluate_privacy

    t0 = time.perf_counter()
    n_hold = n // 4
    cohort = simulate_cohort(n + n_hold, site="breast", seed=seed)
    real = cohort.data.compute().reset_index(drop=True)
    s = cohort.schema
    twins = simulate_cohort(n, site="breast", seed=seed + 1).data.compute()[s.modelled]
    train, hold = real.iloc[:n], real.iloc[n:]
    data_s = time.perf_counter() - t0
    kw = dict(
        numeric=list(s.numeric),
        ordinal=s.ordinal,
        categorical=list(s.categorical),
        time=s.time,
        event=s.event,
        quasi_identifiers=list(s.quasi_identifiers),
        seed=seed,
    )
    if workers:
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.wait_for_workers(workers)
            t1 = time.perf_counter()
            res = evaluate_privacy(twins, train, hold, client=client, **kw)
            wall = time.perf_counter() - t1
    else:
        t1 = time.perf_counter()
        res = evaluate_privacy(twins, train, hold, **kw)
        wall = time.perf_counter() - t1
    f = res["figures"]
    return {
        "n_twins": n,
        "n_train": n,
        "n_holdout": n_hold,
        "workers": workers,
        "seconds": round(wall, 1),
        "data_seconds": round(data_s, 1),
        "parts": res["details"]["seconds"],
        "passed": res["passed"],
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "figures": {
            k: f[k]
            for k in (
                "exact_copies",
                "exact_copies_released",
                "memorisation_ratio",
                "dcr_train_share",
                "mia_distance_auroc",
                "mia_density_auroc",
                "singling_out_risk",
                "linkability_risk",
                "inference_risk",
                "risk_ci_halfwidth",
                "k_anonymity",
                "k_suppressed_share",
            )
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="append results to this JSON file")
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(_one(a.one[0], a.one[1], a.seed)))
        return
    rows = []
    for n in a.n:
        for w in a.workers:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", str(n), str(w), "--seed", str(a.seed)],
                capture_output=True,
                text=True,
            )
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"n={n:>9,} workers={w}  {row['seconds']:7.1f} s  rss {row['peak_rss_gb']:.1f} GiB  "
                f"passed={row['passed']}  parts={row['parts']}",
                flush=True,
            )
    if a.out:
        old = json.loads(a.out.read_text()) if a.out.exists() else []
        a.out.write_text(json.dumps(old + rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
