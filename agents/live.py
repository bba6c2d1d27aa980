r"""Live data: read an occupancy stream, assimilate it with a particle filter, forecast counts ahead.

Model: occupancy is a birth–death (M/M/∞) process per minute — arrivals Poisson with rate
``λ_t = λ_h(t) · exp(z_t)`` (a learned hour-of-day profile times a log-multiplier following a stationary
AR(1), ``z_t = φ z_{t-1} + \sqrt{1-φ^2}\, s\, ε_t``, so that it neither explodes over gaps nor forgets),
each person present leaves with probability ``1 - exp(-μ)`` per minute. Counts are observed exactly, so
a particle's weight is the transition probability

.. math::
    P(n_t | n_{t-1}) = \sum_d \mathrm{Bin}(d; n_{t-1}, 1-e^{-μ}) \; \mathrm{Pois}(n_t - n_{t-1} + d; λ_t)

(a bootstrap filter over ``z``; Gordon, Salmond & Smith 1993). Forecasts simulate every particle ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

_UCI = ("Date", "Time", "Room_Occupancy_Count")


def read_occupancy_stream(path: str | Path) -> pd.DataFrame:
    """Read ``timestamp, zone, count`` from CSV or JSON lines (``.jsonl``/``.ndjson``/``.json``).

    The UCI "Room Occupancy Estimation" CSV (``Date, Time, Room_Occupancy_Count``) is accepted as
    the single zone ``room``. Rows are sorted by time; counts must be finite and >= 0.
    """
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        df = pd.read_json(path, lines=True)
    else:
        df = pd.read_csv(path)
    df.columns = [str(c).strip() for c in df.columns]
    if all(c in df.columns for c in _UCI):
        df = pd.DataFrame({"timestamp": df["Date"].astype(str) + " " + df["Time"].astype(str), "zone": "room",
                           "count": df["Room_Occupancy_Count"]})
    missing = [c for c in ("timestamp", "count") if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {missing}; need timestamp, zone, count")
    if "zone" not in df.columns:
        df["zone"] = "all"
    ts = pd.to_datetime(df["timestamp"], errors="coerce")
    count = pd.to_numeric(df["count"], errors="coerce")
    bad = ts.isna() | count.isna() | (count < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{path.name}: bad timestamp or count at data row {row + 1}: "
                         f"{df.iloc[row][['timestamp', 'count']].to_dict()}")
    out = pd.DataFrame({"timestamp": ts, "zone": df["zone"].astype(str), "count": count.astype(float)})
    return out.sort_values(["zone", "timestamp"], kind="stable").reset_index(drop=True)


def per_minute(stream: pd.DataFrame) -> pd.Series:
    """One zone's counts on a regular minute grid (last reading of each minute; gaps stay NaN)."""
    s = stream.set_index("timestamp")["count"].sort_index()
    return s.resample("1min").last().round()


