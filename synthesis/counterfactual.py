"""Counterfactual twins: each patient's survival under each treatment option, with intervals.

A library: plain arrays and frames in, effect tables out (no scenario, no CLI).

**Twin method (matching in the Gower space of the similarity graph).** For a query patient
``i`` with encoded features ``x_i`` (every feature but the treatment), its ``k`` nearest
reference patients who received option ``a`` (L1 on :class:`~graphs.encode.MixedEncoder`
vectors, i.e. Gower distance) form its twins under ``a``. Their Kaplan–Meier estimate at the
horizon ``h`` is ``Ŝ_a(h | x_i)``; the individual effect is ``Ŝ_Yes − Ŝ_No``.
Intervals: Wilson score intervals for each survival with the Kaplan–Meier effective sample
size ``n* = S(1−S) / Var_Greenwood`` (Dorey & Korn, Stat Med 1987;6:679-87; ``n*`` = number
at risk at ``h`` when no event occurred), and Newcombe's hybrid score interval for their
difference (Newcombe, Stat Med 1998;17:873-90, method 10). Averages (all patients, per
subgroup) get a Poisson bootstrap over the *reference* patients with the matches held fixed,
so a twin used by many queries counts once per replicate (matching variability is not resampled).

**Library estimator.** :func:`cox_interaction_effects`: a lifelines Cox model with the
treatment and treatment × modifier interactions (baseline stratified by ``strata``);
intervals by drawing coefficients from their asymptotic normal law (King, Tomz & Wittenberg,
AJPS 2000). :func:`synthesis.causal_forest.forest_effects`: EconML's ``CausalForestDML`` on the horizon outcome with
inverse-probability-of-censoring weights (extra ``causal``).

**Assumption** (:data:`ASSUMPTION`): no unmeasured confounding given the features, positivity
(both options occur among similar patients), and censoring independent of the outcome given the
features. None of these is testable from the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from syntwin.graphs.knn import nearest

ASSUMPTION = ("Causal reading requires: no unmeasured confounding given the features (every common cause of "
              "treatment and outcome is among them), positivity (similar patients received each option) and "
              "censoring independent of the outcome given the features. None is testable from these data.")
Z95 = float(norm.ppf(0.975))


# --------------------------------------------------------------------------- Kaplan–Meier of neighbour sets
def km_rows(time: np.ndarray, event: np.ndarray, horizon: float,
            weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier at ``horizon`` of each row of ``time``/``event`` (m, k), optionally weighted.

    Sequential product over the row's events sorted by time (events before censorings at ties),
    which equals ``Π (1 − d_j / n_j)``. Returns ``(S, Greenwood variance, weight at risk at h)``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(t + 1e-9 * (1.0 - e), axis=1, kind="stable")
    t, e, w = (np.take_along_axis(a, order, axis=1) for a in (t, e, w))
    at_risk = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
    d = w * e * (t <= horizon)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(d > 0, d / at_risk, 0.0)
        surv = np.prod(1.0 - frac, axis=1)
        gw = np.where(d > 0, d / (at_risk * np.maximum(at_risk - d, 1e-12)), 0.0).sum(axis=1)
    left = np.where(t > horizon, w, 0.0).sum(axis=1)
    return surv, surv ** 2 * gw, left


def wilson(p: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``p`` from (effective) sample size ``n``."""
    n = np.maximum(np.asarray(n, dtype=float), 1e-9)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(np.maximum(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def effective_n(surv: np.ndarray, var: np.ndarray, at_risk: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Dorey–Korn effective sample size ``S(1−S)/Var``; at risk at h (at least 1) when Var is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(var > 0, surv * (1 - surv) / var, np.maximum(at_risk, 1.0))
    return np.clip(n_eff, 1.0, size)


def newcombe(p1, l1, u1, p0, l0, u0) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval of ``p1 − p0`` from the two Wilson intervals."""
    lo = p1 - p0 - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = p1 - p0 + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return lo, hi


def _scopes(n: int, groups: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """("all", every row) and (value, rows of that value) for each value of ``groups``."""
    out = [("all", np.ones(n, bool))]
    if groups is not None:
        groups = np.asarray(groups)
        out += [(f"{g}", groups == g) for g in sorted(pd.unique(groups), key=str)]
    return out


# --------------------------------------------------------------------------- the twin method
def _check_inputs(x_ref, time, event, treated, x_query):
    x_ref = np.ascontiguousarray(x_ref, dtype=np.float32)
    x_query = np.ascontiguousarray(x_query, dtype=np.float32)
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    treated = np.asarray(treated)
    n = len(x_ref)
    if not (len(time) == len(event) == len(treated) == n):
        raise ValueError("x_ref, time, event and treated need one row per reference patient")
    if x_query.shape[1] != x_ref.shape[1]:
        raise ValueError(f"x_query has {x_query.shape[1]} columns, x_ref {x_ref.shape[1]}")
    if not set(np.unique(treated)) <= {0, 1}:
        raise ValueError("treated must be 0/1 (1 = the treated option)")
    return x_ref, time, event, treated.astype(int), x_query


def nearest_in_pool(x_ref: np.ndarray, pool: np.ndarray, x_query: np.ndarray, k: int, *,
                    exact_ref: np.ndarray | None = None, exact_query: np.ndarray | None = None,
                    query_ids: np.ndarray | None = None, seed: int = 0, client=None) -> np.ndarray:
    """Indices into ``x_ref`` of each query's ``k`` nearest rows among ``pool`` (boolean mask).

    ``exact_ref``/``exact_query``: a key (e.g. stage) the neighbours must share with the query
    (exact matching on it, nearest neighbours within it). ``query_ids`` (reference row of each
    query, or -1) removes a query from its own neighbours.
    """
    m = len(x_query)
    if exact_ref is None:
        exact_ref, exact_query = np.zeros(len(x_ref), int), np.zeros(m, int)
    exact_ref, exact_query = np.asarray(exact_ref), np.asarray(exact_query)
    own_ids = np.full(m, -1) if query_ids is None else np.asarray(query_ids)
    out = np.empty((m, k), np.int64)
    for key in pd.unique(exact_query):
        rows = np.flatnonzero(exact_query == key)
        cand = np.flatnonzero(np.asarray(pool, bool) & (exact_ref == key))
        if len(cand) < k + 1:
            raise ValueError(f"only {len(cand)} reference patients{'' if key == 0 else f' with key {key!r}'} "
                             f"in the pool; need more than k = {k} (lower k, or drop the exact key)")
        idx, _ = nearest(x_ref[cand], x_query[rows], k + 1, metric="l1", seed=seed, client=client)
        idx = cand[idx]
        own = idx == own_ids[rows][:, None]
        keep = np.argsort(own, axis=1, kind="stable")[:, :k]  # drop self if present, else the (k+1)th
        out[rows] = np.take_along_axis(idx, keep, axis=1)
    return out


def match_twins(x_ref: np.ndarray, treated: np.ndarray, x_query: np.ndarray, k: int, **kw) -> dict[int, np.ndarray]:
    """Each query's ``k`` twins per option (0, 1): :func:`nearest_in_pool` within each arm."""
    out = {}
    for option in (0, 1):
        try:
            out[option] = nearest_in_pool(x_ref, treated == option, x_query, k, **kw)
        except ValueError as exc:
            raise ValueError(f"option {option}: {exc}") from None
    return out


def twin_effects(x_ref: np.ndarray, time, event, treated, x_query: np.ndarray, horizon: float, *,
                 k: int = 50, exact_ref: np.ndarray | None = None, exact_query: np.ndarray | None = None,
                 query_ids: np.ndarray | None = None, outcome_ref: dict | None = None,
                 outcome_query: dict | None = None, seed: int = 0, client=None) -> pd.DataFrame:
    """Per query patient: survival at ``horizon`` under each option from its twins, with 95 % intervals.

    ``outcome_ref``/``outcome_query`` (option 0/1 -> predicted S(h) of an outcome model, e.g.
    :func:`cox_interaction_effects`' ``surv_No``/``surv_Yes``) turn on the bias correction of
    matching estimators (Abadie & Imbens, J Bus Econ Stat 2011;29:1-11):
    ``Ŝ_a(x_i) = KM(twins) + μ̂_a(x_i) − mean_{j ∈ twins} μ̂_a(x_j)``, which removes what the twins
    still differ from the patient in the model's eyes; the interval is shifted with the estimate.

    Returns columns ``surv_No, surv_No_lo, surv_No_hi, surv_Yes, …, effect, effect_lo, effect_hi``
    (effect = S_Yes − S_No) and the twins' distance-free index arrays in ``.attrs["twins"]``.
    """
    x_ref, time, event, treated, x_query = _check_inputs(x_ref, time, event, treated, x_query)
    twins = match_twins(x_ref, treated, x_query, k, exact_ref=exact_ref, exact_query=exact_query,
                        query_ids=query_ids, seed=seed, client=client)
    out: dict[str, np.ndarray] = {}
    shifts = {0: np.zeros(len(x_query)), 1: np.zeros(len(x_query))}
    for option, name in ((0, "No"), (1, "Yes")):
        idx = twins[option]
        s, var, left = km_rows(time[idx], event[idx], horizon)
        lo, hi = wilson(s, effective_n(s, var, left, np.full(len(s), float(k))))
        if outcome_ref is not None:
            shifts[option] = np.asarray(outcome_query[option]) - np.asarray(outcome_ref[option])[idx].mean(axis=1)
            s, lo, hi = (np.clip(v + shifts[option], 0.0, 1.0) for v in (s, lo, hi))
        out.update({f"surv_{name}": s, f"surv_{name}_lo": lo, f"surv_{name}_hi": hi})
    out["effect"] = out["surv_Yes"] - out["surv_No"]
    out["effect_lo"], out["effect_hi"] = newcombe(out["surv_Yes"], out["surv_Yes_lo"], out["surv_Yes_hi"],
                                                  out["surv_No"], out["surv_No_lo"], out["surv_No_hi"])
    frame = pd.DataFrame(out)
    frame.attrs["twins"], frame.attrs["shifts"] = twins, shifts
    return frame


def twin_average_effects(frame: pd.DataFrame, time, event, horizon: float, groups: np.ndarray | None = None, *,
                         n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Average effect (all queries, and per value of ``groups``) with a Poisson bootstrap interval.

    Each bootstrap replicate gives every reference patient one Poisson(1) weight (shared by all
    queries that use it as a twin) and every query one Poisson(1) weight; the twins' weighted
    Kaplan–Meier estimates are recomputed. Returns rows ``scope, n, effect, lo, hi``.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    twins = frame.attrs["twins"]
    rng = np.random.default_rng(seed)
    n_ref = len(time)
    scopes = _scopes(len(frame), groups)
    reps = np.empty((n_boot, len(scopes)))
    for b in range(n_boot):
        w_ref = rng.poisson(1.0, n_ref).astype(float)
        w_q = rng.poisson(1.0, len(frame)).astype(float)
        est = []
        for option in (0, 1):
            idx = twins[option]
            s, _, _ = km_rows(time[idx], event[idx], horizon, weights=w_ref[idx])
            est.append(np.clip(s + frame.attrs["shifts"][option], 0.0, 1.0))
        eff = est[1] - est[0]
        for j, (_, mask) in enumerate(scopes):
            w = w_q[mask]
            reps[b, j] = np.sum(w * eff[mask]) / max(w.sum(), 1e-12)
    rows = []
    for j, (name, mask) in enumerate(scopes):
        lo, hi = np.nanquantile(reps[:, j], [0.025, 0.975])
        rows.append({"scope": name, "n": int(mask.sum()), "effect": float(frame["effect"][mask].mean()),
                     "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


def naive_difference(time, event, treated, horizon: float, groups: np.ndarray | None = None) -> pd.DataFrame:
    """Kaplan–Meier at ``horizon`` of the treated minus the untreated (confounded), Greenwood intervals."""
    time, event, treated = np.asarray(time, float), np.asarray(event, float), np.asarray(treated, int)
    scopes = _scopes(len(time), groups)
    rows = []
    for name, mask in scopes:
        est = []
        for option in (0, 1):
            sel = mask & (treated == option)
            s, var, _ = km_rows(time[sel][None, :], event[sel][None, :], horizon) if sel.any() else (
                np.array([np.nan]), np.array([np.nan]), None)
            est.append((float(s[0]), float(var[0])))
        eff = est[1][0] - est[0][0]
        se = np.sqrt(est[1][1] + est[0][1])
        rows.append({"scope": name, "n": int(mask.sum()), "effect": eff, "lo": eff - Z95 * se, "hi": eff + Z95 * se})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- library estimators
def _design(features: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """Numeric columns standardised, others one-hot (first level dropped), float64."""
    parts = []
    for c in numeric:
        v = features[c].astype(float)
        parts.append(((v - v.mean()) / (v.std() or 1.0)).rename(c))
    if categorical:
        parts.append(pd.get_dummies(features[list(categorical)].astype(str), drop_first=True, dtype=float))
    d = pd.concat(parts, axis=1)
    return d.loc[:, d.std() > 0]


def cox_interaction_effects(features: pd.DataFrame, time, event, treated, horizon: float, *,
                            numeric: Sequence[str], categorical: Sequence[str], modifiers: Sequence[str] = (),
                            strata: str | None = None, query: np.ndarray | None = None, n_draws: int = 200,
                            fit_rows: np.ndarray | None = None, penalizer: float = 0.001,
                            seed: int = 0) -> pd.DataFrame:
    """Cox model ``h(t | x, a) = h_{0,s}(t) exp(β'x + a (γ + δ' m(x)))`` (lifelines), per patient.

    ``modifiers`` are the feature columns interacting with the treatment; ``strata`` gets its
    own baseline hazard. ``fit_rows`` (boolean) selects the patients the model is fitted on
    (default all); ``query`` (boolean or index) the patients to predict (default all). Returns the same columns as :func:`twin_effects`; per-patient intervals from
    ``n_draws`` coefficient draws ~ N(β̂, Σ̂) with the baseline hazard held at its estimate.
    """
    from lifelines import CoxPHFitter

    d = _design(features, [c for c in numeric if c != strata], [c for c in categorical if c != strata])
    mod = _design(features, [c for c in numeric if c in modifiers], [c for c in categorical if c in modifiers])
    a = np.asarray(treated, dtype=float)
    X = d.copy()
    X["__treated"] = a
    for c in mod.columns:
        X[f"__treated:{c}"] = a * mod[c].to_numpy()
    fit_df = X.assign(__T=np.asarray(time, float) + 1e-3, __E=np.asarray(event, float))
    if strata is not None:
        fit_df["__S"] = features[strata].astype(str).to_numpy()
    fit = np.ones(len(X), bool) if fit_rows is None else np.asarray(fit_rows, bool)
    cph = CoxPHFitter(penalizer=penalizer).fit(fit_df[fit], duration_col="__T", event_col="__E",
                                               strata=["__S"] if strata else None)
    rows = np.arange(len(X)) if query is None else np.asarray(query)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    beta = cph.params_.to_numpy()
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(beta, cph.variance_matrix_.to_numpy(), size=n_draws, method="cholesky")
    strata_of = fit_df["__S"].to_numpy()[rows] if strata else np.zeros(len(rows), dtype=object)
    base = cph.baseline_cumulative_hazard_
    h0 = np.empty(len(rows))
    for s in pd.unique(strata_of):
        col = s if strata else base.columns[0]
        series = base[col] if strata else base.iloc[:, 0]
        at = series.index.to_numpy()
        val = series.to_numpy()[np.searchsorted(at, horizon, side="right") - 1] if (at <= horizon).any() else 0.0
        h0[strata_of == s] = val
    # lifelines' baseline hazard is that of the covariate means (``_norm_mean``)
    out = {}
    for option, name in ((0, "No"), (1, "Yes")):
        Xo = X.iloc[rows].copy()
        Xo["__treated"] = float(option)
        for c in mod.columns:
            Xo[f"__treated:{c}"] = option * mod[c].to_numpy()[rows]
        Z = Xo.to_numpy() - cph._norm_mean.to_numpy()
        surv = np.exp(-h0 * np.exp(Z @ beta))
        sims = np.exp(-h0[None, :] * np.exp(draws @ Z.T))
        out[f"surv_{name}"], out[f"_sims_{name}"] = surv, sims
        out[f"surv_{name}_lo"], out[f"surv_{name}_hi"] = np.quantile(sims, [0.025, 0.975], axis=0)
    eff_sims = out.pop("_sims_Yes") - out.pop("_sims_No")
    out["effect"] = out["surv_Yes"] - out["surv_No"]
    out["effect_lo"], out["effect_hi"] = np.quantile(eff_sims, [0.025, 0.975], axis=0)
    frame = pd.DataFrame(out)
    frame.attrs["effect_draws"] = eff_sims
    frame.attrs["hazard_ratio"] = float(np.exp(cph.params_["__treated"]))
    return frame


def prognostic_survival(features: pd.DataFrame, time, event, horizon: float, *, numeric: Sequence[str],
                        categorical: Sequence[str], fit_rows: np.ndarray, strata: str | None = None,
                        penalizer: float = 0.001) -> np.ndarray:
    """S(horizon | x) of every row from a Cox model fitted on ``fit_rows`` (e.g. the untreated):
    the outcome model ``μ̂_0`` of a bias-corrected matching estimator."""
    from lifelines import CoxPHFitter

    d = _design(features, [c for c in numeric if c != strata], [c for c in categorical if c != strata])
    fit = np.asarray(fit_rows, bool)
    d = d.loc[:, d[fit].std() > 0]
    df = d.assign(__T=np.asarray(time, float) + 1e-3, __E=np.asarray(event, float))
    if strata is not None:
        df["__S"] = features[strata].astype(str).to_numpy()
    cph = CoxPHFitter(penalizer=penalizer).fit(df[fit], duration_col="__T", event_col="__E",
                                               strata=["__S"] if strata else None)
    base = cph.baseline_cumulative_hazard_
    keys = df["__S"].to_numpy() if strata else np.zeros(len(df), dtype=object)
    h0 = np.zeros(len(df))
    for key in pd.unique(keys):
        col = base[key] if strata else base.iloc[:, 0]
        upto = col[col.index <= horizon]
        h0[keys == key] = float(upto.iloc[-1]) if len(upto) else 0.0
    lp = (d.to_numpy() - cph._norm_mean.to_numpy()) @ cph.params_.to_numpy()
    return np.exp(-h0 * np.exp(lp))


def draws_average_effects(frame: pd.DataFrame, groups: np.ndarray | None = None,
                          rows: np.ndarray | None = None) -> pd.DataFrame:
    """Average effect (all, per group) and its interval from the per-patient effect draws
    (of :func:`cox_interaction_effects`); ``rows`` (boolean) restricts to some patients."""
    draws = frame.attrs["effect_draws"]
    if rows is not None:
        rows = np.asarray(rows, bool)
        draws, frame = draws[:, rows], frame[rows].reset_index(drop=True)
        groups = None if groups is None else np.asarray(groups)[rows]
    scopes = _scopes(len(frame), groups)
    rows = []
    for name, mask in scopes:
        lo, hi = np.quantile(draws[:, mask].mean(axis=1), [0.025, 0.975])
        rows.append({"scope": name, "n": int(mask.sum()), "effect": float(frame["effect"][mask].mean()),
                     "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


__all__ = ["ASSUMPTION", "km_rows", "wilson", "newcombe", "match_twins", "twin_effects", "twin_average_effects",
           "naive_difference", "cox_interaction_effects", "draws_average_effects", "prognostic_survival",
           "nearest_in_pool"]


