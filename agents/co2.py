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

#: CO2 generation of a seated adult, m³/s (≈ 0.0050 L/s; Persily & de Jonge 2017 give 0.0039–0.0057
#: for sedentary adults).
CO2_PER_PERSON_M3_S = 5.0e-6


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


__all__ = ["CO2_PER_PERSON_M3_S", "DecayFit", "fit_decay", "decay_windows", "estimate_ach",
           "effective_volume"]
