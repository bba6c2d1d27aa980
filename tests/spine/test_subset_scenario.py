"""The shipped scenario over the real SEER subset (skipped where ../shared/data is absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syntwin.scenario.load import shipped_scenarios

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "seer_breast_cancer.csv"


@pytest.mark.heavy
@pytest.mark.skipif(not DATA.exists(), reason="the shared SEER subset is not beside the repository")
def test_seer_subset_file_scenario_reads_all_rows_and_reports_cleaning(tmp_path):
    exe = Path(sys.executable).with_name("syntwin")
    out = tmp_path / "run"
    proc = subprocess.run([str(exe), "run", str(shipped_scenarios()["seer_subset_file"]), "--out", str(out),
                           "--set", f"cohort.file={DATA}", "--workers", "2"],
                          capture_output=True, text=True, timeout=600)
    # 1,006 control patients cannot bound every attack risk below 0.10: the gate may refuse (exit 3), and a
    # refused run is still published with its manifest
    assert proc.returncode in (0, 3), proc.stderr
    cohort = json.loads((out / "manifest.json").read_text())["metrics"]["cohort"]
    assert cohort["rows"] == 4024 and cohort["events"] == 616
    assert cohort["cleaning"]["rules"]["grade: ' anaplastic; Grade IV' -> 'IV'"] == 19
    shown = subprocess.run([str(exe), "show", str(out)], capture_output=True, text=True, timeout=120)
    assert "19" in shown.stdout and "anaplastic" in shown.stdout  # the cleaning table (the run prints a summary)
