"""Running a crowd scenario: arms x replicates on Dask, sensor tables, plots (live twins: pipeline.live)."""

from __future__ import annotations

import pandas as pd

from syntwin.agents.plots import plot_heatmaps, plot_series
from syntwin.agents.sweep import run_sweep
from syntwin.errors import StageError
from syntwin.pipeline.context import RunContext
from syntwin.scenario.crowd import CrowdScenario, clock_seconds
from syntwin.seeding import seed_sequence

#: Figures copied per arm into the manifest (means over replicates).
HEADLINE = ("entered", "peak_occupancy", "max_queue", "mean_wait_s", "contact_minutes", "close_contacts",
            "counterflow_pair_minutes", "peak_density_per_m2", "expected_infections", "gave_up")


def _write(ctx: RunContext, name: str, rel: str, df: pd.DataFrame) -> None:
    df.to_parquet(ctx.path(rel), index=False)
    ctx.record_output(name, rel)


def run_crowd(scenario: CrowdScenario, ctx: RunContext) -> None:
    """Run every arm (and sweep set) with replicates on ``ctx.client``; write tables and plots.

    Writes ``crowd/summary.parquet`` (arm, metric, mean, 95 % interval, paired difference to the
    baseline), ``crowd/runs.parquet`` (tidy per-run metrics), ``crowd/minutes.parquet`` and
    ``crowd/zones.parquet`` (per-minute sensors, if ``export.series``), PNG plots (if ``export.plots``)
    Fills ``ctx.metrics["crowd"]`` (per arm: headline means) and ``ctx.metrics["sweep"]``. A scenario with
    a ``live`` section runs the live twin instead (:func:`syntwin.pipeline.live.run_live`).
    """
    if scenario.live is not None:  # a live twin follows its building; arms are for what-if runs
        from syntwin.pipeline.live import run_live

        run_live(scenario, ctx)
        return
    config = scenario.to_config()
    arms = scenario.arms()
    keep = scenario.export.series or scenario.export.plots
    start_min = clock_seconds(scenario.simulation.start) / 60.0
    with ctx.stage("crowd") as m:
        try:
            res = run_sweep(config, arms, replicates=scenario.replicates,
                            seed=seed_sequence(ctx.seed, "crowd"), client=ctx.client, keep_series=keep)
        except ValueError as exc:
            raise StageError(f"crowd simulation failed: {exc}", file=ctx.source) from None
        _write(ctx, "crowd_summary", "crowd/summary.parquet", res.summary)
        _write(ctx, "crowd_runs", "crowd/runs.parquet", res.runs)
        if scenario.export.series:
            _write(ctx, "crowd_minutes", "crowd/minutes.parquet", res.minutes)
            _write(ctx, "crowd_zones", "crowd/zones.parquet", res.zones)
        means = res.summary.pivot(index="arm", columns="metric", values="mean")
        for arm in arms:
            m[arm] = {k: round(float(means.loc[arm, k]), 6) for k in HEADLINE}
        if scenario.export.plots:
            plot_heatmaps(res.heatmaps, config.plan, ctx.path("crowd/occupancy_heatmap.png"),
                          cell=config.heatmap_cell_m)
            ctx.record_output("crowd_heatmap", "crowd/occupancy_heatmap.png")
            plot_series(res.minutes, ctx.path("crowd/metric_series.png"), start_min=start_min)
            ctx.record_output("crowd_series", "crowd/metric_series.png")
    ctx.metrics["sweep"] = {
        "arms": len(arms), "replicates": scenario.replicates, "runs": len(arms) * scenario.replicates,
        "workers": len(ctx.client.nthreads()) if ctx.client is not None else 0,
        "parameters": sorted(scenario.sweep.grid or {k for s in scenario.sweep.sets or [] for k in s})
        if scenario.sweep else [],
    }


__all__ = ["run_crowd"]
