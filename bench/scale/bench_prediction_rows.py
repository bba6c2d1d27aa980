"""Client peak RSS of taking the prediction stage's rows: the old whole-cohort compute vs ``prediction_rows``.

    .venv/bin/python bench/scale/bench_prediction_rows.py --n 200000 --cap 20000

``old``: the whole cohort and all twins computed on the client, split, encoded, then the training sample and
its twin share taken (run_cohort before issue 15). ``new``: :func:`~syntwin.pipeline.prediction_rows.prediction_rows`
(outcome columns of the training rows, the sample and its twin share read with ``read_rows``, the held-out
patients encoded per part on the workers) and the sample encoded. Each variant in a fresh process (a fresh
2-worker LocalCluster); the dataset is simulated once into ``--dir``, the twins stand in as the cohort's
modelled columns. The client's RSS is sampled every 50 ms around the step alone.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.done = 0, threading.Event()

    def run(self) -> None:
        proc = psutil.Process()
        while not self.done.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            time.sleep(0.05)


def _one(variant: str, n: int, cap: int, base: Path) -> None:
    from distributed import Client, LocalCluster

    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.pipeline.cohort import cohort_encoder, split_holdout
    from syntwin.pipeline.dataset import (concat_summaries, dataset_files, outcome_columns, read_dataset,
                                          read_rows, write_dataset)
    from syntwin.pipeline.predict import training_sample, twin_sample
    from syntwin.pipeline.prediction_rows import prediction_rows, within
    from syntwin.scenario.cohort import PredictionSection
    from syntwin.synthesis.predict import outcome_labels

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        cohort = simulate_cohort(n, site="breast", seed=1, rows_per_partition=25_000)
        schema = cohort.schema
        if not (base / "hold.npy").exists():
            parts = write_dataset(cohort.data, base / "cohort", client=client, summarise=outcome_columns(schema))
            label, ev = outcome_labels(concat_summaries(parts, "time"), concat_summaries(parts, "event"), 60.0)
            write_dataset(read_dataset(base / "cohort")[list(schema.modelled)], base / "twins", client=client)
            np.save(base / "hold.npy", split_holdout(np.where(ev, label, -1), 0.25, 1))
        hold = np.load(base / "hold.npy")
        files, twin_files = dataset_files(base / "cohort"), dataset_files(base / "twins")
        first = within(~hold, np.arange(min(20_000, int((~hold).sum()))))  # the encoder: a few rows suffice here
        enc = cohort_encoder(schema, {}).fit(read_rows(files, first, client=client))
        p = PredictionSection(max_train_rows=cap)
        sampler, before = Sampler(), psutil.Process().memory_info().rss
        sampler.start()
        t0 = time.perf_counter()
        if variant == "old":
            df = read_dataset(base / "cohort").compute().reset_index(drop=True)
            train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
            x_train = enc.transform(train)
            twins = read_dataset(base / "twins").compute().reset_index(drop=True)
            x_hold, x_twins = enc.transform(holdout), enc.transform(twins)
            rows = training_sample(train, schema, p, 1)
            tw = twin_sample(len(twins), len(train), len(rows), 1)
            got = (x_train[rows], x_twins[tw], x_hold)
        else:
            read = prediction_rows(files, twin_files, hold, schema, p, 1, client, enc)
            got = (enc.transform(read["train"]), enc.transform(read["twins"]), read["x_hold"])
        seconds = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
    print(f"{variant}: n={n} cap={cap} train {len(got[0])} twins {len(got[1])} held-out {len(got[2])}; client RSS "
          f"{before / 2**20:.0f} MiB before, peak +{(sampler.peak - before) / 2**20:.0f} MiB, {seconds:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--cap", type=int, default=20_000, help="prediction.max_train_rows")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bench_prediction_rows"))
    ap.add_argument("--variant", choices=["old", "new"])
    args = ap.parse_args()
    base = args.dir / str(args.n)
    base.mkdir(parents=True, exist_ok=True)
    if args.variant:
        _one(args.variant, args.n, args.cap, base)
        return
    for variant in ("old", "new"):  # each in a fresh process, so each peak is its own
        subprocess.run([sys.executable, __file__, "--n", str(args.n), "--cap", str(args.cap), "--dir",
                        str(args.dir), "--variant", variant], check=True)


if __name__ == "__main__":
    main()
