"""Survival evaluation: Harrell's C-index, time-dependent AUC, Kaplan–Meier and KM distances.

Plain numpy (no scikit-survival); checked in the tests against lifelines and hand cases.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "concordance_index",
    "cumulative_dynamic_auc",
    "kaplan_meier",
    "km_sup_by_stratum",
    "km_sup_distance",
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


def concordance_index(time, event, risk, *, chunk: int = 2048) -> float:
    """Harrell's C-index of a risk score (higher risk = earlier event).

    A pair ``(i, j)`` is comparable when ``i`` had the event and ``t_i < t_j``, or ``t_i = t_j`` and
    ``j`` was censored; it is concordant when ``risk_i > risk_j`` and counts 1/2 on a tie in risk
    (Harrell et al., 1982; the same convention as ``lifelines.utils.concordance_index`` with
    ``predicted_scores = -risk``). Exact pairwise count in chunks: O(n_events · n) time.
    """
    t, e, r = _arrays(time, event, risk)
    ev = np.flatnonzero(e == 1)
    num = den = 0.0
    for a in range(0, len(ev), chunk):
        i = ev[a:a + chunk]
        ti, ri = t[i, None], r[i, None]
        comparable = (t[None, :] > ti) | ((t[None, :] == ti) & (e[None, :] == 0))
        num += float(((r[None, :] < ri) & comparable).sum() + 0.5 * ((r[None, :] == ri) & comparable).sum())
        den += float(comparable.sum())
    return num / den if den else float("nan")


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier estimate: ``S(t) = ∏_{t_k ≤ t} (1 − d_k / n_k)`` at the distinct observed times.

    Returns:
        ``(times, survival)``: sorted distinct times and ``S`` just after each of them.
    """
    t, e = _arrays(time, event)
    times, inv = np.unique(t, return_inverse=True)
    deaths = np.bincount(inv, weights=e, minlength=len(times))
    leaving = np.bincount(inv, minlength=len(times))
    at_risk = len(t) - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    return times, np.cumprod(1.0 - deaths / at_risk)


def _step(times: np.ndarray, surv: np.ndarray, at: np.ndarray, *, left: bool = False) -> np.ndarray:
    """Evaluate a right-continuous KM step function (or its left limit) at ``at``."""
    idx = np.searchsorted(times, at, side="left" if left else "right") - 1
    return np.where(idx >= 0, surv[np.clip(idx, 0, None)], 1.0)


def cumulative_dynamic_auc(time, event, risk, horizons: Sequence[float], *, censor_time=None,
                           censor_event=None) -> np.ndarray:
    """Cumulative/dynamic time-dependent AUC at each horizon, with IPCW (Uno et al., 2007).

    .. math::
        \\mathrm{AUC}(h) = \\frac{\\sum_i \\sum_j w_i\\,1(t_i \\le h, \\delta_i = 1)\\,1(t_j > h)
        \\,[1(r_i > r_j) + \\tfrac12 1(r_i = r_j)]}
        {\\sum_i w_i\\,1(t_i \\le h, \\delta_i = 1)\\;\\#\\{j: t_j > h\\}},
        \\qquad w_i = 1 / \\hat G(t_i^-)

    with ``Ĝ`` the Kaplan–Meier estimate of the censoring distribution, from ``censor_time``/
    ``censor_event`` (e.g. the training split) or else from the evaluated patients. Without censoring
    before ``h`` this is the plain AUROC of "event by h" against "alive after h".

    Returns:
        AUC per horizon (NaN where cases or controls are absent).
    """
    t, e, r = _arrays(time, event, risk)
    ct = t if censor_time is None else np.asarray(censor_time, dtype=np.float64)
    ce = e if censor_event is None else np.asarray(censor_event).astype(np.int64)
    g_times, g_surv = kaplan_meier(ct, 1 - ce)
    out = []
    for h in np.asarray(horizons, dtype=np.float64):
        case = (t <= h) & (e == 1)
        ctrl = np.sort(r[t > h])
        if not case.any() or len(ctrl) == 0:
            out.append(np.nan)
            continue
        g = _step(g_times, g_surv, t[case], left=True)
        w = 1.0 / np.clip(g, 1e-12, None)
        below = np.searchsorted(ctrl, r[case], side="left")
        ties = np.searchsorted(ctrl, r[case], side="right") - below
        out.append(float((w * (below + 0.5 * ties)).sum() / (w.sum() * len(ctrl))))
    return np.asarray(out)


def km_sup_distance(time_a, event_a, time_b, event_b, *, horizon: float | None = None) -> float:
    """Sup-distance ``max_t |S_a(t) − S_b(t)|`` between two Kaplan–Meier curves.

    Taken over all observed times up to the shorter of the two follow-ups (a KM curve is undefined
    past its last time), or up to ``horizon`` if smaller.
    """
    ta, sa = kaplan_meier(time_a, event_a)
    tb, sb = kaplan_meier(time_b, event_b)
    end = min(ta[-1], tb[-1], np.inf if horizon is None else float(horizon))
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
