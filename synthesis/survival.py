"""Survival evaluation through lifelines and scikit-survival: C-index, time-dependent AUC, Kaplan–Meier, KM distances.

Kaplan–Meier and Harrell's C-index are lifelines' (``KaplanMeierFitter``, ``utils.concordance_index``);
the cumulative/dynamic time-dependent AUC with IPCW (Uno et al., 2007) is scikit-survival's
``metrics.cumulative_dynamic_auc``. This module only adapts inputs and adds KM sup distances with bootstrap
intervals for the fidelity checks. Every Kaplan–Meier figure is computed from the count table of distinct
``(time, event)`` (:func:`survival_counts`), so parts of a sample summarised on different workers give the
figures of the whole sample once their tables are added.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "concordance_index",
    "cumulative_dynamic_auc",
    "kaplan_meier",
    "kaplan_meier_counts",
    "kaplan_meier_table",
    "kaplan_meier_table_counts",
    "km_sup_by_stratum",
    "km_sup_distance",
    "km_sup_counts",
    "km_sup_interval",
    "km_sup_interval_counts",
    "merge_survival_counts",
    "survival_counts",
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


def survival_counts(time, event) -> pd.DataFrame:
    """The Kaplan–Meier sufficient statistic of a sample: patients per distinct ``(time, event)``.

    Returns:
        ``time`` (float64, ascending), ``event`` (0/1, int64), ``count`` (int64 > 0). Tables of parts of one
        sample add up (:func:`merge_survival_counts`); every estimate below depends on the rows only through
        this table.
    """
    t, e = _arrays(time, event)
    if len(t) == 0:
        return pd.DataFrame({"time": np.zeros(0), "event": np.zeros(0, np.int64), "count": np.zeros(0, np.int64)})
    table = pd.DataFrame({"time": t, "event": e}).groupby(["time", "event"], sort=True).size()
    return pd.DataFrame({"time": table.index.get_level_values(0).to_numpy(np.float64),
                         "event": table.index.get_level_values(1).to_numpy(np.int64),
                         "count": table.to_numpy(np.int64)})


def merge_survival_counts(tables) -> pd.DataFrame:
    """Sum :func:`survival_counts` tables of disjoint parts of one sample (rows with count 0 dropped)."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return survival_counts([], [])
    both = pd.concat(tables, ignore_index=True).groupby(["time", "event"], sort=True)["count"].sum()
    both = both[both > 0]
    return pd.DataFrame({"time": both.index.get_level_values(0).to_numpy(np.float64),
                         "event": both.index.get_level_values(1).to_numpy(np.int64),
                         "count": both.to_numpy(np.int64)})


def _fit_counts(counts: pd.DataFrame, alpha: float = 0.05):
    """lifelines' ``KaplanMeierFitter`` on a count table: integer ``weights`` give the same event table, estimate
    and Greenwood band as the individual rows (lifelines sums the weights per time, exactly as it counts rows)."""
    from lifelines import KaplanMeierFitter

    if len(counts) == 0 or int(counts["count"].sum()) == 0:
        raise ValueError("a Kaplan–Meier estimate needs at least one patient")
    c = counts[counts["count"] > 0]
    return KaplanMeierFitter(alpha=alpha).fit(c["time"].to_numpy(np.float64), c["event"].to_numpy(np.int64),
                                              weights=c["count"].to_numpy(np.int64))


