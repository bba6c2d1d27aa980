"""Twins' survival when follow-up ends at the study cutoff: a patient's possible follow-up depends on its year.

The cohort below is censored mostly by the study's end (diagnosed 2004–2015, followed to 31 Dec 2015), so a
generator that draws follow-up regardless of diagnosis year breaks the follow-up rule for many twins, and
rejecting those twins keeps the short follow-ups only: survival per stage is then biased. latent_class keeps
the rule by construction (each twin followed until its own study end) and must match Kaplan–Meier per stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis import synthesize
from syntwin.synthesis.constraints import parse_constraints
from syntwin.synthesis.generators import LatentClassGenerator
from syntwin.synthesis.survival import km_sup_distance

CUTOFF = "2015-12-31"
RULE = {"kind": "follow_up", "time": "months", "diagnosis_year": "year", "cutoff": CUTOFF}
ROLES = dict(numeric=["age", "year"], ordinal={"stage": ["I", "II", "III", "IV"]}, categorical=["sex"],
             time="months", event="dead")
KM_BOUND = 0.07  # per stage of >= 500 real patients; sampling noise alone is ~0.03–0.05 at these sizes


def year_censored_cohort(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stage = rng.choice(4, n, p=[0.35, 0.3, 0.2, 0.15])
    year = rng.integers(2004, 2016, n)
    age = np.clip(rng.normal(62, 11, n), 20, 95).round()
    t_death = rng.weibull(0.8, n) * 600.0 / np.exp(1.1 * stage)  # months, stage-dependent
    dx_month = rng.uniform(0, 12, n)
    study_end = 12.0 * (2016 - year) - dx_month  # months from diagnosis to 31 Dec 2015
    lost = rng.exponential(1200.0, n)
    t = np.minimum.reduce([t_death, study_end, lost])
    return pd.DataFrame({"age": age, "year": year.astype(float), "stage": np.array(["I", "II", "III", "IV"])[stage],
                         "sex": rng.choice(["F", "M"], n, p=[0.9, 0.1]), "months": np.floor(t),
                         "dead": (t_death <= np.minimum(study_end, lost)).astype(np.int64)})


def km_by_stage(real: pd.DataFrame, twins: pd.DataFrame) -> dict[str, float]:
    return {s: km_sup_distance(r["months"], r["dead"], twins.loc[twins["stage"] == s, "months"],
                               twins.loc[twins["stage"] == s, "dead"])
            for s, r in real.groupby("stage") if len(r) >= 500}


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    df = year_censored_cohort()
    assert not parse_constraints([RULE])[0].violated(df).any()  # the real rows keep the rule
    return df


def test_follow_up_rule_kept_by_construction_and_km_per_stage_matches(cohort):
    twins = synthesize(cohort, LatentClassGenerator(16, max_iter=100), 8000, seed=3, constraints=[RULE], **ROLES)
    assert twins.attrs["rejected"] == 0  # nothing to reject: every twin is followed until its own study end
    assert not parse_constraints([RULE])[0].violated(twins).any()
    sup = km_by_stage(cohort, twins)
    assert len(sup) >= 3 and max(sup.values()) <= KM_BOUND, sup
    # follow-up depends on the diagnosis year as in the real rows: late years are followed shorter
    late = twins["year"] >= 2013
    assert twins.loc[late, "months"].median() < twins.loc[~late, "months"].median() / 2


def test_rejection_alone_biases_survival(cohort):
    """The adversary: the same model unaware of the rule, its rule-breaking twins rejected, misses the bound."""
    class Unaware(LatentClassGenerator):
        def use_constraints(self, constraints):
            return self  # keeps nothing by construction: synthesize must reject

    twins = synthesize(cohort, Unaware(16, max_iter=100), 8000, seed=3, constraints=[RULE], **ROLES)
    assert twins.attrs["rejected"] > 1000 and not parse_constraints([RULE])[0].violated(twins).any()
    assert max(km_by_stage(cohort, twins).values()) > KM_BOUND


def test_saved_generator_keeps_the_rule(cohort, tmp_path):
    g = LatentClassGenerator(4, max_iter=50).use_constraints(parse_constraints([RULE])).fit(cohort, seed=0, **ROLES)
    back = LatentClassGenerator.load(g.save(tmp_path / "lc"))
    twins = back.sample(3000, seed=1)
    assert back.follow_up_ == {"diagnosis_year": "year", "cutoff": CUTOFF}
    assert not parse_constraints([RULE])[0].violated(twins).any()
    pd.testing.assert_frame_equal(twins, g.sample(3000, seed=1))


def test_survival_given_a_column_follows_it_within_each_class(cohort):
    """One class cannot tell the stages apart; hazards per (class, stage) still give each stage its own survival."""
    one = LatentClassGenerator(1, survival_given="stage").use_constraints([RULE]).fit(cohort, seed=0, **ROLES)
    pooled = LatentClassGenerator(1).use_constraints([RULE]).fit(cohort, seed=0, **ROLES)
    by_stage, flat = km_by_stage(cohort, one.sample(8000, seed=1)), km_by_stage(cohort, pooled.sample(8000, seed=1))
    assert max(by_stage.values()) <= KM_BOUND < max(flat.values())
    with pytest.raises(ValueError, match="survival_given"):
        LatentClassGenerator(1, survival_given="age").fit(cohort, seed=0, **ROLES)
