"""Survival evaluation through lifelines and scikit-survival: C-index, time-dependent AUC, Kaplan–Meier, KM distances.

Kaplan–Meier and Harrell's C-index are lifelines' (``KaplanMeierFitter``, ``utils.concordance_index``);
the cumulative/dynamic time-dependent AUC with IPCW (Uno et al., 2007) is scikit-survival's
``metrics.cumulative_dynamic_auc``. This module only adapts inputs and adds KM sup distances with bootstrap
intervals for the fidelity checks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "concordance_index",
    "cumulative_dynamic_auc",
    "kaplan_meier",
    "kaplan_meier_table",
    "km_sup_by_stratum",
    "km_sup_distance",
    "km_sup_interval",
]


def _arrays(time, event, *others) -> tuple[np.ndarray, ...]:
    t = np.asarray(time, dtype=np.float64).ravel()
    e = np.asarray(event).astype(np.int64).ravel()
    if t.shape != e.shape or any(np.asarray(o).ravel().shape != t.shape for o in others):
        raise ValueError("time, event and scores must have one length")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("event must hold only 0/1")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("time must be >= 0 without missing values")
    return (t, e, *(np.asarray(o, dtype=np.float64).ravel() for o in others))


def concordance_index(time, event, risk) -> float:
    """Harrell's C-index of a risk score (higher risk = earlier event), lifelines' implementation."""
    from lifelines.utils import concordance_index as lifelines_cindex

    t, e, r = _arrays(time, event, risk)
    if not e.any():
        return float("nan")
    return float(lifelines_cindex(t, -r, e))


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier estimate (lifelines) at the distinct observed times.

    Returns:
        ``(times, survival)``: sorted distinct times and ``S`` just after each of them.
    """
    from lifelines import KaplanMeierFitter

    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier needs at least one patient")
    fit = KaplanMeierFitter().fit(t, e)
    sf = fit.survival_function_.iloc[:, 0]
    times = np.unique(t)
    return times, sf.loc[times].to_numpy(np.float64)


