"""The dashboard's live panel model (syntwin.dashboard_live) on the real UCI room stream, without a browser:
the twin follows the chosen day up to the page's clock and never sees a later reading, it is calibrated
without that day, and its panel states the reading beside its own view of it. Skipped without the stream."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from syntwin.sample_data import shared_data

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "room_live.yaml"
UCI = shared_data("room_occupancy_uci.csv")

pytestmark = pytest.mark.skipif(not UCI.exists(), reason="the UCI room stream is absent")


@pytest.fixture(scope="module")
def scenario():
    from syntwin.scenario.load import load_scenario

    return load_scenario(SCENARIO, [f"live.stream={UCI}", "live.replicas=8", "live.spin_up_min=30"])


def test_the_twin_sees_only_the_readings_up_to_now_of_its_day(scenario):
    from syntwin.dashboard_live import StreamFollower

    f = StreamFollower(scenario, UCI, SCENARIO, day="2017-12-22", seed=3)
    grid = f.grid[["room"]].dropna()
    fed = lambda t: int(((grid.index > f.start - pd.Timedelta(minutes=30)) & (grid.index <= t)).sum())  # noqa: E731
    assert f.twin.minutes_assimilated == fed(f.start) and f.twin.now <= f.start
    later = f.start + pd.Timedelta(minutes=7, seconds=30)
    f.advance_to(later)
    assert f.twin.minutes_assimilated == fed(later)
    assert f.twin.now == later.floor("min")
    f.advance_to(f.start)  # the clock never runs backwards into the twin
    assert f.twin.minutes_assimilated == fed(later)
    track = f.track
    assert (track["time"] <= later).all() and len(track) == fed(later)
    assert (track["predicted_lower"] <= track["predicted"] + 1e-9).all()
    assert (track["predicted"] <= track["predicted_upper"] + 1e-9).all()
    assert track["observed"].tolist() == grid.loc[track["time"], "room"].tolist()


def test_the_twin_is_calibrated_without_the_day_it_follows(scenario):
    from syntwin.agents.live import calibrate
    from syntwin.dashboard_live import StreamFollower

    a = StreamFollower(scenario, UCI, SCENARIO, day="2017-12-22")
    b = StreamFollower(scenario, UCI, SCENARIO, day="2017-12-23")
    others = a.grid[a.grid.index.normalize() != pd.Timestamp("2017-12-22")]
    assert a.twin.calibration == calibrate(others)
    assert a.twin.calibration != b.twin.calibration  # a different day leaves out different readings


def test_the_default_day_is_the_busiest_in_the_scenarios_window(scenario):
    from syntwin.dashboard_live import StreamFollower, stream_days

    f = StreamFollower(scenario, UCI, SCENARIO)
    window = lambda d: f.grid.loc[f"{d} 16:01":f"{d} 18:00", "room"].sum()  # noqa: E731 (start 16:00, 120 min)
    assert window(f.day) == max(window(d) for d in stream_days(f.grid)) > 0
    assert f.start == pd.Timestamp(f"{f.day} 16:00")


def test_the_panel_states_the_reading_its_prediction_and_the_forecasts(scenario):
    from syntwin.dashboard_live import StreamFollower

    f = StreamFollower(scenario, UCI, SCENARIO, day="2018-01-10", seed=1)
    f.advance_to(f.start + pd.Timedelta(minutes=10))
    text = f.summary()
    now = f.twin.now
    assert f"now {now:%H:%M}" in text
    observed = int(re.search(r"observed (\d+)", text).group(1))
    assert observed == f.grid.loc[now, "room"]
    for h in (15, 60):
        m = re.search(rf"forecast \+{h} min \((\d\d:\d\d)\): occupancy ([\d.]+) \[([\d.]+), ([\d.]+)\], "
                      r"CO2 (\d+) \[(\d+), (\d+)\] ppm", text)
        assert m, text
        assert m.group(1) == f"{now + pd.Timedelta(minutes=h):%H:%M}"
        lo, mean, hi = float(m.group(3)), float(m.group(2)), float(m.group(4))
        assert lo <= mean <= hi
    fc = f.forecast()
    assert fc is f.forecast()  # cached per assimilated minute
    assert len(fc["times"]) == 60 and fc["times"][0] == now + pd.Timedelta(minutes=1)
