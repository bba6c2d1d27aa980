"""Distributed kNN without scatter: the index is a file the workers memory-map, or a graph task where they cannot
see it; either way the neighbours equal the local search's."""

import os
import subprocess
import sys

import pytest

from syntwin.graphs import MixedEncoder, nearest
from syntwin.graphs.knn import index_directory

from .conftest import CATEGORICAL, NUMERIC, ORDINAL

KW = dict(method="ivf", exclude_self=True, nlist=32, nprobe=4, block_rows=400)


@pytest.fixture(scope="module")
def X(frame):
    return MixedEncoder(numeric=NUMERIC, ordinal=ORDINAL, categorical=CATEGORICAL).fit_transform(frame)[:2000]


def test_index_file_in_the_given_directory_is_removed_after(X, dask_client, tmp_path):
    local = nearest(X, None, 8, **KW)
    with index_directory(tmp_path / "ctx"):
        via_context = nearest(X, None, 8, client=dask_client, **KW)
    explicit = nearest(X, None, 8, client=dask_client, index_dir=tmp_path / "arg", **KW)
    for got in (via_context, explicit):
        assert got[0].tobytes() == local[0].tobytes() and got[1].tobytes() == local[1].tobytes()
    assert list((tmp_path / "ctx").iterdir()) == [] and list((tmp_path / "arg").iterdir()) == []
    # the workers loaded the index (memory-mapped) from the file and keep it for the next block
    cached = dask_client.run(lambda: len(__import__("syntwin.graphs.knn", fromlist=["_CACHE"])._CACHE))
    assert all(n >= 1 for n in cached.values())


def test_workers_that_cannot_see_the_file_get_the_index_from_the_graph(X, tmp_path, monkeypatch):
    """A worker on another filesystem (here: another working directory, the index path being relative)."""
    from distributed import Client, LocalCluster

    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
                                   "--nthreads", "1", "--no-nanny"], cwd=elsewhere, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=120)
            assert list(client.run(os.getcwd).values()) == [str(elsewhere)]
            got = nearest(X, None, 8, client=client, index_dir="relative-index", **KW)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    local = nearest(X, None, 8, **KW)
    assert got[0].tobytes() == local[0].tobytes() and got[1].tobytes() == local[1].tobytes()
    assert not any((tmp_path / "relative-index").iterdir())
