"""The public survival cohorts shipped under scenarios/examples (from lifelines' data sets), through the CLI.

Each shipped example either completes, is refused at the gate with its report published (exit 3), or stops at
once with one clear error (exit 2); one test per class. Methods are restricted to keep the suite short.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from syntwin.scenario.load import load_scenario, shipped_scenarios

from .test_failing_well import FAST, assert_json_finite, one_line, syntwin

EXAMPLES = ["rossi_recidivism", "lung_ncctg", "larynx_cancer", "kidney_transplant", "gbsg2_breast", "flchain_mgus",
            "whas500_heart_attack"]


def test_examples_ship_with_their_data_and_units():
    shipped = shipped_scenarios()
    units = {}
    for name in EXAMPLES:
        s = load_scenario(shipped[name])
        assert (shipped[name].parent / s.cohort.file).is_file(), name
        units[name] = s.cohort.mapping.time_unit
    assert set(units.values()) >= {"weeks", "days", "years"}


def test_flchain_true_false_events_days_and_missing_creatinine_read_as_the_source_has_them():
    from syntwin.cohort.readers import read_cohort

    path = shipped_scenarios()["flchain_mgus"]
    s = load_scenario(path)
    source = pd.read_csv(path.parent / s.cohort.file)
    cohort = read_cohort(path.parent / s.cohort.file, s.cohort.mapping)
    df = cohort.data.compute()
    assert len(df) == len(source) == 7874
    assert int(df["death"].sum()) == int(source["death"].sum())  # "True" labels are the events
    assert int(df["creatinine"].isna().sum()) == int(source["creatinine"].isna().sum()) == 1350
    assert "chapter" not in df.columns  # cause of death: known only after the outcome, not mapped
    assert abs(df["futime"].max() - source["futime"].max() / (365.25 / 12)) < 1e-6  # days -> months


@pytest.mark.heavy
def test_lung_missing_values_refused_with_report(tmp_path):
    out = tmp_path / "lung"
    proc = syntwin("run", "lung_ncctg", "--out", str(out), *FAST)
    one_line(proc, 3, "privacy gate refused")
    m = json.loads((out / "manifest.json").read_text())["metrics"]
    source = pd.read_csv(shipped_scenarios()["lung_ncctg"].parent / "lung_ncctg.csv")
    assert m["cohort"]["cleaning"]["missing"]["meal_calories"] == source["meal.cal"].isna().sum() == 47
    assert any("converted from days to months" in r for r in m["cohort"]["cleaning"]["rules"])
    assert m["privacy"]["passed"] is False and m["privacy"]["reasons"]
    assert (out / "report.html").exists() and not (out / "export").exists()
    assert_json_finite(out)


def test_rossi_at_the_default_horizon_stops_with_one_clear_error(tmp_path):
    """Follow-up ends at 52 weeks: nobody can be followed 60 months, so the outcome has one class."""
    proc = syntwin("run", "rossi_recidivism", "--out", str(tmp_path / "r"), *FAST,
                   "--set", "prediction.horizon_months=60")
    line = one_line(proc, 2, "rossi_recidivism.csv", "none of the 114 evaluable patients was followed 60 months")
    assert "horizon_months=" in line
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".*partial"))


@pytest.mark.heavy
def test_gbsg2_completes_and_exports(tmp_path):
    out = tmp_path / "gbsg2"
    proc = syntwin("run", "gbsg2_breast", "--out", str(out), *FAST)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    m = json.loads((out / "manifest.json").read_text())["metrics"]
    assert m["prediction"]["logistic"]["auroc"] > 0.6
    assert (proc.returncode == 0) == (out / "export" / "twins.parquet").exists()
