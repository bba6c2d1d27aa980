"""The counterfactual stage through the CLI: outputs, `syntwin whatif`, and one clear error per bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from syntwin.errors import ScenarioError
from syntwin.scenario import load as scenario_load
from tests.spine.test_cli import REPO, assert_clean_error, syntwin
from tests import small_runs
from tests.small_runs import cli_sets

SCENARIO = str(REPO / "scenarios" / "seer_breast_whatif.yaml")
SMALL = ["-q", *cli_sets([*small_runs.SMALL, "counterfactual.k=15", "prediction.methods=[logistic]"])]


@pytest.fixture(scope="module")
def whatif_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cf") / "run"
    proc = syntwin("run", SCENARIO, "--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.heavy  # a full cohort run (~1-2 min on 2 cores)
def test_outputs_and_manifest(whatif_run):
    m = json.loads((whatif_run / "manifest.json").read_text())
    cf = m["metrics"]["counterfactual"]
    assert cf["treatment"] == "chemotherapy" and "no unmeasured confounding" in cf["assumption"]
    assert set(cf["average_effect"]) == {"naive", "twins", "cox"}
    for name in ("counterfactual_patients", "counterfactual_effects", "counterfactual_curves"):
        assert name in m["outputs"]
    patients = pd.read_parquet(whatif_run / "counterfactual/patients.parquet")
    assert len(patients) == m["metrics"]["cohort"]["holdout"]
    assert {"twins_surv_No", "twins_surv_Yes_hi", "cox_effect_lo", "stage", "observed"} <= set(patients.columns)
    assert not {"age", "tumor_size_mm", "survival_months"} & set(patients.columns)  # no real features written
    assert ((patients["twins_effect_lo"] <= patients["twins_effect"])
            & (patients["twins_effect"] <= patients["twins_effect_hi"])).all()
    eff = pd.read_csv(whatif_run / "counterfactual/effects.csv")
    assert set(eff["scope"]) == {"all", "I", "II", "III", "IV"}
    arm = json.loads((whatif_run / "counterfactual/effects.json").read_text())["control_arm"]
    assert arm["n_arm"] >= 10 and arm["hazard_ratio_lo"] <= arm["hazard_ratio"] <= arm["hazard_ratio_hi"]
    html = (whatif_run / "report.html").read_text()
    assert "What if: treatment counterfactuals" in html and "Virtual control arm" in html


@pytest.mark.heavy  # a full cohort run (~1-2 min on 2 cores)
def test_whatif_prints_one_patients_options(whatif_run):
    proc = syntwin("whatif", str(whatif_run), "--patient", "3")
    assert proc.returncode == 0, proc.stderr
    patients = pd.read_parquet(whatif_run / "counterfactual/patients.parquet")
    row = patients.iloc[3]
    assert "twins" in proc.stdout and "cox" in proc.stdout and "unmeasured confounding" in proc.stdout
    assert f"{row['cox_surv_No']:.3f}" in proc.stdout and f"{row['twins_effect']:.3f}" in proc.stdout


@pytest.mark.heavy  # a full cohort run (~1-2 min on 2 cores)
def test_whatif_row_out_of_range(whatif_run):
    n = len(pd.read_parquet(whatif_run / "counterfactual/patients.parquet"))
    assert_clean_error(syntwin("whatif", str(whatif_run), "--patient", str(n)), "out of range", f"0..{n - 1}")
    assert_clean_error(syntwin("whatif", str(whatif_run), "--patient", "-1"), "out of range")


def test_whatif_on_a_run_without_counterfactuals(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    assert_clean_error(syntwin("whatif", str(tmp_path)), "no counterfactual outputs")


def test_unknown_treatment_column_fails_early(tmp_path):
    proc = syntwin("run", SCENARIO, "--out", str(tmp_path / "r"), *SMALL, "--set", "counterfactual.treatment=aspirin")
    assert_clean_error(proc, "counterfactual.treatment", "aspirin", "chemotherapy")
    assert not (tmp_path / "r").exists()


def test_treatment_with_one_option_in_the_data():
    """A treatment column in which every patient got the same option is refused before any model."""
    from syntwin.cohort.simulate import simulate_partition, site_schema
    from syntwin.errors import CohortError
    from syntwin.pipeline.counterfactual import check_counterfactual
    from syntwin.scenario.counterfactual import CounterfactualSection

    df = simulate_partition(500, "breast", 0, 0, 0).assign(chemotherapy="Yes")
    with pytest.raises(CohortError, match="one option only") as err:
        check_counterfactual(CounterfactualSection(treatment="chemotherapy"), site_schema("breast"), df, 100)
    assert err.value.field == "counterfactual.treatment"


def test_option_absent_from_the_data(tmp_path):
    proc = syntwin("run", SCENARIO, "--out", str(tmp_path / "r"), *SMALL, "--set", "counterfactual.options=[No, Maybe]")
    assert_clean_error(proc, "counterfactual.options", "Maybe", "values present: No, Yes")


@pytest.mark.parametrize(("override", "needle"), [
    ("counterfactual.options=[Yes]", "exactly two different options"),
    ("counterfactual.options=[Yes, Yes]", "exactly two different options"),
    ("counterfactual.estimators=[magic]", "estimators"),
    ("counterfactual.colour=blue", "colour"),
    ("counterfactual.k=1", "k"),
])
def test_bad_settings_are_refused_by_the_scenario_model(override, needle):
    with pytest.raises(ScenarioError, match=needle):
        scenario_load.load_scenario(SCENARIO, overrides=[override])


def test_bad_settings_exit_2_through_the_cli(tmp_path):
    proc = syntwin("run", SCENARIO, "-q", "--out", str(tmp_path / "r"), "--set", "counterfactual.options=[Yes]")
    assert_clean_error(proc, "exactly two different options")


def test_patients_out_of_range_and_bad_arm_query(tmp_path):
    proc = syntwin("run", SCENARIO, "--out", str(tmp_path / "r"), *SMALL, "--set", "counterfactual.patients=[99999]")
    assert_clean_error(proc, "counterfactual.patients", "out of range")
