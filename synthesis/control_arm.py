"""Virtual control arms: matched untreated registry patients for a (single-arm) trial.

Each trial-arm patient gets its ``m`` nearest untreated registry patients in the Gower space
(L1 on :class:`~graphs.encode.MixedEncoder` vectors; optionally exactly on a key such as stage),
with replacement. The arm is compared with its virtual controls:

* hazard ratio: Cox model (lifelines) of arm vs controls, controls weighted ``1/m``, robust
  (sandwich) variance clustered on the registry patient, because a control can serve several
  arm patients (Austin, Stat Med 2014;33:1242-58 on matched survival comparisons); baseline
  stratified by the exact key. It estimates the *marginal* hazard ratio among arm-like patients
  (ATT), which differs from a conditional HR when other prognostic factors vary (non-collapsibility).
* survival difference at the horizon: Kaplan–Meier of the arm minus the weighted KM of the
  controls, interval from a Poisson bootstrap of arm and registry patients (matches fixed).
* naive registry comparison: the same two figures against *all* untreated registry patients.

What the survival difference estimates: the arm's own mean net survival at the horizon under the
treatment minus the same patients' mean under no treatment (an ATT; "net" = other-cause deaths
censored, valid when censoring is independent of the outcome given the features). Its error is
mostly the controls' outcome noise, not bias: untreated patients resembling a treated arm are few,
so each serves many arm patients (1,500 operated stage II–III chemotherapy patients at ``m = 3``:
~1,700 distinct controls, effective sample size ~700). On 60 simulated cohorts the error had mean
−0.005 (SE 0.0025) and SD 0.016–0.022 at ``m = 3``; its noise-free part (the controls' expected
survival plus the bias correction against the arm's own expected untreated survival) was −0.001.
A difference averaged over 3 cohorts (0.020 vs 0.035) was that noise. ``m = 10`` (default) uses
more distinct controls: error SD 0.0145 vs 0.0161, ΔS interval width 0.066 vs 0.078, HR interval
coverage 29/30 vs 28/30 on the same 30 cohorts (see ``bench/counterfactual/README.md``).

Balance is reported as standardised mean differences of the encoded features before and after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .counterfactual import Z95, km_rows, nearest_in_pool


def _cox_hr(time, event, arm, weights, cluster, strata, covariates=None) -> tuple[float, float, float]:
    from lifelines import CoxPHFitter

    df = pd.DataFrame({"T": np.asarray(time, float) + 1e-3, "E": np.asarray(event, float),
                       "arm": np.asarray(arm, float), "w": weights, "c": cluster})
    if covariates is not None:
        cov = np.asarray(covariates, float)
        keep = cov.std(axis=0) > 0
        for j in np.flatnonzero(keep):
            df[f"x{j}"] = cov[:, j]
    kw = {}
    if strata is not None:
        df["s"] = np.asarray(strata).astype(str)
        kw["strata"] = ["s"]
    cph = CoxPHFitter(penalizer=1e-4).fit(df, duration_col="T", event_col="E", weights_col="w", robust=True,
                            cluster_col="c", **kw)
    b, se = float(cph.params_["arm"]), float(cph.standard_errors_["arm"])
    return float(np.exp(b)), float(np.exp(b - Z95 * se)), float(np.exp(b + Z95 * se))


def _smd(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None = None) -> float:
    """Largest absolute standardised mean difference over the columns (pooled SD)."""
    wb = np.ones(len(b)) if wb is None else wb
    mb = np.average(b, axis=0, weights=wb)
    vb = np.average((b - mb) ** 2, axis=0, weights=wb)
    sd = np.sqrt((a.var(axis=0) + vb) / 2)
    ok = sd > 1e-9
    return float(np.max(np.abs(a.mean(axis=0) - mb)[ok] / sd[ok])) if ok.any() else 0.0


def virtual_control_arm(x_arm: np.ndarray, time_arm, event_arm, x_pool: np.ndarray, time_pool, event_pool,
                        horizon: float, *, m: int = 10, exact_arm: np.ndarray | None = None,
                        exact_pool: np.ndarray | None = None, covariates_arm: np.ndarray | None = None,
                        covariates_pool: np.ndarray | None = None, outcome_arm: np.ndarray | None = None,
                        outcome_pool: np.ndarray | None = None, n_boot: int = 300, seed: int = 0,
                        client=None) -> dict:
    """Matched virtual controls for the arm and the arm-vs-control figures (see module docstring).

    ``covariates_arm``/``covariates_pool`` (numeric design, e.g. standardised / one-hot
    features without a reference level) adjust the matched Cox model for what matching left
    imbalanced (Ho, Imai, King & Stuart, Polit Anal 2007;15:199-236): ``hazard_ratio`` is then the
    conditional HR, ``hazard_ratio_matched`` the unadjusted matched (marginal) one.

    ``outcome_arm``/``outcome_pool``: an untreated outcome model's S(h | x) (e.g.
    :func:`~synthesis.counterfactual.prognostic_survival` fitted on the registry's untreated)
    bias-corrects the controls' survival, ``Ŝ_c + mean_i [μ̂_0(x_i) − mean_{j ∈ c(i)} μ̂_0(x_j)]``
    (Abadie & Imbens, J Bus Econ Stat 2011;29:1-11).

    Returns a dict: ``hazard_ratio`` (+ ``_lo``, ``_hi``), ``survival_difference`` (+ ``_lo``,
    ``_hi``; arm minus controls at ``horizon``), ``survival_arm``, ``survival_controls``, the
    same under ``naive_`` for all untreated registry patients, ``n_arm``, ``n_controls``
    (distinct registry patients used), ``max_smd_before``/``max_smd_after``, and ``controls``
    (index into the pool of each arm patient's ``m`` controls).
    """
    x_arm, x_pool = np.asarray(x_arm, np.float32), np.asarray(x_pool, np.float32)
    ta, ea = np.asarray(time_arm, float), np.asarray(event_arm, float)
    tp, ep = np.asarray(time_pool, float), np.asarray(event_pool, float)
    n_arm, n_pool = len(ta), len(tp)
    if n_arm < 10 or n_pool <= m:
        raise ValueError(f"need at least 10 arm patients and more than m = {m} registry controls "
                         f"(got {n_arm} and {n_pool})")
    controls = nearest_in_pool(x_pool, np.ones(n_pool, bool), x_arm, m, exact_ref=exact_pool,
                               exact_query=exact_arm, seed=seed, client=client)
    flat = controls.ravel()
    strata_arm = None if exact_arm is None else np.asarray(exact_arm)
    strata_ctl = None if exact_arm is None else np.repeat(strata_arm, m)
    t_all = np.concatenate([ta, tp[flat]])
    e_all = np.concatenate([ea, ep[flat]])
    arm_flag = np.concatenate([np.ones(n_arm), np.zeros(len(flat))])
    w_all = np.concatenate([np.ones(n_arm), np.full(len(flat), 1.0 / m)])
    cluster = np.concatenate([np.arange(n_arm), n_arm + flat])
    s_all = None if strata_arm is None else np.concatenate([strata_arm, strata_ctl])
    hr = _cox_hr(t_all, e_all, arm_flag, w_all, cluster, s_all)
    adjusted = None
    if covariates_arm is not None:
        cov = np.vstack([np.asarray(covariates_arm, float), np.asarray(covariates_pool, float)[flat]])
        adjusted = _cox_hr(t_all, e_all, arm_flag, w_all, cluster, s_all, cov)
    naive = _cox_hr(np.concatenate([ta, tp]), np.concatenate([ea, ep]),
                    np.concatenate([np.ones(n_arm), np.zeros(n_pool)]), np.ones(n_arm + n_pool),
                    np.arange(n_arm + n_pool), None)
    s_arm = float(km_rows(ta[None], ea[None], horizon)[0][0])
    shift = 0.0
    if outcome_arm is not None:
        mu_p = np.asarray(outcome_pool, float)
        shift = float(np.mean(np.asarray(outcome_arm, float) - mu_p[controls].mean(axis=1)))
    s_ctl = float(km_rows(tp[flat][None], ep[flat][None], horizon)[0][0]) + shift
    s_pool = float(km_rows(tp[None], ep[None], horizon)[0][0])
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, 2))
    for b in range(n_boot):
        wa, wp = rng.poisson(1.0, n_arm).astype(float), rng.poisson(1.0, n_pool).astype(float)
        sa = km_rows(ta[None], ea[None], horizon, weights=wa[None])[0][0]
        wc = np.repeat(wa, m) * wp[flat]
        sc = km_rows(tp[flat][None], ep[flat][None], horizon, weights=wc[None])[0][0] + shift
        sp = km_rows(tp[None], ep[None], horizon, weights=wp[None])[0][0]
        boot[b] = sa - sc, sa - sp
    lo, hi = np.nanquantile(boot, [0.025, 0.975], axis=0)
    return {
        "n_arm": n_arm, "n_controls": int(len(np.unique(flat))), "m": m, "horizon": horizon,
        "survival_bias_correction": shift,
        "hazard_ratio": (adjusted or hr)[0], "hazard_ratio_lo": (adjusted or hr)[1],
        "hazard_ratio_hi": (adjusted or hr)[2], "adjusted": adjusted is not None,
        "hazard_ratio_matched": hr[0], "hazard_ratio_matched_lo": hr[1], "hazard_ratio_matched_hi": hr[2],
        "survival_arm": s_arm, "survival_controls": s_ctl, "survival_difference": s_arm - s_ctl,
        "survival_difference_lo": float(lo[0]), "survival_difference_hi": float(hi[0]),
        "naive_hazard_ratio": naive[0], "naive_hazard_ratio_lo": naive[1], "naive_hazard_ratio_hi": naive[2],
        "naive_survival_controls": s_pool, "naive_survival_difference": s_arm - s_pool,
        "naive_survival_difference_lo": float(lo[1]), "naive_survival_difference_hi": float(hi[1]),
        "max_smd_before": _smd(x_arm, x_pool), "max_smd_after": _smd(x_arm, x_pool[flat]),
        "controls": controls,
    }


__all__ = ["virtual_control_arm"]
