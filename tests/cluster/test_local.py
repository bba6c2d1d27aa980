"""`syntwin cluster local` for real: a scheduler and 2 worker processes in a child process, a Client that
connects through the scheduler file, runs tasks on the workers, and a clean shutdown on SIGTERM."""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
from distributed import Client

from syntwin.cluster import serve, start_local

CHILD = """
import sys
from syntwin.cluster import serve_local
serve_local(2, port=0, dashboard=None, memory_limit="1GiB", scheduler_file=sys.argv[1])
"""


def wait_for(path, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size:
            return json.loads(path.read_text())
        if proc.poll() is not None:
            pytest.fail(f"cluster process exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    pytest.fail("no scheduler file")


def test_cluster_local_serves_until_sigterm(tmp_path):
    sched = tmp_path / "scheduler.json"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(sched)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        info = wait_for(sched, proc)
        assert info["address"].startswith("tcp://127.0.0.1:") and info["pid"] == proc.pid
        # the address line reaches a pipe while the cluster is up (flushed, not held in a buffer)
        assert select.select([proc.stdout], [], [], 30)[0], "no output line while the cluster runs"
        first = proc.stdout.readline()
        assert f"Dask scheduler at {info['address']}" in first and "--scheduler" in first
        with Client(scheduler_file=str(sched), timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers.values())
            futures = client.map(lambda x: (x * x, os.getpid()), range(20))
            results = client.gather(futures)
            assert [r[0] for r in results] == [x * x for x in range(20)]
            assert os.getpid() not in {r[1] for r in results}  # ran in the worker processes
            assert client.submit(sum, range(101)).result() == 5050
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        assert not sched.exists()  # removed on shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_stops_on_event_and_closes_the_cluster(tmp_path):
    cluster = start_local(1, port=0, dashboard=None, memory_limit="1GiB")
    stop = threading.Event()
    lines = []
    sched = tmp_path / "s.json"
    t = threading.Thread(target=serve, args=(cluster,), kwargs={"scheduler_file": sched, "stop": stop,
                                                                 "echo": lines.append})
    t.start()
    for _ in range(100):
        if sched.exists():
            break
        time.sleep(0.05)
    assert json.loads(sched.read_text())["address"] == cluster.scheduler_address
    stop.set()
    t.join(30)
    assert not t.is_alive() and not sched.exists()
    assert cluster.status.name == "closed"
    assert lines and cluster.scheduler_address in lines[0]


def test_start_local_rejects_zero_workers():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        start_local(0)
