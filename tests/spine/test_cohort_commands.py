"""`syntwin cohort read|mappings|simulate` and `graph build --mapping`: plain Parquet out, any mapping in."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from ..cohort.seer_stat_listing import listing, write_listing
from .test_failing_well import one_line, syntwin


@pytest.mark.heavy
def test_mappings_yaml_round_trips_into_read_and_graph_build(tmp_path):
    assert "seer_stat" in syntwin("cohort", "mappings").stdout
    text = syntwin("cohort", "mappings", "seer_stat").stdout
    assert yaml.safe_load(text)["mapping"]["event"]["exclude"] == ["Dead (missing/unknown COD)", "N/A not first tumor"]
    own = tmp_path / "mine.yaml"
    own.write_text(text.replace("grade: I", "grade: I"))  # a user's copy, used as a file
    data = write_listing(tmp_path / "listing.csv", listing(300, seed=3))
    out = tmp_path / "cohort"
    proc = syntwin("cohort", "read", str(data), "--mapping", str(own), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out)  # a plain dataset: schema and report beside it
    report = json.loads((tmp_path / "cohort.report.json").read_text())
    assert len(df) == report["rows_read"] == 300 - report["rows_dropped"]
    assert json.loads((tmp_path / "cohort.schema.json").read_text())["event"] == "cancer_death"
    assert "patient left out" in proc.stdout
    g = syntwin("graph", "build", str(data), "--mapping", str(own), "--out", str(tmp_path / "g"), "--workers", "1",
                "--k", "10")
    assert g.returncode == 0, g.stderr
    assert f"graph of {len(df)} patients" in g.stdout
    again = syntwin("graph", "build", str(out), "--out", str(tmp_path / "g2"), "--workers", "1", "--k", "10")
    assert again.returncode == 0 and f"graph of {len(df)} patients" in again.stdout, again.stderr


def test_bad_mapping_file_and_unknown_preset(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {a: x}\nnumeric: [x]\ntime_unit: fortnights\n")
    one_line(syntwin("cohort", "read", str(bad), "--mapping", str(bad), "--out", str(tmp_path / "o")), 2,
             "line 3", "time_unit")
    one_line(syntwin("cohort", "mappings", "seer_typo"), 2, "unknown mapping preset", "seer_stat")
    one_line(syntwin("cohort", "read", str(bad), "--mapping", "nope", "--out", str(tmp_path / "o")), 2, "--mapping")


def test_simulate_writes_a_dataset_pandas_reads(tmp_path):
    out = tmp_path / "sim"
    proc = syntwin("cohort", "simulate", "--out", str(out), "--n", "500", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out)
    schema = json.loads((tmp_path / "sim.schema.json").read_text())
    assert len(df) == 500 and set(schema["numeric"]) <= set(df.columns)
