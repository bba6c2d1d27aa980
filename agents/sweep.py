"""Sweeps: arms x replicates on Dask, common random numbers, tidy results and 95 % intervals."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from syntwin.agents.config import CrowdConfig, Interventions
from syntwin.agents.results import METRICS, CrowdResult, run_arm


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of a parameter grid, in the grid's key order (last key varies fastest)."""
    keys = list(grid)
    for k in keys:
        if not len(grid[k]):
            raise ValueError(f"sweep grid parameter {k!r} has no values")
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def arm_name(params: Mapping[str, Any]) -> str:
    """Stable arm name from parameters: ``ach=3,masks_emission_factor=0.5``."""
    return ",".join(f"{k}={v}" for k, v in params.items()) or "baseline"


def replicate_seed(seed: int | np.random.SeedSequence, replicate: int) -> np.random.SeedSequence:
    """Seed of replicate ``r``: the same in every arm (common random numbers), whatever the worker."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, replicate))


def _run_one(config: CrowdConfig, interventions: Interventions, seed: np.random.SeedSequence,
             keep_series: bool) -> CrowdResult:
    res = run_arm(config, interventions, seed=seed)
    if not keep_series:
        res.minutes, res.zones, res.visitors = res.minutes.iloc[:0], res.zones.iloc[:0], res.visitors.iloc[:0]
    res.visitors = res.visitors.iloc[:0]  # per-visitor rows stay on the worker (large, rarely needed)
    return res


@dataclass
class SweepResult:
    """Results of a sweep.

    Attributes:
        runs: Tidy table, one row per arm, replicate and metric (``arm, replicate, metric, value``).
        summary: Per arm and metric: ``mean, ci_low, ci_high`` (95 % t-interval over replicates) and the
            paired difference to the first arm (``diff_mean, diff_low, diff_high``; common random numbers
            make these intervals narrow).
        minutes: Per-minute series of every run (``arm, replicate`` columns added), if kept.
        zones: Per-minute zone counts of every run, if kept.
        heatmaps: Mean occupancy heat map (person-minutes per cell) per arm.
        contact_heatmaps: Mean contact heat map (contact minutes per cell) per arm.
        heatmap_cell_m: Cell size of the heat maps (m).
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    minutes: pd.DataFrame
    zones: pd.DataFrame
    heatmaps: dict[str, np.ndarray]
    contact_heatmaps: dict[str, np.ndarray] = field(default_factory=dict)
    heatmap_cell_m: float = 1.0

    def __repr__(self) -> str:
        arms, reps = self.runs["arm"].nunique(), self.runs["replicate"].nunique()
        return f"SweepResult(arms={arms}, replicates={reps})"


def run_sweep(config: CrowdConfig, arms: Mapping[str, Interventions], *, replicates: int = 1,
              seed: int | np.random.SeedSequence = 0, client: Any = None,
              workers: Sequence[str] | None = None, keep_series: bool = True,
              on_done: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run every arm ``replicates`` times, on a Dask client if given (else in this process).

    Replicate ``r`` uses :func:`replicate_seed(seed, r) <replicate_seed>` in every arm, so arms differ only
    by their interventions; results are ordered by arm then replicate, hence identical whatever the
    number of workers.

    Args:
        config: The shared configuration.
        arms: Arm name -> interventions (the first arm is the reference for paired differences).
        replicates: Runs per arm.
        seed: Sweep seed.
        client: ``distributed.Client``; tasks are submitted with ``client.map`` and gathered.
        workers: Restrict tasks to these worker addresses (e.g. to compare 1 vs 2 workers).
        keep_series: Return per-minute series of every run (else summaries and heat maps only).
        on_done: Called as ``on_done(done, total)`` each time a run finishes (progress).
    """
    if replicates < 1:
        raise ValueError("replicates must be >= 1")
    if not arms:
        raise ValueError("a sweep needs at least one arm")
    keys = [(name, r) for name in arms for r in range(replicates)]
    ivs = [arms[name] for name, _ in keys]
    seeds = [replicate_seed(seed, r) for _, r in keys]
    if client is None:
        results = []
        for iv, s in zip(ivs, seeds):
            results.append(_run_one(config, iv, s, keep_series))
            if on_done:
                on_done(len(results), len(keys))
    else:
        # the (small) config travels inside each task, not scattered: a lost worker's runs are redone elsewhere
        futures = client.map(_run_one, [config] * len(keys), ivs, seeds, [keep_series] * len(keys),
                             pure=False, workers=workers)
        if on_done:
            from distributed import as_completed

            for done, _ in enumerate(as_completed(futures), 1):
                on_done(done, len(futures))
        results = client.gather(futures)
    rows, minutes, zones = [], [], []
    heat: dict[str, list[np.ndarray]] = {}
    contact: dict[str, list[np.ndarray]] = {}
    for (name, r), res in zip(keys, results):
        rows += [(name, r, m, float(res.summary[m])) for m in METRICS]
        if keep_series:
            minutes.append(res.minutes.assign(arm=name, replicate=r))
            zones.append(res.zones.assign(arm=name, replicate=r))
        heat.setdefault(name, []).append(res.heatmap)
        contact.setdefault(name, []).append(res.contact_heatmap)
    runs = pd.DataFrame(rows, columns=["arm", "replicate", "metric", "value"])
    return SweepResult(
        runs=runs,
        summary=summarize(runs, reference=next(iter(arms))),
        minutes=pd.concat(minutes, ignore_index=True) if minutes else pd.DataFrame(),
        zones=pd.concat(zones, ignore_index=True) if zones else pd.DataFrame(),
        heatmaps={k: np.mean(v, axis=0) for k, v in heat.items()},
        contact_heatmaps={k: np.mean(v, axis=0) for k, v in contact.items()},
        heatmap_cell_m=results[0].heatmap_cell_m,
    )


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval (degenerate to the mean for one value or zero spread)."""
    m = float(np.mean(x))
    if len(x) < 2 or np.std(x) == 0:
        return m, m, m
    half = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def summarize(runs: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Per arm and metric: mean with 95 % interval, and the paired difference to ``reference``."""
    wide = runs.pivot_table(index=["arm", "replicate"], columns="metric", values="value", sort=False)
    arms = list(dict.fromkeys(runs["arm"]))
    reference = reference or arms[0]
    ref = wide.loc[reference]
    out = []
    for arm in arms:
        block = wide.loc[arm]
        for metric in dict.fromkeys(runs["metric"]):
            x = block[metric].to_numpy()
            mean, lo, hi = _interval(x)
            common = block.index.intersection(ref.index)
            dm, dl, dh = _interval(block.loc[common, metric].to_numpy() - ref.loc[common, metric].to_numpy())
            out.append((arm, metric, mean, lo, hi, dm, dl, dh, len(x)))
    return pd.DataFrame(out, columns=["arm", "metric", "mean", "ci_low", "ci_high", "diff_mean", "diff_low",
                                      "diff_high", "replicates"])


__all__ = ["expand_grid", "arm_name", "replicate_seed", "run_sweep", "summarize", "SweepResult"]
