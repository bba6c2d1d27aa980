"""Crowd scenarios through the spine: validation errors, run_crowd on a real 2-worker cluster, outputs."""

import copy
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from syntwin.errors import ScenarioError
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.crowd import run_crowd
from syntwin.scenario import load as scenario_load
from syntwin.scenario.crowd import CrowdScenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def crowd_kind(monkeypatch):
    monkeypatch.setitem(scenario_load.SCENARIO_KINDS, "crowd", "syntwin.scenario.crowd:CrowdScenario")


def canteen() -> dict:
    return yaml.safe_load((SCENARIOS / "canteen_lunch.yaml").read_text())


def parse(data: dict, tmp_path: Path):
    text = yaml.safe_dump(data, sort_keys=False)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return scenario_load.load_scenario(path)


@pytest.mark.parametrize("name", ["canteen_lunch", "lecture_hall_sweep"])
def test_shipped_scenarios_validate(name, crowd_kind):
    s = scenario_load.load_scenario(SCENARIOS / f"{name}.yaml")
    assert isinstance(s, CrowdScenario)
    assert next(iter(s.arms())) in ("baseline", "ach=3,masks=False")


@pytest.mark.parametrize("edit, field, message", [
    (lambda d: d["floor_plan"]["table_grids"][0].update(pitch=[1.0, 2.5]), "floor_plan.table_grids",
     "overlaps table"),
    (lambda d: d["floor_plan"]["table_grids"][0].update(rows=12), "floor_plan.table_grids",
     "outside the room walls"),
    (lambda d: d["floor_plan"]["counters"][0].update(rect=[1, 0.5, 13, 2]), "floor_plan",
     "table 'T0-0' .* overlaps counter 'counter1'"),
    (lambda d: d["floor_plan"].update(depth=0), "floor_plan.depth", "zero area"),
    (lambda d: d["floor_plan"]["doors"][0].update(at=[5, 3]), "floor_plan.doors", "not on a wall"),
    (lambda d: d["floor_plan"]["zones"][0].update(rect=[0, 0, 0, 23.8]), "floor_plan.zones", "zero area"),
    (lambda d: d["floor_plan"]["zones"][1].update(rect=[10, 0, 45, 23.8]), "floor_plan.zones", "outside"),
    (lambda d: d["interventions"].pop(0), "interventions", "baseline arm"),
    (lambda d: d["interventions"][1].update(name="baseline"), "interventions", "duplicate arm name"),
    (lambda d: d["interventions"][1].update(capacity_limit=0), "interventions.1.capacity_limit",
     "greater than"),
    (lambda d: d["simulation"].update(step_s=7), "simulation.step_s", "must divide 60"),
    (lambda d: d["arrivals"].update(profile=[["12:00", 1], ["11:00", 2]]), "arrivals.profile", "increasing"),
    (lambda d: d.update(sweep={"grid": {"achh": [1]}}), "sweep", "unknown sweep parameter"),
    (lambda d: d["exposure"].update(ach_rate=3), "exposure.ach_rate", "unknown key"),
])
def test_bad_scenarios_give_one_clear_error(edit, field, message, tmp_path, crowd_kind):
    data = canteen()
    edit(data)
    with pytest.raises(ScenarioError, match=message) as info:
        parse(data, tmp_path)
    err = info.value
    assert (err.field or "") == field
    assert err.row is not None and err.file.endswith("s.yaml")


