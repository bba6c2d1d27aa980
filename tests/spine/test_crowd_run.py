"""Crowd scenarios through the spine: validation errors, run_crowd on a real 2-worker cluster, outputs."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from syntwin.errors import ScenarioError
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.crowd import run_crowd
from syntwin.scenario import load as scenario_load
from syntwin.scenario.crowd import CrowdScenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


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


@pytest.mark.parametrize("name", ["canteen_lunch", "lecture_hall_sweep", "canteen_floorplan"])
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


@pytest.mark.heavy
def test_run_canteen_scenario(tmp_path, dask_client):
    scenario = CrowdScenario.model_validate(canteen())
    ctx = RunContext(work=tmp_path, seed=scenario.seed, client=dask_client,
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


def test_same_seed_same_tables_on_one_and_two_workers(tmp_path, dask_client):
    data = yaml.safe_load((SCENARIOS / "lecture_hall_sweep.yaml").read_text())
    data["sweep"]["replicates"] = 2
    data["export"]["plots"] = False
    scenario = CrowdScenario.model_validate(data)
    ctx2 = RunContext(work=tmp_path / "two", seed=3, client=dask_client)
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


def test_floor_plan_from_geojson_runs_and_bad_files_are_named(tmp_path, crowd_kind):
    s = scenario_load.load_scenario(SCENARIOS / "canteen_floorplan.yaml",
                                    overrides=["simulation.duration_min=20", "simulation.replicates=1"])
    plan = s.to_config().plan
    assert len(plan.walls) == 1 and len(plan.doors) == 3
    ctx = RunContext(work=tmp_path / "run", seed=1, client=None, source=str(SCENARIOS / "canteen_floorplan.yaml"))
    run_crowd(s, ctx)
    assert (tmp_path / "run" / ctx.outputs["crowd_contact_heatmap"]).read_bytes()[:4] == b"\x89PNG"
    data = yaml.safe_load((SCENARIOS / "canteen_floorplan.yaml").read_text())
    data["floor_plan"] = {"file": "plans/missing.geojson"}
    with pytest.raises(ScenarioError, match="floor plan file not found") as info:
        parse(data, tmp_path)
    assert info.value.field == "floor_plan"
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans/bad.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    data["floor_plan"] = {"file": "plans/bad.geojson"}
    with pytest.raises(ScenarioError, match="exactly one 'room' Polygon"):
        parse(data, tmp_path)
