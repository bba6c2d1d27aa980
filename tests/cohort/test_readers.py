"""Cohort readers: SEER presets, custom mappings over CSV/Parquet, and one test per bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from syntwin.cohort import Cohort, CohortSchema
from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.presets import PRESETS, register_preset, resolve_mapping
from syntwin.cohort.readers import CREATED_ID_RULE, read_cohort
from syntwin.errors import CohortError
from syntwin.sample_data import shared_data

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = shared_data("seer_breast_cancer.csv")

SMALL_YAML = """
columns: {"ID": patient_id, "Age": age, "T Stage ": t_stage, "Marital": marital_status,
          "Months": months, "Status": dead}
numeric: [age]
ordinal: {t_stage: [T1, T2, T3, T4]}
categorical: [marital_status]
time: months
event: {column: dead, positive: [Dead], negative: [Alive]}
recode: {t_stage: {1: T1, " t2": T2}}
identifiers: [patient_id]
quasi_identifiers: [age, marital_status]
required: [age]
missing_values: ["", "Unknown"]
"""
HEADER = "ID,Age,T Stage ,Marital,Months,Status"
GOOD = ["a1,61,T1,Married,10,Alive", "a2,55, t2,Single ,0,Dead", "a3,70,T3,Unknown,25,Alive"]


@pytest.fixture
def small() -> SchemaMapping:
    return SchemaMapping.model_validate(yaml.safe_load(SMALL_YAML))


def write(tmp_path: Path, lines: list[str], name: str = "cohort.csv", end: str = "\r\n") -> Path:
    p = tmp_path / name
    p.write_bytes(end.join(lines).encode())  # no final newline, like the SEER CSV
    return p


def bad(tmp_path: Path, small: SchemaMapping, lines: list[str]) -> CohortError:
    p = write(tmp_path, [HEADER, *lines])
    with pytest.raises(CohortError) as info:
        read_cohort(p, small)
    return info.value


def assert_where(err: CohortError, path: Path, row: int | None, field: str | None) -> None:
    text = str(err)
    assert str(path) in text and err.file == str(path)
    if row is not None:
        assert err.row == row and f"row {row}" in text
    if field is not None:
        assert err.field == field and field in text


# ------------------------------------------------------------------ good input


def test_small_csv_crlf_spaces_recode(tmp_path, small):
    c = read_cohort(write(tmp_path, [HEADER, *GOOD]), small)
    df = c.data.compute()
    assert isinstance(c, Cohort) and c.report.rows_read == len(df) == 3
    assert list(df.columns) == c.schema.columns
    assert df["t_stage"].tolist() == ["T1", "T2", "T3"]
    assert df["marital_status"].tolist()[:2] == ["Married", "Single"] and pd.isna(df["marital_status"][2])
    assert df["dead"].tolist() == [0, 1, 0] and df["months"].tolist() == [10.0, 0.0, 25.0]
    rules = c.report.rules
    assert rules["t_stage: ' t2' -> 'T2'"] == 1
    assert rules["marital_status: leading/trailing spaces stripped"] == 1
    assert rules["marital_status: 'Unknown' -> missing"] == 1
    assert rules["header 'T Stage ' matched as 'T Stage' (whitespace stripped)"] == 1


def test_rows_per_partition_and_row_ids(tmp_path, small):
    small2 = small.model_copy(update={"columns": {k: v for k, v in small.columns.items() if k != "ID"}})
    lines = [HEADER.replace("ID,", "")] + [f"{40 + i},T2,Married,{i},Alive" for i in range(10)]
    c = read_cohort(write(tmp_path, lines), small2, rows_per_partition=4)
    assert c.data.npartitions == 3
    df = c.data.compute()
    assert df["patient_id"].tolist() == list(range(1, 11)) and str(df["patient_id"].dtype) == "int64"
    assert c.report.rules[CREATED_ID_RULE.format(name="patient_id")] == 10


@pytest.mark.skipif(not SHARED.exists(), reason="shared SEER CSV absent")
def test_shared_seer_csv():
    c = read_cohort(SHARED, "seer_breast_csv", rows_per_partition=1000)
    df = c.data.compute()
    assert len(df) == c.report.rows_read == 4024 and c.data.npartitions == 5
    assert int(df["death"].sum()) == 616
    assert c.report.rules["grade: ' anaplastic; Grade IV' -> 'IV'"] == 19
    assert c.report.rules["marital_status: leading/trailing spaces stripped"] == 615
    assert (df["grade"] == "IV").sum() == 19 and set(df["grade"]) == {"I", "II", "III", "IV"}
    assert set(df["marital_status"]) == {"Married", "Single", "Divorced", "Widowed", "Separated"}
    assert df["patient_id"].is_unique and df.notna().all().all()
    for col in [*c.schema.numeric, "survival_months"]:
        assert df[col].dtype == "float64"
    assert df["death"].dtype == "int64"
    for col in [*c.schema.ordinal, *c.schema.categorical]:
        assert isinstance(df[col].dtype, pd.StringDtype)
    assert df["nodes_positive"].max() == 46 and df["tumor_size_mm"].between(1, 140).all()


def test_seer_stat_csv_and_tab_separated():
    csv_c = read_cohort(FIXTURES / "seer_stat_case_listing.csv", "seer_stat", rows_per_partition=7)
    tab_c = read_cohort(FIXTURES / "seer_stat_case_listing.txt", "seer_stat")
    a, b = csv_c.data.compute(), tab_c.data.compute()
    pd.testing.assert_frame_equal(a, b)
    # data rows 7 ("Dead (missing/unknown COD)") and 9 ("N/A not first tumor") leave the cohort, counted
    assert csv_c.data.npartitions == 3 and len(a) == 18 and csv_c.report.rows_dropped == 2
    assert a["patient_id"].iloc[0] == "00012345"  # ids stay text: zero padding kept
    assert a["age"].tolist()[:3] == [62.0, 47.0, 72.0]
    assert a["age"].iloc[17] == 2.5  # "01-04 years"
    assert a["survival_months"].iloc[0] == 59.0  # "0059"
    assert int(a["cancer_death"].sum()) == 4 and a["vital_status"].eq("Dead").sum() == 5
    assert a["grade"].value_counts().to_dict() == {"II": 7, "III": 5, "I": 3, "IV": 1}
    assert a["stage"].isna().sum() == 1  # Blank(s)
    assert a["stage"].value_counts().to_dict() == {"I": 6, "III": 4, "II": 4, "IV": 2, "0": 1}
    assert a["race"].value_counts().to_dict() == {"White": 10, "Other": 4, "Black": 3, "Unknown": 1}
    assert a["marital_status"].iloc[0] == "Married" and a["marital_status"].iloc[1] == "Single"
    assert a["tumor_size_mm"].isna().sum() == 2 and a["tumor_size_mm"].iloc[9] == 0.0
    r = csv_c.report.rules
    assert r["stage: 'IIINOS' -> 'III'"] == 1 and r["stage: 'IA' -> 'I'"] == 6
    assert r["stage: 'UNK Stage' -> missing"] == 1 and r["tumor_size_mm: '999' -> missing"] == 1
    assert r["cancer_death: 'N/A not first tumor' -> patient left out (event.exclude)"] == 1
    assert r["cancer_death: 'Dead (missing/unknown COD)' -> patient left out (event.exclude)"] == 1
    assert r["age: '60-64 years' -> midpoint 62"] == 3 and r["age: '85+ years' -> midpoint 87"] == 1
    assert r["race: 'Unknown' kept as a category (means unknown)"] == 1
    assert r["er_status: 'Recode not available' kept as a category (means unknown)"] == 1
    assert r["er_status: 'Borderline/Unknown' kept as a category (means unknown)"] == 1
    assert csv_c.schema == PRESETS["seer_stat"].to_schema()


def test_seer_stat_optional_columns_absent(tmp_path):
    df = pd.read_csv(FIXTURES / "seer_stat_case_listing.csv", dtype=str, keep_default_na=False)
    p = tmp_path / "no_sex.csv"
    df.drop(columns=["Sex", "Patient ID"]).to_csv(p, index=False)
    c = read_cohort(p, "seer_stat")
    assert "sex" not in c.schema.columns and "sex" not in c.schema.quasi_identifiers
    assert c.data.compute()["patient_id"].tolist() == [i for i in range(1, 21) if i not in (7, 9)]


def test_seer_stat_unknown_survival_is_an_error(tmp_path):
    text = (FIXTURES / "seer_stat_case_listing.csv").read_text()
    p = tmp_path / "listing.csv"
    p.write_text(text.replace('"0068"', '"9999"'))  # data row 16
    with pytest.raises(CohortError, match="no value in required") as info:
        read_cohort(p, "seer_stat")
    assert_where(info.value, p, 16, "Survival months")


def test_custom_mapping_over_parquet(tmp_path):
    src = pd.DataFrame({
        "pid": ["p1", "p2", "p3", "p4"], "age_years": [50, 61, 72, 45], "size": [12.5, None, 30.0, 8.0],
        "grade_code": [1, 2, 3, 9], "fu": [12.0, 0.0, 55.5, 3.0], "died": [0, 1, 0, 1],
    })
    one = tmp_path / "one.parquet"
    src.to_parquet(one)
    folder = tmp_path / "parts"
    folder.mkdir()
    src.iloc[:2].to_parquet(folder / "part-0.parquet")
    src.iloc[2:].to_parquet(folder / "part-1.parquet")
    m = SchemaMapping(
        columns={"pid": "patient_id", "age_years": "age", "size": "tumor_size_mm", "grade_code": "grade",
                 "fu": "survival_months", "died": "event"},
        numeric=["age", "tumor_size_mm"], ordinal={"grade": ["I", "II", "III"]},
        recode={"grade": {"1": "I", "2": "II", "3": "III", "9": None}},
        time="survival_months", event={"column": "event"}, identifiers=["patient_id"],
    )
    for path in (one, folder):
        c = read_cohort(path, m, rows_per_partition=2)
        df = c.data.compute()
        assert c.data.npartitions == 2 and df["patient_id"].tolist() == ["p1", "p2", "p3", "p4"]
        assert df["grade"].tolist()[:3] == ["I", "II", "III"] and pd.isna(df["grade"][3])
        assert df["event"].tolist() == [0, 1, 0, 1]
        assert df["survival_months"].tolist() == [12.0, 0.0, 55.5, 3.0]
        assert pd.isna(df["tumor_size_mm"][1]) and c.report.rules["grade: '9' -> missing"] == 1
        assert c.report.rules["tumor_size_mm: missing (null) in the source"] == 1


def test_parquet_errors(tmp_path):
    m = SchemaMapping(columns={"t": "time", "e": "event"}, time="time", event={"column": "event"})
    pd.DataFrame({"t": pd.Series([], dtype=float), "e": pd.Series([], dtype=int)}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(CohortError, match="empty cohort"):
        read_cohort(tmp_path / "e.parquet", m)
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"t": [1.0], "e": [0]}).to_parquet(folder / "a.parquet")
    pd.DataFrame({"t": [1.0], "E": [0]}).to_parquet(folder / "b.parquet")
    with pytest.raises(CohortError, match="columns differ") as info:
        read_cohort(folder, m)
    assert info.value.file.endswith("b.parquet")
    pd.DataFrame({"t": [2.0, -1.0], "e": [0, 2]}).to_parquet(tmp_path / "v.parquet")
    with pytest.raises(CohortError) as info:
        read_cohort(tmp_path / "v.parquet", m)
    assert_where(info.value, tmp_path / "v.parquet", 2, "t")
    assert "1 other bad value" in str(info.value)  # event 2 in the same row


# ------------------------------------------------------------------ mapping model


def test_mapping_yaml_round_trip_and_unknown_keys(small):
    again = SchemaMapping.model_validate(yaml.safe_load(yaml.safe_dump(small.model_dump())))
    assert again == small and again.columns["T Stage"] == "t_stage"  # headers stored stripped
    assert small.recode["t_stage"] == {"1": "T1", " t2": "T2"}  # YAML int key -> text
    for preset in PRESETS.values():
        assert SchemaMapping.model_validate(yaml.safe_load(yaml.safe_dump(preset.model_dump()))) == preset
    with pytest.raises(ValidationError, match="colums"):
        SchemaMapping.model_validate({**yaml.safe_load(SMALL_YAML), "colums": {}})
    with pytest.raises(ValidationError, match="extra_forbidden"):
        SchemaMapping.model_validate({**yaml.safe_load(SMALL_YAML), "event": {"column": "dead", "pos": []}})


@pytest.mark.parametrize(
    "change, match",
    [
        ({"numeric": ["age", "months"]}, "two roles"),
        ({"categorical": ["marital_status", "ghost"]}, "no source header"),
        ({"categorical": [], "quasi_identifiers": []}, "no role"),
        ({"event": {"column": "dead", "positive": ["x"], "negative": ["x"]}}, "both positive and negative"),
        ({"event": {"column": "dead", "positive": [True]}}, "quote the value"),
        ({"recode": {"nothing": {"a": "b"}}}, "recode names"),
    ],
)
def test_mapping_rejects_inconsistent_roles(small, change, match):
    with pytest.raises(ValidationError, match=match):
        SchemaMapping.model_validate({**small.model_dump(), **change})


def test_resolve_and_register(small):
    assert resolve_mapping("seer_stat") == PRESETS["seer_stat"]
    assert resolve_mapping("seer_stat") is not PRESETS["seer_stat"]
    assert resolve_mapping(small) is small
    with pytest.raises(ValueError, match="seer_breast_csv, seer_stat"):
        resolve_mapping("seer")
    register_preset("tiny_test", small)
    try:
        assert resolve_mapping("tiny_test") == small
        with pytest.raises(ValueError, match="exists"):
            register_preset("tiny_test", small)
    finally:
        PRESETS.pop("tiny_test")
    assert isinstance(small.to_schema(), CohortSchema) and repr(small).startswith("SchemaMapping(columns=6")


# ------------------------------------------------------------------ one test per bad input


def test_file_not_found(tmp_path, small):
    p = tmp_path / "nope.csv"
    with pytest.raises(CohortError, match="not found") as info:
        read_cohort(p, small)
    assert_where(info.value, p, None, None)


def test_unsupported_type(tmp_path, small):
    p = write(tmp_path, [HEADER, *GOOD], name="cohort.xlsx")
    with pytest.raises(CohortError, match="unsupported"):
        read_cohort(p, small)


@pytest.mark.parametrize("lines", [[], [""], [HEADER], [HEADER, ""]])
def test_empty_file_or_header_only(tmp_path, small, lines):
    p = write(tmp_path, lines)
    with pytest.raises(CohortError, match="empty") as info:
        read_cohort(p, small)
    assert_where(info.value, p, None, None)


def test_too_many_fields(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], GOOD[1] + ",extra", GOOD[2] + ",x"])
    assert "7 fields but the header has 6" in str(err) and "2 malformed rows" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 2, None)
    assert "line 3" in str(err)


def test_too_few_fields(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], "a2,55,T2,Single,0"])
    assert_where(err, tmp_path / "cohort.csv", 2, "Status")


def test_unterminated_quote_at_end(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], GOOD[1], 'a3,70,T3,"Married,25,Alive'])
    assert "malformed CSV" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 3, "Marital")  # the column where the quote opens


def test_unterminated_quote_midfile(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], 'a2,55,T2,"Single,0,Dead', 'a3,70,T3,"Married",25,Alive'])
    assert "quote" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 2, "Marital")


def test_missing_columns_suggest_close_matches(tmp_path, small):
    p = write(tmp_path, ["ID,Age,T Stag,Marital,Survival Months,Status", *GOOD])
    with pytest.raises(CohortError) as info:
        read_cohort(p, small)
    text = str(info.value)
    assert "'T Stage' (did you mean 'T Stag'?)" in text and "'Months'" in text
    assert_where(info.value, p, None, "T Stage, Months")


def test_unparseable_numeric(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], "a2,fifty,T2,Single,0,Dead", "a3,7O,T3,Married,25,Alive"])
    assert "2 rows" in str(err) and "'fifty'" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 2, "Age")


@pytest.mark.parametrize(
    "line, field",
    [("a3,70,T3,Married,,Alive", "Months"), ("a3,70,T3,Married,5,", "Status"),
     ("a3,Unknown,T3,Married,5,Alive", "Age"), (",70,T3,Married,5,Alive", "ID")],
)
def test_missing_in_required_field(tmp_path, small, line, field):
    err = bad(tmp_path, small, [*GOOD[:2], line])
    assert "required" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 3, field)


def test_event_value_outside(tmp_path, small):
    err = bad(tmp_path, small, [*GOOD[:2], "a3,70,T3,Married,25,Lost"])
    assert "'Lost'" in str(err) and "['Dead']" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 3, "Status")


def test_negative_time(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], "a2,55,T2,Single,-3,Dead", GOOD[2]])
    assert "negative" in str(err) and "-3" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 2, "Months")


def test_ordinal_value_outside_levels(tmp_path, small):
    err = bad(tmp_path, small, [*GOOD[:2], "a3,70,T5,Married,25,Alive"])
    assert "'T5'" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 3, "T Stage")


def test_duplicate_identifiers(tmp_path, small):
    err = bad(tmp_path, small, [*GOOD, "a2,56,T2,Married,3,Alive"])
    assert "'a2'" in str(err) and "identifier" in str(err)
    assert_where(err, tmp_path / "cohort.csv", 4, "ID")


def test_first_problem_in_file_order_is_reported(tmp_path, small):
    err = bad(tmp_path, small, [GOOD[0], "a2,55,T9,Single,0,Dead", "a3,x,T3,Married,25,Alive"])
    assert err.row == 2 and err.field == "T Stage" and "1 other bad value" in str(err)


# ------------------------------------------------------------------ reading paths


def test_blank_lines_latin1_and_semicolons(tmp_path, small):
    lines = [HEADER.replace(",", ";"), *(g.replace(",", ";") for g in GOOD)]
    lines[1] = lines[1].replace("Married", "Mari\xe9e")  # not UTF-8 once encoded as latin-1
    p = tmp_path / "c.txt"
    p.write_bytes(("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n\n").encode("latin-1"))
    c = read_cohort(p, small)
    df = c.data.compute()
    assert df["marital_status"].iloc[0] == "Mariée" and len(df) == 3
    assert c.report.rules["blank lines skipped"] == 2
    assert c.report.rules["file decoded as latin-1 (not valid UTF-8)"] == 1


def test_quoted_line_break_in_ignored_column_uses_exact_path(tmp_path, small):
    plain = read_cohort(write(tmp_path, [HEADER, *GOOD], name="plain.csv"), small).data.compute()
    lines = [HEADER + ",Notes", GOOD[0] + ',"first line', 'second line"', GOOD[1] + ",", GOOD[2] + ',"x"']
    c = read_cohort(write(tmp_path, lines, name="notes.csv"), small)
    pd.testing.assert_frame_equal(c.data.compute(), plain)
    assert c.report.rules["source column 'Notes' not in the mapping: ignored"] == 1


@pytest.mark.parametrize("broken", [False, True])
def test_row_numbers_across_partitions(tmp_path, small, broken):
    rows = [f"id{i},{40 + i},T2,Married,{i},Alive" for i in range(1, 11)]
    rows[7] = "id2,47,T2,Married,7,Alive"  # data row 8 repeats the id of row 2
    if broken:  # a quoted line break in an ignored column forces the exact (line-tracking) path
        rows = [r + ",x" for r in rows]
        rows[0] = rows[0][:-1] + '"a\nb"'
    header = HEADER + (",Notes" if broken else "")
    p = write(tmp_path, [header, *rows])
    with pytest.raises(CohortError) as info:
        read_cohort(p, small, rows_per_partition=3)
    assert_where(info.value, p, 8, "ID")
    assert "'id2'" in str(info.value)


def test_shared_fast_and_exact_paths_agree(tmp_path):
    if not SHARED.exists():
        pytest.skip("shared SEER CSV absent")
    from syntwin.cohort.readers import _read

    m = resolve_mapping("seer_breast_csv")
    fast = _read(SHARED, str(SHARED), m, 1500, exact=False)
    exact = _read(SHARED, str(SHARED), m, 1500, exact=True)
    assert [len(x) for x in fast[0]] == [len(x) for x in exact[0]] == [1500, 1500, 1024]
    for a, b in zip(fast[0], exact[0], strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert fast[2].rules == exact[2].rules


def test_cohort_computes_on_a_process_cluster():
    from distributed import Client, LocalCluster

    c = read_cohort(FIXTURES / "seer_stat_case_listing.csv", "seer_stat", rows_per_partition=6)
    local = c.data.compute(scheduler="sync")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            remote = client.compute(c.data).result()
            deaths = client.compute(c.data["cancer_death"].sum()).result()
    pd.testing.assert_frame_equal(remote, local)
    # one partition per block of 6 source rows (20 rows: 6, 6, 6, 2); 18 rows kept of 20
    assert int(deaths) == 4 and c.data.npartitions == 4 and len(local) == 18
