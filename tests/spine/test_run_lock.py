"""The run lock: one live run per output directory; a dead run's lock is taken over; missing outputs never hash."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syntwin.errors import OutputError
from syntwin.io import sha256_tree
from syntwin.pipeline.lock import lock_path, run_lock
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios

EXE = Path(sys.executable).with_name("syntwin")
CROWD_SMALL = ["--set", "sweep.replicates=2", "--set", "simulation.duration_min=40"]
HOLD = """
import sys, time
from syntwin.pipeline.lock import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_lock_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    with run_lock(out) as path:
        assert path == lock_path(out.absolute()) and path.exists()
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(OutputError) as err:
            with run_lock(out):
                pass
        text = str(err.value)
        assert f"pid {os.getpid()}" in text and socket.gethostname() in text and holder["started"] in text
    assert not path.exists()  # released: the lock file is gone
    with run_lock(out):  # and can be taken again
        pass


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "run"
    stale = {"host": socket.gethostname(), "pid": _dead_pid(), "started": "2026-01-01T00:00:00Z",
             "process_start": 0.0}
    lock_path(out).write_text(json.dumps(stale))
    with run_lock(out) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_run_into_a_live_output_is_refused_and_touches_nothing(tmp_path):
    out = tmp_path / "run"
    partial_dir(out).mkdir()
    (partial_dir(out) / "live-file").write_text("the other run's work")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        scenario = load_scenario(shipped_scenarios()["lecture_hall_sweep"])
        with pytest.raises(OutputError, match=f"another run is writing this output .*pid {holder.pid}"):
            run_scenario(scenario, out, overwrite=True)
        assert (partial_dir(out) / "live-file").exists()  # --overwrite did not delete the live run's work
    finally:
        holder.kill()
        holder.wait()
    with run_lock(out):  # the killed holder's lock is stale now
        pass


def test_two_cli_runs_into_the_same_out(tmp_path):
    """The second run (with --overwrite, as batch and the DaskJob pass) is refused; the first publishes."""
    out = tmp_path / "run"
    cmd = [str(EXE), "run", "lecture_hall_sweep", "--out", str(out), "--overwrite", "--workers", "1",
           *CROWD_SMALL]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (partial_dir(out) / ".checkpoints").exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stderr
    assert "another run is writing this output" in second.stderr and f"pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["outputs"].values():
        assert sha256_tree(out / entry["path"]) == entry["sha256"]
    assert not lock_path(out).exists()


def test_sha256_tree_refuses_a_missing_path(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    assert sha256_tree(tmp_path / "d") != sha256_tree(tmp_path / "d" / "f")
    with pytest.raises(FileNotFoundError, match="missing"):
        sha256_tree(tmp_path / "gone")
