"""PNG plots of a crowd run: occupancy heat maps per arm, metric time series, live forecasts.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot, no global backend state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from syntwin.agents.floorplan import FloorPlan


def _clock(minutes: np.ndarray, start_min: float) -> list[str]:
    m = (np.asarray(minutes) + start_min) % (24 * 60)
    return [f"{int(x // 60):02d}:{int(x % 60):02d}" for x in m]


def plot_heatmaps(heatmaps: Mapping[str, np.ndarray], plan: FloorPlan, path: str | Path, *,
                  cell: float = 1.0, max_arms: int = 8, label: str = "person-minutes per cell") -> Path:
    """One panel per arm: a per-cell figure (``cell``-metre cells from the room's corner, so aligned to the
    plan), with walls, tables, seats, counters and doors drawn."""
    names = list(heatmaps)[:max_arms]
    cols = min(len(names), 4)
    rows = int(np.ceil(len(names) / cols))
    aspect = plan.depth / plan.width
    fig = Figure(figsize=(3.6 * cols + 1.2, (3.6 * aspect + 0.5) * rows), layout="constrained")
    vmax = max(float(np.max(heatmaps[n])) for n in names) or 1.0
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        nx, ny = heatmaps[name].shape
        im = ax.imshow(heatmaps[name].T, origin="lower", extent=(0, nx * cell, 0, ny * cell), cmap="magma",
                       vmin=0, vmax=vmax, interpolation="nearest")
        for t in plan.tables:
            r = t.rect
            ax.plot([r.x0, r.x1, r.x1, r.x0, r.x0], [r.y0, r.y0, r.y1, r.y1, r.y0], color="0.7", lw=0.4)
        for c in plan.counters:
            r = c.rect
            ax.fill([r.x0, r.x1, r.x1, r.x0], [r.y0, r.y0, r.y1, r.y1], color="tab:cyan", alpha=0.6)
        for d in plan.doors:
            ax.plot(d.x, d.y, marker="s", color="tab:green", ms=5)
        ax.set_xlim(0, plan.width)
        ax.set_ylim(0, plan.depth)
        ax.set_title(name[:40], fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=fig.axes, shrink=0.9, label=label)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_series(minutes: pd.DataFrame, path: str | Path, *, start_min: float = 0.0,
                metrics: Sequence[str] = ("occupancy", "queue_length", "close_pairs", "expected_infections"),
                max_arms: int = 8) -> Path:
    """Mean over replicates of per-minute sensor series, one panel per metric, one line per arm.

    Metrics that are zero throughout (e.g. queues in a lecture hall) are left out.
    """
    metrics = [m for m in metrics if m in minutes and minutes[m].abs().max() > 0] or list(metrics[:1])
    fig = Figure(figsize=(11, 2.3 * len(metrics) + 0.8), layout="constrained")
    arms = list(dict.fromkeys(minutes["arm"]))[:max_arms]
    ticks = np.linspace(minutes["minute"].min(), minutes["minute"].max(), 7)
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, k + 1)
        for arm in arms:
            mean = minutes[minutes["arm"] == arm].groupby("minute")[metric].mean()
            ax.plot(mean.index, mean.to_numpy(), lw=1.2, label=arm[:60])
        ax.set_ylabel(metric.replace("_", " "), fontsize=8)
        ax.set_xticks(ticks)
        ax.set_xticklabels(_clock(ticks, start_min), fontsize=7)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2 if max(map(len, labels)) > 30 else 4,
               fontsize=7)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_cost_benefit(table: pd.DataFrame, path: str | Path, *,
                      metrics: Sequence[str] = ("served", "turned_away", "mean_outside_wait_s",
                                                "max_outside_queue", "infections_per_1000_visitors",
                                                "expected_infections", "contact_minutes_per_visitor"),
                      max_arms: int = 12) -> Path:
    """Paired differences to the reference arm with 95 % intervals: costs (top row) beside benefits.

    ``table`` is :func:`syntwin.agents.costs.cost_benefit`'s output; one panel per metric, one bar per arm
    (the reference arm is the zero line). Red: worse than the reference, green: better, grey: unclear.
    """
    metrics = [m for m in metrics if m in set(table["metric"])]
    ref = str(table["reference"].iloc[0])
    arms = [a for a in dict.fromkeys(table["arm"]) if a != ref][:max_arms]
    cols = min(len(metrics), 4)
    rows = int(np.ceil(len(metrics) / cols))
    fig = Figure(figsize=(3.3 * cols + 2.5, 0.32 * max(len(arms), 1) * rows + 1.2 * rows + 0.6),
                 layout="constrained")
    colour = {"better": "tab:green", "worse": "tab:red", "no clear difference": "0.5"}
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, k + 1)
        sub = table[(table["metric"] == metric)].set_index("arm")
        y = np.arange(len(arms))[::-1]
        for yi, arm in zip(y, arms):
            r = sub.loc[arm]
            err = [[r["diff_mean"] - r["diff_low"]], [r["diff_high"] - r["diff_mean"]]]
            ax.errorbar(r["diff_mean"], yi, xerr=err, fmt="o", ms=3, color=colour.get(r["verdict"], "k"),
                        capsize=2)
        ax.axvline(0, color="k", lw=0.6)
        side = str(sub["side"].iloc[0])
        ax.set_title(f"{side}: {metric.replace('_', ' ')}", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels([a[:32] for a in arms] if k % cols == 0 else [], fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"paired difference to {ref!r} (mean, 95% interval over replicates)", fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_forecast(table: pd.DataFrame, path: str | Path, *, max_points: int = 3000) -> Path:
    """Observed counts against the forecast (mean and band) and persistence, over held-out time."""
    t = table.iloc[-max_points:]
    fig = Figure(figsize=(11, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(t["target_time"], t["lower"], t["upper"], color="tab:blue", alpha=0.25, label="90% band")
    ax.plot(t["target_time"], t["forecast"], color="tab:blue", lw=1, label="forecast")
    ax.plot(t["target_time"], t["persistence"], color="tab:orange", lw=0.8, label="persistence")
    ax.plot(t["target_time"], t["observed"], color="k", lw=0.8, label="observed")
    ax.set_ylabel("count")
    ax.legend(fontsize=7, ncol=4)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


__all__ = ["plot_heatmaps", "plot_series", "plot_cost_benefit", "plot_forecast"]
