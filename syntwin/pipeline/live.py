"""The live stage of a crowd scenario: the CrowdModel follows a real stream; replay, scores and ``--follow``.

``run_live`` (a run directory stage): ventilation fitted from the stream's CO2 (if asked), the held-out
days followed and forecast one at a time (calibrated on the other days) and scored against persistence,
climatology and their blend, and the forecast from the end of the stream. ``follow_scenario`` tails a
growing CSV / JSON-lines file and appends a forecast per new minute.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.errors import OutputError, ScenarioError, StageError
from syntwin.pipeline.context import RunContext
from syntwin.scenario.crowd import CrowdScenario
from syntwin.seeding import seed_sequence


def stream_path(scenario: CrowdScenario, source: str) -> Path:
    """The live stream file, relative to the scenario file."""
    rel = Path(scenario.live.stream)
    path = rel if rel.is_absolute() else Path(source).parent / rel
    if not path.is_file():
        raise ScenarioError(f"live stream not found: {path}", file=source, field="live.stream",
                            hint="give a CSV or JSON-lines file relative to the scenario file, "
                                 "or --set live.stream=/path/to/file")
    return path


def _read(path: Path):
    from syntwin.agents.live import read_occupancy_stream

    try:
        return read_occupancy_stream(path)
    except ValueError as exc:
        raise StageError(f"cannot read the occupancy stream: {exc}", file=str(path),
                         hint="columns timestamp, zone, count[, co2] (CSV or JSON lines)") from None


def _zones(scenario: CrowdScenario, stream: pd.DataFrame, source: str) -> list[str]:
    have = list(dict.fromkeys(stream["zone"]))
    zones = scenario.live.zones or have
    plan = [z.name for z in scenario.floor_plan.zones]
    for z in zones:
        if z not in have:
            raise ScenarioError(f"zone {z!r} is not in the stream (zones: {have})", file=source,
                                field="live.zones", hint="use the stream's zone names")
        if z not in plan:
            raise ScenarioError(f"stream zone {z!r} is not a zone of the floor plan {plan}", file=source,
                                field="floor_plan.zones", hint="name a floor-plan zone after each stream zone")
    return zones


def twin_setup(scenario: CrowdScenario, zones: list[str], grid: pd.DataFrame, source: str) -> tuple[Any, dict, dict[str, Any]]:
    """Crowd config, twin keyword arguments and the ventilation figures (CO2 fit) of a live scenario."""
    from syntwin.agents.co2 import co2_generation_m3_s, fit_ventilation

    live = scenario.live
    config = scenario.to_config()
    kw = dict(replicas=live.replicas, obs_sd=live.obs_sd, spread=live.spread, memory_min=live.memory_min,
              max_gap_min=live.max_gap_min)
    figures: dict[str, Any] = {}
    if live.co2 is not None:
        c = live.co2
        per_person = co2_generation_m3_s(c.activity)
        ach, volume = c.ach, c.volume_m3
        if ach == "fit" or volume == "fit":
            if "co2" not in grid:
                raise ScenarioError("live.co2 asks to fit ventilation but the stream has no co2 column",
                                    file=source, field="live.co2", hint="give numbers for ach and volume_m3")
            frame = pd.DataFrame({"count": grid[zones].sum(axis=1, min_count=1), "co2": grid["co2"]})
            frame = frame.dropna().rename_axis("timestamp").reset_index()
            try:
                fit = fit_ventilation(frame, outdoor_ppm=c.outdoor_ppm, per_person_m3_s=per_person)
            except ValueError as exc:
                raise StageError(f"ventilation fit failed: {exc}", file=source) from None
            figures = {k: round(v, 6) for k, v in fit.summary().items()}
            ach = fit.ach if ach == "fit" else ach
            volume = fit.volume_m3 if volume == "fit" else volume
        volume = config.plan.volume if volume == "plan" else volume
        kw["co2"] = dict(volume_m3=float(volume), ach=float(ach), outdoor_ppm=c.outdoor_ppm,
                         per_person_m3_s=per_person)
        config = dataclasses.replace(config, exposure=dataclasses.replace(config.exposure, ach=float(ach)))
        figures.update(twin_ach=float(ach), twin_volume_m3=round(float(volume), 3))
    return config, kw, figures


def _now_twin(scenario: CrowdScenario, grid: pd.DataFrame, config, zones, kw, seed):
    """A twin calibrated on the whole history that has followed its last ``spin_up_min`` minutes."""
    from syntwin.agents.live import LiveTwin, calibrate

    twin = LiveTwin(config, calibrate(grid), zones, seed=seed, **kw)
    last = grid.dropna(how="all").index.max()
    twin.update(grid[grid.index > last - pd.Timedelta(minutes=scenario.live.spin_up_min)])
    return twin


def run_live(scenario: CrowdScenario, ctx: RunContext) -> None:
    """Follow and score the held-out days, forecast from the stream's end; write ``live/*``."""
    from syntwin.agents.live import evaluate_days, minute_grid
    from syntwin.agents.scores import summarize_scores

    live = scenario.live
    path = stream_path(scenario, ctx.source)

    def live_stage(m: dict[str, Any]) -> None:
        stream = _read(path)
        zones = _zones(scenario, stream, ctx.source)
        grid = minute_grid(stream, zones)
        config, kw, vent = twin_setup(scenario, zones, grid, ctx.source)
        days = sorted(set(grid.dropna(how="all").index.normalize()))
        if len(days) <= live.holdout_days:
            raise StageError(f"the stream spans {len(days)} day(s); need more than holdout_days="
                             f"{live.holdout_days}", file=str(path), hint="lower live.holdout_days")
        seed = seed_sequence(ctx.seed, "live")
        try:
            table, scores = evaluate_days(grid, config, zones, days=days[-live.holdout_days:],
                                          horizons=tuple(live.horizons_min), every_min=live.every_min,
                                          spin_up_min=live.spin_up_min, seed=seed, client=ctx.client, **kw)
            now = _now_twin(scenario, grid, config, zones, kw, seed).forecast(live.horizons_min)
        except ValueError as exc:
            raise StageError(f"live forecast failed: {exc}", file=str(path)) from None
        summary = summarize_scores(scores)
        for name, df in (("live_forecasts", table), ("live_scores", summary), ("live_now", now)):
            rel = f"live/{name.removeprefix('live_')}.parquet"
            df.to_parquet(ctx.path(rel), index=False)
            ctx.record_output(name, rel)
        if scenario.export.plots:
            from syntwin.agents.plots import plot_forecast

            h = min(live.horizons_min)
            plot_forecast(table[table["horizon_min"] == h].rename(columns={"mean": "forecast"}),
                          ctx.path("live/forecast.png"))
            ctx.record_output("live_plot", "live/forecast.png")
        m.update({"zones": zones, "held_out_days": [str(d.date()) for d in days[-live.holdout_days:]],
                  "replicas": live.replicas, **({"ventilation": vent} if vent else {})})
        for r in summary.itertuples():
            key = f"h{r.horizon_min}_{r.subset}"
            m.setdefault(key, {})[r.method] = {"n": r.n, "crps": round(r.crps, 6), "mae": round(r.mae, 6),
                                              "rmse": round(r.rmse, 6)}
            if r.method == "twin":
                m[key]["twin"].update(best_baseline=r.best_baseline, crps_diff=round(r.crps_diff, 6),
                                      crps_diff_ci=[round(r.crps_diff_lo, 6), round(r.crps_diff_hi, 6)],
                                      coverage_90=round(r.coverage_90, 6))

    ctx.checkpointed("live", live_stage)


