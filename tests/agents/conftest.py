import pytest

from syntwin.agents import ArrivalProfile, CrowdConfig, canteen_plan

LUNCH = ArrivalProfile((0, 1800, 2700, 4500, 6300, 8100, 9000), (1, 6, 9, 8, 4, 1, 0))


@pytest.fixture(scope="session")
def canteen_config():
    return CrowdConfig(canteen_plan(), LUNCH, dt_s=2.0)


@pytest.fixture(scope="session")
def dask_client():
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
