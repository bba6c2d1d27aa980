"""CO2 mass balance of a well-mixed room: ventilation from the decay after people leave, and a volume check.

Mass balance (the same well-mixed box as Wells–Riley; Persily & de Jonge 2017, Indoor Air 27:868–879):

.. math:: V\\, dC/dt = 10^6\\, G\\, N(t) - Q\\, (C - C_{out}), \\qquad Q = λ V, \\; λ = ACH/3600

with ``C`` in ppm, ``G`` the CO2 generation per person (m³/s; ≈ 5e-6 for a seated adult, about 0.3 L/min)
and ``N`` the people present. With the room empty, ``C(t) = C_out + (C_0 - C_out) e^{-λ t}``: a fit of the
decay gives the air changes per hour (the tracer-gas decay method, ASTM E741). With ``λ`` known, the
occupied periods give ``10^6 G / V`` as the slope of ``dC/dt + λ (C - C_out)`` against ``N``, i.e. an
effective room volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from syntwin.agents.config import CO2Params
from syntwin.agents.registry import SENSORS
from syntwin.agents.sensors import Sensor

#: CO2 generation of a seated adult, m³/s (≈ 0.0050 L/s; Persily & de Jonge 2017 give 0.0039–0.0057
#: for sedentary adults).
CO2_PER_PERSON_M3_S = 5.0e-6

#: Metabolic rate (met) per activity (Persily & de Jonge 2017, Table 3, after ASHRAE 55 / the
#: Compendium of Physical Activities).
ACTIVITY_MET = {"seated_quiet": 1.0, "seated_office": 1.3, "standing_light": 1.6, "walking": 2.6,
                "light_exercise": 3.0}


def co2_generation_m3_s(activity: str | float = "seated_office", *, bmr_mj_per_day: float = 6.6,
                        respiratory_quotient: float = 0.85, temp_c: float = 20.0,
                        pressure_kpa: float = 101.325) -> float:
    """CO2 generation of one person (m³/s), Persily & de Jonge 2017 (Indoor Air 27:868), Eq. 4.

    ``V_CO2 = RQ · BMR · M · (T/P) · 0.000179`` L/s with BMR in MJ/day (6.6: an adult of 30–60 years,
    mean of their male and female values), ``M`` the met level (a name of :data:`ACTIVITY_MET` or a
    number), ``T`` in K and ``P`` in kPa.
    """
    met = ACTIVITY_MET[activity] if isinstance(activity, str) else float(activity)
    if met <= 0:
        raise ValueError(f"activity level must be > 0 met, got {met}")
    litres = respiratory_quotient * bmr_mj_per_day * met * (temp_c + 273.15) / pressure_kpa * 0.000179
    return litres / 1000.0


@dataclass
class CO2Room:
    """Well-mixed CO2 balance of a room, advanced exactly over steps of constant occupancy.

    ``C(t+Δ) = C_ss + (C(t) - C_ss) e^{-λΔ}`` with ``C_ss = C_out + 10^6 G N / (λ V)``, ``λ = ACH/3600``.
    :class:`CO2Sensor` (sensor ``co2`` of a :class:`~syntwin.agents.model.CrowdModel`) holds one; ``ppm``
    is the reading now.

    Args:
        volume_m3: Room (effective, well-mixed) volume.
        ach: Outdoor-air changes per hour.
        outdoor_ppm: Background (outdoor) CO2.
        per_person_m3_s: CO2 generation per person (:func:`co2_generation_m3_s`).
        ppm: Initial reading (default: the background).
    """

    volume_m3: float
    ach: float
    outdoor_ppm: float = 420.0
    per_person_m3_s: float = CO2_PER_PERSON_M3_S
    ppm: float | None = None

    def __post_init__(self) -> None:
        if self.volume_m3 <= 0 or self.ach <= 0:
            raise ValueError("a CO2 room needs volume_m3 > 0 and ach > 0")
        if self.ppm is None:
            self.ppm = self.outdoor_ppm

    def advance(self, people: float, dt_s: float) -> float:
        """Advance ``dt_s`` seconds with ``people`` present; return the new reading (ppm)."""
        lam = self.ach / 3600.0
        c_ss = self.outdoor_ppm + 1e6 * self.per_person_m3_s * people / (lam * self.volume_m3)
        self.ppm = float(c_ss + (self.ppm - c_ss) * np.exp(-lam * dt_s))
        return self.ppm

    def __repr__(self) -> str:
        return f"CO2Room(volume_m3={self.volume_m3:g}, ach={self.ach:g}, ppm={self.ppm:.0f})"


@SENSORS.register
class CO2Sensor(Sensor):
    """The crowd model's virtual CO2 sensor: everyone present (visitors and staff) breathes out CO2 into a
    :class:`CO2Room` (settings ``CrowdConfig.co2``; by default the plan's volume and the run's ventilation)."""

    name = "co2"
    figures = ("co2_ppm",)

    def __init__(self, model) -> None:
        super().__init__(model)
        p = model.config.co2 or CO2Params()
        self.room = CO2Room(p.volume_m3 or model.config.plan.volume, p.ach or model.air.ach, p.outdoor_ppm,
                            p.per_person_m3_s)

    def step(self, ids: np.ndarray, pos: np.ndarray) -> None:
        """Advance the mass balance one step with the people present."""
        self.room.advance(len(ids), self.model.dt)

    def minute(self, ids: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        """The reading."""
        return {"co2_ppm": self.room.ppm}


@dataclass(frozen=True)
class DecayFit:
    """Result of one decay fit: air changes per hour, outdoor (background) ppm, fit R², duration."""

    ach: float
    outdoor_ppm: float
    r2: float
    minutes: float


def fit_decay(t_s: np.ndarray, co2_ppm: np.ndarray, outdoor_ppm: float | None = None) -> DecayFit:
    """Fit ``C(t) = C_out + (C_0 - C_out) exp(-λ t)`` to an empty-room decay.

    With ``outdoor_ppm`` given, ``log(C - C_out)`` is fitted linearly; otherwise ``C_out``, ``C_0`` and
    ``λ`` are fitted by non-linear least squares.
    """
    t = np.asarray(t_s, float) - float(np.asarray(t_s, float)[0])
    c = np.asarray(co2_ppm, float)
    if len(t) < 5 or np.ptp(t) <= 0:
        raise ValueError("a decay fit needs at least 5 readings over a positive time span")
    if outdoor_ppm is not None:
        excess = c - outdoor_ppm
        if np.any(excess <= 0):
            raise ValueError("CO2 must stay above outdoor_ppm during the decay")
        slope, icpt = np.polyfit(t, np.log(excess), 1)
        lam, c_out = -slope, outdoor_ppm
        pred = outdoor_ppm + np.exp(icpt + slope * t)
    else:
        def model(tt, c_out, amp, lam):
            """Exponential decay to the background."""
            return c_out + amp * np.exp(-lam * tt)

        p0 = (c.min() - 1.0, max(c[0] - c.min(), 1.0), 1.0 / max(np.ptp(t), 1.0))
        (c_out, amp, lam), _ = curve_fit(model, t, c, p0=p0, maxfev=20000)
        pred = model(t, c_out, amp, lam)
    ss_res, ss_tot = float(np.sum((c - pred) ** 2)), float(np.sum((c - c.mean()) ** 2))
    return DecayFit(float(lam * 3600.0), float(c_out), 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
                    float(np.ptp(t) / 60.0))


def decay_windows(df: pd.DataFrame, *, count: str = "count", co2: str = "co2", min_minutes: float = 60.0,
                  max_minutes: float = 240.0, max_gap_s: float = 300.0,
                  min_drop_ppm: float = 30.0) -> list[pd.DataFrame]:
    """Periods right after the room empties: count 0 for ``>= min_minutes`` without data gaps.

    Args:
        df: Rows with a ``timestamp`` column, the count and CO2 columns.
        min_minutes: Shortest empty period kept.
        max_minutes: Each window is cut to this length (the decay is fastest early on).
        max_gap_s: A gap between readings longer than this ends a window.
        min_drop_ppm: Windows whose CO2 falls by less are skipped (nothing to fit).
    """
    d = df.sort_values("timestamp").reset_index(drop=True)
    gap = d["timestamp"].diff().dt.total_seconds().fillna(0) > max_gap_s
    occupied = d[count] > 0
    block = (gap | (occupied != occupied.shift(fill_value=True))).cumsum()
    out = []
    for _, w in d.groupby(block):
        if occupied.iloc[w.index[0]] or w.index[0] == 0 or not occupied.iloc[w.index[0] - 1]:
            continue  # not an empty period that starts right after occupancy
        span = (w["timestamp"] - w["timestamp"].iloc[0]).dt.total_seconds() / 60.0
        if span.iloc[-1] < min_minutes:
            continue
        w = w[span <= max_minutes]
        if w[co2].iloc[0] - w[co2].min() >= min_drop_ppm:
            out.append(w)
    return out


def estimate_ach(df: pd.DataFrame, *, count: str = "count", co2: str = "co2",
                 outdoor_ppm: float | None = None, **window_kw) -> pd.DataFrame:
    """Air changes per hour from every decay window of a stream (one row per window)."""
    rows = []
    for w in decay_windows(df, count=count, co2=co2, **window_kw):
        t = (w["timestamp"] - w["timestamp"].iloc[0]).dt.total_seconds().to_numpy()
        try:
            fit = fit_decay(t, w[co2].to_numpy(), outdoor_ppm)
        except (ValueError, RuntimeError):
            continue
        rows.append({"start": w["timestamp"].iloc[0], "ach": fit.ach, "outdoor_ppm": fit.outdoor_ppm,
                     "r2": fit.r2, "minutes": fit.minutes, "co2_start": float(w[co2].iloc[0])})
    return pd.DataFrame(rows, columns=["start", "ach", "outdoor_ppm", "r2", "minutes", "co2_start"])


def effective_volume(df: pd.DataFrame, ach: float, outdoor_ppm: float, *, count: str = "count",
                     co2: str = "co2", per_person_m3_s: float = CO2_PER_PERSON_M3_S,
                     max_gap_s: float = 120.0) -> float:
    """Room volume implied by the mass balance over all readings, given the ventilation.

    Regresses ``dC/dt + λ (C - C_out)`` (ppm/s) on ``N`` through the origin; the slope is ``10^6 G / V``.
    """
    d = df.sort_values("timestamp")
    t = d["timestamp"].astype("int64").to_numpy() / 1e9
    c, n = d[co2].to_numpy(float), d[count].to_numpy(float)
    dt = np.diff(t)
    ok = (dt > 0) & (dt <= max_gap_s)
    lhs = np.diff(c)[ok] / dt[ok] + ach / 3600.0 * (0.5 * (c[1:] + c[:-1])[ok] - outdoor_ppm)
    x = 0.5 * (n[1:] + n[:-1])[ok]
    slope = float(np.dot(x, lhs) / np.dot(x, x))
    if slope <= 0:
        raise ValueError("occupancy does not raise CO2 in these data; cannot infer a volume")
    return 1e6 * per_person_m3_s / slope


@dataclass(frozen=True)
class VentilationFit:
    """Air changes per hour and effective volume of a room from its CO2 stream, with 95 % intervals.

    The interval of ``ach`` is a bootstrap over decay windows (evenings differ more than a single fit's
    error); ``volume_m3`` is the mass-balance volume at ``ach`` and its interval the volumes at the ends
    of the ``ach`` interval's bootstrap draws.
    """

    ach: float
    ach_lo: float
    ach_hi: float
    outdoor_ppm: float
    volume_m3: float
    volume_lo: float
    volume_hi: float
    windows: pd.DataFrame
    fixed_background: bool

    def summary(self) -> dict[str, float]:
        """Plain figures (for a manifest)."""
        return {"ach": self.ach, "ach_lo": self.ach_lo, "ach_hi": self.ach_hi, "outdoor_ppm": self.outdoor_ppm,
                "volume_m3": self.volume_m3, "volume_lo": self.volume_lo, "volume_hi": self.volume_hi,
                "windows": float(len(self.windows)), "r2_min": float(self.windows["r2"].min()),
                "fixed_background": float(self.fixed_background)}


def fit_ventilation(df: pd.DataFrame, *, outdoor_ppm: float | None = None, count: str = "count",
                    co2: str = "co2", per_person_m3_s: float = CO2_PER_PERSON_M3_S, n_boot: int = 2000,
                    seed: int = 0, **window_kw) -> VentilationFit:
    """Fit ventilation to a CO2 + head-count stream: decays after the room empties (:func:`estimate_ach`),
    the median over windows, bootstrap intervals, and the effective volume (:func:`effective_volume`).

    ``outdoor_ppm=None`` frees the background in every decay fit (its median is then used for the
    volume); with few, slow decays that is badly determined — compare both.
    """
    fits = estimate_ach(df, count=count, co2=co2, outdoor_ppm=outdoor_ppm, **window_kw)
    fits = fits[np.isfinite(fits["ach"]) & (fits["ach"] > 0)]
    if fits.empty:
        raise ValueError("no decay window (an empty room after occupancy, CO2 falling) to fit")
    rng = np.random.default_rng(seed)
    ach_all = fits["ach"].to_numpy()
    boot = np.median(ach_all[rng.integers(0, len(ach_all), (n_boot, len(ach_all)))], axis=1)
    ach = float(np.median(ach_all))
    lo, hi = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
    background = outdoor_ppm if outdoor_ppm is not None else float(np.median(fits["outdoor_ppm"]))
    vol = [effective_volume(df, a, background, count=count, co2=co2, per_person_m3_s=per_person_m3_s)
           for a in (ach, lo, hi)]
    return VentilationFit(ach, lo, hi, float(background), vol[0], min(vol[1:]), max(vol[1:]), fits,
                          outdoor_ppm is not None)


def window_sensitivity(df: pd.DataFrame, *, outdoor_ppm: float | None, lengths=(30, 60, 120, 240),
                       **kw) -> pd.DataFrame:
    """Fitted ventilation for each maximum decay-window length (minutes): how much the answer moves."""
    rows = []
    for length in lengths:
        try:
            f = fit_ventilation(df, outdoor_ppm=outdoor_ppm, max_minutes=length,
                                min_minutes=min(length, kw.pop("min_minutes", length)), **kw)
        except ValueError:
            continue
        rows.append({"max_minutes": length, **f.summary(), "ach_min": float(f.windows["ach"].min()),
                     "ach_max": float(f.windows["ach"].max()), "r2_max": float(f.windows["r2"].max())})
    return pd.DataFrame(rows)


__all__ = ["VentilationFit", "fit_ventilation", "window_sensitivity", "CO2_PER_PERSON_M3_S", "ACTIVITY_MET", "co2_generation_m3_s", "CO2Room", "CO2Sensor", "DecayFit", "fit_decay", "decay_windows", "estimate_ach",
           "effective_volume"]
