"""Fidelity stage at scale: per-partition statistics on a LocalCluster vs the pandas path on the client.

    python bench/scale/bench_fidelity.py prep  --n 1000000 --out /tmp/fid1m   # cohort + twins datasets
    python bench/scale/bench_fidelity.py parts --out /tmp/fid1m --workers 2   # new path (client reads folders only)
    python bench/scale/bench_fidelity.py pandas --out /tmp/fid1m               # pre-change code on frames

Twins are a second simulated cohort (another seed), as a dataset; communities are random labels, ~400 patients each. Each
mode prints wall seconds and the process's peak RSS (``resource.getrusage``, ru_maxrss). The pandas mode runs
tests/spine/fidelity_reference.py (KM sup point estimates, no bootstrap: a lower bound of the old stage's time).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _scenario():
    from syntwin.scenario.cohort import CohortScenario

    return CohortScenario.model_validate({"kind": "cohort", "name": "bench-fidelity", "seed": 1,
                                          "cohort": {"simulate": {"n": 1000}},
                                          "synthesis": {"max_constraint_violations": 1.0}})


def prep(out: Path, n: int) -> None:
    import dask.dataframe as dd

    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.pipeline.dataset import write_dataset

    cohort = simulate_cohort(n, seed=1, rows_per_partition=100_000)
    write_dataset(cohort.data, out / "cohort")
    twins = simulate_cohort(n * 3 // 4, seed=2, rows_per_partition=100_000)
    write_dataset(twins.data[list(cohort.schema.modelled)], out / "twins")
    rng = np.random.default_rng(0)
    hold = rng.random(n) < 0.25
    np.save(out / "hold.npy", hold)
    n_train = int((~hold).sum())  # communities of ~400 patients (the graph stage keeps sizes >= 10)
    np.save(out / "membership.npy", rng.integers(0, max(1, n_train // 400), n_train))
    cohort.schema.save(out / "schema.json")
    del dd


def parts(out: Path, workers: int) -> dict:
    from distributed import Client, LocalCluster

    from syntwin.cohort import CohortSchema
    from syntwin.pipeline.context import RunContext
    from syntwin.pipeline.fidelity import fidelity_stage

    schema = CohortSchema.load(out / "schema.json")
    hold, membership = np.load(out / "hold.npy"), np.load(out / "membership.npy")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        work = out / f"run-parts-{workers}"
        work.mkdir(exist_ok=True)
        ctx = RunContext(work=work, seed=1, client=client)
        m: dict = {}
        t0 = time.perf_counter()
        fidelity_stage(_scenario(), ctx, out / "cohort", hold, membership, out / "twins", schema, m)
        return {"seconds": round(time.perf_counter() - t0, 1), "quality": m["quality"], "km_sup": m["km_sup"]}


def pandas_path(out: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "spine"))
    import fidelity_reference as ref

    from syntwin.cohort import CohortSchema
    from syntwin.pipeline.context import RunContext
    from syntwin.pipeline.dataset import read_dataset

    schema = CohortSchema.load(out / "schema.json")
    hold, membership = np.load(out / "hold.npy"), np.load(out / "membership.npy")
    t0 = time.perf_counter()
    df = read_dataset(out / "cohort").compute(scheduler="sync").reset_index(drop=True)
    train = df[~hold].reset_index(drop=True)
    twins = read_dataset(out / "twins").compute(scheduler="sync").reset_index(drop=True)
    work = out / "run-pandas"
    work.mkdir(exist_ok=True)
    m: dict = {}
    ref.reference_fidelity_stage(_scenario(), RunContext(work=work, seed=1, client=None), train, twins, schema, m,
                                 membership)
    return {"seconds": round(time.perf_counter() - t0, 1), "quality": m["quality"], "km_sup": m["km_sup"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["prep", "parts", "pandas"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = {"prep": lambda: prep(a.out, a.n) or {}, "parts": lambda: parts(a.out, a.workers),
           "pandas": lambda: pandas_path(a.out)}[a.mode]()
    res.update(mode=a.mode, wall=round(time.perf_counter() - t0, 1),
               client_peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
