import logging

import pytest


@pytest.fixture(scope="module")
def spine_client():
    """A real 2-process LocalCluster client for in-process runs of the spine."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()
