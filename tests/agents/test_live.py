"""The live twin: stream reading, calibration, the CrowdModel hooks, the particle filter, forecasts, scores."""


import numpy as np
import pandas as pd
import pytest

from syntwin.agents import ArrivalProfile, CrowdConfig, Door, FloorPlan, Rect, Table, Zone
from syntwin.agents.live import (
    LiveTwin,
    calibrate,
    evaluate_days,
    minute_grid,
    read_occupancy_stream,
    replay,
)
from syntwin.agents.model import CrowdModel
from syntwin.agents.scores import crps_ensemble, crps_pmf, point_mass, summarize_scores
from syntwin.sample_data import shared_data

DATA = shared_data()
UCI = DATA / "room_occupancy_uci.csv"


def room_config() -> CrowdConfig:
    seats = tuple((x, y) for x in (1.5, 2.5, 3.5, 4.5) for y in (1.2, 2.8))
    plan = FloorPlan(6.3, 4.6, 2.6, zones=(Zone("room", Rect(0, 0, 6.3, 4.6)),),
                     tables=(Table("desks", Rect(1.0, 1.6, 5.0, 2.4), seats),), doors=(Door("door", 0.0, 3.8, 0.9),))
    return CrowdConfig(plan, ArrivalProfile((0, 1), (0, 0)))


