"""The CLI end to end: real runs on a 2-process LocalCluster, errors as one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests import small_runs
from tests.small_runs import cli_sets

REPO = Path(__file__).resolve().parents[2]
SMALL = cli_sets(small_runs.SMALL)  # every method: the byte-identity test covers the GNN and SynTwin on workers
#: The contract run: the cheap methods (the byte-identity test, heavy, runs every method twice).
SMALL_CHEAP = cli_sets([*small_runs.SMALL, small_runs.CHEAP_METHODS])


def syntwin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("syntwin")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_version_and_schema():
    assert syntwin("--version").stdout.startswith("syntwin ")
    schema = json.loads(syntwin("schema").stdout)
    assert "cohort" in json.dumps(schema)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The default scenario, shrunk to 3,000 patients and the cheap methods, on 2 workers; the methods fit on a
    sample of 1,000 of the 2,250 training patients (prediction.max_train_rows)."""
    out = tmp_path_factory.mktemp("runs") / "w2"
    proc = syntwin("run", "seer_breast_twins", "--out", str(out), "--workers", "2", *SMALL_CHEAP,
                   "--set", "prediction.max_train_rows=1000")
    assert proc.returncode == 0, proc.stderr
    return out


def test_run_directory_contract(demo_run):
    out = demo_run
    m = json.loads((out / "manifest.json").read_text())
    assert m["scenario"] == "seer_breast_twins" and m["kind"] == "cohort" and m["seed"] == 2024
    assert len(m["config_sha256"]) == 64
    assert {"syntwin", "python", "numpy", "dask"} <= set(m["versions"])
    metrics = m["metrics"]
    for stage in ("cohort", "graph", "synthesis", "prediction", "privacy", "export"):
        assert metrics[stage]["seconds"] >= 0
    assert metrics["cohort"]["rows"] == 3000
    for method in ("twin_knn", "real_knn", "logistic"):
        entry = metrics["prediction"][method]
        assert 0.5 < entry["auroc"] <= 1.0 and entry["coverage"] == 1.0
        assert entry["ci_low"] <= entry["auroc"] <= entry["ci_high"]
    assert metrics["prediction"]["twin_knn"]["trained_on"] == "synthetic"
    sample = metrics["prediction"]["training_sample"]
    assert sample["sampled"] and sample["of_train"] == metrics["cohort"]["train"] > 2000
    assert abs(sample["train"] - 1000) <= 3 and sample["twins"] < sample["of_twins"]
    assert metrics["prediction"]["inner"] + metrics["prediction"]["validation"] <= sample["train"]
    assert metrics["prediction"]["evaluated"] == metrics["prediction"]["logistic"]["n"]  # all held-out scored
    figures = metrics["privacy"]["figures"]
    assert figures["exact_copies_released"] == 0 and 0.0 <= figures["dcr_train_share"] <= 0.6
    from syntwin.privacy.files import loose_modes

    assert loose_modes(out) == []  # patient-level files 0600 in 0700 folders
    release = json.loads((out / "export" / "manifest.json").read_text())
    assert release["gate"]["passed"] and set(release["files"]) >= {"twins.parquet", "twins.csv"}
    assert metrics["privacy"]["passed"] and all(c["passed"] for c in metrics["privacy"]["gate"].values())
    assert {"mia_distance_auroc", "singling_out_risk", "k_anonymity"} <= set(metrics["privacy"]["gate"])
    assert 0 <= metrics["fidelity"]["quality"] <= 1 and "all" in metrics["fidelity"]["km_sup"]
    assert metrics["graph"]["nodes"] == metrics["cohort"]["train"]
    for name, entry in m["outputs"].items():
        assert (out / entry["path"]).exists(), name
    assert not list(out.parent.glob(".*partial"))


@pytest.mark.heavy
def test_same_seed_same_bytes_on_1_and_2_workers(tmp_path):
    """Every method (GraphSAGE and SynTwin's reference included) gives the same bytes on 1 and 2 workers."""
    outs = {}
    for workers in ("2", "1"):
        outs[workers] = tmp_path / f"w{workers}"
        proc = syntwin("run", "seer_breast_twins", "--out", str(outs[workers]), "--workers", workers, *SMALL)
        assert proc.returncode == 0, proc.stderr
    o2, o1 = (json.loads((outs[w] / "manifest.json").read_text())["outputs"] for w in ("2", "1"))
    assert {"graph", "predictions", "twins_parquet", "syntwin_2024"} <= set(o2)
    assert o2 == o1


