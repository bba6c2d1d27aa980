"""The privacy stage alone: whole frames on the client (``evaluate_privacy``) vs the part files (``privacy_on_parts``).

    .venv/bin/python bench/scale/bench_privacy_stage.py --n 200000
    .venv/bin/python bench/scale/bench_privacy_stage.py --n 1000000 --modes parts

Builds a simulated cohort of ``--n`` patients as part files (25 % held out) and independent simulated twins, one
per training patient, as part files (an honest generator), and fits the run's encoder from the parts. Then each
mode runs in a fresh process with its own 2-worker LocalCluster (1 thread each) and prints its seconds and the
peak RSS of that client process: ``whole`` reads the cohort and the twins into pandas and encodes them (as
``run_cohort`` did before the stage read the parts) and calls ``evaluate_privacy``; ``parts`` calls
``privacy_on_parts``. With ``--modes whole parts`` it also says whether figures, gate and release are the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return cluster, Client(cluster)


def build(n: int, work: Path) -> None:
    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.pipeline.cohort import cohort_encoder
    from syntwin.pipeline.dataset import dataset_files, write_dataset
    from syntwin.pipeline.graph_stage import fit_encoder_on_parts

    cluster, client = _cluster()
    with cluster, client:
        c = simulate_cohort(n, site="breast", seed=1)
        write_dataset(c.data, work / "cohort", client=client)
        hold = np.random.default_rng(2).random(n) < 0.25
        twins = simulate_cohort(int((~hold).sum()), site="breast", seed=3).data[c.schema.modelled]
        write_dataset(twins, work / "twins", client=client)
        enc = fit_encoder_on_parts(cohort_encoder(c.schema, {}), dataset_files(work / "cohort"), hold, client)
    np.save(work / "hold.npy", hold)
    (work / "setup.pkl").write_bytes(pickle.dumps({"schema": c.schema, "encoder": enc}))


def one(mode: str, work: Path) -> dict:
    from syntwin.pipeline.dataset import dataset_files, read_dataset
    from syntwin.pipeline.privacy_stage import privacy_on_parts
    from syntwin.privacy import evaluate_privacy

    setup = pickle.loads((work / "setup.pkl").read_bytes())
    s, enc, hold = setup["schema"], setup["encoder"], np.load(work / "hold.npy")
    kw = dict(numeric=list(s.numeric), ordinal={k: list(v) for k, v in s.ordinal.items()},
              categorical=list(s.categorical), time=s.time, event=s.event,
              quasi_identifiers=list(s.quasi_identifiers), seed=5)
    cluster, client = _cluster()
    with cluster, client:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        t0 = time.perf_counter()
        load = 0.0
        if mode == "whole":
            df = read_dataset(work / "cohort").compute().reset_index(drop=True)
            train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
            del df
            twins = read_dataset(work / "twins").compute().reset_index(drop=True)
            x = (enc.transform(twins), enc.transform(train), enc.transform(holdout))
            load = time.perf_counter() - t0
            r = evaluate_privacy(twins, train, holdout, encoded=x, client=client, **kw)
        else:
            r = privacy_on_parts(dataset_files(work / "cohort"), hold, dataset_files(work / "twins"), encoder=enc,
                                 client=client, **kw)
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"mode": mode, "seconds": round(wall, 1), "load_and_encode_seconds": round(load, 1),
            "client_peak_rss_gib": round(peak, 2), "peak_before_gib": round(base, 2),
            "by_part": r["details"]["seconds"], "sizes": r["details"]["sizes"], "passed": r["passed"],
            "result": {k: r[k] for k in ("figures", "gate", "release")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--modes", nargs="+", choices=["whole", "parts"], default=["whole", "parts"])
    parser.add_argument("--one", nargs=2, metavar=("MODE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]))))
        return
    work = Path(tempfile.mkdtemp(prefix="syntwin-bench-privacy-"))
    t0 = time.perf_counter()
    build(args.n, work)
    print(f"built {args.n} patients and their twins in {time.perf_counter() - t0:.0f} s ({work})", flush=True)
    rows = []
    for mode in args.modes:
        out = subprocess.run([sys.executable, __file__, "--one", mode, str(work)], capture_output=True, text=True,
                             check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "result"}), flush=True)
    if len(rows) == 2:
        print("same figures, gate and release:", rows[0]["result"] == rows[1]["result"])


if __name__ == "__main__":
    main()