def test_run_canteen_scenario(tmp_path, client):
    scenario = CrowdScenario.model_validate(canteen())
    ctx = RunContext(work=tmp_path, seed=scenario.seed, client=client,
                     source=str(SCENARIOS / "canteen_lunch.yaml"))
    run_crowd(scenario, ctx)
    for name in ("crowd_summary", "crowd_runs", "crowd_minutes", "crowd_zones", "crowd_heatmap",
                 "crowd_series"):
        assert (tmp_path / ctx.outputs[name]).stat().st_size > 0
    summary = pd.read_parquet(tmp_path / "crowd/summary.parquet")
    assert set(summary["arm"]) == {a.name for a in scenario.interventions}
    m = ctx.metrics["crowd"]
    base = m["baseline"]
    assert m["capacity_150"]["peak_occupancy"] <= 150 < base["peak_occupancy"]
    assert m["ventilation_6ach"]["expected_infections"] < base["expected_infections"]
    assert m["masks"]["expected_infections"] < base["expected_infections"]
    assert m["spacing_1.6m"]["close_contacts"] < base["close_contacts"]
    assert m["one_way"]["counterflow_pair_minutes"] < base["counterflow_pair_minutes"]
    assert ctx.metrics["sweep"] == {"reference": "baseline", "arms": 8, "replicates": 3, "runs": 24,
                                    "workers": 2, "parameters": []}
    json.dumps(ctx.metrics, allow_nan=False)
    # costs beside benefits, paired with the baseline
    for arm in (a.name for a in scenario.interventions):
        figures = m[arm]
        assert figures["arrivals"] == pytest.approx(
            figures["served"] + figures["turned_away"] + figures["in_progress"] + figures["waiting_outside"])
    assert m["time_slots_60"]["no_slot"] > 100  # counted, not lost
    assert m["spacing_1.6m"]["vs_reference"]["turned_away"]["verdict"] == "worse"
    assert m["capacity_150"]["vs_reference"]["mean_outside_wait_s"]["verdict"] == "worse"
    assert m["ventilation_6ach"]["vs_reference"]["infections_per_1000_visitors"]["verdict"] == "better"
    assert m["ventilation_6ach"]["vs_reference"]["turned_away"]["verdict"] == "no clear difference"
    assert base["vs_reference"] == "reference"
    cb = pd.read_parquet(tmp_path / "crowd/cost_benefit.parquet")
    assert set(cb["side"]) == {"cost", "benefit"} and len(cb) == 8 * 11
    assert (tmp_path / "crowd/cost_benefit.png").read_bytes()[:4] == b"\x89PNG"
    zones = pd.read_parquet(tmp_path / "crowd/zones.parquet")
    assert set(zones["zone"]) == {"servery", "dining"}
    assert (tmp_path / "crowd/occupancy_heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_tables_on_one_and_two_workers(tmp_path, client):
    data = yaml.safe_load((SCENARIOS / "lecture_hall_sweep.yaml").read_text())
    data["sweep"]["replicates"] = 2
    data["export"]["plots"] = False
    scenario = CrowdScenario.model_validate(data)
    ctx2 = RunContext(work=tmp_path / "two", seed=3, client=client)
    run_crowd(scenario, ctx2)
    ctx0 = RunContext(work=tmp_path / "local", seed=3, client=None)
    run_crowd(scenario, ctx0)
    for rel in ("crowd/summary.parquet", "crowd/runs.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two" / rel),
                                      pd.read_parquet(tmp_path / "local" / rel))
    assert ctx2.metrics["sweep"]["parameters"] == ["ach", "masks", "masks_when_seated"]
    crowd = ctx2.metrics["crowd"]
    best = crowd["ach=6,masks=True,masks_when_seated=True"]["expected_infections"]
    worst = crowd["ach=1.5,masks=False"]["expected_infections"]
    unmasked = crowd["ach=3,masks=False"]
    masked = crowd["ach=3,masks=True,masks_when_seated=True"]
    assert best < worst and masked["expected_infections"] < unmasked["expected_infections"]
    # masks worn seated cut emission (0.5) and inhalation (0.7): about 0.35 of the unmasked risk
    assert masked["infections_per_1000_visitors"] / unmasked["infections_per_1000_visitors"] == \
        pytest.approx(0.35, rel=0.02)
    assert masked["vs_reference"]["infections_per_1000_visitors"]["verdict"] == "better"
    assert masked["vs_reference"]["served"]["verdict"] == "no clear difference"


def test_live_stream_relative_to_the_scenario(tmp_path):
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-03-04", periods=4 * 1440, freq="1min")
    n = np.zeros(len(idx))
    for t in range(1, len(idx)):
        lam = 0.5 if 8 <= idx[t].hour < 18 else 0.01
        n[t] = n[t - 1] - rng.binomial(int(n[t - 1]), 0.05) + rng.poisson(lam)
    (tmp_path / "data").mkdir()
    stream = pd.DataFrame({"timestamp": idx, "zone": "dining", "count": n})
    stream.to_csv(tmp_path / "data/occ.csv", index=False)
    data = canteen()
    data["interventions"] = [{"name": "baseline"}]
    data["simulation"].update(duration_min=30, replicates=1)
    data["live"] = {"stream": "data/occ.csv", "holdout_days": 1, "particles": 100}
    scenario = CrowdScenario.model_validate(data)
    ctx = RunContext(work=tmp_path / "run", seed=1, client=None, source=str(tmp_path / "s.yaml"))
    run_crowd(scenario, ctx)
    live = ctx.metrics["live"]
    assert live["zone"] == "dining" and live["n_forecasts"] > 1000
    assert live["rmse"] < live["rmse_persistence"]
    assert (tmp_path / "run" / ctx.outputs["live_forecast"]).exists()
    bad = copy.deepcopy(data)
    bad["live"]["stream"] = "data/missing.csv"
    with pytest.raises(ScenarioError, match="live stream not found"):
        run_crowd(CrowdScenario.model_validate(bad), RunContext(work=tmp_path / "r2", seed=1, client=None,
                                                               source=str(tmp_path / "s.yaml")))


def test_sweep_sets_apply_to_every_arm():
    data = canteen()
    data["interventions"] = [{"name": "baseline"}, {"name": "masks", "masks": {"emission_factor": 0.5}}]
    data["sweep"] = {"sets": [{"ach": 2}, {"ach": 6, "capacity_limit": 100}], "replicates": 2}
    s = CrowdScenario.model_validate(data)
    arms = s.arms()
    assert list(arms) == ["baseline|ach=2", "baseline|ach=6,capacity_limit=100", "masks|ach=2",
                          "masks|ach=6,capacity_limit=100"]
    assert arms["masks|ach=6,capacity_limit=100"].masks.emission_factor == 0.5
    assert arms["masks|ach=6,capacity_limit=100"].capacity_limit == 100
    assert s.replicates == 2