# ---- follow mode -------------------------------------------------------------------------------------
class _Tail:
    """Complete new lines of a growing CSV / JSON-lines file (the CSV header is kept)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.header = path, 0, None
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")

    def read(self) -> pd.DataFrame | None:
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n")
        if end < 0:
            return None
        self.offset += end + 1
        lines = chunk[: end + 1].decode()
        if self.jsonl:
            rows = [json.loads(x) for x in lines.splitlines() if x.strip()]
            return pd.DataFrame(rows) if rows else None
        if self.header is None:
            self.header, _, lines = lines.partition("\n")
        if not lines.strip():
            return None
        return pd.read_csv(io.StringIO(self.header + "\n" + lines))


def follow_scenario(scenario: CrowdScenario, out: str | Path, *, source: str, seed: int | None = None,
                    overwrite: bool = False, poll_s: float = 1.0, idle_stop_s: float | None = None,
                    echo=None) -> dict[str, Any]:
    """Tail the live stream: calibrate on what is there, then per new complete minute assimilate and
    append a forecast (every horizon, occupancy and exposure) to ``OUT/live/follow.jsonl``.

    A minute is complete once a reading of a later minute arrived (or the stream went quiet for
    ``idle_stop_s``, which also ends the run). Writes ``OUT/manifest.json`` at the end.
    """
    from syntwin.agents.live import minute_grid, occupancy_frame

    if scenario.live is None:
        raise ScenarioError("--follow needs a live: section", file=source, field="live",
                            hint="add live: {stream: FILE} to the scenario")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("output directory exists and is not empty", file=str(out),
                          hint="choose another --out or pass --overwrite")
    path = stream_path(scenario, source)
    seed = scenario.seed if seed is None else seed
    tail = _Tail(path)
    first = tail.read()
    if first is None:
        raise StageError("the live stream is empty", file=str(path), hint="start the follower after the header")
    try:
        stream = occupancy_frame(first, path.name)
    except ValueError as exc:
        raise StageError(f"cannot read the occupancy stream: {exc}", file=str(path)) from None
    zones = _zones(scenario, stream, source)
    grid = minute_grid(stream, zones)
    config, kw, vent = twin_setup(scenario, zones, grid, source)
    twin = _now_twin(scenario, grid, config, zones, kw, seed_sequence(seed, "live"))
    (out / "live").mkdir(parents=True, exist_ok=True)
    log = out / "live" / "follow.jsonl"
    pending = stream[stream["timestamp"] >= twin.now + pd.Timedelta(minutes=1)]
    updates, last_data = 0, time.monotonic()
    with open(log, "w") as fh:
        while True:
            new = tail.read()
            if new is not None:
                try:
                    pending = pd.concat([pending, occupancy_frame(new, path.name)], ignore_index=True)
                except ValueError as exc:
                    raise StageError(f"bad rows appended to the stream: {exc}", file=str(path)) from None
                last_data = time.monotonic()
            quiet = idle_stop_s is not None and time.monotonic() - last_data >= idle_stop_s
            if not pending.empty:
                cut = pending["timestamp"].max().floor("min") + (pd.Timedelta(minutes=1) if quiet
                                                                   else pd.Timedelta(0))
                ready = pending[pending["timestamp"] < cut]
                pending = pending[pending["timestamp"] >= cut]
                grid = minute_grid(ready, zones) if not ready.empty else ready
                for when in grid.index:  # one assimilation and one forecast per new minute
                    if not len(twin.update(grid.loc[[when]])):
                        continue
                    f = twin.forecast(scenario.live.horizons_min)
                    for rec in f.assign(time=f["time"].astype(str),
                                        target_time=f["target_time"].astype(str)).to_dict("records"):
                        fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    updates += 1
                    if echo:
                        echo(f"{twin.now}: {int(np.nansum(grid.loc[when, zones]))} present; forecast written")
            if quiet:
                break
            time.sleep(poll_s)
    manifest = {"scenario": scenario.name, "kind": "crowd", "mode": "follow", "seed": seed,
                "stream": str(path), "minutes_assimilated": updates, "last_minute": str(twin.now),
                "ventilation": vent, "outputs": {"live_follow": "live/follow.jsonl"}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


__all__ = ["run_live", "follow_scenario", "stream_path", "twin_setup"]
