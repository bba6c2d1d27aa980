"""Fixtures every test area shares."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """One real 2-process LocalCluster (1 thread each) for the whole session: starting a cluster costs seconds.

    Tests that kill or restart workers start their own cluster instead.
    """
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        yield client
        # a test that changed the shared cluster would have made every later one run on another cluster
        assert len(client.scheduler_info()["workers"]) == 2, "a test retired or killed a shared worker"