class OccupancyForecaster:
    """Particle filter over the arrival rate of a birth–death occupancy model (see module docstring).

    Args:
        horizon_min: Forecast horizon in minutes.
        n_particles: Particles.
        spread: Stationary standard deviation ``s`` of the log arrival-rate multiplier.
        memory_min: Correlation time of the multiplier (``φ = exp(-1/memory_min)``).
        band: Central probability of the forecast band.
        seed: Seed (int or ``SeedSequence``).
    """

    def __init__(self, *, horizon_min: int = 15, n_particles: int = 400, spread: float = 1.0,
                 memory_min: float = 60.0, band: float = 0.9, seed: int | np.random.SeedSequence = 0) -> None:
        self.horizon_min = horizon_min
        self.n_particles = n_particles
        self.spread = spread
        self.memory_min = memory_min
        self.band = band
        self.seed = seed

    def fit(self, counts: pd.Series) -> OccupancyForecaster:
        """Learn the hour-of-day arrival profile ``profile_`` (per minute) and departure rate ``mu_``.

        Least squares on one-minute changes, ``E[n_{t+1} - n_t | n_t] ≈ λ_h - μ n_t`` (the M/M/∞ drift),
        with one ``λ_h`` per hour of day (hours never seen get the overall mean).
        """
        n = counts.to_numpy(float)
        ok = ~np.isnan(n[:-1]) & ~np.isnan(n[1:])
        if ok.sum() < 30:
            raise ValueError("need at least 30 consecutive one-minute pairs of counts to fit")
        hours = counts.index.hour.to_numpy()[:-1][ok]
        x0, dn = n[:-1][ok], (n[1:] - n[:-1])[ok]
        design = np.zeros((len(x0), 25))
        design[np.arange(len(x0)), hours] = 1.0
        design[:, 24] = -x0
        coef, *_ = np.linalg.lstsq(design, dn, rcond=None)
        seen = np.bincount(hours, minlength=24) > 0
        lam = np.where(seen, coef[:24], np.nan)
        lam = np.where(np.isnan(lam), np.nanmean(lam), lam)
        self.mu_ = float(np.clip(coef[24], 1e-3, 5.0))
        self.profile_ = np.clip(lam, 1e-3, None)
        self.mean_count_ = float(np.nanmean(n))
        return self

    def _check(self) -> None:
        if not hasattr(self, "mu_"):
            raise ValueError("OccupancyForecaster is not fitted; call fit(counts) first")

    def _walk(self, rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
        phi = np.exp(-1.0 / self.memory_min)
        return phi * z + np.sqrt(1 - phi**2) * self.spread * rng.normal(0.0, 1.0, len(z))

    def _rate(self, ts: pd.Timestamp, z: np.ndarray) -> np.ndarray:
        return self.profile_[ts.hour] * np.exp(z)

    def _loglik(self, n0: int, n1: int, lam: np.ndarray) -> np.ndarray:
        p = 1.0 - np.exp(-self.mu_)
        d = np.arange(max(0, n0 - n1), n0 + 1)
        pb = stats.binom.pmf(d, n0, p)
        like = (stats.poisson.pmf(n1 - n0 + d[None, :], lam[:, None]) * pb[None, :]).sum(axis=1)
        return np.log(np.maximum(like, 1e-300))

    def _simulate(self, rng: np.random.Generator, n0: float, z: np.ndarray,
                  start: pd.Timestamp) -> np.ndarray:
        n = np.full(len(z), n0)
        z = z.copy()
        p = 1.0 - np.exp(-self.mu_)
        for k in range(1, self.horizon_min + 1):
            z = self._walk(rng, z)
            lam = self._rate(start + pd.Timedelta(minutes=k), z)
            n = n - rng.binomial(n.astype(np.int64), p) + rng.poisson(lam)
        return n

    def run(self, counts: pd.Series) -> pd.DataFrame:
        """Assimilate ``counts`` minute by minute; at each observed minute forecast ``horizon_min`` ahead.

        Returns:
            One row per forecast: ``time, target_time, forecast`` (mean), ``median, lower, upper``
            (the band), ``persistence`` (the last count), ``observed`` (count at the target, NaN if missing).
        """
        self._check()
        rng = np.random.default_rng(self.seed)
        z = rng.normal(0.0, self.spread, self.n_particles)
        lo_q, hi_q = (1 - self.band) / 2, 1 - (1 - self.band) / 2
        values = counts.to_numpy(float)
        times = counts.index
        rows = []
        prev = np.nan
        for i, (ts, y) in enumerate(zip(times, values)):
            z = self._walk(rng, z)
            if np.isnan(y):
                continue
            if not np.isnan(prev):
                logw = self._loglik(int(prev), int(y), self._rate(ts, z))
                w = np.exp(logw - logw.max())
                w /= w.sum()
                pos = (rng.random() + np.arange(len(z))) / len(z)  # systematic resampling
                z = z[np.minimum(np.searchsorted(np.cumsum(w), pos), len(z) - 1)]
            prev = y
            sims = self._simulate(rng, y, z, ts)
            j = i + self.horizon_min
            rows.append((ts, ts + pd.Timedelta(minutes=self.horizon_min), sims.mean(), np.median(sims),
                         np.quantile(sims, lo_q), np.quantile(sims, hi_q), y,
                         values[j] if j < len(values) else np.nan))
        return pd.DataFrame(rows, columns=["time", "target_time", "forecast", "median", "lower", "upper",
                                           "persistence", "observed"])

    def __repr__(self) -> str:
        return f"OccupancyForecaster(horizon_min={self.horizon_min}, n_particles={self.n_particles})"


@dataclass
class ForecastEvaluation:
    """Forecast table on held-out data and its error figures against persistence."""

    table: pd.DataFrame
    metrics: dict[str, float]

    def __repr__(self) -> str:
        return f"ForecastEvaluation(n={len(self.table)})"


def forecast_errors(table: pd.DataFrame) -> dict[str, float]:
    """MAE/RMSE of the forecast (mean and median) and of persistence, and the band's coverage."""
    t = table.dropna(subset=["observed"])
    obs = t["observed"].to_numpy()
    err = {
        "n_forecasts": float(len(t)),
        "mae": float(np.mean(np.abs(t["forecast"] - obs))),
        "mae_median": float(np.mean(np.abs(t["median"] - obs))),
        "rmse": float(np.sqrt(np.mean((t["forecast"] - obs) ** 2))),
        "mae_persistence": float(np.mean(np.abs(t["persistence"] - obs))),
        "rmse_persistence": float(np.sqrt(np.mean((t["persistence"] - obs) ** 2))),
        "coverage": float(np.mean((obs >= t["lower"]) & (obs <= t["upper"]))),
    }
    err["rmse_skill"] = 1.0 - err["rmse"] / err["rmse_persistence"] if err["rmse_persistence"] > 0 else 0.0
    return err


def evaluate_forecast(stream: pd.DataFrame, *, horizon_min: int = 15, holdout_days: int = 2,
                      n_particles: int = 400, seed: int | np.random.SeedSequence = 0) -> ForecastEvaluation:
    """Fit on all but the last ``holdout_days`` calendar days of one zone's stream, forecast on those.

    The filter runs over the whole series (assimilating is allowed: only data up to each forecast's
    time is used), but errors are counted on held-out days only, and the profile is fitted on the rest.
    """
    counts = per_minute(stream)
    days = sorted(set(counts.dropna().index.normalize()))
    if len(days) <= holdout_days:
        raise ValueError(f"the stream spans {len(days)} day(s); need more than holdout_days={holdout_days}")
    cut = days[-holdout_days]
    model = OccupancyForecaster(horizon_min=horizon_min, n_particles=n_particles, seed=seed)
    model.fit(counts[counts.index < cut])
    table = model.run(counts[counts.index >= cut - pd.Timedelta(days=1)])  # a day of spin-up
    table = table[table["time"] >= cut].reset_index(drop=True)
    metrics = forecast_errors(table)
    metrics.update({"horizon_min": float(horizon_min), "holdout_days": float(holdout_days),
                    "departure_rate_per_min": model.mu_, "train_days": float(len(days) - holdout_days)})
    return ForecastEvaluation(table, metrics)


__all__ = ["read_occupancy_stream", "per_minute", "OccupancyForecaster", "ForecastEvaluation",
           "forecast_errors", "evaluate_forecast"]
