"""A live view of a crowd scenario: Mesa's SolaraViz over the scenario's :class:`CrowdModel`.

``syntwin dashboard SCENARIO`` serves :mod:`syntwin._dashboard_app` (its ``Page``) with Solara. The page shows the floor plan with
every person (coloured by what they are doing), the current counts (zone counts, inside, queue,
close pairs, entered), time series of occupancy, queue, close pairs, airborne quanta and expected
infections (and CO2 when the model computes it), and a switch between the scenario's intervention
arms (Reset rebuilds the model for the chosen arm). With a ``live`` section, the live panel shows the
scenario's LiveTwin (:mod:`syntwin.dashboard_live`) following a day of the sensor stream in step with the
page's clock: the observed counts beside the twin's assimilated state and its forecast with a 90 % band. It uses the crowd model through its public API only: its
constructor, ``step()``, its Mesa ``DataCollector``, positions and states.

Needs the ``dashboard`` extra (solara, altair).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Environment variable naming the scenario file the served page shows.
SCENARIO_ENV = "SYNTWIN_DASHBOARD_SCENARIO"
#: Minutes simulated before the page opens, so it starts with people in the room (``$SYNTWIN_DASHBOARD_WARMUP``).
WARMUP_MIN = 30
WARMUP_ENV = "SYNTWIN_DASHBOARD_WARMUP"
#: Scenario overrides (``--set``) of the served page, as a JSON list of ``key.path=value``.
OVERRIDES_ENV = "SYNTWIN_DASHBOARD_SET"
SERIES = ("occupancy", "queue_length", "close_pairs", "quanta_per_m3", "expected_infections")
STATE_COLOURS = {"queue": "#d62728", "to_seat": "#ff7f0e", "waiting_seat": "#9467bd", "seated": "#1f77b4",
                 "leaving": "#2ca02c", "staff": "#000000"}


def scenario_model(scenario: Any, warmup_min: int = WARMUP_MIN, live: Path | None = None,
                   source: Path | None = None) -> type:
    """A :class:`CrowdModel` subclass bound to ``scenario``, built from keyword arguments only.

    SolaraViz rebuilds the model as ``cls(**parameters)`` on Reset, so the scenario's configuration
    and arms are bound to the class and the user chooses ``arm`` (and ``seed``, ``warmup_min``). With a
    ``live`` stream file the model carries a :class:`~syntwin.dashboard_live.StreamFollower` (``model.live``,
    the day ``live_day``) that each step feeds the stream up to the model's clock.
    """
    from syntwin.agents.model import CrowdModel

    config, arms = scenario.to_config(), scenario.arms()
    first = next(iter(arms))

    class ScenarioCrowdModel(CrowdModel):
        """The scenario's crowd twin for one intervention arm."""

        def __init__(self, arm: str = first, seed: int = int(scenario.seed), warmup_min: int = warmup_min,
                     live_day: str | None = None) -> None:
            if arm not in arms:
                raise ValueError(f"unknown arm {arm!r}; valid: {', '.join(arms)}")
            super().__init__(config, arms[arm], seed=seed)
            self.arm = arm
            self.live = None
            if live is not None:
                from syntwin.dashboard_live import StreamFollower

                self.live = StreamFollower(scenario, live, source, day=live_day, seed=seed)
            for _ in range(int(round(warmup_min * 60 / config.dt_s))):
                self.step()

        def step(self) -> None:
            super().step()
            if self.live is not None:  # the stream's readings up to the page's clock reach the twin
                self.live.advance_to(self.live.start + pd.Timedelta(seconds=float(self.time_s)))

    ScenarioCrowdModel.arms = tuple(arms)
    ScenarioCrowdModel.start_clock = scenario.simulation.start
    return ScenarioCrowdModel


def clock(model: Any) -> str:
    """The model's time as a wall clock (``12:03:20``) from the scenario's start time."""
    h, m = (int(x) for x in str(model.start_clock).split(":")[:2])
    total = h * 3600 + m * 60 + int(model.time_s)
    return f"{total // 3600 % 24:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def current_counts(model: Any) -> dict[str, Any]:
    """What the sensors read now: people per zone, inside, queue, close pairs, entered, airborne quanta."""
    from syntwin.agents.people import PRESENT_MASK
    from syntwin.agents.sensors import zone_counts

    plan = model.config.plan
    present = PRESENT_MASK[model.state]
    zones = zone_counts([z.rect for z in plan.zones], model.pos[present])
    counts = {f"zone {z.name}": int(c) for z, c in zip(plan.zones, zones)}
    counts.update(inside=int(model.inside_visitors), queue=int(model.queue_length),
                  close_pairs=round(float(model.close_pairs), 1), entered=int(model.entered),
                  quanta_per_m3=round(float(model.quanta_per_m3), 5))
    co2 = getattr(model, "co2_ppm", None)  # a virtual CO2 sensor, when the model has one
    if co2 is not None:
        counts["co2_ppm"] = round(float(co2), 0)
    return counts


