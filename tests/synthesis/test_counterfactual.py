"""Counterfactual twins and virtual control arms, checked against the simulator's potential outcomes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from syntwin.cohort.simulate import simulate_cohort
from syntwin.cohort.truth import control_arm_error, potential_outcomes, true_log_hazard_ratios
from syntwin.graphs.encode import MixedEncoder
from syntwin.synthesis import counterfactual as cf
from syntwin.synthesis.causal_forest import forest_effects
from syntwin.synthesis.control_arm import virtual_control_arm

N, SEED, H = 20_000, 7, 60.0


@pytest.fixture(scope="module")
def sim():
    c = simulate_cohort(N, "breast", seed=SEED)
    df = c.data.compute(scheduler="sync")
    s = c.schema
    truth = potential_outcomes(N, "breast", SEED, treatment="chemotherapy", horizon_months=H)
    cat = [x for x in s.categorical if x != "chemotherapy"]
    ordinal = {k: list(v) for k, v in s.ordinal.items()}
    x = MixedEncoder(numeric=s.numeric, ordinal=ordinal, categorical=cat).fit(df).transform(df)
    hold = np.random.default_rng(0).random(N) < 0.25
    return {"df": df, "truth": truth, "x": x, "hold": hold, "num": list(s.numeric), "cat": [*ordinal, *cat],
            "a": (df["chemotherapy"] == "Yes").to_numpy().astype(int), "t": df["survival_months"].to_numpy(),
            "e": df["cancer_death"].to_numpy(), "stage": df["stage"].to_numpy()}


def test_km_rows_matches_lifelines_with_ties_and_weights():
    rng = np.random.default_rng(3)
    t = np.floor(rng.exponential(30, (4, 40)))
    e = rng.random((4, 40)) < 0.5
    w = rng.integers(1, 4, (4, 40)).astype(float)
    s, var, _ = cf.km_rows(t, e, 24.0, weights=w)
    for i in range(4):
        kmf = KaplanMeierFitter().fit(np.repeat(t[i], w[i].astype(int)), np.repeat(e[i], w[i].astype(int)))
        assert s[i] == pytest.approx(float(kmf.survival_function_at_times(24.0).iloc[0]), abs=1e-12)
    assert (var >= 0).all()


def test_wilson_and_newcombe_reference_values():
    lo, hi = cf.wilson(np.array([0.5]), np.array([100.0]))
    assert lo[0] == pytest.approx(0.4038, abs=1e-4) and hi[0] == pytest.approx(0.5962, abs=1e-4)
    # Newcombe (1998) Table II example: 56/70 vs 48/80 -> 0.2000 (0.0524, 0.3339)
    p1, p0 = np.array([56 / 70]), np.array([48 / 80])
    l1, u1 = cf.wilson(p1, np.array([70.0]))
    l0, u0 = cf.wilson(p0, np.array([80.0]))
    lo, hi = cf.newcombe(p1, l1, u1, p0, l0, u0)
    assert lo[0] == pytest.approx(0.0524, abs=1e-3) and hi[0] == pytest.approx(0.3339, abs=1e-3)


def test_nearest_in_pool_respects_pool_exact_key_and_self():
    rng = np.random.default_rng(0)
    x = rng.random((300, 4)).astype(np.float32)
    pool = rng.random(300) < 0.6
    key = rng.integers(0, 2, 300)
    idx = cf.nearest_in_pool(x, pool, x[:50], 5, exact_ref=key, exact_query=key[:50], query_ids=np.arange(50))
    assert pool[idx].all() and (key[idx] == key[:50, None]).all()
    assert not (idx == np.arange(50)[:, None]).any()
    with pytest.raises(ValueError, match="need more than k = 400"):
        cf.nearest_in_pool(x, pool, x[:5], 400)


def test_twin_method_recovers_the_true_effects(sim):
    """Bias-corrected twin matching (exact on stage): ATE bias <= 20 % of the naive difference's
    bias, 95 % intervals cover the true individual effect in 90-98 % of held-out patients."""
    h, a, t, e, st = sim["hold"], sim["a"], sim["t"], sim["e"], sim["stage"]
    true = (sim["truth"]["css_Yes"] - sim["truth"]["css_No"]).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox = cf.cox_interaction_effects(sim["df"], t, e, a, H, numeric=sim["num"], categorical=sim["cat"],
                                         modifiers=["stage", "er_status"], strata="stage", fit_rows=~h)
    mu = {0: cox["surv_No"].to_numpy(), 1: cox["surv_Yes"].to_numpy()}
    tw = cf.twin_effects(sim["x"][~h], t[~h], e[~h], a[~h], sim["x"][h], H, k=100, exact_ref=st[~h],
                         exact_query=st[h], outcome_ref={o: v[~h] for o, v in mu.items()},
                         outcome_query={o: v[h] for o, v in mu.items()})
    naive = cf.naive_difference(t, e, a, H)["effect"].iloc[0]
    ate = true[h].mean()
    assert abs(naive - ate) > 0.08  # confounded: the naive difference has the wrong sign
    assert abs(tw["effect"].mean() - ate) <= 0.2 * abs(naive - ate)
    cover = ((tw["effect_lo"] <= true[h]) & (true[h] <= tw["effect_hi"])).mean()
    assert 0.90 <= cover <= 0.98, cover
    # the library estimator (correctly specified here) is more precise per patient
    pehe_twin = np.sqrt(((tw["effect"] - true[h]) ** 2).mean())
    pehe_cox = np.sqrt(((cox["effect"][h] - true[h]) ** 2).mean())
    assert pehe_cox < pehe_twin < 0.08
    # without the bias correction and the exact stage key the twins are confounded within stage III
    raw = cf.twin_effects(sim["x"][~h], t[~h], e[~h], a[~h], sim["x"][h], H, k=100)
    assert abs(raw["effect"].mean() - ate) > abs(tw["effect"].mean() - ate)
    # subgroup averages with the Poisson bootstrap: the interval brackets the estimate
    avg = cf.twin_average_effects(tw, t[~h], e[~h], H, groups=st[h], n_boot=40)
    assert list(avg["scope"]) == ["all", "I", "II", "III", "IV"]
    assert avg["lo"].iloc[0] <= ate <= avg["hi"].iloc[0]
    assert ((avg["lo"] <= avg["effect"]) & (avg["effect"] <= avg["hi"])).all()
    cavg = cf.draws_average_effects(cox, groups=st, rows=h)
    assert cavg["n"].iloc[0] == h.sum() and cavg["lo"].iloc[0] <= ate <= cavg["hi"].iloc[0]


def test_virtual_control_arm_recovers_the_true_hazard_ratio(sim):
    """A single-arm 'trial' of 1,500 operated stage II-III chemotherapy patients against matched
    untreated registry patients: the adjusted HR interval covers the simulator's HR (0.75) and the
    naive registry comparison's does not. (Over 6 cohort/arm seeds: HR covered 6/6, survival
    difference 5/6 — see bench/counterfactual/README.md.)"""
    df, x, t, e, st, a = sim["df"], sim["x"], sim["t"], sim["e"], sim["stage"], sim["a"]
    arm = np.flatnonzero((a == 1) & df["stage"].isin(["II", "III"]).to_numpy() & (df["surgery"] == "Yes").to_numpy())
    arm = np.random.default_rng(2).choice(arm, 1500, replace=False)
    pool = np.flatnonzero(a == 0)
    design = cf._design(df, sim["num"], [c for c in sim["cat"] if c != "stage"]).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu0 = cf.prognostic_survival(df, t, e, H, numeric=sim["num"], categorical=sim["cat"], fit_rows=a == 0,
                                     strata="stage")
        res = virtual_control_arm(x[arm], t[arm], e[arm], x[pool], t[pool], e[pool], H, m=3,
                                  exact_arm=st[arm], exact_pool=st[pool], covariates_arm=design[arm],
                                  covariates_pool=design[pool], outcome_arm=mu0[arm], outcome_pool=mu0[pool],
                                  n_boot=100)
    true_hr = float(np.exp(true_log_hazard_ratios("breast")["chemotherapy"]))
    assert res["adjusted"] and res["hazard_ratio_lo"] <= true_hr <= res["hazard_ratio_hi"], res["hazard_ratio"]
    assert not res["naive_hazard_ratio_lo"] <= true_hr <= res["naive_hazard_ratio_hi"]
    assert res["naive_hazard_ratio"] > 1.3  # the naive registry comparison says chemotherapy harms
    tr = sim["truth"]
    true_diff = (tr["css_Yes"] - tr["css_No"]).to_numpy()[arm].mean()
    assert res["survival_difference_lo"] <= true_diff <= res["survival_difference_hi"]
    assert not res["naive_survival_difference_lo"] <= true_diff <= res["naive_survival_difference_hi"]
    assert res["max_smd_after"] < res["max_smd_before"]
    assert res["controls"].shape == (1500, 3) and (np.isin(res["controls"], np.arange(len(pool)))).all()


def test_control_arm_refuses_tiny_inputs(sim):
    x = sim["x"]
    with pytest.raises(ValueError, match="at least 10 arm patients"):
        virtual_control_arm(x[:5], np.ones(5), np.zeros(5), x[5:100], np.ones(95), np.zeros(95), H)


@pytest.mark.heavy
def test_causal_forest_runs_and_covers(sim):
    """EconML CausalForestDML with IPCW (extra ``causal``): reasonable coverage of the true effects."""
    pytest.importorskip("econml")
    rows = np.flatnonzero(sim["hold"])[:1000]
    fit = ~sim["hold"]
    fit[np.flatnonzero(fit)[8000:]] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fo = forest_effects(sim["df"], sim["t"], sim["e"], sim["a"], H, numeric=sim["num"],
                               categorical=sim["cat"], fit_rows=fit, query=rows, n_estimators=100)
    true = (sim["truth"]["css_Yes"] - sim["truth"]["css_No"]).to_numpy()[rows]
    cover = ((fo["effect_lo"] <= true) & (true <= fo["effect_hi"])).mean()
    assert cover > 0.8 and abs(fo["effect"].mean() - true.mean()) < 0.05


def _arm_errors(seed: int, m: int = 10, correct: bool = True) -> dict:
    """One simulated cohort's control arm, its error against the arm's own potential outcomes, split
    into the parts an estimator controls (censoring, matching + bias correction) and outcome noise."""
    c = simulate_cohort(N, "breast", seed=seed)
    df, s = c.data.compute(scheduler="sync"), c.schema
    tr = potential_outcomes(N, "breast", seed, treatment="chemotherapy", horizon_months=H)
    cat = [x for x in s.categorical if x != "chemotherapy"]
    ordinal = {k: list(v) for k, v in s.ordinal.items()}
    x = MixedEncoder(numeric=s.numeric, ordinal=ordinal, categorical=cat).fit(df).transform(df)
    a = (df["chemotherapy"] == "Yes").to_numpy().astype(int)
    t, e, st = df["survival_months"].to_numpy(float), df["cancer_death"].to_numpy(float), df["stage"].to_numpy()
    arm = np.flatnonzero((a == 1) & df["stage"].isin(["II", "III"]).to_numpy() & (df["surgery"] == "Yes").to_numpy())
    arm = np.random.default_rng(seed).choice(arm, 1500, replace=False)
    pool = np.flatnonzero(a == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu0 = cf.prognostic_survival(df, t, e, H, numeric=list(s.numeric), categorical=[*ordinal, *cat],
                                     fit_rows=a == 0, strata="stage")
        r = virtual_control_arm(x[arm], t[arm], e[arm], x[pool], t[pool], e[pool], H, m=m, exact_arm=st[arm],
                                exact_pool=st[pool], outcome_arm=mu0[arm] if correct else None,
                                outcome_pool=mu0[pool] if correct else None, n_boot=60, seed=seed)
    return control_arm_error(r, tr, arm, pool)


def test_control_arm_survival_difference_has_no_bias_over_cohorts():
    """The virtual control arm's survival difference against the arm's own potential outcomes, over
    6 simulated cohorts. The error is mostly outcome noise (a few cohorts are 3 points off), so it is
    split: each part the estimator controls must be near 0 on average — Kaplan-Meier vs the same
    patients' realised net outcome (censoring), and the controls' expected untreated survival plus the
    bias correction vs the arm's own (matching; without the correction it is +0.009 on these cohorts)."""
    res = pd.DataFrame([_arm_errors(seed) for seed in range(7, 13)])
    assert abs(res["arm_censoring"].mean()) < 0.005, res
    assert abs(res["control_censoring"].mean()) < 0.005, res
    assert abs(res["matching"].mean()) < 0.005, res
    assert abs(res["error"].mean()) < 0.02 and res["covers"].sum() >= 4, res
    parts = res["arm_censoring"] - res["control_censoring"] - res["matching"] + res["noise"]
    assert np.allclose(parts, res["error"])