def kaplan_meier_table(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve with lifelines' pointwise (Greenwood, exponential) band and numbers at risk.

    Returns:
        ``time, survival, ci_low, ci_high, at_risk`` at 0 and every distinct observed time.
    """
    from lifelines import KaplanMeierFitter

    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier_table needs at least one patient")
    fit = KaplanMeierFitter(alpha=alpha).fit(t, e)
    ci = fit.confidence_interval_survival_function_
    table = fit.event_table
    return pd.DataFrame({"time": fit.survival_function_.index.to_numpy(float),
                         "survival": fit.survival_function_.iloc[:, 0].to_numpy(float),
                         "ci_low": ci.iloc[:, 0].to_numpy(float), "ci_high": ci.iloc[:, 1].to_numpy(float),
                         "at_risk": table["at_risk"].reindex(fit.survival_function_.index).to_numpy(np.int64)})


def _step(times: np.ndarray, surv: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Evaluate a right-continuous KM step function at ``at``."""
    idx = np.searchsorted(times, at, side="right") - 1
    return np.where(idx >= 0, surv[np.clip(idx, 0, None)], 1.0)


def cumulative_dynamic_auc(time, event, risk, horizons: Sequence[float], *, censor_time=None,
                           censor_event=None) -> np.ndarray:
    """Cumulative/dynamic AUC at each horizon with IPCW (Uno et al., 2007): ``sksurv.metrics.cumulative_dynamic_auc``.

    The censoring distribution is estimated from ``censor_time``/``censor_event`` (e.g. the training split),
    else from the evaluated patients. Evaluated times beyond the censoring data's follow-up are clipped to it
    (scikit-survival needs ``Ĝ > 0``). NaN at a horizon without cases or controls.
    """
    from sksurv.metrics import cumulative_dynamic_auc as sksurv_auc
    from sksurv.util import Surv

    t, e, r = _arrays(time, event, risk)
    ct = t if censor_time is None else np.asarray(censor_time, dtype=np.float64)
    ce = e if censor_event is None else np.asarray(censor_event).astype(np.int64)
    train = Surv.from_arrays(ce.astype(bool), ct)
    limit = ct[ce == 0].max() if (ce == 0).any() else ct.max()
    test_t = np.minimum(t, np.nextafter(limit, -np.inf) if (t >= limit).any() and (ce == 0).any() else t)
    test = Surv.from_arrays(e.astype(bool), test_t)
    out = []
    for h in np.asarray(horizons, dtype=np.float64):
        if not (((test_t <= h) & (e == 1)).any() and (test_t > h).any()):
            out.append(np.nan)
            continue
        try:
            out.append(float(sksurv_auc(train, test, r, [h])[0][0]))
        except ValueError:
            out.append(np.nan)
    return np.asarray(out)


#: KM curves are compared where at least this share of each group is still at risk (see km_sup_distance).
MIN_AT_RISK_SHARE = 0.05


def _last_well_estimated(t: np.ndarray, share: float) -> float:
    """The latest time at which at least ``share`` of the group (and at least one patient) is still at risk."""
    t = np.sort(np.asarray(t, dtype=np.float64))
    k = max(1, int(np.ceil(share * len(t))))  # at risk at t: patients with time >= t
    return float(t[len(t) - k]) if len(t) else 0.0


def km_sup_distance(time_a, event_a, time_b, event_b, *, horizon: float | None = None,
                    min_at_risk_share: float = MIN_AT_RISK_SHARE) -> float:
    """Sup-distance ``max_t |S_a(t) − S_b(t)|`` between two Kaplan–Meier curves.

    Taken over the observed times up to the earliest of: either curve's last time (a KM curve is undefined
    past it), ``horizon``, and the last time at which ``min_at_risk_share`` of each group is still at risk.
    Past that the curve moves by whole steps per event (with 3 at risk, one event drops it by a third), so
    the tail would decide the distance by noise; survival curves are not read where few remain at risk
    (Pocock, Clayton & Altman, Lancet 2002;359:1686–89). ``min_at_risk_share=0`` compares the whole curves.
    """
    ta, sa = kaplan_meier(time_a, event_a)
    tb, sb = kaplan_meier(time_b, event_b)
    end = min(ta[-1], tb[-1], np.inf if horizon is None else float(horizon),
              _last_well_estimated(time_a, min_at_risk_share), _last_well_estimated(time_b, min_at_risk_share))
    grid = np.union1d(ta, tb)
    grid = np.concatenate([[0.0], grid[grid <= end]])
    return float(np.max(np.abs(_step(ta, sa, grid) - _step(tb, sb, grid))))


def km_sup_by_stratum(real: pd.DataFrame, synthetic: pd.DataFrame, *, time: str, event: str,
                      by: str | None = None, min_size: int = 20,
                      horizon: float | None = None) -> dict[Hashable, float]:
    """KM sup-distance between real and synthetic patients, overall and per stratum of ``by``.

    Strata with fewer than ``min_size`` patients on either side are left out.

    Returns:
        ``{"all": d, <stratum>: d, ..., "max": worst stratum}`` (``"max"`` only when ``by`` is given).
    """
    res: dict[Hashable, float] = {
        "all": km_sup_distance(real[time], real[event], synthetic[time], synthetic[event], horizon=horizon)
    }
    if by is None:
        return res
    strata = []
    for key, part in real.groupby(by, observed=True, sort=True):
        syn = synthetic[synthetic[by] == key]
        if len(part) >= min_size and len(syn) >= min_size:
            res[key] = km_sup_distance(part[time], part[event], syn[time], syn[event], horizon=horizon)
            strata.append(res[key])
    res["max"] = float(max(strata)) if strata else float("nan")
    return res


def km_sup_interval(time_a, event_a, time_b, event_b, *, n_boot: int = 200, alpha: float = 0.05,
                    seed: int = 0, horizon: float | None = None) -> dict:
    """KM sup distance with an ordinary bootstrap interval (both samples resampled with replacement)."""
    ta, ea = np.asarray(time_a, float), np.asarray(event_a, int)
    tb, eb = np.asarray(time_b, float), np.asarray(event_b, int)
    gen = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x4B4D,)))
    stats = []
    for _ in range(int(n_boot)):
        i, j = gen.integers(0, len(ta), len(ta)), gen.integers(0, len(tb), len(tb))
        stats.append(km_sup_distance(ta[i], ea[i], tb[j], eb[j], horizon=horizon))
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2]) if stats else (np.nan, np.nan)
    return {"sup": km_sup_distance(ta, ea, tb, eb, horizon=horizon), "ci_low": float(lo), "ci_high": float(hi),
            "n_real": int(len(ta)), "n_twins": int(len(tb))}
