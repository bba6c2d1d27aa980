"""A realistic SEER*Stat listing (every label variant) end to end through `syntwin run` with `seer_stat`."""

from __future__ import annotations

import json

from ..cohort.seer_stat_listing import listing, write_listing
from .test_failing_well import FAST, assert_json_finite, syntwin


def test_seer_stat_listing_runs_end_to_end(tmp_path):
    write_listing(tmp_path / "listing.txt", listing(800, seed=4, race_recode="White, Black, Other"))
    scen = tmp_path / "seer.yaml"
    scen.write_text("kind: cohort\nname: seer_stat_listing\nseed: 1\n"
                    "cohort: {file: listing.txt, mapping: seer_stat}\nprediction: {horizon_months: 36}\n")
    assert syntwin("validate", str(scen)).returncode == 0
    out = tmp_path / "run"
    proc = syntwin("run", str(scen), "--out", str(out), *FAST)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # released, or refused with its report
    m = json.loads((out / "manifest.json").read_text())
    cohort = m["metrics"]["cohort"]
    rules = cohort["cleaning"]["rules"]
    assert cohort["rows"] == 800 - cohort["cleaning"]["rows_dropped"]
    assert any("'Dead (missing/unknown COD)' -> patient left out" in r for r in rules)
    assert any("value taken from 'Grade Pathological (2018+)'" in r for r in rules)
    assert "patient left out" in syntwin("show", str(out)).stdout  # the cleaning table of `syntwin show`
    assert m["metrics"]["prediction"]["logistic"]["auroc"] > 0.6
    assert (out / "report.html").exists() and (proc.returncode == 3) != (out / "export").exists()
    assert_json_finite(out)
