"""Running a crowd scenario: arms x replicates on Dask, sensor tables, plots, live-data forecast."""

from __future__ import annotations

import pandas as pd

from syntwin.agents.accounting import AccountingError
from syntwin.agents.costs import cost_benefit
from syntwin.agents.plots import plot_cost_benefit, plot_heatmaps, plot_series
from syntwin.agents.sweep import run_sweep
from syntwin.errors import StageError
from syntwin.pipeline.context import RunContext
from syntwin.scenario.crowd import CrowdScenario, clock_seconds
from syntwin.seeding import seed_sequence

#: Figures copied per arm into the manifest (means over replicates).
HEADLINE = ("arrivals", "entered", "served", "turned_away", "gave_up", "balked", "no_slot", "waiting_outside",
            "in_progress", "mean_outside_wait_s", "p95_outside_wait_s", "max_outside_queue", "peak_occupancy",
            "max_queue", "mean_wait_s", "contact_minutes", "contact_minutes_per_visitor", "close_contacts",
            "counterflow_pair_minutes", "peak_density_per_m2", "expected_infections",
            "infection_risk_per_visitor", "infections_per_1000_visitors")


def _write(ctx: RunContext, name: str, rel: str, df: pd.DataFrame) -> None:
    df.to_parquet(ctx.path(rel), index=False)
    ctx.record_output(name, rel)


def run_crowd(scenario: CrowdScenario, ctx: RunContext) -> None:
    """Run every arm (and sweep set) with replicates on ``ctx.client``; write tables and plots.

    Writes ``crowd/summary.parquet`` (arm, metric, mean, 95 % interval, paired difference to the
    baseline), ``crowd/runs.parquet`` (tidy per-run metrics), ``crowd/minutes.parquet`` and
    ``crowd/zones.parquet`` (per-minute sensors, if ``export.series``), PNG plots (if ``export.plots``)
    and, with a ``live`` section, the live twin's stage (:func:`syntwin.pipeline.live.run_live`). Fills
    ``ctx.metrics["crowd"]`` (per arm: headline means), ``ctx.metrics["sweep"]`` and ``ctx.metrics["live"]``.
    """
    config = scenario.to_config()
    arms = scenario.arms()
    keep = scenario.export.series or scenario.export.plots
    start_min = clock_seconds(scenario.simulation.start) / 60.0

    def crowd_stage(m: dict) -> None:
        ctx.step("sweep runs", len(arms) * scenario.replicates)
        try:
            res = run_sweep(config, arms, replicates=scenario.replicates,
                            seed=seed_sequence(ctx.seed, "crowd"), client=ctx.client, keep_series=keep,
                            on_done=ctx.on_done)
        except (ValueError, AccountingError) as exc:
            raise StageError(f"crowd simulation failed: {exc}", file=ctx.source) from None
        _write(ctx, "crowd_summary", "crowd/summary.parquet", res.summary)
        _write(ctx, "crowd_runs", "crowd/runs.parquet", res.runs)
        if scenario.export.series:
            _write(ctx, "crowd_minutes", "crowd/minutes.parquet", res.minutes)
            _write(ctx, "crowd_zones", "crowd/zones.parquet", res.zones)
        means = res.summary.pivot(index="arm", columns="metric", values="mean")
        cb = cost_benefit(res.summary, reference=next(iter(arms)))
        _write(ctx, "crowd_cost_benefit", "crowd/cost_benefit.parquet", cb)
        for arm in arms:
            m[arm] = {k: round(float(means.loc[arm, k]), 6) for k in HEADLINE}
            rows = cb[cb["arm"] == arm]
            m[arm]["vs_reference"] = {
                r.metric: {"diff": round(float(r.diff_mean), 6), "low": round(float(r.diff_low), 6),
                           "high": round(float(r.diff_high), 6), "verdict": r.verdict}
                for r in rows.itertuples()} if arm != cb["reference"].iloc[0] else "reference"
        if scenario.export.plots:
            plot_heatmaps(res.heatmaps, config.plan, ctx.path("crowd/occupancy_heatmap.png"),
                          cell=res.heatmap_cell_m)
            ctx.record_output("crowd_heatmap", "crowd/occupancy_heatmap.png")
            if any(v.size for v in res.contact_heatmaps.values()):
                plot_heatmaps(res.contact_heatmaps, config.plan, ctx.path("crowd/contact_heatmap.png"),
                              cell=res.heatmap_cell_m, label="contact minutes per cell")
                ctx.record_output("crowd_contact_heatmap", "crowd/contact_heatmap.png")
            plot_series(res.minutes, ctx.path("crowd/metric_series.png"), start_min=start_min)
            ctx.record_output("crowd_series", "crowd/metric_series.png")
            if len(arms) > 1:
                plot_cost_benefit(cb, ctx.path("crowd/cost_benefit.png"))
                ctx.record_output("crowd_cost_benefit_plot", "crowd/cost_benefit.png")

    ctx.checkpointed("crowd", crowd_stage)
    ctx.metrics["sweep"] = {
        "reference": next(iter(arms)),
        "arms": len(arms), "replicates": scenario.replicates, "runs": len(arms) * scenario.replicates,
        "workers": len(ctx.client.nthreads()) if ctx.client is not None else 0,
        "parameters": sorted(scenario.sweep.grid or {k for s in scenario.sweep.sets or [] for k in s})
        if scenario.sweep else [],
    }
    if scenario.live is not None:
        from syntwin.pipeline.live import run_live

        run_live(scenario, ctx)


__all__ = ["run_crowd"]
