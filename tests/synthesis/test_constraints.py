"""Twins keep the data's rules: declared, checked, kept by construction (latent_class) or by rejection in
synthesize for every other generator."""

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis import synthesize
from syntwin.synthesis.constraints import parse_constraints, violation_rates
from syntwin.synthesis.generators import IndependentGenerator


class RuleBlindIndependent(IndependentGenerator):
    """Independent marginals that keep no rule by construction (as SDV's generators): synthesize must reject."""

    def use_constraints(self, constraints):
        return self

RULES = [
    {"kind": "inequality", "low": "nodes_positive", "high": "nodes_examined"},
    {"kind": "range", "column": "age", "min": 18, "max": 100},
    {"kind": "follow_up", "time": "months", "diagnosis_year": "year", "cutoff": "2020-12-31"},
]


def _cohort(n=1500, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    examined = rng.integers(0, 25, n).astype(float)
    positive = np.floor(examined * rng.beta(0.6, 2.0, n))
    year = rng.integers(2004, 2016, n).astype(float)
    months = np.floor(rng.uniform(0, 1, n) * 12 * (2021 - year - rng.uniform(0, 1, n)))
    return pd.DataFrame({"age": rng.integers(25, 90, n).astype(float), "nodes_examined": examined,
                         "nodes_positive": positive, "year": year, "months": np.maximum(months, 0),
                         "dead": rng.integers(0, 2, n)})


ROLES = dict(numeric=["age", "nodes_examined", "nodes_positive", "year"], time="months", event="dead")


def test_follow_up_hand_case():
    (rule,) = parse_constraints([RULES[2]])
    df = pd.DataFrame({"months": [71.0, 72.0, 203.0, 204.0, np.nan], "year": [2015, 2015, 2004, 2004, 2010]})
    assert rule.violated(df).tolist() == [False, True, False, True, False]  # missing never breaks a rule
    assert rule.name == "months <= months from 1 Jan year to 2020-12-31"


def test_bad_declarations_name_the_fix():
    with pytest.raises(ValueError, match="kind must be one of"):
        parse_constraints([{"kind": "sum"}])
    with pytest.raises(ValueError, match=r"missing \['high'\]"):
        parse_constraints([{"kind": "inequality", "low": "a"}])
    with pytest.raises(ValueError, match="give min, max or both"):
        parse_constraints([{"kind": "range", "column": "a"}])
    with pytest.raises(ValueError, match="cutoff must be a date"):
        parse_constraints([{"kind": "follow_up", "time": "t", "diagnosis_year": "y", "cutoff": "soon"}])


@pytest.mark.parametrize("generator", ["independent", "latent_class", RuleBlindIndependent])
def test_every_generator_keeps_the_rules(generator):
    """Unconstrained draws break the rules; with them, latent_class (and independent, its K = 1 case) keeps
    them by construction (nothing rejected) and a rule-blind generator is kept to them by rejection."""
    real = _cohort()
    assert all(v == 0 for v in violation_rates(real, RULES).values())
    free = synthesize(real, generator, 1500, seed=1, **ROLES)
    kept = synthesize(real, generator, 1500, seed=1, constraints=RULES, **ROLES)
    rates = violation_rates(free, RULES)
    assert rates["nodes_positive <= nodes_examined"] > 0.02 or generator == "latent_class"
    assert max(rates.values()) > 0  # without the rules some twins break them
    assert len(kept) == 1500 and all(v == 0 for v in violation_rates(kept, RULES).values())
    assert (kept.attrs["rejected"] > 0) == (generator is RuleBlindIndependent)
    again = synthesize(real, generator, 1500, seed=1, constraints=RULES, **ROLES)
    pd.testing.assert_frame_equal(kept, again)


def test_per_group_rejection_is_counted_and_exact_without_rules():
    real = _cohort()
    groups = (real["age"] > 60).to_numpy().astype(int)
    blind = RuleBlindIndependent
    free = synthesize(real, blind, 800, groups=groups, min_group_size=50, seed=3, **ROLES)
    none = synthesize(real, blind, 800, groups=groups, min_group_size=50, seed=3, constraints=[], **ROLES)
    pd.testing.assert_frame_equal(free, none)  # no rule: the very same rows
    kept = synthesize(real, blind, 800, groups=groups, min_group_size=50, seed=3, constraints=RULES, **ROLES)
    assert kept.attrs["rejected"] > 0 and all(v == 0 for v in violation_rates(kept, RULES).values())
    assert kept["_group"].value_counts().to_dict() == free["_group"].value_counts().to_dict()


def test_impossible_rules_fail_clearly():
    real = _cohort(300)
    with pytest.raises(ValueError, match="cannot respect them"):
        synthesize(real, "independent", 200, seed=0, constraints=[{"kind": "range", "column": "age", "max": 0}],
                   **ROLES)


def test_simulated_cohort_keeps_its_declared_rules():
    from syntwin.cohort.simulate import simulate_cohort

    cohort = simulate_cohort(3000, site="breast", seed=2)
    df = cohort.data.compute()
    rates = violation_rates(df, cohort.schema.constraints)
    assert len(rates) >= 5 and all(v == 0 for v in rates.values()), rates
    # the follow-up rule is tight: 2015 diagnoses reach at most 71 months, as in the simulator
    assert df.loc[df["year_of_diagnosis"] == 2015, "survival_months"].max() <= 71


def test_latent_class_keeps_an_inequality_by_construction():
    """nodes_positive <= nodes_examined: latent_class draws positive given the class and examined, so no twin
    is rejected and none breaks the rule; the same model unaware of the rule breaks it (the data can)."""
    from syntwin.synthesis import synthesize
    from syntwin.synthesis.generators import LatentClassGenerator

    gen = np.random.default_rng(0)
    n = 4000
    examined = gen.poisson(gen.choice([3.0, 12.0], n), n).astype(float)
    positive = gen.binomial(examined.astype(int), gen.uniform(0.05, 0.6, n)).astype(float)
    examined[gen.random(n) < 0.1] = np.nan  # not operated: no count
    positive[np.isnan(examined)] = np.nan
    df = pd.DataFrame({"examined": examined, "positive": positive, "age": gen.normal(60, 10, n).round(),
                       "grade": gen.choice(["1", "2", "3"], n)})
    rule = {"kind": "inequality", "low": "positive", "high": "examined"}
    roles = dict(numeric=["examined", "positive", "age"], categorical=["grade"])
    twins = synthesize(df, LatentClassGenerator(8, max_iter=60), 6000, seed=1, constraints=[rule], **roles)
    assert twins.attrs["rejected"] == 0
    with np.errstate(invalid="ignore"):
        assert not (twins["positive"] > twins["examined"]).any()
    unaware = LatentClassGenerator(8, max_iter=60).fit(df, seed=1, **roles).sample(6000, seed=1)
    with np.errstate(invalid="ignore"):
        assert (unaware["positive"] > unaware["examined"]).mean() > 0.01
    # the rule is kept without distorting positive's distribution (mean and share of zero within 0.05 rel.)
    real = df["positive"].dropna()
    assert twins["positive"].mean() == pytest.approx(real.mean(), rel=0.06)
    assert (twins["positive"] == 0).mean() == pytest.approx((real == 0).mean(), abs=0.03)
