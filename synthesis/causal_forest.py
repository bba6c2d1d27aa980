"""EconML's causal forest for survival at a horizon (extra ``causal``), beside the twin method.

Censored survival is turned into a horizon outcome with inverse-probability-of-censoring
weights; see :func:`forest_effects`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .counterfactual import _design, _scopes


def ipcw_outcome(design: pd.DataFrame, time, event, horizon: float,
                 fit_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Survival past ``horizon`` (1/0) and inverse-probability-of-censoring weights.

    Censoring (loss, study cutoff, death from other causes) is modelled by a Cox model on the
    features (lifelines); ``w_i = 1 / Ĝ(min(T_i, h)− | x_i)`` for patients whose status at ``h``
    is known, 0 for those censored before ``h`` (Robins & Rotnitzky 1992; Bang & Tsiatis,
    Biometrika 2000;87:329-43). Weights are capped at 20.
    """
    from lifelines import CoxPHFitter

    t, e = np.asarray(time, float), np.asarray(event, float)
    fit = np.ones(len(t), bool) if fit_rows is None else np.asarray(fit_rows, bool)
    cens = design[fit].assign(__T=t[fit] + 1e-3, __E=1.0 - e[fit])
    cph = CoxPHFitter(penalizer=0.01).fit(cens, duration_col="__T", event_col="__E")
    base = cph.baseline_cumulative_hazard_.iloc[:, 0]
    at = np.minimum(t, horizon) - 1e-6
    pos = np.searchsorted(base.index.to_numpy(), at, side="right") - 1
    h0 = np.where(pos >= 0, base.to_numpy()[np.maximum(pos, 0)], 0.0)
    lp = (design.to_numpy() - cph._norm_mean.to_numpy()) @ cph.params_.to_numpy()
    g = np.exp(-h0 * np.exp(lp))
    known = (t >= horizon) | (e == 1)
    y = (t >= horizon).astype(float)
    return y, np.where(known, np.minimum(1.0 / np.maximum(g, 1e-9), 20.0), 0.0)


def forest_effects(features: pd.DataFrame, time, event, treated, horizon: float, *, numeric: Sequence[str],
                   categorical: Sequence[str], fit_rows: np.ndarray | None = None, query: np.ndarray | None = None,
                   n_estimators: int = 200, seed: int = 0) -> pd.DataFrame:
    """EconML ``CausalForestDML`` (Athey, Tibshirani & Wager, Ann Stat 2019) on survival past
    ``horizon`` with IPCW weights: per-patient effect S_Yes − S_No and its 95 % interval.

    Needs ``pip install 'syntwin[causal]'``. Returns ``effect, effect_lo, effect_hi`` for the
    ``query`` rows and the average effect per query in ``attrs["ate"]`` (with its interval).
    """
    try:
        from econml.dml import CausalForestDML
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("the causal forest needs EconML: pip install 'syntwin[causal]'") from exc
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    d = _design(features, numeric, categorical)
    fit = np.ones(len(d), bool) if fit_rows is None else np.asarray(fit_rows, bool)
    y, w = ipcw_outcome(d, time, event, horizon, fit_rows=fit)
    use = fit & (w > 0)
    est = CausalForestDML(model_y=HistGradientBoostingRegressor(max_iter=150, random_state=seed),
                          model_t=HistGradientBoostingClassifier(max_iter=150, random_state=seed),
                          discrete_treatment=True, n_estimators=n_estimators, min_samples_leaf=20,
                          cv=3, random_state=seed)
    est.fit(y[use], np.asarray(treated, int)[use], X=d.to_numpy()[use], sample_weight=w[use])
    rows = np.arange(len(d)) if query is None else np.asarray(query)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    xq = d.to_numpy()[rows]
    lo, hi = est.effect_interval(xq, alpha=0.05)
    frame = pd.DataFrame({"effect": est.effect(xq), "effect_lo": lo, "effect_hi": hi})
    frame.attrs["estimator"], frame.attrs["x_query"] = est, xq
    return frame


def forest_average_effects(frame: pd.DataFrame, groups: np.ndarray | None = None) -> pd.DataFrame:
    """Average effect (all, per group) of a :func:`forest_effects` fit with EconML's ``ate_interval``."""
    est, xq = frame.attrs["estimator"], frame.attrs["x_query"]
    rows = []
    for name, mask in _scopes(len(frame), groups):
        lo, hi = est.ate_interval(xq[mask], alpha=0.05)
        rows.append({"scope": name, "n": int(mask.sum()), "effect": float(frame["effect"][mask].mean()),
                     "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


__all__ = ["ipcw_outcome", "forest_effects", "forest_average_effects"]
