"""Wall time of the whole cohort pipeline, 1 vs 2 Dask workers, with a projection to 10M patients.

    .venv/bin/python bench/scale/bench_pipeline.py --n 1000000 --workers 1 2
    .venv/bin/python bench/scale/bench_pipeline.py --n 1000000 --workers 1 2 --until synthesis

Runs the shipped default scenario (simulated SEER-like breast cohort) at ``--n`` patients with the built-in
``latent_class`` generator or SDV (``--generator``), once per worker count, each in a fresh LocalCluster
(1 thread per worker), and prints per-stage seconds, peak RSS of the client process (one fresh process per run) and of each
worker, the ratio 1-worker / 2-worker per stage, and whether the outputs are the same bytes on every worker
count (published outputs; with ``--until`` the checkpointed cohort dataset and graph of the partial run).
``--until STAGE`` stops the run when STAGE begins (e.g. ``synthesis``: cohort and graph stages only);
``--set KEY=VALUE`` passes scenario overrides (e.g. ``graph.coarsen_above=100000``); ``--keep DIR`` keeps
the run directories (``DIR/w<workers>``) for later reading, and ``--keep DIR --resume`` finishes them (the
stages already checkpointed keep their seconds; RSS peaks are those of the finishing process).
``--kill-task PREFIX`` kills a worker the moment the first task whose key starts with PREFIX executes (e.g.
``_search_task``: a kNN search of the graph stage; the fault tests' plugin), so the row shows whether the
bytes survive a worker loss (compare it with a run without the kill).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import resource
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil
from distributed import Client, LocalCluster

from syntwin.io import sha256_tree
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios

STAGES = ("cohort", "graph", "synthesis", "fidelity", "prediction", "privacy", "export")


class Stop(KeyboardInterrupt):
    """Ends a run when the ``--until`` stage begins (the partial run directory stays)."""


def _until(stage: str | None, starts: dict[str, float]):
    def progress(name: str) -> None:
        starts[name] = time.time()
        if name == stage:
            raise Stop(name)
    return progress


class RssSampler(threading.Thread):
    """Samples this process's RSS every 0.1 s, so the peak within a stage's time window can be read."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        proc = psutil.Process()
        while not self.done.wait(0.1):
            self.samples.append((time.time(), proc.memory_info().rss))

    def peak_gib(self, start: float, end: float) -> float | None:
        inside = [r for t, r in self.samples if start <= t <= end]
        return round(max(inside) / 2**30, 2) if inside else None


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _checksums(out: Path, manifest: dict | None) -> dict:
    if manifest is not None:
        return {k: v["sha256"] for k, v in manifest["outputs"].items()}
    work = partial_dir(out)
    found = {"cohort_dataset": work / ".checkpoints" / "cohort" / "data", "graph": work / "graph"}
    return {k: sha256_tree(p) for k, p in found.items() if p.exists()}


