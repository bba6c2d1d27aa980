"""Batches: many scenarios (or one over many seeds) on one Dask cluster, resumable and summarised."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def run_batch(items: list[BatchItem], client: Client, *, progress: Any = None) -> list[BatchItem]:
    """Run the planned items one after another on ``client``.

    A finished run with the same configuration is skipped; an interrupted one is resumed; a run
    that fails on its input is recorded and the batch goes on.
    """
    for item in items:
        done = _finished(item)
        if done is not None:
            item.status, item.headline = "skipped (done)", _headline(done)
            continue
        start = time.perf_counter()
        try:
            manifest = run_scenario(
                item.scenario, item.out, source=str(item.source), client=client, overwrite=True,
                resume=partial_dir(item.out.absolute()).exists(),
                progress=(lambda stage, it=item: progress(f"{it.out.name}: {stage}")) if progress else None,
            )
            reasons = refused(manifest)
            item.status, item.headline = ("refused", "; ".join(reasons)) if reasons else ("done", _headline(manifest))
        except SyntwinError as exc:
            item.status, item.error = "failed", str(exc)
        item.seconds = round(time.perf_counter() - start, 1)
    return items


__all__ = ["BatchItem", "plan_batch", "run_batch", "expand_sources"]
