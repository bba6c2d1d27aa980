import pytest

from syntwin.agents import ArrivalProfile, CrowdConfig, canteen_plan

LUNCH = ArrivalProfile((0, 1800, 2700, 4500, 6300, 8100, 9000), (1, 6, 9, 8, 4, 1, 0))


@pytest.fixture(scope="session")
def canteen_config():
    return CrowdConfig(canteen_plan(), LUNCH, dt_s=2.0)