def draw_plan(model: Any, ax: Any) -> None:
    """The floor plan (walls, zones, tables, counters, queue lanes, doors) and everyone present."""
    from matplotlib.patches import Rectangle

    from syntwin.agents.people import PRESENT_MASK, STATE_NAMES

    plan = model.config.plan
    ax.add_patch(Rectangle((0, 0), plan.width, plan.depth, fill=False, lw=2, color="#333333"))
    for z in plan.zones:
        r = z.rect
        ax.add_patch(Rectangle((r.x0, r.y0), r.x1 - r.x0, r.y1 - r.y0, alpha=0.06, color="#1f77b4"))
        ax.text(r.x0 + 0.3, r.y1 - 0.8, z.name, fontsize=8, color="#1f77b4")
    for t in plan.tables:
        r = t.rect
        ax.add_patch(Rectangle((r.x0, r.y0), r.x1 - r.x0, r.y1 - r.y0, color="#bbbbbb"))
    for c in plan.counters:
        r = c.rect
        ax.add_patch(Rectangle((r.x0, r.y0), r.x1 - r.x0, r.y1 - r.y0, color="#8c564b"))
    for lane in plan.lanes:
        xy = np.asarray(lane.points)
        ax.plot(xy[:, 0], xy[:, 1], ls=":", lw=0.8, color="#8c564b")
    for d in plan.doors:
        ax.plot([d.x], [d.y], marker="s", ms=8, color="#2ca02c")
    present = np.flatnonzero(PRESENT_MASK[model.state])
    names = np.asarray(STATE_NAMES, dtype=object)[model.state[present]]
    for state, colour in STATE_COLOURS.items():
        sel = present[names == state]
        if len(sel):
            ax.scatter(model.pos[sel, 0], model.pos[sel, 1], s=9, color=colour, label=f"{state} ({len(sel)})")
    ax.set_xlim(-0.5, plan.width + 0.5)
    ax.set_ylim(-0.5, plan.depth + 0.5)
    ax.set_aspect("equal")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    ax.set_title(f"{model.arm} · {clock(model)}", fontsize=10)


def stream_path(scenario: Any, source: Path) -> Path | None:
    """The ``live`` stream file of a scenario (as its run resolves it), or ``None`` if it has none or it is absent."""
    if getattr(scenario, "live", None) is None:
        return None
    from syntwin.errors import SyntwinError
    from syntwin.pipeline.live import stream_path as resolve

    try:
        return resolve(scenario, str(source))
    except SyntwinError:
        return None


def build_page(scenario: Any, source: Path, warmup_min: int = WARMUP_MIN) -> tuple[type, list, dict[str, Any], str]:
    """The model class, SolaraViz components, model parameters and title of ``scenario``'s page."""
    import solara
    from matplotlib.figure import Figure
    from mesa.visualization import make_plot_component
    from mesa.visualization.utils import update_counter

    live = stream_path(scenario, source)
    model_cls = scenario_model(scenario, warmup_min, live, source)

    @solara.component
    def FloorPlan(model):  # noqa: N802 - a Solara component
        update_counter.get()
        fig = Figure(figsize=(8, 5))
        draw_plan(model, fig.subplots())
        solara.FigureMatplotlib(fig)

    @solara.component
    def Counts(model):  # noqa: N802
        update_counter.get()
        text = " · ".join(f"{k} **{v}**" for k, v in current_counts(model).items())
        solara.Markdown(f"**{clock(model)}** (step {model.steps}) · {text}")

    @solara.component
    def LivePanel(model):  # noqa: N802
        update_counter.get()
        solara.Markdown(model.live.summary())
        fig = Figure(figsize=(8, 4.5))
        model.live.draw(fig)
        solara.FigureMatplotlib(fig)

    components = [Counts, FloorPlan, make_plot_component(["occupancy", "queue_length"]),
                  make_plot_component(["close_pairs"]), make_plot_component(["quanta_per_m3"]),
                  make_plot_component(["expected_infections"])]
    params = {"arm": {"type": "Select", "value": model_cls.arms[0], "values": list(model_cls.arms),
                      "label": "intervention"},
              "seed": int(scenario.seed), "warmup_min": warmup_min}
    if live is not None:
        components.append(LivePanel)
        from syntwin.dashboard_live import _setup, busiest_day, stream_days

        grid, zones, _, _ = _setup(scenario, str(live), str(source))
        sim = scenario.simulation
        params["live_day"] = {"type": "Select", "value": busiest_day(grid, zones, sim.start, sim.duration_min),
                              "values": stream_days(grid), "label": "stream day the live twin follows"}
    return model_cls, components, params, f"syntwin · {scenario.name}"


@functools.lru_cache(maxsize=1)
def _served() -> tuple[type, list, dict[str, Any], str]:
    from syntwin.scenario.load import load_scenario

    source = Path(os.environ[SCENARIO_ENV])
    overrides = json.loads(os.environ.get(OVERRIDES_ENV, "[]"))
    return build_page(load_scenario(source, overrides), source, warmup_min=int(os.environ.get(WARMUP_ENV, WARMUP_MIN)))


def served_page() -> tuple[type, list, dict[str, Any], str]:
    """The page of the scenario named by :data:`SCENARIO_ENV` (built once per server process)."""
    return _served()


__all__ = ["OVERRIDES_ENV", "SCENARIO_ENV", "WARMUP_ENV", "build_page", "clock", "current_counts", "draw_plan",
           "scenario_model", "served_page"]
