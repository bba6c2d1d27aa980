"""Batch-system behaviour on a real multi-process LocalCluster: lost workers, killed clients, bad outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from syntwin.errors import OutputError
from syntwin.pipeline import run as run_module
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios
from tests import small_runs

SMALL = [*small_runs.SMALL, "prediction.methods=[logistic,real_knn,twin_knn]"]  # kNN searches on workers, no GNN  # kNN searches on workers, no GNN: quick
STAGES = ["cohort", "graph", "synthesis", "fidelity", "prediction", "privacy", "export"]


class KillWorkerWhenTaskStarts(WorkerPlugin):
    """Kill this worker's process the moment a task whose key starts with ``prefix`` is executing on it.

    The task's start is signalled by ``marker`` (created exclusively, so it fires once across all
    workers, restarted ones included), which records the worker's pid and the task's key; with
    ``armed`` it fires only once that file exists (e.g. once a given stage has begun).
    """

    def __init__(self, prefix: str, marker: Path, armed: Path | None = None):
        self.prefix, self.marker, self.armed = prefix, str(marker), None if armed is None else str(armed)

    def setup(self, worker):
        self.address = worker.address

    def transition(self, key, start, finish, **kwargs):
        name = key if isinstance(key, str) else str(key[0])
        if finish != "executing" or not name.startswith(self.prefix):
            return
        if self.armed is not None and not os.path.exists(self.armed):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, json.dumps({"pid": os.getpid(), "key": str(key), "worker": self.address}).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)  # the task is executing on this worker right now


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_scenarios()["seer_breast_twins"], SMALL)


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        return run_scenario(scenario, out, client=client)


def _killed(marker: Path) -> dict:
    assert marker.exists(), "no task of the targeted kind started, so no worker was killed"
    info = json.loads(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(info["pid"], 0)  # that worker process is gone
    return info


@pytest.mark.heavy
@pytest.mark.parametrize("workers, prefix, stage", [(2, "syntwin-synthesize", "synthesis"),
                                                    (1, "_remote_search", "prediction"),
                                                    (1, "_score_task", "prediction")],
                         ids=["synthesis-2-workers", "prediction-knn-only-worker",
                              "prediction-held-out-scoring-only-worker"])
def test_worker_killed_while_its_task_runs_same_outputs(scenario, reference, tmp_path, workers, prefix, stage):
    """A worker dies while one of its tasks executes; Dask reruns the task (nothing was scattered)."""
    marker, armed = tmp_path / "killed.json", tmp_path / "armed"
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.register_plugin(KillWorkerWhenTaskStarts(prefix, marker, armed))

        def progress(name: str) -> None:
            if name == stage:
                armed.touch()

        manifest = run_scenario(scenario, tmp_path / "run", client=client, progress=progress, report=False)
    info = _killed(marker)
    assert info["key"].startswith(prefix)
    assert manifest["outputs"] == reference["outputs"]


@pytest.mark.heavy
def test_killed_client_resumes_skipping_finished_stages_to_identical_outputs(reference, tmp_path):
    out = tmp_path / "run"
    exe = Path(sys.executable).with_name("syntwin")
    cmd = [str(exe), "run", "seer_breast_twins", "--out", str(out), "--workers", "2"]
    for item in SMALL:
        cmd += ["--set", item]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = partial_dir(out) / ".checkpoints"
    deadline = time.time() + 300
    while not (checkpoints / "graph.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert (checkpoints / "graph.json").exists(), "the run never finished its graph stage"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = [s for s in STAGES if (checkpoints / f"{s}.json").exists()]
    assert finished[:2] == ["cohort", "graph"] and finished == STAGES[:len(finished)]
    assert not out.exists() and partial_dir(out).exists()
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] == finished  # exactly the stages finished before the kill were skipped
    assert manifest["outputs"] == reference["outputs"]
    assert not partial_dir(out).exists() and not (out / ".checkpoints").exists()


class Interrupted(KeyboardInterrupt):
    """Stands for an interrupted run (Ctrl-C): the working directory is kept for --resume."""


def _stop_at(stage: str):
    def progress(name: str) -> None:
        if name == stage:
            raise Interrupted(stage)
    return progress


@pytest.mark.heavy
def test_resume_after_every_stage_gives_identical_outputs(reference, tmp_path):
    """Interrupted before each stage in turn, resumed each time: every stage resumes from its checkpoint."""
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], SMALL)
    out = tmp_path / "run"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        for i, stage in enumerate(STAGES[1:], start=1):
            with pytest.raises(Interrupted):
                run_scenario(scenario, out, client=client, resume=i > 1, progress=_stop_at(stage), report=False)
            done = sorted(p.stem for p in (partial_dir(out) / ".checkpoints").glob("*.json"))
            assert done == sorted(STAGES[:i])
        manifest = run_scenario(scenario, out, client=client, resume=True, report=False)
    assert manifest["resumed"] == STAGES[:-1]
    assert manifest["outputs"] == reference["outputs"]


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
