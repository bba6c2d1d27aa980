"""Batches: many scenarios (or one over many seeds) on one Dask cluster, resumable and summarised."""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from distributed import Client

from syntwin.errors import ScenarioError, SyntwinError
from syntwin.pipeline.run import config_sha256, partial_dir, refused, run_scenario
from syntwin.scenario.load import load_scenario


@dataclass
class BatchItem:
    """One run of a batch: a scenario file, a seed and its run directory."""

    source: Path
    scenario: Any
    seed: int
    out: Path
    status: str = "pending"
    seconds: float = 0.0
    error: str = ""
    headline: str = ""
    manifest: dict | None = None


def expand_sources(inputs: list[Path]) -> list[Path]:
    """Scenario files from files and directories (``*.yaml`` in each directory, sorted)."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(item.glob("*.yaml")) + sorted(item.glob("*.yml"))
            if not found:
                raise ScenarioError("no scenario files (*.yaml) in this directory", file=str(item))
            files.extend(found)
        else:
            files.append(item)
    return files


def plan_batch(inputs: list[Path], out: Path, *, seeds: list[int] | None = None,
               overrides: list[str] | None = None) -> list[BatchItem]:
    """Validate every scenario first (a batch never starts with a bad file) and name each run directory."""
    items = []
    for source in expand_sources(inputs):
        scenario = load_scenario(source, overrides)
        for seed in seeds or [scenario.seed]:
            name = scenario.name if not seeds else f"{scenario.name}-seed{seed}"
            items.append(BatchItem(source, scenario.model_copy(update={"seed": seed}), seed, out / name))
    names = [i.out for i in items]
    if len(set(names)) != len(names):
        raise ScenarioError("two scenarios of the batch have the same name", field="name",
                            hint="give each scenario file a distinct name")
    return items


def _headline(manifest: dict) -> str:
    metrics = manifest.get("metrics", {})
    pred = metrics.get("prediction", {})
    parts = [f"{k} AUROC {v['auroc']:.3f}" for k, v in pred.items() if isinstance(v, dict) and "auroc" in v]
    if not parts:
        parts = [f"{k}: {v}" for k, v in list(metrics.get("crowd", {}).items())[:1]]
    return "; ".join(parts)


def _finished(item: BatchItem) -> dict | None:
    manifest = item.out / "manifest.json"
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    return data if data.get("config_sha256") == config_sha256(item.scenario) else None


def _run_item(item: BatchItem, progress: Any = None, **connect: Any) -> BatchItem:
    """Run one item (``connect``: ``client=`` or ``scheduler=``); its outcome is recorded on it."""
    done = _finished(item)
    if done is not None:
        item.status, item.headline, item.manifest = "skipped (done)", _headline(done), done
        return item
    start = time.perf_counter()
    try:
        manifest = run_scenario(
            item.scenario, item.out, source=str(item.source), overwrite=True,
            resume=partial_dir(item.out.absolute()).exists(),
            progress=(lambda stage, it=item: progress(f"{it.out.name}: {stage}")) if progress else None,
            **connect,
        )
        reasons = refused(manifest)
        item.status, item.headline = ("refused", "; ".join(reasons)) if reasons else ("done", _headline(manifest))
        item.manifest = manifest
    except SyntwinError as exc:
        item.status, item.error = "failed", str(exc)
    except Exception as exc:  # an unexpected failure of one run is recorded; the batch goes on
        item.status, item.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
    item.seconds = round(time.perf_counter() - start, 1)
    return item


def run_batch(items: list[BatchItem], client: Client, *, parallel: int = 1, progress: Any = None
              ) -> list[BatchItem]:
    """Run the planned items on ``client``'s cluster, up to ``parallel`` at once, each in its own run directory.

    A finished run with the same configuration is skipped; an interrupted one is resumed; a run
    that fails is recorded and the others go on. Concurrent runs are separate client processes
    connected to the same scheduler (their tasks share the workers): each has its own copy of the
    process-wide state that seeded libraries keep (torch's and igraph's random generators, thread
    counts), so every run gives the bytes it gives alone.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
    if parallel == 1 or len(items) == 1:
        for item in items:
            _run_item(item, progress, client=client)
        return items
    address = client.scheduler.address
    if not address or address.startswith("inproc"):
        raise ValueError("parallel batch runs need a scheduler reachable by address (a LocalCluster of processes "
                         "or an external scheduler)")
    with ProcessPoolExecutor(max_workers=parallel, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(_run_item, item, None, scheduler=address): i for i, item in enumerate(items)}
        for future in as_completed(running):
            i = running[future]
            try:
                items[i] = future.result()
            except Exception as exc:  # the run's process itself died (e.g. out of memory)
                items[i].status, items[i].error = "failed", f"run process died: {type(exc).__name__}: {exc}"
            if progress:
                progress(f"{items[i].out.name}: {items[i].status}")
    return items


#: Metrics shown in the printed batch summary (all numeric metrics go to ``summary.csv``).
SUMMARY_HEADLINE = ("prediction.*.auroc", "fidelity.quality", "graph.modularity", "graph.communities",
                    "privacy.passed", "crowd.*.expected_infections", "crowd.*.peak_occupancy",
                    "crowd.*.mean_wait_s", "live.mae", "live.mae_persistence")


def _numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_numbers(value, name + "."))
        elif isinstance(value, (bool, int, float)) and not key.startswith("seconds"):
            out[name] = float(value)
    return out


def batch_summary(items: list[BatchItem]) -> pd.DataFrame:
    """Mean and SD (``ddof=1``) across the finished runs of each scenario (its seeds), per numeric metric.

    Columns ``scenario, metric, runs, mean, sd``; wall times are left out; ``sd`` is NaN for one run.
    """
    rows = []
    for item in items:
        if item.manifest is not None:
            rows += [(item.scenario.name, k, v) for k, v in _numbers(item.manifest.get("metrics", {})).items()]
    if not rows:
        return pd.DataFrame(columns=["scenario", "metric", "runs", "mean", "sd"])
    table = pd.DataFrame(rows, columns=["scenario", "metric", "value"])
    out = table.groupby(["scenario", "metric"], sort=True)["value"].agg(
        runs="count", mean="mean", sd=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"))
    return out.reset_index()


def headline_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`batch_summary` named by :data:`SUMMARY_HEADLINE`."""
    keep = summary["metric"].map(lambda m: any(fnmatch.fnmatchcase(m, p) for p in SUMMARY_HEADLINE))
    return summary[keep].reset_index(drop=True)


__all__ = ["BatchItem", "plan_batch", "run_batch", "expand_sources", "batch_summary", "headline_summary"]
