"""Runs that fail well, through the CLI: bugs exit 1 without traceback or `.partial`, refused gates publish
their run (exit 3, report, no export/), degenerate outcomes stop in the cohort stage with one clear line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.generators import Generator, register_generator

FAST = ["--set", "prediction.methods=[logistic, real_knn, twin_knn]", "--set", "synthesis.min_group_size=60",
        "--set", "privacy.n_attacks=200", "--workers", "1"]


def syntwin(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("syntwin")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def one_line(proc: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    # besides the error, only the progress lines of the stages that ran ("✓ [3/7] synthesis  11.1 s")
    errors = [ln for ln in lines if not re.match(r"^\S \[\d+/\d+\] ", ln)]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def survival_csv(path: Path, n: int, *, seed: int = 0, event_rate: float = 0.4, all_alive: bool = False,
                 late_events: bool = False) -> Path:
    """A small survival table with mixed features (months)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n).round()
    grade = rng.choice(["I", "II", "III"], n)
    site = rng.choice(["a", "b", "c"], n)
    dead = (rng.random(n) < event_rate).astype(int)
    months = np.where(dead == 1, rng.uniform(1, 50, n), rng.uniform(61, 120, n)).round(1)
    if all_alive:
        dead[:] = 0
    if late_events:  # every event after the 60-month horizon
        months = np.where(dead == 1, rng.uniform(70, 120, n), rng.uniform(61, 120, n)).round(1)
    pd.DataFrame({"age": age, "grade": grade, "site": site, "months": months,
                  "status": np.where(dead == 1, "dead", "alive")}).to_csv(path, index=False)
    return path


def scenario(path: Path, data: Path, name: str = "small") -> Path:
    path.write_text(f"""kind: cohort
name: {name}
seed: 5
cohort:
  file: {data.name}
  mapping:
    columns: {{age: age, grade: grade, site: site, months: months, status: status}}
    numeric: [age]
    ordinal: {{grade: [I, II, III]}}
    categorical: [site]
    time: months
    event: {{column: status, positive: [dead], negative: [alive]}}
""")
    return path


class FailingGenerator(Generator):
    """A real generator whose fit has a bug: it raises an unexpected error."""

    def _fit(self, codes, df, seed):
        raise ZeroDivisionError("injected bug in fit")

    def _sample(self, n, seed):
        raise AssertionError("never fitted")


def test_bug_in_a_stage_exit_1_no_partial(tmp_path, monkeypatch, capsys):
    from syntwin import cli

    register_generator("failing_for_test", FailingGenerator, overwrite=True)
    scen = scenario(tmp_path / "s.yaml", survival_csv(tmp_path / "c.csv", 300))
    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["syntwin", "run", str(scen), "--out", str(out), *FAST,
                                      "--set", "synthesis.generator=failing_for_test"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 1, err
    assert "internal error" in err and "ZeroDivisionError" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_refused_gate_publishes_its_run_exit_3(tmp_path):
    scen = scenario(tmp_path / "s.yaml", survival_csv(tmp_path / "c.csv", 300))
    out = tmp_path / "run"
    # a DCR share can never be below 0.01 for honest twins: the gate must refuse
    proc = syntwin("run", str(scen), "--out", str(out), *FAST, "--set", "privacy.max_dcr_train_share=0.01")
    line = one_line(proc, 3, "privacy gate refused", "dcr_train_share")
    assert "report.html" in line
    m = json.loads((out / "manifest.json").read_text())
    privacy = m["metrics"]["privacy"]
    assert privacy["passed"] is False and any("dcr_train_share" in r for r in privacy["reasons"])
    assert not privacy["gate"]["dcr_train_share"]["passed"]
    assert m["metrics"]["fidelity"]["quality"] > 0 and "auroc" in m["metrics"]["prediction"]["logistic"]
    assert (out / "report.html").exists() and not (out / "export").exists()
    assert "refused" in (out / "report.html").read_text()
    assert not list(tmp_path.glob(".*partial"))
    one_line(syntwin("export", str(out), "--format", "csv"), 3, "privacy gate refused", "dcr_train_share")
    assert not (out / "release").exists()


@pytest.mark.parametrize("case, needles", [
    ("all_alive", ["none of the", "had the event within 60 months", "one class only"]),
    ("late_events", ["none of the", "had the event within 60 months", "horizon_months="]),
    ("rows_50", ["in the held-out split", "at least 5 are needed"]),
])
def test_degenerate_outcome_one_clear_error(tmp_path, case, needles):
    n = 50 if case == "rows_50" else 300
    data = survival_csv(tmp_path / "c.csv", n, all_alive=case == "all_alive", late_events=case == "late_events",
                        event_rate=0.15 if case == "rows_50" else 0.4)
    out = tmp_path / "run"
    proc = syntwin("run", str(scenario(tmp_path / "s.yaml", data)), "--out", str(out), *FAST)
    one_line(proc, 2, str(data), *needles)
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


@pytest.mark.heavy
def test_60_rows_runs_to_the_end_without_nan(tmp_path):
    """60 patients can be evaluated; methods that cannot be tuned are skipped with their reason."""
    data = survival_csv(tmp_path / "c.csv", 60, seed=3, event_rate=0.45)
    out = tmp_path / "run"
    proc = syntwin("run", str(scenario(tmp_path / "s.yaml", data)), "--out", str(out), "--workers", "1",
                   "--set", "prediction.methods=[logistic, twin_knn, twin_knn_mix]", "--set", "synthesis.min_group_size=10",
                   "--set", "privacy.n_attacks=100", "--set", "prediction.validation=0.05")
    assert proc.returncode in (0, 3), proc.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["metrics"]["cohort"]["rows"] == 60
    pred = m["metrics"]["prediction"]
    assert set(pred["skipped"]) == {"twin_knn", "twin_knn_mix"}
    assert "in the validation split" in pred["skipped"]["twin_knn"]
    assert "auroc" in pred["logistic"] and "twin_knn" not in pred
    assert_json_finite(out)


def assert_json_finite(folder: Path) -> None:
    """Every JSON file below ``folder`` parses without NaN/Infinity (which are not JSON)."""

    def refuse(token: str):
        raise AssertionError(f"{token} in a JSON file")

    for f in folder.rglob("*.json"):
        json.loads(f.read_text(), parse_constant=refuse)


@pytest.mark.parametrize("param", ["select_rows=0", "threads=-1"])
def test_bad_latent_class_setting_is_one_clear_error(tmp_path, param):
    """A latent_class setting out of range: exit 2 naming the field and the value, no run directory."""
    out = tmp_path / "run"
    r = syntwin("run", "seer_breast_twins", "--out", str(out), "--set", "cohort.simulate.n=2000",
                "--set", f"synthesis.params.{param}")
    assert r.returncode == 2, r.stderr
    name, value = param.split("=")
    assert f"synthesis.generator: {name} must be an integer >= 1 or null, got {value}" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr and not out.exists()
