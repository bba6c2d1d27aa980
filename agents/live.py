r"""Live data: a :class:`~syntwin.agents.model.CrowdModel` ensemble that follows a building's sensor counts.

The twin is ``M`` replicas of the crowd model (the same floor plan, behaviour and exposure physics as any
crowd run) advanced one minute at a time. Arrivals come from an arrival profile calibrated on the
stream's history (:func:`calibrate`) times a per-replica log-multiplier ``z`` that follows a stationary
AR(1), ``z_t = φ z_{t-1} + \sqrt{1-φ^2}\, s\, ε_t`` — the day-to-day and hour-to-hour demand the profile
cannot know. Each observed minute is assimilated by a particle filter over the replicas (sequential
importance resampling; Gordon, Salmond & Smith 1993):

- weight: replica ``m`` predicted zone occupancies ``n_m``; ``w_m ∝ \exp(-\|n_m - y\|^2 / 2σ^2)``
  (``σ`` = ``obs_sd``, the count sensor's error);
- resampling (systematic) when the effective sample size falls below ``M/2``: whole replicas are copied,
  with their visitors, seats and remaining stays, and their ``z``;
- the observed counts are then imposed on every replica (:meth:`CrowdModel.set_zone_occupancy`; the
  sensors count heads, so the state is conditioned on them), and a CO2 reading, where the stream has one,
  sets the replicas' virtual CO2 sensor.

A forecast copies the replicas and runs them ahead: occupancy per zone, CO2, quanta concentration and
the infection probability of a susceptible who stays until the horizon, as ensembles (predictive
intervals are their quantiles).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from syntwin.agents.config import ArrivalProfile, CO2Params, CrowdConfig
from syntwin.agents.model import CrowdModel

_UCI = ("Date", "Time", "Room_Occupancy_Count")
DAY_S = 86400.0


def read_occupancy_stream(path: str | Path) -> pd.DataFrame:
    """Read ``timestamp, zone, count[, co2]`` from CSV or JSON lines (``.jsonl``/``.ndjson``/``.json``).

    The UCI "Room Occupancy Estimation" CSV (``Date, Time, Room_Occupancy_Count``, ``S5_CO2``) is read
    as the single zone ``room`` with its CO2. Rows are sorted by time; counts must be finite and >= 0.
    """
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        df = pd.read_json(path, lines=True, dtype=False)
    else:
        df = pd.read_csv(path)
    return occupancy_frame(df, path.name)


def occupancy_frame(df: pd.DataFrame, name: str = "stream") -> pd.DataFrame:
    """Validate and normalise raw rows (see :func:`read_occupancy_stream`); ``name`` is used in errors."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    if all(c in df.columns for c in _UCI):
        uci = {"timestamp": df["Date"].astype(str) + " " + df["Time"].astype(str), "zone": "room",
               "count": df["Room_Occupancy_Count"]}
        if "S5_CO2" in df.columns:
            uci["co2"] = df["S5_CO2"]
        df = pd.DataFrame(uci)
    missing = [c for c in ("timestamp", "count") if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; need timestamp, zone, count")
    if "zone" not in df.columns:
        df["zone"] = "all"
    ts = pd.to_datetime(df["timestamp"].astype(str), errors="coerce")
    count = pd.to_numeric(df["count"], errors="coerce")
    bad = ts.isna() | count.isna() | (count < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{name}: bad timestamp or count at data row {row + 1}: "
                         f"{df.iloc[row][['timestamp', 'count']].to_dict()}")
    out = pd.DataFrame({"timestamp": ts, "zone": df["zone"].astype(str), "count": count.astype(float)})
    if "co2" in df.columns:
        out["co2"] = pd.to_numeric(df["co2"], errors="coerce")
    return out.sort_values(["zone", "timestamp"], kind="stable").reset_index(drop=True)


def per_minute(stream: pd.DataFrame) -> pd.Series:
    """One zone's counts on a regular minute grid (last reading of each minute; gaps stay NaN)."""
    s = stream.set_index("timestamp")["count"].sort_index()
    return s.resample("1min").last().round()


def minute_grid(stream: pd.DataFrame, zones: list[str] | None = None) -> pd.DataFrame:
    """Counts per zone (columns) on a minute grid, plus ``co2`` if the stream has it (last reading per minute)."""
    zones = zones or list(dict.fromkeys(stream["zone"]))
    cols = {z: per_minute(stream[stream["zone"] == z]) for z in zones}
    grid = pd.DataFrame(cols)
    if "co2" in stream.columns and stream["co2"].notna().any():
        co2 = stream.dropna(subset=["co2"]).set_index("timestamp")["co2"].sort_index()
        grid["co2"] = co2.resample("1min").mean().reindex(grid.index)
    return grid


@dataclass(frozen=True)
class Calibration:
    """Arrival profile, group sizes and stay length learnt from a stream's history.

    Attributes:
        arrivals_per_min: Arriving groups per minute for each hour of the day (24 values).
        group_sizes: Probability of a group of 1, 2, … people (people who come in the same minute).
        departures_per_min: Departure hazard per person and minute for each hour of the day (24 values);
            a group stays and leaves together.
        dwell_mean_min: Mean stay over the history (minutes), ``1/μ̄``.
        minutes: Observed one-minute pairs it rests on.
    """

    arrivals_per_min: tuple[float, ...]
    group_sizes: tuple[float, ...]
    departures_per_min: tuple[float, ...]
    dwell_mean_min: float
    minutes: int

    def profile(self) -> ArrivalProfile:
        """Group arrivals over one day (seconds after midnight), linear between hour centres."""
        r = np.asarray(self.arrivals_per_min)
        edge = 0.5 * (r[0] + r[-1])
        return ArrivalProfile(tuple([0.0, *(3600.0 * np.arange(24) + 1800.0), DAY_S]),
                              tuple([edge, *r, edge]))

    def rate_per_min(self, seconds_of_day: float) -> float:
        """Group arrival rate (per minute) at a time of day."""
        return float(self.profile().rate_per_s(np.asarray([seconds_of_day % DAY_S]))[0] * 60.0)

    @functools.cached_property
    def _cumulative_hazard(self) -> np.ndarray:
        haz = np.repeat(np.asarray(self.departures_per_min), 60)
        return np.concatenate([[0.0], np.cumsum(np.tile(haz, 5))])

    def stays_s(self, entry_minute_of_day: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Stays (s) of people entering at the given minutes of the day, by inversion of the cumulative
        hourly hazard: the stay ends when ``∫ μ(t) dt`` from entry reaches ``-log(1-u)`` (up to 4 days)."""
        cum = self._cumulative_hazard
        m0 = np.asarray(entry_minute_of_day, int) % 1440
        k = np.searchsorted(cum, cum[m0] - np.log1p(-np.clip(u, 0.0, 1 - 1e-12)))
        return 60.0 * np.maximum(k - m0, 1)

    @property
    def people_per_group(self) -> float:
        """Mean group size."""
        return float(np.dot(np.arange(1, len(self.group_sizes) + 1), self.group_sizes))


def calibrate(counts: pd.DataFrame, *, prior_minutes: float = 120.0, min_dwell_min: float = 2.0,
              max_dwell_min: float = 600.0) -> Calibration:
    """Group arrival rate per hour of day, group sizes and mean stay from one-minute changes of the total.

    With counts per minute, an increase is a group arriving (its size the increase) and decreases are
    departures (M/M/∞ moment estimates, groups as batches): ``λ_h = (groups in hour h + λ̄·k) / (minutes
    in hour h + k)`` — shrunk towards the overall rate ``λ̄`` with ``k = prior_minutes`` pseudo-minutes,
    so that hours seen rarely are not zero by chance — and ``μ = people leaving / person-minutes``,
    mean stay ``1/μ``. Group sizes: the empirical distribution of the increases (one pseudo-group of 1).
    """
    total = counts.drop(columns=["co2"], errors="ignore").sum(axis=1, min_count=1).to_numpy(float)
    ok = ~np.isnan(total[:-1]) & ~np.isnan(total[1:])
    if ok.sum() < 30:
        raise ValueError("need at least 30 consecutive one-minute pairs of counts to calibrate")
    diff = (total[1:] - total[:-1])[ok]
    hours = counts.index.hour.to_numpy()[1:][ok]
    groups = np.bincount(hours, weights=(diff > 0).astype(float), minlength=24)
    mins = np.bincount(hours, minlength=24).astype(float)
    overall = groups.sum() / mins.sum()
    rates = (groups + overall * prior_minutes) / (mins + prior_minutes)
    sizes = np.bincount(np.round(diff[diff > 0]).astype(int), minlength=2)[1:].astype(float)
    sizes[0] += 1.0
    person_min = total[:-1][ok].sum()
    downs = np.clip(-diff, 0, None)
    dwell = float(np.clip(person_min / downs.sum() if downs.sum() > 0 else max_dwell_min, min_dwell_min,
                          max_dwell_min))
    exposure = np.bincount(hours, weights=total[:-1][ok], minlength=24)
    leaving = np.bincount(hours, weights=downs, minlength=24)
    hazard = (leaving + prior_minutes / dwell) / (exposure + prior_minutes)
    return Calibration(tuple(float(r) for r in rates), tuple(float(p) for p in sizes / sizes.sum()),
                       tuple(float(h) for h in np.clip(hazard, 1 / max_dwell_min, 1 / min_dwell_min)), dwell,
                       int(ok.sum()))


class _NullCollector:
    """Replicas keep no per-minute history (the twin keeps its own); copies stay cheap."""

    def collect(self, model) -> None:
        """Ignore."""

    def add_table_row(self, table, row, ignore_missing=False) -> None:
        """Ignore."""


class LiveTwin:
    """A crowd-model ensemble corrected by sensor counts (see module docstring).

    Args:
        config: Floor plan, behaviour and exposure of the room (its arrival profile is not used: arrivals
            come from ``calibration``; ``dt_s`` is set to 60 s, one step per sensor minute).
        calibration: Arrival profile and stay learnt from the history (:func:`calibrate`).
        zones: Stream zone names, in the order of ``config.plan.zones`` they are matched to by name.
        replicas: Model replicas (particles).
        obs_sd: Standard deviation of a count sensor's error (people).
        spread: Stationary standard deviation ``s`` of the log arrival multiplier.
        memory_min: Correlation time of the multiplier (``φ = exp(-1/memory_min)``).
        max_gap_min: A gap without readings longer than this is not simulated through: the replicas wait
            and are set to the next reading.
        co2: Virtual CO2 sensor (:class:`~syntwin.agents.config.CO2Params` fields: volume_m3, ach,
            outdoor_ppm, per_person_m3_s), or None.
        seed: Seed (int or ``SeedSequence``).
    """

    def __init__(self, config: CrowdConfig, calibration: Calibration, zones: list[str], *, replicas: int = 32,
                 obs_sd: float = 0.5, spread: float = 1.0, memory_min: float = 60.0, max_gap_min: float = 30.0,
                 co2: dict | None = None, seed: int | np.random.SeedSequence = 0) -> None:
        plan_zones = [z.name for z in config.plan.zones]
        unknown = [z for z in zones if z not in plan_zones]
        if unknown:
            raise ValueError(f"stream zone(s) {unknown} are not zones of the floor plan {plan_zones}")
        if replicas < 2:
            raise ValueError("the twin needs at least 2 replicas")
        self.zones = list(zones)
        self.zone_index = [plan_zones.index(z) for z in zones]
        sensors = ("contacts", "co2") if co2 else ("contacts",)  # no heat maps or zone tables in replicas
        self.config = dataclasses.replace(config, dt_s=60.0, track_pairs=False, sensors=sensors,
                                          co2=CO2Params(**co2) if co2 else None,
                                          arrivals=ArrivalProfile((0.0, 1.0), (0.0, 0.0)))
        self.calibration = calibration
        self.obs_sd, self.spread, self.max_gap_min = obs_sd, spread, max_gap_min
        self.phi = float(np.exp(-1.0 / memory_min))
        self.co2 = dict(co2) if co2 else None
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._ss = ss
        self.rng = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 0)))
        self.models = [self._replica(k) for k in range(replicas)]
        self.z = self.rng.normal(0.0, spread, replicas)
        self.now: pd.Timestamp | None = None
        self.minutes_assimilated = 0
        self.resamplings = 0

    def _replica(self, k: int) -> CrowdModel:
        model = CrowdModel(self.config, seed=np.random.SeedSequence(self._ss.entropy,
                                                                    spawn_key=(*self._ss.spawn_key, 1, k)))
        model.datacollector = _NullCollector()
        return model

    # ---- one minute ------------------------------------------------------------------------------
    def _advance(self, models: list[CrowdModel], z: np.ndarray, when: pd.Timestamp,
                 rng: np.random.Generator) -> np.ndarray:
        """Walk ``z`` and step every replica one minute ending at ``when``; return the new ``z``."""
        z = self.phi * z + np.sqrt(1 - self.phi**2) * self.spread * rng.normal(0.0, 1.0, len(z))
        tod = (when - when.normalize()).total_seconds() - 30.0
        rate = self.calibration.rate_per_min(tod) * np.exp(z)
        sizes = np.asarray(self.calibration.group_sizes)
        for model, k in zip(models, rng.poisson(rate)):
            if k:  # k groups; members share arrival time and stay (they come and leave together)
                size = 1 + rng.choice(len(sizes), size=k, p=sizes)
                times = np.repeat(model.steps * model.dt + rng.uniform(0.0, model.dt, k), size)
                u = np.repeat(rng.random((k, 8)), size, axis=0)
                u[:, [0, 3, 5, 6, 7]] = rng.random((len(u), 5))  # own speed, door side, seat, place
                order = np.argsort(times, kind="stable")
                stays = self.calibration.stays_s(np.full(len(u), tod // 60), u[:, 1])
                model.schedule_arrivals(times[order], u[order], stays[order])
            model.step()
        return z

    def _occupancy(self, models: list[CrowdModel]) -> np.ndarray:
        return np.array([m.zone_occupancy()[self.zone_index] for m in models], float)

    def _assimilate(self, y: np.ndarray, co2: float) -> float:
        minute = int((self.now - self.now.normalize()).total_seconds() // 60)
        """Weight, resample and condition the replicas on one minute's counts; return the ESS."""
        occ = self._occupancy(self.models)
        seen = ~np.isnan(y)
        logw = -0.5 * ((occ[:, seen] - y[seen]) ** 2).sum(axis=1) / self.obs_sd**2
        w = np.exp(logw - logw.max())
        w /= w.sum()
        ess = float(1.0 / np.sum(w**2))
        m = len(self.models)
        if ess < m / 2:
            pos = (self.rng.random() + np.arange(m)) / m
            idx = np.minimum(np.searchsorted(np.cumsum(w), pos), m - 1)
            used: set[int] = set()
            models = []
            for i in idx:
                models.append(self.models[i] if i not in used else copy.deepcopy(self.models[i]))
                used.add(int(i))
            self.models, self.z = models, self.z[idx]
            self.resamplings += 1
        for model in self.models:
            for j, count in zip(np.flatnonzero(seen), y[seen]):
                c = int(round(count))
                u = np.repeat(self.rng.random((1, 8)), c, axis=0)  # newcomers of one minute: a group
                u[:, [0, 3, 5, 6, 7]] = self.rng.random((c, 5))
                model.set_zone_occupancy(self.zone_index[j], c, u,
                                         self.calibration.stays_s(np.full(c, minute), u[:, 1]))
            if self.co2 and np.isfinite(co2):
                model.sensors["co2"].room.ppm = float(co2)
        return ess

    def update(self, observations: pd.DataFrame) -> pd.DataFrame:
        """Assimilate new readings: a minute grid (:func:`minute_grid`) or stream rows (``timestamp, zone,
        count[, co2]``). Minutes up to the last reading are simulated and each observed one assimilated.

        Returns:
            One row per assimilated minute: ``time``, the observed total, the replicas' predicted mean
            total before assimilation, the effective sample size, and the 5 % / 95 % quantiles of the
            replicas' predicted totals (``predicted_lower``, ``predicted_upper``).
        """
        grid = observations if "timestamp" not in observations.columns else minute_grid(observations,
                                                                                         self.zones)
        grid = grid.reindex(columns=[*self.zones, "co2"])
        if self.now is not None:
            grid = grid[grid.index > self.now]
        rows = []
        for when, values in zip(grid.index, grid.to_numpy(float)):
            y, co2 = values[:-1], values[-1]
            if np.isnan(y).all():
                continue
            if self.now is None or (when - self.now) > pd.Timedelta(minutes=self.max_gap_min):
                self.now = when - pd.Timedelta(minutes=1)
            while self.now < when:
                self.now += pd.Timedelta(minutes=1)
                self.z = self._advance(self.models, self.z, self.now, self.rng)
            totals = self._occupancy(self.models).sum(axis=1)
            ess = self._assimilate(y, co2)
            self.minutes_assimilated += 1
            rows.append((when, float(np.nansum(y)), float(totals.mean()), ess, float(np.quantile(totals, 0.05)),
                         float(np.quantile(totals, 0.95))))
        return pd.DataFrame(rows, columns=["time", "observed", "predicted", "ess", "predicted_lower",
                                           "predicted_upper"])

    # ---- forecasts -------------------------------------------------------------------------------
    def forecast_ensemble(self, minutes: int) -> dict[str, np.ndarray]:
        """Run copies of the replicas ``minutes`` ahead (the twin itself is untouched).

        Returns arrays of shape ``(replicas, minutes)``: ``occupancy`` (total over the stream's zones),
        ``co2_ppm`` (NaN without a CO2 sensor), ``quanta_per_m3`` and ``infection_risk`` (probability for
        a susceptible present from now to that minute, ``1 - exp(-p ∫C dt)``), plus ``zones``
        ``(replicas, minutes, zones)``.
        """
        if self.now is None:
            raise ValueError("the twin has no readings yet; call update() first")
        key = int(self.now.value // 60_000_000_000)
        rng = np.random.default_rng(np.random.SeedSequence(self._ss.entropy,
                                                           spawn_key=(*self._ss.spawn_key, 2, key)))
        models = [copy.deepcopy(m) for m in self.models]
        z = self.z.copy()
        m = len(models)
        zones = np.zeros((m, minutes, len(self.zones)))
        co2, quanta = np.full((m, minutes), np.nan), np.zeros((m, minutes))
        when = self.now
        for k in range(minutes):
            when += pd.Timedelta(minutes=1)
            z = self._advance(models, z, when, rng)
            zones[:, k] = self._occupancy(models)
            quanta[:, k] = [mod.air.concentration for mod in models]
            if self.co2:
                co2[:, k] = [mod.sensors["co2"].room.ppm for mod in models]
        breathing = self.config.exposure.breathing_m3_per_h / 60.0  # m³ per minute
        risk = -np.expm1(-breathing * np.cumsum(quanta, axis=1))
        return {"occupancy": zones.sum(axis=2), "zones": zones, "co2_ppm": co2, "quanta_per_m3": quanta,
                "infection_risk": risk}

    def forecast(self, minutes: int | list[int], *, band: float = 0.9) -> pd.DataFrame:
        """Forecast table at each horizon: mean, median and the central ``band`` interval per quantity."""
        horizons = [minutes] if isinstance(minutes, int) else sorted(minutes)
        ens = self.forecast_ensemble(max(horizons))
        lo, hi = (1 - band) / 2, 1 - (1 - band) / 2
        rows = []
        for h in horizons:
            for name in ("occupancy", "co2_ppm", "quanta_per_m3", "infection_risk"):
                v = ens[name][:, h - 1]
                if np.isnan(v).all():
                    continue
                rows.append((self.now, h, self.now + pd.Timedelta(minutes=h), name, float(v.mean()),
                             float(np.median(v)), float(np.quantile(v, lo)), float(np.quantile(v, hi))))
        return pd.DataFrame(rows, columns=["time", "horizon_min", "target_time", "quantity", "mean", "median",
                                           "lower", "upper"])

    def __repr__(self) -> str:
        return f"LiveTwin(replicas={len(self.models)}, zones={self.zones}, now={self.now})"


def replay(twin: LiveTwin, grid: pd.DataFrame, *, horizons: tuple[int, ...] = (15, 60), every_min: int = 15,
           start: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Feed a minute grid to the twin and forecast every ``every_min`` observed minutes from ``start`` on.

    Returns:
        The forecast table of occupancy at each horizon (``time, horizon_min, target_time, mean, median,
        lower, upper, persistence, observed``, plus ``co2_*`` where there is CO2) and, per horizon, the
        occupancy ensembles ``(forecasts, replicas)`` in the same row order (for CRPS).
    """
    counts = grid.drop(columns=["co2"], errors="ignore").sum(axis=1, min_count=1)
    rows, ens = [], {h: [] for h in horizons}
    observed = 0
    for when in grid.index:
        if np.isnan(counts.loc[when]):
            continue
        twin.update(grid.loc[[when]])
        observed += 1
        if (start is not None and when < start) or observed % every_min:
            continue
        e = twin.forecast_ensemble(max(horizons))
        for h in horizons:
            target = when + pd.Timedelta(minutes=h)
            occ = e["occupancy"][:, h - 1]
            ens[h].append(occ)
            row = {"time": when, "horizon_min": h, "target_time": target, "mean": occ.mean(),
                   "median": np.median(occ), "lower": np.quantile(occ, 0.05), "upper": np.quantile(occ, 0.95),
                   "persistence": counts.loc[when],
                   "observed": counts.get(target, np.nan),
                   "risk_mean": e["infection_risk"][:, h - 1].mean(),
                   "risk_upper": np.quantile(e["infection_risk"][:, h - 1], 0.95)}
            if twin.co2:
                c = e["co2_ppm"][:, h - 1]
                row.update(co2_mean=c.mean(), co2_lower=np.quantile(c, 0.05), co2_upper=np.quantile(c, 0.95),
                           co2_now=grid["co2"].get(when, np.nan) if "co2" in grid else np.nan,
                           co2_observed=grid["co2"].get(target, np.nan) if "co2" in grid else np.nan)
            rows.append(row)
    table = pd.DataFrame(rows)
    return table, {h: np.asarray(v).reshape(-1, len(twin.models)) for h, v in ens.items()}


def day_seed(seed: int | np.random.SeedSequence, day: pd.Timestamp) -> np.random.SeedSequence:
    """A seed for one held-out day, keyed by the date (independent of how folds are scheduled)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 3, int(day.strftime("%Y%m%d"))))


def _fold(grid: pd.DataFrame, day: pd.Timestamp, config: CrowdConfig, zones: list[str], twin_kw: dict,
          seed: np.random.SeedSequence, horizons: tuple[int, ...], every_min: int,
          spin_up_min: int) -> pd.DataFrame:
    from syntwin.agents.scores import score_forecasts

    end = day + pd.Timedelta(days=1)
    train = grid[(grid.index < day) | (grid.index >= end)]
    twin = LiveTwin(config, calibrate(train), zones, seed=seed, **twin_kw)
    window = grid[(grid.index >= day - pd.Timedelta(minutes=spin_up_min)) & (grid.index < end)]
    table, ens = replay(twin, window, horizons=horizons, every_min=every_min, start=day)
    if table.empty:
        return pd.DataFrame()
    scores = score_forecasts(table, ens, train.drop(columns=["co2"], errors="ignore").sum(axis=1, min_count=1))
    table = table.assign(day=day, resamplings=twin.resamplings)
    return table.merge(scores.pivot_table(index=["time", "horizon_min"], columns="method", values="crps")
                       .add_prefix("crps_").reset_index(), on=["time", "horizon_min"], how="left"), scores


def evaluate_days(grid: pd.DataFrame, config: CrowdConfig, zones: list[str], *, days: list | None = None,
                  horizons: tuple[int, ...] = (15, 60), every_min: int = 10, spin_up_min: int = 180,
                  seed: int | np.random.SeedSequence = 0, client=None, **twin_kw) -> tuple[pd.DataFrame,
                                                                                             pd.DataFrame]:
    """Leave-one-day-out: for each held-out day, calibrate on every other day, follow that day, forecast.

    The twin starts ``spin_up_min`` before the day (assimilating only those readings) and forecasts every
    ``every_min`` observed minutes of the day; outcomes after the day's end are not scored. Baselines
    (:func:`syntwin.agents.scores.score_forecasts`) see the same training days. Folds run on ``client``
    (Dask) when given, each with its date-keyed seed, so the result does not depend on the workers.

    Returns:
        ``(forecasts, scores)``: the forecast table of all held-out days (with per-method CRPS), and the
        per-forecast scores (:func:`~syntwin.agents.scores.summarize_scores` pools them).
    """
    all_days = sorted(set(grid.dropna(how="all").index.normalize()))
    days = all_days if days is None else [pd.Timestamp(d) for d in days]
    args = [(grid, d, config, zones, twin_kw, day_seed(seed, d), tuple(horizons), every_min, spin_up_min)
            for d in days]
    if client is not None:
        results = client.gather([client.submit(_fold, *a, pure=False) for a in args])
    else:
        results = [_fold(*a) for a in args]
    results = [r for r in results if isinstance(r, tuple)]
    if not results:
        raise ValueError("no held-out day had a forecast with an observed outcome")
    return (pd.concat([r[0] for r in results], ignore_index=True),
            pd.concat([r[1] for r in results], ignore_index=True))


__all__ = ["day_seed", "evaluate_days", "read_occupancy_stream", "occupancy_frame", "per_minute", "minute_grid", "Calibration", "calibrate",
           "LiveTwin", "replay"]