def kaplan_meier_counts(counts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(times, survival)`` of :func:`kaplan_meier` from a :func:`survival_counts` table."""
    if len(counts) == 0 or int(counts["count"].sum()) == 0:
        raise ValueError("a Kaplan–Meier estimate needs at least one patient")
    times, surv, _ = _Cells(counts).curve()
    return times, surv


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier estimate (lifelines) at the distinct observed times.

    Returns:
        ``(times, survival)``: sorted distinct times and ``S`` just after each of them.
    """
    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier needs at least one patient")
    return kaplan_meier_counts(survival_counts(t, e))


def kaplan_meier_table_counts(counts: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`kaplan_meier_table` from a :func:`survival_counts` table (the same figures, to the bit)."""
    fit = _fit_counts(counts, alpha)
    ci = fit.confidence_interval_survival_function_
    table = fit.event_table
    return pd.DataFrame({"time": fit.survival_function_.index.to_numpy(float),
                         "survival": fit.survival_function_.iloc[:, 0].to_numpy(float),
                         "ci_low": ci.iloc[:, 0].to_numpy(float), "ci_high": ci.iloc[:, 1].to_numpy(float),
                         "at_risk": table["at_risk"].reindex(fit.survival_function_.index).to_numpy(np.int64)})


def kaplan_meier_table(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve with lifelines' pointwise (Greenwood, exponential) band and numbers at risk.

    Returns:
        ``time, survival, ci_low, ci_high, at_risk`` at 0 and every distinct observed time.
    """
    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier_table needs at least one patient")
    return kaplan_meier_table_counts(survival_counts(t, e), alpha=alpha)


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


class _Cells:
    """A count table as arrays for fast repeated estimates: rows sorted by time, one block per distinct time."""

    def __init__(self, counts: pd.DataFrame) -> None:
        c = counts.sort_values(["time", "event"], kind="stable")
        self.time = c["time"].to_numpy(np.float64)
        self.event = c["event"].to_numpy(np.int64)
        self.count = c["count"].to_numpy(np.int64)
        self.starts = np.flatnonzero(np.r_[True, np.diff(self.time) != 0]) if len(self.time) else np.zeros(0, int)

    def curve(self, count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times, survival, removed)`` at the distinct times with a patient (for ``count`` of the cells).

        Kaplan–Meier as lifelines computes it (``KaplanMeierFitter._additive_f`` and ``utils._additive_estimate``):
        ``S(t) = exp(Σ_{s ≤ t} [log(n_s − d_s) − log(n_s)])`` with ``n_s`` at risk (int64) and ``d_s`` events,
        the same operations in the same order, hence the same floats.
        """
        c = self.count if count is None else count
        removed = np.add.reduceat(c, self.starts)
        deaths = np.add.reduceat(c * self.event, self.starts)
        times = self.time[self.starts]
        keep = removed > 0
        times, removed, deaths = times[keep], removed[keep], deaths[keep]
        at_risk = int(removed.sum()) - np.concatenate([[0], np.cumsum(removed)[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s = np.cumsum(np.log(at_risk - deaths) - np.log(at_risk))
        return times, np.exp(log_s), removed


def _last_well_estimated(times: np.ndarray, removed: np.ndarray, share: float) -> float:
    """The latest time at which at least ``share`` of the group (and at least one patient) is still at risk."""
    n = int(removed.sum())
    if n == 0:
        return 0.0
    k = max(1, int(np.ceil(share * n)))  # at risk at t: patients with time >= t; the (n-k)-th order statistic
    return float(times[np.searchsorted(np.cumsum(removed), n - k, side="right")])


def _sup(a: tuple, b: tuple, horizon: float | None, share: float) -> float:
    (ta, sa, ra), (tb, sb, rb) = a, b
    if not len(ta) or not len(tb):
        raise ValueError("a Kaplan–Meier estimate needs at least one patient")
    end = min(ta[-1], tb[-1], np.inf if horizon is None else float(horizon),
              _last_well_estimated(ta, ra, share), _last_well_estimated(tb, rb, share))
    grid = np.union1d(ta, tb)
    grid = np.concatenate([[0.0], grid[grid <= end]])
    return float(np.max(np.abs(_step(ta, sa, grid) - _step(tb, sb, grid))))


def km_sup_counts(counts_a: pd.DataFrame, counts_b: pd.DataFrame, *, horizon: float | None = None,
                  min_at_risk_share: float = MIN_AT_RISK_SHARE) -> float:
    """:func:`km_sup_distance` of two samples given as :func:`survival_counts` tables."""
    return _sup(_Cells(counts_a).curve(), _Cells(counts_b).curve(), horizon, min_at_risk_share)


def km_sup_distance(time_a, event_a, time_b, event_b, *, horizon: float | None = None,
                    min_at_risk_share: float = MIN_AT_RISK_SHARE) -> float:
    """Sup-distance ``max_t |S_a(t) − S_b(t)|`` between two Kaplan–Meier curves.

    Taken over the observed times up to the earliest of: either curve's last time (a KM curve is undefined
    past it), ``horizon``, and the last time at which ``min_at_risk_share`` of each group is still at risk.
    Past that the curve moves by whole steps per event (with 3 at risk, one event drops it by a third), so
    the tail would decide the distance by noise; survival curves are not read where few remain at risk
    (Pocock, Clayton & Altman, Lancet 2002;359:1686–89). ``min_at_risk_share=0`` compares the whole curves.
    """
    return km_sup_counts(survival_counts(time_a, event_a), survival_counts(time_b, event_b), horizon=horizon,
                         min_at_risk_share=min_at_risk_share)


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


def km_sup_interval_counts(counts_a: pd.DataFrame, counts_b: pd.DataFrame, *, n_boot: int = 200,
                           alpha: float = 0.05, seed: int = 0, horizon: float | None = None) -> dict:
    """KM sup distance of two count tables with an ordinary bootstrap percentile interval.

    Each resample draws the counts of every ``(time, event)`` cell of each table from a multinomial with
    the table's own total and cell shares: the cell counts of ``n`` rows drawn with replacement from a
    sample are exactly Multinomial(n, counts / n) (Efron & Tibshirani 1993, ch. 6), so this is the row
    bootstrap in distribution, drawn without the rows (a different stream of draws than resampling
    row indices).
    """
    na, nb = int(counts_a["count"].sum()), int(counts_b["count"].sum())
    gen = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x4B4D,)))
    ca, cb = _Cells(counts_a), _Cells(counts_b)
    pa, pb = ca.count / max(na, 1), cb.count / max(nb, 1)
    stats = []
    for _ in range(int(n_boot)):
        stats.append(_sup(ca.curve(gen.multinomial(na, pa)), cb.curve(gen.multinomial(nb, pb)), horizon,
                          MIN_AT_RISK_SHARE))
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2]) if stats else (np.nan, np.nan)
    return {"sup": km_sup_counts(counts_a, counts_b, horizon=horizon), "ci_low": float(lo), "ci_high": float(hi),
            "n_real": na, "n_twins": nb}


def km_sup_interval(time_a, event_a, time_b, event_b, *, n_boot: int = 200, alpha: float = 0.05,
                    seed: int = 0, horizon: float | None = None) -> dict:
    """KM sup distance with an ordinary bootstrap interval (both samples resampled with replacement),
    through :func:`km_sup_interval_counts`."""
    return km_sup_interval_counts(survival_counts(time_a, event_a), survival_counts(time_b, event_b),
                                  n_boot=n_boot, alpha=alpha, seed=seed, horizon=horizon)
