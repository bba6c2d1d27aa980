"""Benchmark: simulate 1,000,000 SEER-like patients and write them to Parquet on 1 and 2 workers.

Run:  .venv/bin/python bench/cohort/bench_simulate.py [--rows 1000000] [--site breast]

For each setting it times (a) generation alone (rows counted on the workers, nothing sent back)
and (b) generation + ``write_cohort`` (Parquet, one file per partition), on a LocalCluster with
``processes=True`` and one thread per worker (cluster start-up excluded), plus the synchronous
scheduler in this process as a baseline. Each figure is the best of ``--repeat`` runs. It also
checks that every setting wrote the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path

import dask
from distributed import Client, LocalCluster

from syntwin.cohort.simulate import (
    SITES,
    calibration_table,
    simulate_cohort,
    simulate_partition,
    write_cohort,
)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.glob("part.*.parquet")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _run(rows: int, site: str, rpp: int, out: Path, scheduler: str | None,
         repeat: int = 1) -> tuple[float, float, int, str, float]:
    """Best-of-``repeat`` seconds: generation, generation + write; size, digest, CPU s of this process."""
    cohort = simulate_cohort(rows, site, seed=0, rows_per_partition=rpp)
    gen = total = cpu = float("inf")
    with dask.config.set(scheduler=scheduler) if scheduler else contextlib.nullcontext():
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            n = int(cohort.data.map_partitions(len).sum().compute())
            gen = min(gen, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
            assert n == rows
            t0 = time.perf_counter()
            write_cohort(cohort, out)
            total = min(total, time.perf_counter() - t0)
    size = sum(f.stat().st_size for f in out.glob("*"))
    return gen, total, size, _digest(out), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--site", default="breast")
    ap.add_argument("--rows-per-partition", type=int, default=250_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        gen, tot, size, dig, cpu = _run(args.rows, args.site, args.rows_per_partition, Path(tmp) / "sync",
                                        "sync", args.repeat)
        results.append(("synchronous (1 process)", gen, tot, size, dig))
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster):
                _run(10_000, args.site, 5_000, Path(tmp) / "warm", None)  # warm the workers' imports
                gen, tot, size, dig, _ = _run(args.rows, args.site, args.rows_per_partition,
                                           Path(tmp) / f"w{workers}", None, args.repeat)
            results.append((f"LocalCluster {workers} worker(s)", gen, tot, size, dig))
    print(f"\n{args.rows:,} {args.site} patients, rows_per_partition={args.rows_per_partition:,}, "
          f"best of {args.repeat}; load average before/after: {load0:.1f}/{os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs\n")
    print(f"| {'setting':<26} | generate s | generate+write s | rows/s (g+w) | Parquet MiB | bytes sha256 |")
    print(f"|{'-' * 28}|-----------:|-----------------:|-------------:|------------:|--------------|")
    for name, gen, tot, size, dig in results:
        print(f"| {name:<26} | {gen:10.2f} | {tot:16.2f} | {args.rows / tot:12,.0f} | "
              f"{size / 2**20:11.1f} | {dig} |")
    same = len({r[-1] for r in results}) == 1
    print(f"\nidentical Parquet bytes across settings: {same}")
    print(f"generation CPU time in the synchronous run: {cpu:.2f} s "
          f"({args.rows / cpu:,.0f} rows per CPU-second)")
    print("\ncalibration, 200,000 simulated patients per site (seed 1): share / KM 5-yr CSS % vs target")
    for site in SITES:
        t = calibration_table(simulate_partition(200_000, site, 1, 0, 0), site)
        cells = [f"{st}: {r.share:.3f}/{r.target_share:.3f}, {r.css_5yr:.1f}/{r.target_css_5yr:.1f}"
                 for st, r in t.iterrows()]
        print(f"  {site:<10} " + " | ".join(cells))


if __name__ == "__main__":
    main()
