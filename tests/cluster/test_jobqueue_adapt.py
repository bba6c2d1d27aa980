"""A served dask-jobqueue cluster is adaptive: a worker that retires at its --lifetime is replaced by a new job
(with ``scale(jobs=n)`` it would not be, and a run longer than one walltime would hang). Worker jobs run as local
processes through a stand-in ``sbatch``/``scancel``."""

import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")

from distributed import Client  # noqa: E402

from syntwin.cluster import serve_jobqueue  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_sbatch_recipe import FAKE_SBATCH, FAKE_SCANCEL  # noqa: E402


@pytest.mark.heavy
@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid")
def test_retired_worker_is_replaced_by_a_new_job(tmp_path, monkeypatch):
    fake, bindir = tmp_path / "slurm", tmp_path / "bin"
    fake.mkdir()
    bindir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    for key in [k for k in os.environ if k.startswith("DASK_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(fake))
    stop, lines = threading.Event(), []
    sched = tmp_path / "scheduler.json"
    server = threading.Thread(target=serve_jobqueue, kwargs=dict(
        system="slurm", jobs=1, maximum_jobs=1, scheduler_file=sched, stop=stop, echo=lines.append,
        cores=1, processes=1, memory="1GiB", walltime="00:10:00", python=sys.executable,
        log_directory=str(tmp_path / "logs"), local_directory=str(tmp_path),
        worker_extra_args=["--lifetime", "6s"], scheduler_options={"dashboard_address": None}), daemon=True)
    server.start()
    try:
        deadline = time.time() + 60
        while not sched.exists() and time.time() < deadline:
            time.sleep(0.2)
        with Client(scheduler_file=str(sched), timeout=30) as client:
            client.wait_for_workers(1, timeout=120)
            first = set(client.scheduler_info()["workers"])
            deadline, replaced = time.time() + 150, set()
            while time.time() < deadline and not replaced:
                replaced = set(client.scheduler_info()["workers"]) - first
                time.sleep(0.5)
            assert replaced, "the retired worker was not replaced"
            assert client.submit(sum, [1, 2]).result(timeout=60) == 3  # and the new one runs tasks
        assert (fake / "job-1.sh").exists()  # a second worker job was submitted
    finally:
        stop.set()
        server.join(timeout=60)
        for pid in (fake / "pids").read_text().split() if (fake / "pids").exists() else []:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