def one_run(n: int, workers: int, generator: str, out: Path, until: str | None, overrides: list[str],
            kill_task: str | None = None, resume: bool = False) -> dict:
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"],
                             [f"cohort.simulate.n={n}", f"synthesis.generator={generator}", *overrides])
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        if kill_task:
            from tests.spine.test_fault_tolerance import KillWorkerWhenTaskStarts

            client.register_plugin(KillWorkerWhenTaskStarts(kill_task, out.parent / f"killed-w{workers}.json"))
        start, starts, sampler = time.perf_counter(), {}, RssSampler()
        sampler.start()
        manifest = None
        try:
            manifest = run_scenario(scenario, out, overwrite=not resume, resume=resume, report=False,
                                    client=client, progress=_until(until, starts))
        except Stop:
            pass
        wall = time.perf_counter() - start
        ended = time.time()
        sampler.done.set()
        sampler.join()
        # the client's peak within each stage's window (from its start to the next stage's start)
        order = sorted(starts.items(), key=lambda kv: kv[1])
        stage_peaks = {name: sampler.peak_gib(t, order[i + 1][1] if i + 1 < len(order) else ended)
                       for i, (name, t) in enumerate(order)}
        graph_record = partial_dir(out) / ".checkpoints" / "graph.json"
        # the client's peak from the run's start to the end of the graph stage (its checkpoint record)
        graph_peak = sampler.peak_gib(starts.get("cohort", 0.0), graph_record.stat().st_mtime) if (
            graph_record.exists()) else None
        worker_rss = sorted(round(v, 2) for v in client.run(_peak_rss_gib).values())
    metrics = manifest["metrics"] if manifest else {
        p.stem: json.loads(p.read_text())["metrics"] for p in (partial_dir(out) / ".checkpoints").glob("*.json")}
    row = {"workers": workers, "wall": round(wall, 1)}
    for stage in STAGES:
        row[stage] = round(metrics.get(stage, {}).get("seconds", float("nan")), 1)
    pred = metrics.get("prediction", {})
    for method in ("logistic", "twin_knn", "twin_ensemble", "gnn", "syntwin_2024_D"):
        row[f"{method}_auroc"] = round(pred[method]["auroc"], 4) if method in pred else None
    graph = metrics.get("graph", {})
    row.update(recall_at_k=graph.get("recall_at_k"), modularity=graph.get("modularity"),
               communities=graph.get("communities"), communities_method=graph.get("communities_method"),
               prediction_parts=pred.get("seconds_by_part"), client_peak_rss_gib=round(_peak_rss_gib(), 2),
               client_peak_rss_to_graph_end_gib=graph_peak, client_peak_rss_by_stage_gib=stage_peaks,
               worker_peak_rss_gib=worker_rss, sha256=_checksums(out, manifest),
               killed=json.loads((out.parent / f"killed-w{workers}.json").read_text()) if kill_task else None)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--generator", default="latent_class")
    parser.add_argument("--until", choices=STAGES[1:], help="stop the run when this stage begins")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--kill-task", metavar="PREFIX", help="kill a worker when the first such task executes")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the runs below DIR and keep them")
    parser.add_argument("--resume", action="store_true",
                        help="finish the interrupted runs kept below --keep DIR (e.g. after --until)")
    args = parser.parse_args()
    if args.resume and args.keep is None:
        parser.error("--resume needs --keep DIR (the directory of the runs to finish)")
    tmp = Path(tempfile.mkdtemp(prefix="syntwin-bench-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for w in args.workers:
            # each run in a fresh process, so the client's peak RSS is that run's
            # (and with --kill-task the same worker count again, a worker killed mid-task: same bytes?)
            for kill in [None, args.kill_task] if args.kill_task else [None]:
                with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    rows.append(pool.submit(one_run, args.n, w, args.generator,
                                            tmp / f"w{w}{'-killed' if kill else ''}", args.until,
                                            args.overrides, kill, args.resume).result())
                print(json.dumps(rows[-1]), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    cols = ["workers", "wall", *STAGES, "logistic_auroc", "twin_knn_auroc", "gnn_auroc", "recall_at_k",
            "client_peak_rss_gib", "worker_peak_rss_gib"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    if len(rows) >= 2:
        a, b = min(rows, key=lambda r: r["workers"]), max(rows, key=lambda r: r["workers"])
        ratios = {c: round(a[c] / b[c], 2) if b[c] == b[c] and b[c] else None for c in ["wall", *STAGES]}
        print(f"\nratio {a['workers']} / {b['workers']} workers: {json.dumps(ratios)}")
        same = all(r["sha256"] == rows[0]["sha256"] for r in rows) and bool(rows[0]["sha256"])
        print(f"same output bytes on {[r['workers'] for r in rows]} workers: {same} ({sorted(rows[0]['sha256'])})")
    if len(rows) >= 2 and not args.until:
        per_patient = b["wall"] / args.n
        print(f"projection to 10M patients at {b['workers']} workers, linear in n (kNN and synthesis are "
              f"per-partition/per-community work): {per_patient * 10_000_000 / 60:.0f} min on this machine; "
              f"divide by the worker-count ratio measured above per doubling of workers.")


if __name__ == "__main__":
    main()
