"""Missing values in numeric, ordinal and categorical features, follow-up in days, through every stage of
`syntwin run`: read and counted, encoded, modelled, predicted, privacy-checked and exported."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from .test_failing_well import assert_json_finite, syntwin

N = 500


def messy_cohort(path, n=N, seed=1):
    rng = np.random.default_rng(seed)
    age = rng.normal(62, 10, n).round()
    grade = rng.choice(["I", "II", "III"], n, p=[0.3, 0.4, 0.3])
    stage = rng.choice(["Localized", "Regional", "Distant"], n, p=[0.5, 0.35, 0.15])
    lab = rng.normal(5, 1.5, n).round(2)
    risk = 0.02 * (age - 60) + (grade == "III") * 0.8 + (stage == "Distant") * 1.5 + 0.2 * (lab - 5)
    t_event, t_cens = rng.exponential(2500 * np.exp(-risk)), rng.uniform(300, 3500, n)
    df = pd.DataFrame({"Age": age, "Grade": grade, "Stage": stage, "Lab value": lab,
                       "Follow-up (days)": np.minimum(t_event, t_cens).round(),
                       "Status": np.where(t_event <= t_cens, "dead", "alive")})
    df["Lab value"] = df["Lab value"].where(rng.random(n) >= 0.15)  # 15 % missing lab (empty cells)
    df.loc[rng.random(n) < 0.08, "Grade"] = "unknown"
    df.loc[rng.random(n) < 0.10, "Stage"] = ""
    df.loc[rng.random(n) < 0.03, "Age"] = np.nan
    df.to_csv(path, index=False)
    return df


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("missing")
    source = messy_cohort(base / "cohort.csv")
    (base / "s.yaml").write_text("""kind: cohort
name: missing_days
seed: 3
cohort:
  file: cohort.csv
  mapping:
    columns: {Age: age, Grade: grade, Stage: stage, Lab value: lab, Follow-up (days): follow_up, Status: dead}
    numeric: [age, lab]
    ordinal: {grade: [I, II, III]}
    categorical: [stage]
    time: follow_up
    time_unit: days
    event: {column: dead, positive: [dead], negative: [alive]}
    recode: {grade: {unknown: null}}
synthesis: {ratio: 2.0, min_group_size: 100}
prediction: {horizon_months: 36, methods: [logistic, gradient_boosting, real_knn, twin_knn, logistic_twins]}
privacy: {n_attacks: 300, max_mia_auroc: 1.0, max_inference_risk: 1.0, max_singling_out_risk: 1.0, max_linkability_risk: 1.0}
export: {formats: [parquet, csv, fhir, aggregates]}
runtime: {workers: 1}
""")
    out = base / "run"
    proc = syntwin("run", str(base / "s.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return source, out, json.loads((out / "manifest.json").read_text())


def test_every_missing_count_in_the_cleaning_report(run):
    source, _, m = run
    cleaning = m["metrics"]["cohort"]["cleaning"]
    assert cleaning["missing"] == {"age": int(source["Age"].isna().sum()), "lab": int(source["Lab value"].isna().sum()),
                                   "grade": int((source["Grade"] == "unknown").sum()),
                                   "stage": int((source["Stage"] == "").sum())}
    assert cleaning["rules"]["grade: 'unknown' -> missing"] == (source["Grade"] == "unknown").sum()
    assert m["metrics"]["cohort"]["rows"] == N


def test_days_converted_once_to_months(run):
    source, _, m = run
    rule = next(r for r in m["metrics"]["cohort"]["cleaning"]["rules"] if "converted from days to months" in r)
    assert m["metrics"]["cohort"]["cleaning"]["rules"][rule] == N
    assert m["metrics"]["prediction"]["horizon_months"] == 36.0


def test_twins_keep_the_missing_share_and_export_copes(run):
    source, out, m = run
    twins = pd.read_parquet(out / "export" / "twins.parquet")
    assert twins["follow_up"].max() == pytest.approx(source["Follow-up (days)"].max() * 12 / 365.25, rel=0.35)
    assert twins["follow_up"].notna().all() and set(twins["dead"]) <= {0, 1}
    real = {"age": source["Age"].isna().mean(), "lab": source["Lab value"].isna().mean(),
            "grade": (source["Grade"] == "unknown").mean(), "stage": (source["Stage"] == "").mean()}
    for col, share in real.items():
        assert twins[col].isna().mean() == pytest.approx(share, abs=0.05), col
    csv = pd.read_csv(out / "export" / "twins.csv")
    assert csv["lab"].isna().sum() == twins["lab"].isna().sum()
    assert_json_finite(out)
    for f in (out / "export" / "fhir").glob("*.ndjson"):
        for line in f.read_text().splitlines():
            json.loads(line, parse_constant=lambda t: (_ for _ in ()).throw(AssertionError(t)))


def test_every_stage_produced_figures(run):
    _, _, m = run
    metrics = m["metrics"]
    assert metrics["graph"]["nodes"] == metrics["cohort"]["train"] and metrics["graph"]["edges"] > 0
    assert 0 < metrics["fidelity"]["quality"] <= 1
    for method in ("logistic", "gradient_boosting", "real_knn", "twin_knn", "logistic_twins"):
        assert 0.5 < metrics["prediction"][method]["auroc"] <= 1, method
    assert metrics["privacy"]["passed"] and metrics["export"]["rows"] > 0
