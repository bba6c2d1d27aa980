"""The simulator's causal structure: a Cox fit recovers its hazard ratios; potential outcomes are coherent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from syntwin.cohort import _treatment
from syntwin.cohort.simulate import simulate_cohort, simulate_partition
from syntwin.cohort.truth import potential_outcomes, survival_curves, true_log_hazard_ratios
from syntwin.errors import CohortError

N = 120_000


@pytest.fixture(scope="module")
def breast():
    return simulate_cohort(N, "breast", seed=21, rows_per_partition=60_000).data.compute(scheduler="sync")


def _design(df: pd.DataFrame) -> pd.DataFrame:
    yes = lambda c: (df[c] == "Yes").astype(float)  # noqa: E731
    er_pos = (df["er_status"] == "Positive").astype(float)
    her2 = (df["her2_status"] == "Positive").astype(float)
    triple = ((1 - er_pos) * (df["pr_status"] == "Negative") * (1 - her2)).astype(float)
    return pd.DataFrame({
        "T": df["survival_months"] + 0.5, "E": df["cancer_death"], "stage": df["stage"],
        "age10": (df["age"] - 65) / 10, "grade": df["grade"].map({"I": 0, "II": 1, "III": 2, "IV": 3}),
        "er_neg": 1 - er_pos, "her2": her2, "triple": triple,
        "tumor_size_per_10mm": (df["tumor_size_mm"] - 20) / 10, "nodes_positive": df["nodes_positive"],
        "radiation": yes("radiation"), "chemotherapy": yes("chemotherapy"),
        "endocrine_therapy": yes("endocrine_therapy") * er_pos,
        "endocrine_in_er_negative": yes("endocrine_therapy") * (1 - er_pos),
    })


def test_cox_recovers_the_simulators_hazard_ratios(breast):
    """Operated stage I-III patients (nodes recorded, constant treatment HRs): every true log HR
    of treatment, size and nodes lies in the Cox model's 95 % interval."""
    df = breast[(breast["surgery"] == "Yes") & (breast["stage"] != "IV")]
    X = _design(df)
    cph = CoxPHFitter().fit(X, duration_col="T", event_col="E", strata=["stage"])
    ci = cph.confidence_intervals_
    truth = true_log_hazard_ratios("breast")
    truth["endocrine_in_er_negative"] = 0.0
    checked = ["tumor_size_per_10mm", "nodes_positive", "radiation", "chemotherapy", "endocrine_therapy",
               "endocrine_in_er_negative"]
    for name in checked:
        lo, hi = ci.loc[name].to_numpy()
        assert lo <= truth[name] <= hi, (name, truth[name], lo, hi)
    # the effects are real (not all zero), so a simulator without them would fail here
    for name in ("chemotherapy", "endocrine_therapy", "radiation", "nodes_positive", "tumor_size_per_10mm"):
        assert cph.summary.loc[name, "p"] < 1e-3, name


def test_naive_comparison_is_confounded(breast):
    """Chemotherapy is given to worse-prognosis patients: unadjusted, it looks harmful."""
    X = _design(breast)
    naive = CoxPHFitter().fit(X[["T", "E", "chemotherapy"]], duration_col="T", event_col="E")
    assert naive.params_["chemotherapy"] > 0.2 > true_log_hazard_ratios("breast")["chemotherapy"]


def test_potential_outcomes_line_up_with_the_cohort(breast):
    tr = potential_outcomes(N, "breast", seed=21, treatment="chemotherapy", horizon_months=60.0,
                            rows_per_partition=60_000)
    assert tr.index.equals(breast.index) and (tr["patient_id"] == breast["patient_id"]).all()
    assert (tr["treated"] == (breast["chemotherapy"] == "Yes")).all()
    # the observed outcome is the potential outcome of the observed option
    t_obs = np.where(tr["treated"] == 1, tr["t_cancer_Yes"], tr["t_cancer_No"])
    died = breast["cancer_death"] == 1
    assert (np.floor(t_obs[died]) == breast.loc[died, "survival_months"]).all()
    assert (np.floor(t_obs[~died]) >= breast.loc[~died, "survival_months"]).all()
    # a protective treatment delays every cancer death by the same factor HR^(-1/k)
    assert (tr["t_cancer_Yes"] > tr["t_cancer_No"]).all()
    ratio = np.log(tr["css_Yes"]) / np.log(tr["css_No"])
    assert np.allclose(ratio, np.exp(tr["log_hr"]))
    # individual events agree with the survival probabilities (Monte Carlo, 120k patients)
    for o in ("No", "Yes"):
        assert abs(tr[f"death_{o}"].mean() - (1 - tr[f"css_{o}"]).mean()) < 0.004
    curves = survival_curves(tr.iloc[:5], np.array([0.0, 60.0]))
    assert np.allclose(curves["Yes"][:, 1], tr["css_Yes"].iloc[:5]) and np.all(curves["No"][:, 0] == 1.0)


def test_effect_modification_endocrine_only_in_er_positive():
    df = simulate_partition(20_000, "breast", 3, 0, 0)
    tr = potential_outcomes(20_000, "breast", 3, treatment="endocrine_therapy")
    er_pos = (df["er_status"] == "Positive").to_numpy()
    assert np.allclose(tr.loc[~er_pos, "log_hr"], 0.0)
    assert np.allclose(tr.loc[er_pos, "log_hr"], np.log(0.70))
    assert (df.loc[~er_pos, "endocrine_therapy"] == "Yes").mean() < 0.03


@pytest.mark.parametrize("site", ["lung", "colorectal", "prostate"])
def test_every_site_has_treatments_with_sources(site):
    df = simulate_partition(3_000, site, 1, 0, 0)
    for name, rule in _treatment.TREATMENTS[site].items():
        assert name in df.columns and rule.source.strip()
        assert set(df[name]) <= {"Yes", "No"}
    assert _treatment.PROGNOSTIC[site].source.strip()
    tr = potential_outcomes(3_000, site, 1, treatment="chemotherapy")
    assert (tr["css_Yes"] >= tr["css_No"] - 1e-12).all()


def test_unknown_treatment_is_refused():
    with pytest.raises(CohortError, match="treatment columns: surgery"):
        potential_outcomes(100, "breast", 0, treatment="immunotherapy")