def synthetic_stream(days=4, mu=1 / 40, busy=0.15, seed=0, zone="room"):
    """M/M/inf occupancy per minute: arrivals `busy`/min from 9:00 to 17:00, 0.002/min otherwise."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-03-04", periods=days * 1440, freq="1min")
    lam = np.where((idx.hour >= 9) & (idx.hour < 17), busy, 0.002)
    n = np.zeros(len(idx))
    for t in range(1, len(idx)):
        n[t] = n[t - 1] - rng.binomial(int(n[t - 1]), 1 - np.exp(-mu)) + rng.poisson(lam[t])
    return pd.DataFrame({"timestamp": idx + pd.Timedelta(seconds=20), "zone": zone, "count": n})


def test_read_csv_and_jsonl_and_uci_layout(tmp_path):
    df = synthetic_stream(days=1).iloc[:50]
    df.to_csv(tmp_path / "s.csv", index=False)
    df.assign(timestamp=df["timestamp"].astype(str)).to_json(tmp_path / "s.jsonl", orient="records", lines=True)
    a, b = read_occupancy_stream(tmp_path / "s.csv"), read_occupancy_stream(tmp_path / "s.jsonl")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["timestamp", "zone", "count"] and len(a) == 50
    uci = pd.DataFrame({"Date": ["2017/12/22"] * 2, "Time": ["10:49:41", "10:50:12"],
                        "Room_Occupancy_Count": [1, 2], "S5_CO2": [390, 395]})
    uci.to_csv(tmp_path / "uci.csv", index=False)
    u = read_occupancy_stream(tmp_path / "uci.csv")
    assert u["zone"].tolist() == ["room", "room"] and u["count"].tolist() == [1.0, 2.0]
    assert u["co2"].tolist() == [390, 395]


def test_bad_stream_rows_are_named(tmp_path):
    (tmp_path / "bad.csv").write_text("timestamp,zone,count\n2024-01-01 10:00,a,3\n2024-01-01 10:01,a,-1\n")
    with pytest.raises(ValueError, match="data row 2"):
        read_occupancy_stream(tmp_path / "bad.csv")
    (tmp_path / "nocount.csv").write_text("timestamp,zone\n2024-01-01 10:00,a\n")
    with pytest.raises(ValueError, match="missing column"):
        read_occupancy_stream(tmp_path / "nocount.csv")


def test_calibration_recovers_arrivals_and_stays():
    cal = calibrate(minute_grid(synthetic_stream(days=8, busy=0.05)))
    people = np.asarray(cal.arrivals_per_min) * cal.people_per_group
    assert people[10:16].mean() == pytest.approx(0.05, rel=0.25)  # net increases hide a few in+out minutes
    assert people[3] < 0.01
    assert cal.dwell_mean_min == pytest.approx(40, rel=0.3)
    assert 1 / cal.departures_per_min[13] == pytest.approx(40, rel=0.35)
    stays = cal.stays_s(np.full(4000, 12 * 60), np.random.default_rng(0).random(4000)) / 60
    assert np.mean(stays) == pytest.approx(1 / np.mean(cal.departures_per_min[12:15]), rel=0.2)


def test_model_hooks_set_zone_occupancy_and_schedule_arrivals():
    model = CrowdModel(dataclass_replace(room_config(), dt_s=60.0), seed=0)
    u = np.random.default_rng(0).random((5, 8))
    model.set_zone_occupancy(0, 3, u, np.full(3, 600.0))
    assert model.zone_occupancy().tolist() == [3] and model.assimilated_in == 3
    model.step()
    assert model.zone_occupancy().tolist() == [3]
    model.set_zone_occupancy(0, 1, u)
    assert model.zone_occupancy().tolist() == [1] and model.assimilated_out == 2 and model.left == 0
    model.schedule_arrivals(np.array([model.steps * 60 + 10.0, model.steps * 60 + 20.0]), u[:2])
    model.step()
    model.step()
    assert model.entered == 2 and model.zone_occupancy().tolist() == [3]
    for _ in range(11):
        model.step()
    assert model.zone_occupancy().tolist() == [2]  # the one with a 600 s stay left, walking out


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def test_filter_corrects_the_models_state_and_arrival_rate():
    stream = synthetic_stream(days=3, busy=0.15, seed=2)
    grid = minute_grid(stream)
    cal = calibrate(grid.iloc[: 1440])
    quiet = dataclass_replace(cal, arrivals_per_min=tuple(r / 4 for r in cal.arrivals_per_min))  # wrong profile
    twin = LiveTwin(room_config(), quiet, ["room"], replicas=24, seed=0)
    done = twin.update(grid.iloc[1440 + 9 * 60: 1440 + 12 * 60])
    assert len(done) == 180
    last = grid["room"].iloc[1440 + 12 * 60 - 1]
    assert all(m.zone_occupancy()[0] == last for m in twin.models)  # the state is the observation
    assert twin.resamplings > 0
    # the filter moved the arrival multiplier up from its prior mean 0 (people arrive faster than the profile
    # says); it learns slowly: ~0.38 after 3 h against ln 4 = 1.39 (see the issue note)
    assert twin.z.mean() > 0.2
    f = twin.forecast([15, 60])
    occ = f[f["quantity"] == "occupancy"]
    assert occ["horizon_min"].tolist() == [15, 60]
    assert (occ["lower"] <= occ["median"]).all() and (occ["median"] <= occ["upper"]).all()
    risk = f[f["quantity"] == "infection_risk"]
    assert (risk["mean"] > 0).all() and risk["mean"].is_monotonic_increasing  # longer stay, more dose
    again = twin.forecast([15, 60])
    pd.testing.assert_frame_equal(f, again)  # forecasting leaves the twin untouched


def test_crps_agrees_across_forms():
    rng = np.random.default_rng(0)
    ens = rng.integers(0, 4, (50, 200)).astype(float)
    y = rng.integers(0, 4, 50)
    pmf = np.stack([np.bincount(r.astype(int), minlength=4) / 200 for r in ens])
    assert np.allclose(crps_ensemble(ens, y), crps_pmf(pmf, y))
    assert np.allclose(crps_pmf(point_mass(ens[:, 0], 3), y), np.abs(ens[:, 0] - y))


def test_twin_beats_persistence_on_a_stream_it_can_learn(dask_client):
    grid = minute_grid(synthetic_stream(days=3, busy=0.15, mu=1 / 30, seed=4))
    day = pd.Timestamp("2024-03-06")
    kw = dict(days=[day], horizons=(15, 60), every_min=45, spin_up_min=60, seed=3, replicas=12)
    table, scores = evaluate_days(grid.loc[:, ["room"]], room_config(), ["room"], **kw)
    summary = summarize_scores(scores).set_index(["horizon_min", "subset", "method"])
    for h in (15, 60):
        assert summary.loc[(h, "all", "twin"), "crps"] < summary.loc[(h, "all", "persistence"), "crps"]
    assert summary.loc[(60, "all", "twin"), "coverage_90"] > 0.7
    on_dask, _ = evaluate_days(grid.loc[:, ["room"]], room_config(), ["room"], client=dask_client, **kw)
    pd.testing.assert_frame_equal(table, on_dask)  # same seed, same numbers on 2 workers


def test_replay_forecasts_only_from_start_and_never_sees_the_target():
    grid = minute_grid(synthetic_stream(days=1, seed=5))
    twin = LiveTwin(room_config(), calibrate(grid), ["room"], replicas=4, seed=0)
    start = grid.index[600]
    table, ens = replay(twin, grid.iloc[480:720], horizons=(15,), every_min=30, start=start)
    assert (table["time"] >= start).all() and len(ens[15]) == len(table)
    later = grid.iloc[480:720].copy()
    later.iloc[220:, 0] = 99.0  # changing the future must not change earlier forecasts
    twin2 = LiveTwin(room_config(), calibrate(grid), ["room"], replicas=4, seed=0)
    table2, _ = replay(twin2, later, horizons=(15,), every_min=30, start=start)
    early = table["time"] < grid.index[700] - pd.Timedelta(minutes=1)
    pd.testing.assert_series_equal(table.loc[early, "mean"], table2.loc[early, "mean"])


@pytest.mark.skipif(not UCI.exists(), reason="UCI room occupancy data not present")
def test_uci_twin_follows_the_real_room():
    grid = minute_grid(read_occupancy_stream(UCI), ["room"])
    table, scores = evaluate_days(grid, room_config(), ["room"], days=["2018-01-10"], every_min=30,
                                  replicas=8, seed=0, co2=dict(volume_m3=75, ach=0.9, outdoor_ppm=345))
    s = summarize_scores(scores).set_index(["horizon_min", "subset", "method"])
    assert s.loc[(15, "all", "twin"), "n"] > 10
    assert np.isfinite(s["crps"]).all()
    assert table["co2_mean"].between(300, 3000).all()
