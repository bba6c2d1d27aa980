"""Wall time of the whole cohort pipeline, 1 vs 2 Dask workers, with a projection to 10M patients.

    .venv/bin/python bench/scale/bench_pipeline.py --n 1000000 --workers 1 2

Runs the shipped default scenario (simulated SEER-like breast cohort) at ``--n`` patients with the built-in
``latent_class`` generator or SDV (``--generator``), once per worker count, in fresh LocalClusters, and
prints per-stage seconds, peak RSS of this process and the ratio 1-worker / 2-worker per stage.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from syntwin.pipeline.run import run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios

STAGES = ("cohort", "graph", "synthesis", "fidelity", "prediction", "privacy", "export")


def one_run(n: int, workers: int, generator: str, out: Path) -> dict:
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"],
                             [f"cohort.simulate.n={n}", f"synthesis.generator={generator}",
                              f"runtime.workers={workers}"])
    start = time.perf_counter()
    manifest = run_scenario(scenario, out, overwrite=True, report=False)
    wall = time.perf_counter() - start
    row = {"workers": workers, "wall": round(wall, 1)}
    for stage in STAGES:
        row[stage] = round(manifest["metrics"].get(stage, {}).get("seconds", float("nan")), 1)
    pred = manifest["metrics"]["prediction"]
    for method in ("logistic", "twin_knn", "twin_ensemble", "gnn", "syntwin_2024_D"):
        row[f"{method}_auroc"] = round(pred[method]["auroc"], 4) if method in pred else None
    row["recall_at_k"] = manifest["metrics"]["graph"].get("recall_at_k")
    row["prediction_parts"] = pred.get("seconds_by_part")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--generator", default="latent_class")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="syntwin-bench-"))
    rows = []
    try:
        for w in args.workers:
            rows.append(one_run(args.n, w, args.generator, tmp / f"w{w}"))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cols = ["workers", "wall", *STAGES, "logistic_auroc", "twin_knn_auroc", "gnn_auroc", "recall_at_k"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    if len(rows) >= 2:
        a, b = min(rows, key=lambda r: r["workers"]), max(rows, key=lambda r: r["workers"])
        ratios = {c: round(a[c] / b[c], 2) if b[c] else None for c in ["wall", *STAGES]}
        print(f"\nratio {a['workers']} / {b['workers']} workers: {json.dumps(ratios)}")
        per_patient = b["wall"] / args.n
        print(f"projection to 10M patients at {b['workers']} workers, linear in n (kNN and synthesis are "
              f"per-partition/per-community work): {per_patient * 10_000_000 / 60:.0f} min on this machine; "
              f"divide by the worker-count ratio measured above per doubling of workers.")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS of the client process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
