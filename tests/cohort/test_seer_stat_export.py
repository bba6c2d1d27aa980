"""SEER*Stat listings as exported: every variable variant and label read, each recode counted."""

from __future__ import annotations

import pandas as pd
import pytest

from syntwin.cohort.readers import read_cohort

from .seer_stat_listing import STATUS, listing, write_listing


@pytest.fixture(scope="module", params=[("csv", "W, B, AI, API"), ("txt", "White, Black, Other")])
def read(request, tmp_path_factory):
    suffix, race = request.param
    df = listing(600, seed=1, race_recode=race)
    path = write_listing(tmp_path_factory.mktemp("seer") / f"listing.{suffix}", df)
    return df, read_cohort(path, "seer_stat", rows_per_partition=250)


def test_status_values_and_excluded_cases_counted(read):
    df, c = read
    status = df["SEER cause-specific death classification"]
    out, rules = c.data.compute(), c.report.rules
    assert c.report.rows_dropped == status.isin([STATUS["unknown_cod"], STATUS["not_first"]]).sum() > 0
    assert len(out) == len(df) - c.report.rows_dropped
    assert rules["cancer_death: 'Dead (missing/unknown COD)' -> patient left out (event.exclude)"] == \
        (status == STATUS["unknown_cod"]).sum()
    assert rules["cancer_death: 'N/A not first tumor' -> patient left out (event.exclude)"] == \
        (status == STATUS["not_first"]).sum()
    assert out["cancer_death"].sum() == (status == STATUS["cancer"]).sum()
    assert out["survival_months"].notna().all() and rules["survival_months: zero-padded or decimal numbers " \
                                                          "normalised (e.g. '0059' -> '59')"] > 0


def test_grade_from_both_periods_and_label_forms(read):
    df, c = read
    out, rules = c.data.compute(), c.report.rules
    old = df["Grade Recode (thru 2017)"]
    assert rules["grade: 'Well differentiated; Grade I' -> 'I'"] == (old == "Well differentiated; Grade I").sum()
    assert rules["grade: 'Grade III' -> 'III'"] == (old == "Grade III").sum()
    taken = rules["grade: value taken from 'Grade Pathological (2018+)' where 'Grade Recode (thru 2017)' is blank"]
    assert taken == ((old == "Blank(s)") & (df["Grade Pathological (2018+)"] != "Blank(s)")).sum()
    assert set(out["grade"].dropna()) == {"I", "II", "III", "IV"}
    unknown = (old == "Unknown").sum() + (df["Grade Pathological (2018+)"] == "9").sum()
    assert rules["grade: 'Unknown' -> missing"] + rules["grade: '9' -> missing"] == unknown


def test_stage_from_ajcc_7th_6th_and_8th(read):
    df, c = read
    out, rules = c.data.compute(), c.report.rules
    assert set(out["stage"].dropna()) == {"0", "I", "II", "III", "IV"}
    assert rules["stage: 'UNK Stage' -> missing"] > 0 and rules["stage: '3B' -> 'III'"] > 0
    assert rules["stage: value taken from 'Derived EOD 2018 Stage Group Recode (2018+)' where "
                 "'Derived AJCC Stage Group, 7th ed (2010-2015)' is blank"] > 0
    assert rules["summary_stage: 'Unknown/unstaged' -> missing"] > 0
    assert out["tumor_size_mm"].notna().mean() > 0.9  # from CS (<= 2015) or the 2016+ summary
    assert rules["tumor_size_mm: '999' -> missing"] > 0


def test_race_recodes_and_unknowns_counted(read):
    df, c = read
    out = c.data.compute()
    assert set(out["race"].dropna()) <= {"White", "Black", "Other", "Unknown"} and "Other" in set(out["race"])
    assert c.report.rules["race: 'Unknown' kept as a category (means unknown)"] > 0
    assert c.report.missing["tumor_size_mm"] == out["tumor_size_mm"].isna().sum()


def test_only_age_survival_and_status_are_needed(tmp_path):
    df = listing(120, seed=2)[["Age recode with <1 year olds", "Survival months",
                               "SEER cause-specific death classification"]]
    c = read_cohort(write_listing(tmp_path / "minimal.csv", df), "seer_stat")
    assert c.schema.features == ["age"] and c.schema.event == "cancer_death"
    assert c.report.rules["optional column 'Grade Recode (thru 2017)' absent: 'grade' left out"] == 1
    assert isinstance(c.data.compute()["survival_months"].dtype, type(pd.Series([1.0]).dtype))