def test_export_has_no_identifiers(demo_run):
    import pandas as pd

    out = demo_run
    twins = pd.read_parquet(out / "export" / "twins.parquet")
    assert "patient_id" not in twins.columns
    assert (twins["survival_months"] >= 0).all() and set(twins["cancer_death"].unique()) <= {0, 1}
    csv = pd.read_csv(out / "export" / "twins.csv")
    assert list(csv.columns) == list(twins.columns) and len(csv) == len(twins)


def test_privacy_and_export_commands(demo_run, tmp_path):
    out = demo_run
    table = syntwin("privacy", str(out))
    assert table.returncode == 0 and "mia_distance_auroc" in table.stdout and "<= 0.6" in table.stdout
    release = tmp_path / "release"
    proc = syntwin("export", str(out), "--format", "fhir", "--format", "aggregates", "--out", str(release))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["rows"] > 0 and set(manifest["formats"]) == {"fhir", "aggregates"}
    assert (release / "fhir" / "Patient.ndjson").exists()
    assert_clean_error(syntwin("export", str(out), "--format", "xlsx", "--out", str(tmp_path / "x")), "--format")
    assert_clean_error(syntwin("privacy", str(tmp_path)), str(tmp_path))


def test_existing_out_refused_without_overwrite(demo_run):
    out = demo_run
    proc = syntwin("run", "seer_breast_twins", "--out", str(out), *SMALL)
    assert_clean_error(proc, str(out), "--overwrite")


def test_bad_scenario_exit_2_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: cohort\nname: x\ncohort:\n  simulate: {n: 1000}\ngraph:\n  k: 0\n")
    assert_clean_error(syntwin("validate", str(bad)), str(bad), "line 6", "graph.k")
    assert_clean_error(syntwin("run", str(bad), "--out", str(tmp_path / "o")), "graph.k")
    assert not (tmp_path / "o").exists()


def test_failed_run_leaves_nothing(tmp_path):
    """A cohort file with bad rows fails in the middle of a run: no run directory, no partial files."""
    data = tmp_path / "c.csv"
    data.write_text("Age,Status\n50,Alive\n")
    scen = tmp_path / "s.yaml"
    scen.write_text(f"kind: cohort\nname: x\ncohort:\n  file: {data.name}\n")
    out = tmp_path / "run"
    proc = syntwin("run", str(scen), "--out", str(out), "--workers", "1")
    assert_clean_error(proc, str(data))
    assert not out.exists() and not list(tmp_path.glob(".run*"))


def test_unwritable_output(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert_clean_error(syntwin("run", "seer_breast_twins", "--out", str(locked / "o"), *SMALL), "writable")
    finally:
        locked.chmod(0o700)


def test_cohort_simulate_cli(tmp_path):
    out = tmp_path / "c"
    proc = syntwin("cohort", "simulate", "--n", "5000", "--site", "lung", "--out", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    from syntwin.cohort.files import read_dataset

    cohort = read_dataset(out)  # a plain Parquet dataset, its schema beside it
    assert len(cohort.data.compute()) == 5000 and cohort.schema.event == "cancer_death"
    assert_clean_error(syntwin("cohort", "simulate", "--site", "liver", "--out", str(tmp_path / "d")),
                       "--site", "breast")


def test_graph_build_cli(tmp_path):
    cohort, out = tmp_path / "c", tmp_path / "g"
    assert syntwin("cohort", "simulate", "--n", "3000", "--out", str(cohort), "--workers", "1").returncode == 0
    proc = syntwin("graph", "build", str(cohort), "--out", str(out), "--k", "10", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    from syntwin.graphs.store import SimilarityGraph

    graph = SimilarityGraph.load(out)
    assert graph.n_nodes == 3000 and graph.membership is not None and len(graph.edges) >= 3000 * 10 // 2
    bad = syntwin("graph", "build", str(cohort), "--out", str(tmp_path / "h"), "--k", "0")
    assert bad.returncode == 2 and "--k" in bad.stderr and "Traceback" not in bad.stderr
    assert_clean_error(syntwin("graph", "build", str(cohort), "--out", str(tmp_path / "h"), "--method", "hnsw"),
                       "--method")
