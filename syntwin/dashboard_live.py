"""The dashboard's live panel: the scenario's :class:`~syntwin.agents.live.LiveTwin` following its sensor stream.

The twin (``live.replicas`` CrowdModel replicas, particle filter; ventilation as ``syntwin run`` sets it) is
calibrated on every day of the stream except the one it follows, spun up on the ``live.spin_up_min`` minutes
before the scenario's start on that day, then fed the stream minute by minute as the dashboard's clock passes
them: stream time = followed day + the model's wall clock. The panel shows, beside the observed counts, the
twin's prediction of each reading before it saw it (mean and 90 % band over replicas), its assimilated hidden
state (airborne quanta, arrival multiplier) and its forecast 15/60 minutes ahead with a 90 % band; readings
after "now" are drawn as what is still to come, never given to the twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BAND = 0.9


_SETUPS: dict[tuple[str, str, str], tuple] = {}


def _setup(scenario: Any, path: str, source: str) -> tuple[pd.DataFrame, list[str], Any, dict]:
    """Minute grid, zones, twin config and twin keyword arguments of a live scenario (as its run builds
    them: the same zones check and ventilation fit), read once per stream file and scenario."""
    from syntwin.agents.live import minute_grid
    from syntwin.pipeline.live import _read, _zones, twin_setup

    key = (path, source, scenario.model_dump_json())
    if key not in _SETUPS:
        stream = _read(Path(path))
        zones = _zones(scenario, stream, source)
        grid = minute_grid(stream, zones)
        config, kw, _ = twin_setup(scenario, zones, grid, source)
        _SETUPS[key] = (grid, zones, config, kw)
    return _SETUPS[key]


def stream_days(grid: pd.DataFrame) -> list[str]:
    """The stream's calendar days (ISO dates) with at least one reading."""
    return [str(d.date()) for d in sorted(set(grid.dropna(how="all").index.normalize()))]


def busiest_day(grid: pd.DataFrame, zones: list[str], start: str, duration_min: float) -> str:
    """The day with the most person-minutes between the scenario's start and its end (latest on ties)."""
    h, m = (int(x) for x in str(start).split(":")[:2])
    best, best_load = None, -1.0
    for day in stream_days(grid):
        t0 = pd.Timestamp(day) + pd.Timedelta(hours=h, minutes=m)
        window = grid.loc[(grid.index > t0) & (grid.index <= t0 + pd.Timedelta(minutes=duration_min)), zones]
        load = float(np.nansum(window.to_numpy(float)))
        if load >= best_load:
            best, best_load = day, load
    return best


def _band(values: np.ndarray) -> tuple[float, float, float]:
    return (float(np.mean(values)), float(np.quantile(values, (1 - BAND) / 2)),
            float(np.quantile(values, 1 - (1 - BAND) / 2)))


