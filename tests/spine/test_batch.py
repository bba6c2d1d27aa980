"""`syntwin batch`: many runs on one cluster, finished ones skipped, failures reported with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.small_runs import yaml_privacy

EXE = Path(sys.executable).with_name("syntwin")
ROOT = Path(__file__).resolve().parents[2]
SHRINK = ["--set", "sweep.replicates=2", "--set", "simulation.duration_min=40"]


def batch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), "batch", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def test_batch_over_seeds_then_skips_finished(tmp_path):
    out = tmp_path / "b"
    proc = batch("lecture_hall_sweep", "--seeds", "1,2", "--out", str(out), *SHRINK)
    assert proc.returncode == 0, proc.stderr
    m1 = json.loads((out / "lecture_hall_sweep-seed1" / "manifest.json").read_text())
    m2 = json.loads((out / "lecture_hall_sweep-seed2" / "manifest.json").read_text())
    assert (m1["seed"], m2["seed"]) == (1, 2) and m1["kind"] == "crowd"
    assert m1["outputs"]["crowd_summary"]["sha256"] != m2["outputs"]["crowd_summary"]["sha256"]
    assert (out / "lecture_hall_sweep-seed1" / "report.html").exists()
    again = batch("lecture_hall_sweep", "--seeds", "1,2", "--out", str(out), *SHRINK)
    assert again.returncode == 0 and again.stdout.count("skipped (done)") == 2, again.stdout


def test_batch_validates_everything_before_starting(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: crowd\nname: x\nbogus: 1\n")
    proc = batch("lecture_hall_sweep", str(bad), "--out", str(tmp_path / "b"))
    assert proc.returncode == 2 and "bogus" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b").exists()


def test_batch_reports_a_failed_run_and_goes_on(tmp_path):
    data = tmp_path / "c.csv"
    data.write_text("Age,Status\n50,Alive\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"kind: cohort\nname: broken\ncohort:\n  file: {data.name}\n")
    small = tmp_path / "small.yaml"
    small.write_text("kind: cohort\nname: small\ncohort:\n  simulate: {n: 1500}\n"
                     "synthesis: {generator: latent_class, min_group_size: 300}\n"
                     f"privacy: {yaml_privacy(max_k_suppressed_share=0.3)}\nprediction: {{methods: [logistic, twin_knn]}}\n")
    out = tmp_path / "b"
    proc = batch(str(broken), str(small), "--out", str(out))
    assert proc.returncode == 2
    assert "1 of 2 runs failed" in proc.stderr and str(data) in proc.stderr
    assert (out / "small" / "manifest.json").exists() and not (out / "broken").exists()


@pytest.mark.heavy  # ~4 min on the loaded 2-core machine (five runs, two spawned client processes)
def test_batch_parallel_on_one_cluster_records_failures_and_summarises_seeds(tmp_path):
    data = tmp_path / "c.csv"
    data.write_text("Age,Status\n50,Alive\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"kind: cohort\nname: broken\ncohort:\n  file: {data.name}\n")
    hall = yaml.safe_load((ROOT / "scenarios" / "lecture_hall_sweep.yaml").read_text())
    hall["sweep"]["replicates"], hall["simulation"]["duration_min"] = 2, 40  # as SHRINK, in the file
    (tmp_path / "hall.yaml").write_text(yaml.safe_dump(hall))
    out = tmp_path / "b"
    proc = batch(str(tmp_path / "hall.yaml"), str(broken), "--seeds", "1,2", "--parallel", "3", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "2 of 4 runs failed" in proc.stderr and str(data) in proc.stderr
    manifests = [json.loads((out / f"lecture_hall_sweep-seed{s}" / "manifest.json").read_text()) for s in (1, 2)]
    assert not (out / "broken-seed1").exists() and not (out / "broken-seed2").exists()
    # mean and SD across the two seeds, per metric
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["scenario"]) == {"lecture_hall_sweep"}
    arm = next(iter(manifests[0]["metrics"]["crowd"]))
    row = summary.set_index("metric").loc[f"crowd.{arm}.peak_occupancy"]
    values = [m["metrics"]["crowd"][arm]["peak_occupancy"] for m in manifests]
    assert row["runs"] == 2 and row["mean"] == pytest.approx(np.mean(values))
    assert row["sd"] == pytest.approx(np.std(values, ddof=1), nan_ok=True)
    assert f"crowd.{arm}.peak_occupancy" in proc.stdout and "across seeds" in proc.stdout
    # a run of the parallel batch has the bytes of the same run made alone
    alone = subprocess.run([str(EXE), "run", str(tmp_path / "hall.yaml"), "--seed", "2", "--out",
                            str(tmp_path / "alone")], capture_output=True, text=True, timeout=600)
    assert alone.returncode == 0, alone.stderr
    solo = json.loads((tmp_path / "alone" / "manifest.json").read_text())
    assert solo["outputs"] == manifests[1]["outputs"]
