"""Batch-system behaviour on a real multi-process LocalCluster: lost workers, killed clients, bad outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from syntwin.errors import OutputError
from syntwin.pipeline import run as run_module
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios

SMALL = ["cohort.simulate.n=3000", "synthesis.min_group_size=300", "privacy.max_k_suppressed_share=0.25",
         "privacy.max_inference_risk=0.5", "privacy.max_singling_out_risk=0.3", "privacy.max_linkability_risk=0.3"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_scenarios()["seer_breast_twins"], SMALL)


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        return run_scenario(scenario, out, client=client)


@pytest.mark.heavy
def test_worker_killed_mid_synthesis_same_outputs(scenario, reference, tmp_path):
    killed = threading.Event()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:

        def kill_one_worker() -> None:
            time.sleep(2.0)
            pid = sorted(client.run(os.getpid).values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.set()

        def progress(stage: str) -> None:
            if stage == "synthesis" and not killed.is_set():
                threading.Thread(target=kill_one_worker, daemon=True).start()

        manifest = run_scenario(scenario, tmp_path / "run", client=client, progress=progress)
    assert killed.is_set()
    assert manifest["outputs"] == reference["outputs"]


@pytest.mark.heavy
def test_killed_client_resumes_to_identical_outputs(reference, tmp_path):
    out = tmp_path / "run"
    exe = Path(sys.executable).with_name("syntwin")
    cmd = [str(exe), "run", "seer_breast_twins", "--out", str(out), "--workers", "2"]
    for item in SMALL:
        cmd += ["--set", item]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    graph_done = partial_dir(out) / ".checkpoints" / "graph.json"
    deadline = time.time() + 300
    while not graph_done.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert graph_done.exists(), "the run never finished its graph stage"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial_dir(out).exists()
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"] == reference["outputs"]
    assert not partial_dir(out).exists() and not (out / ".checkpoints").exists()


def test_resume_refuses_other_configuration(scenario, tmp_path):
    out = tmp_path / "run"
    partial_dir(out).joinpath(".checkpoints").mkdir(parents=True)
    partial_dir(out).joinpath(".checkpoints", "config_sha256").write_text("something else")
    with pytest.raises(OutputError, match="another scenario or seed"):
        run_scenario(scenario, out, resume=True)
    with pytest.raises(OutputError, match="--resume to finish it"):
        run_scenario(scenario, out)
    with pytest.raises(OutputError, match="nothing to resume"):
        run_scenario(scenario, tmp_path / "fresh", resume=True)


def test_output_under_a_file_fails_early(scenario, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="writable"):
        run_scenario(scenario, blocker / "run")


def test_full_disk_fails_early(scenario, tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "MIN_FREE_BYTES", 2**62)
    with pytest.raises(OutputError, match="free on the output disk"):
        run_scenario(scenario, tmp_path / "run")
    assert not partial_dir(tmp_path / "run").exists()