class StreamFollower:
    """A LiveTwin that follows one day of a stream up to a moving "now" (see module docstring).

    Args:
        scenario: A crowd scenario with a ``live`` section.
        path: The stream file.
        source: The scenario file (for error messages and relative paths).
        day: ISO date of the day to follow (default: :func:`busiest_day` of the scenario's window).
        seed: Seed of the twin.
    """

    def __init__(self, scenario: Any, path: str | Path, source: str | Path, day: str | None = None,
                 seed: int = 0) -> None:
        from syntwin.agents.live import LiveTwin, calibrate

        live = scenario.live
        self.grid, self.zones, config, kw = _setup(scenario, str(path), str(source))
        self.days = stream_days(self.grid)
        sim = scenario.simulation
        self.day = day or busiest_day(self.grid, self.zones, sim.start, sim.duration_min)
        if self.day not in self.days:
            raise ValueError(f"the stream has no readings on {self.day}; days: {', '.join(self.days)}")
        day_ts = pd.Timestamp(self.day)
        h, m = (int(x) for x in str(sim.start).split(":")[:2])
        self.start = day_ts + pd.Timedelta(hours=h, minutes=m)
        self.horizons = sorted(int(x) for x in live.horizons_min)
        history = self.grid[self.grid.index.normalize() != day_ts]  # not fitted on the day it follows
        self.twin = LiveTwin(config, calibrate(history), self.zones, seed=seed, **kw)
        self.now = self.start - pd.Timedelta(minutes=live.spin_up_min)
        self.rows: list[dict[str, float]] = []
        self._forecast: tuple[pd.Timestamp, dict] | None = None
        self.advance_to(self.start)

    @property
    def observed(self) -> pd.Series:
        """The followed day's observed total count per minute (all of it, also after now)."""
        day = self.grid[self.grid.index.normalize() == pd.Timestamp(self.day)]
        return day[self.zones].sum(axis=1, min_count=1).dropna()

    def advance_to(self, when: pd.Timestamp) -> None:
        """Assimilate every reading after the last one fed and up to ``when``, one minute at a time."""
        new = self.grid[(self.grid.index > self.now) & (self.grid.index <= when)]
        for t in new.index:
            done = self.twin.update(new.loc[[t]])
            if len(done):
                r = done.iloc[-1]
                quanta = _band(np.array([mod.air.concentration for mod in self.twin.models]))
                self.rows.append({"time": r["time"], "observed": r["observed"], "predicted": r["predicted"],
                                  "predicted_lower": r["predicted_lower"], "predicted_upper": r["predicted_upper"],
                                  "quanta": quanta[0], "quanta_lower": quanta[1], "quanta_upper": quanta[2],
                                  "arrival_multiplier": float(np.median(np.exp(self.twin.z)))})
        self.now = max(self.now, when)

    @property
    def track(self) -> pd.DataFrame:
        """One row per assimilated minute: observed, the prediction before it (mean, band), hidden state."""
        return pd.DataFrame(self.rows)

    def forecast(self) -> dict[str, Any]:
        """From the twin's last assimilated minute: the per-minute fan (mean, band) of occupancy and CO2 to
        the longest horizon, and the table at each horizon (computed once per assimilated minute)."""
        if self._forecast is not None and self._forecast[0] == self.twin.now:
            return self._forecast[1]
        ens = self.twin.forecast_ensemble(self.horizons[-1])
        times = self.twin.now + pd.to_timedelta(np.arange(1, self.horizons[-1] + 1), unit="min")
        fan = {name: np.array([_band(ens[name][:, k]) for k in range(len(times))])
               for name in ("occupancy", "co2_ppm", "infection_risk") if not np.isnan(ens[name]).all()}
        at = {h: {name: tuple(fan[name][h - 1]) for name in fan} for h in self.horizons}
        out = {"times": times, "fan": fan, "at": at}
        self._forecast = (self.twin.now, out)
        return out

    def summary(self) -> str:
        """A Markdown line: now, the last reading beside the twin's view of it, and the forecasts."""
        if not self.rows:
            return f"**Live twin** on {self.day}: no readings assimilated yet"
        last, fc = self.rows[-1], self.forecast()
        at = lambda v, d=1: f"{v[0]:.{d}f} [{v[1]:.{d}f}, {v[2]:.{d}f}]"  # noqa: E731
        parts = [f"**Live twin** ({len(self.twin.models)} replicas) follows {', '.join(self.zones)} on "
                 f"{self.day} · now {self.twin.now:%H:%M} · assimilated {self.twin.minutes_assimilated} min · "
                 f"observed {last['observed']:.0f} · twin before the reading "
                 f"{at((last['predicted'], last['predicted_lower'], last['predicted_upper']))} · airborne quanta "
                 f"{at((last['quanta'], last['quanta_lower'], last['quanta_upper']), 5)} /m³"]
        for h, values in fc["at"].items():
            extra = f", CO2 {at(values['co2_ppm'], 0)} ppm" if "co2_ppm" in values else ""
            parts.append(f"forecast +{h} min ({self.twin.now + pd.Timedelta(minutes=h):%H:%M}): occupancy "
                         f"{at(values['occupancy'])}{extra}, risk {at(values['infection_risk'], 5)}")
        return " · ".join(parts) + f" ({BAND:.0%} bands)"

    def draw(self, fig: Any) -> None:
        """Observed counts beside the twin's predictions and forecast fan (and CO2 when the twin has it)."""
        fc, track, obs = self.forecast(), self.track, self.observed
        axes = fig.subplots(2 if "co2_ppm" in fc["fan"] else 1, 1, sharex=True, squeeze=False)[:, 0]
        ax = axes[0]
        shown = obs[(obs.index >= self.start - pd.Timedelta(minutes=60))
                    & (obs.index <= self.twin.now + pd.Timedelta(minutes=self.horizons[-1]))]
        seen = shown[shown.index <= self.twin.now]
        ax.step(seen.index, seen.to_numpy(), where="post", color="black", lw=1.2, zorder=3,
                label="observed (assimilated)")
        later = shown[shown.index > self.twin.now]
        ax.step(later.index, later.to_numpy(), where="post", color="black", lw=0.8, ls="--", alpha=0.5,
                label="observed later (not given to the twin)")
        if len(track):
            recent = track[track["time"] >= shown.index.min()] if len(shown) else track
            ax.fill_between(recent["time"], recent["predicted_lower"], recent["predicted_upper"], step="post",
                            color="#1f77b4", alpha=0.2, lw=0)
            ax.plot(recent["time"], recent["predicted"], color="#1f77b4", lw=1,
                    label="twin before each reading (mean, 90 %)")
        occ = fc["fan"]["occupancy"]
        ax.fill_between(fc["times"], occ[:, 1], occ[:, 2], color="#ff7f0e", alpha=0.25, lw=0)
        ax.plot(fc["times"], occ[:, 0], color="#ff7f0e", lw=1.5, label=f"twin forecast (mean, {BAND:.0%})")
        for h in self.horizons:
            ax.errorbar([fc["times"][h - 1]], [occ[h - 1, 0]], yerr=[[occ[h - 1, 0] - occ[h - 1, 1]],
                                                                     [occ[h - 1, 2] - occ[h - 1, 0]]],
                        fmt="o", color="#ff7f0e", ms=4, capsize=3)
        ax.axvline(self.twin.now, color="#7f7f7f", lw=0.8)
        ax.set_ylabel("people")
        ax.legend(fontsize=7, loc="upper left")
        ax.set_title(f"live twin · {', '.join(self.zones)} · {self.day} · now {self.twin.now:%H:%M}", fontsize=9)
        if len(axes) > 1:
            co2_obs = self.grid.loc[seen.index.intersection(self.grid.index), "co2"] if "co2" in self.grid else None
            ax2 = axes[1]
            if co2_obs is not None:
                ax2.plot(co2_obs.index, co2_obs.to_numpy(), color="black", lw=1, label="CO2 observed")
            co2 = fc["fan"]["co2_ppm"]
            ax2.fill_between(fc["times"], co2[:, 1], co2[:, 2], color="#2ca02c", alpha=0.25, lw=0)
            ax2.plot(fc["times"], co2[:, 0], color="#2ca02c", lw=1.5, label="twin CO2 forecast")
            ax2.axvline(self.twin.now, color="#7f7f7f", lw=0.8)
            ax2.set_ylabel("CO2 ppm")
            ax2.legend(fontsize=7, loc="upper left")
        from matplotlib.dates import DateFormatter

        axes[-1].xaxis.set_major_formatter(DateFormatter("%H:%M"))
        fig.autofmt_xdate()


__all__ = ["StreamFollower", "busiest_day", "stream_days"]
