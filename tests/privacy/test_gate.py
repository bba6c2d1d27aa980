"""The release gate on honest and leaking generators, through evaluate_privacy."""

from __future__ import annotations

import math

import pytest

from syntwin.errors import PrivacyGateError
from syntwin.privacy import DEFAULT_CHECKS, ReleaseGate, enforce_table, evaluate_privacy


def test_honest_generator_passes(results):
    r = results["independent"]
    assert r["passed"], [k for k, v in r["gate"].items() if not v["passed"]]
    assert set(r["gate"]) == set(DEFAULT_CHECKS)
    enforce_table(r["gate"])  # does not raise


@pytest.mark.parametrize("leak", ["copies", "jitter"])
def test_leaking_generator_is_refused_with_checks_named(results, leak):
    r = results[leak]
    assert not r["passed"]
    with pytest.raises(PrivacyGateError) as err:
        enforce_table(r["gate"])
    failed = {f.split(" = ")[0] for f in err.value.failures}
    named = ["mia_distance_auroc", "mia_density_auroc", "inference_risk", "dcr_train_share"]
    named += ["exact_copy_share", "singling_out_risk", "linkability_risk"] if leak == "copies" else []
    for name in named:
        assert name in failed
        assert name in str(err.value)
    # each failure shows its figure and threshold
    assert any("(must be <= 0.6)" in f for f in err.value.failures)


def test_figures_carry_thresholds(results):
    for name, check in results["copies"]["gate"].items():
        assert check["op"] == DEFAULT_CHECKS[name][0]
        assert check["threshold"] == DEFAULT_CHECKS[name][1]
        assert check["value"] == results["copies"]["figures"][name]


def test_gate_defaults_and_overrides():
    g = ReleaseGate.default(max_mia_auroc=0.55, min_k_anonymity=10, max_singling_out_risk=None)
    assert g.checks["mia_distance_auroc"] == ("<=", 0.55) and g.checks["mia_density_auroc"] == ("<=", 0.55)
    assert g.checks["k_anonymity"] == (">=", 10)
    assert g.checks["singling_out_risk"] == ("<=", 0.10)
    with pytest.raises(ValueError, match="unknown privacy threshold"):
        ReleaseGate.default(max_typo=1)


def test_missing_or_nan_figure_fails_its_check():
    g = ReleaseGate({"a": ("<=", 1.0), "b": (">=", 5), "c": ("<=", 0.5)})
    table = g.evaluate({"a": 1.0, "c": math.nan})
    assert table["a"]["passed"] and not table["b"]["passed"] and not table["c"]["passed"]
    with pytest.raises(PrivacyGateError, match="b = None"):
        g.enforce({"a": 1.0, "c": 0.1})
    with pytest.raises(PrivacyGateError, match="no privacy check"):
        enforce_table({})


def test_same_seed_same_figures(cohort, kwargs, results):
    s = cohort["schema"]
    again = evaluate_privacy(cohort["independent"][s.modelled], cohort["train"], cohort["holdout"], **kwargs)
    assert again["figures"] == results["independent"]["figures"]


def test_dask_workers_give_the_same_figures(cohort, kwargs, results, dask_client):
    s = cohort["schema"]
    on_dask = evaluate_privacy(
        cohort["independent"][s.modelled], cohort["train"], cohort["holdout"], **kwargs, client=dask_client
    )
    assert on_dask["figures"] == results["independent"]["figures"]


def test_release_entry_drives_suppression(results):
    rel = results["independent"]["release"]
    assert rel["k"] == 5 and rel["bands"] == {"age": 25.0, "year_of_diagnosis": 6.0}
    assert results["independent"]["figures"]["k_anonymity"] >= 5
    assert results["independent"]["figures"]["k_anonymity_raw"] < 5  # suppression was needed


def test_bad_inputs(cohort, kwargs):
    s = cohort["schema"]
    with pytest.raises(ValueError, match="lacks columns"):
        evaluate_privacy(cohort["independent"][["age"]], cohort["train"], cohort["holdout"], **kwargs)
    with pytest.raises(ValueError, match="at least 10"):
        evaluate_privacy(
            cohort["independent"][s.modelled].head(5), cohort["train"], cohort["holdout"], **kwargs
        )
