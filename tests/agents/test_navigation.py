"""The room is real: routes around tables and walls, several doors, staff in free space, GeoJSON plans."""

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import shapely

from syntwin.agents import ArrivalProfile, CrowdConfig, CrowdModel, VisitorParams, canteen_plan
from syntwin.agents.geojson import plan_to_geojson, read_floor_plan
from syntwin.agents.navigation import NavGrid
from syntwin.agents.people import GONE, LEAVING, QUEUE, STAFF, TO_SEAT

PLAN_FILE = Path(__file__).resolve().parents[2] / "scenarios/plans/canteen_partition.geojson"
LUNCH = ArrivalProfile((0, 600, 1500, 1800), (3, 8, 4, 0))


def furniture(plan):
    return shapely.union_all([shapely.box(r.x0, r.y0, r.x1, r.y1) for r in
                              [t.rect for t in plan.tables] + [c.rect for c in plan.counters]])


def walls(plan):
    return shapely.union_all([shapely.LineString(w.points).buffer(w.thickness / 2) for w in plan.walls])


def test_route_goes_around_tables_not_through_them():
    plan = canteen_plan(rows=3, cols=3, counters=1)
    nav = NavGrid(plan)
    seats = plan.seats
    a, b = seats[0], seats[-1]  # opposite corners of the dining area, tables in between
    assert not nav.clear(a, b)[0]
    way = nav.route(a, b)
    path = shapely.LineString(np.vstack([a, way]))
    assert not path.intersects(furniture(plan).buffer(-0.01))  # never through a table
    assert np.allclose(way[-1], b)
    assert path.length < 1.6 * np.hypot(*(b - a))  # a detour, not a tour
    assert nav.distance(a, b) >= np.hypot(*(b - a)) - nav.cell
    assert repr(nav).startswith("NavGrid(")


def walked_segments(config, seed=1, steps=None):
    m = CrowdModel(config, seed=seed)
    segs = []
    n = steps or int(config.duration_s / config.dt_s)
    while m.steps < n:
        before, was = m.pos.copy(), m.state.copy()
        m.step()
        moving = np.isin(was, (QUEUE, TO_SEAT, LEAVING)) & (np.hypot(*(m.pos - before).T) > 0)
        segs += [shapely.LineString([before[i], m.pos[i]]) for i in np.flatnonzero(moving)]
    return m, shapely.GeometryCollection(segs) if segs else None


@pytest.fixture(scope="module")
def partition_config():
    plan = read_floor_plan(PLAN_FILE)
    return CrowdConfig(plan, LUNCH, visitors=VisitorParams(dwell_mean_min=8), duration_s=2400, dt_s=5.0)


def test_walkers_never_cross_walls_or_tables(partition_config):
    plan = partition_config.plan
    m, walked = walked_segments(partition_config)
    assert len(walked.geoms) > 1000
    hits = shapely.intersects(np.array(walked.geoms), walls(plan))
    assert hits.sum() == 0
    inside = shapely.intersects(np.array(walked.geoms), furniture(plan).buffer(-0.02))
    assert inside.sum() == 0
    # the same plan without routing walks straight through the partition: the check can fail
    _, straight = walked_segments(dataclasses.replace(partition_config, routing=False))
    assert shapely.intersects(np.array(straight.geoms), walls(plan)).sum() > 50


def test_three_doors_are_used_and_exits_are_nearest_by_walking(partition_config):
    m, _ = walked_segments(partition_config, seed=2)
    came = ~np.isnan(m.t_enter) & (m.state != STAFF)
    k = (m.u[came, 3] * len(m.entrances)).astype(int)
    assert len(m.entrances) == 3 and set(np.bincount(k, minlength=3)) and (np.bincount(k, minlength=3) > 5).all()
    gone = np.flatnonzero(m.state == GONE)
    d = np.hypot(*(m.pos[gone][:, None, :] - m.exits[None, :, :]).transpose(2, 0, 1))
    assert len(np.unique(d.argmin(axis=1))) == 3  # people leave by all three doors
    assert (d.min(axis=1) < 0.8 * 1.8).all()  # through the door opening, not at one point
    assert len({tuple(np.round(p, 2)) for p in m.pos[gone]}) > len(gone) / 2


def test_staff_stand_in_free_space(partition_config):
    m = CrowdModel(partition_config, seed=0)
    staff = m.pos[m.state == STAFF]
    assert len(staff) == 3
    assert not partition_config.plan.blocked_mask(staff, 0.0).any()
    # a counter against the wall: no room behind it, so the staff member stands in free space beside it
    plan = canteen_plan(rows=2, cols=2, counters=1)
    c = plan.counters[0]
    tight = dataclasses.replace(plan, counters=(dataclasses.replace(c, rect=dataclasses.replace(
        c.rect, y1=plan.depth - 0.1)),))
    m = CrowdModel(CrowdConfig(tight, LUNCH, duration_s=60), seed=0)
    p = m.pos[m.state == STAFF]
    assert not tight.blocked_mask(p, 0.1).any()
    r = tight.counters[0].rect
    assert shapely.distance(shapely.box(r.x0, r.y0, r.x1, r.y1), shapely.points(p)).max() < 1.0


def test_geojson_round_trip_and_errors():
    plan = read_floor_plan(PLAN_FILE)
    again = read_floor_plan(plan_to_geojson(plan))
    assert again == plan and len(plan.walls) == 1 and len(plan.doors) == 3
    data = plan_to_geojson(plan)
    bad = copy.deepcopy(data)
    bad["features"][2]["geometry"]["coordinates"][0][1][1] += 0.3  # a table that is not a rectangle
    with pytest.raises(ValueError, match=r"feature 2 \(table 'T0-0'\): must be an axis-aligned rectangle"):
        read_floor_plan(bad)
    bad = copy.deepcopy(data)
    bad["features"][1]["properties"]["kind"] = "pillar"
    with pytest.raises(ValueError, match="properties.kind must be one of"):
        read_floor_plan(bad)
    bad = copy.deepcopy(data)
    del bad["features"][0]["properties"]["height"]
    with pytest.raises(ValueError, match="needs properties.height"):
        read_floor_plan(bad)
    assert read_floor_plan(bad, height=4.0).height == 4.0
    bad = copy.deepcopy(data)
    door = next(f for f in bad["features"] if f["properties"]["kind"] == "door")
    door["geometry"]["coordinates"] = [12.0, 5.0]
    with pytest.raises(ValueError, match="is not on a wall"):
        read_floor_plan(bad)


def test_an_l_shaped_room_blocks_the_missing_corner():
    room = [[0, 0], [20, 0], [20, 10], [10, 10], [10, 20], [0, 20], [0, 0]]
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [room]},
         "properties": {"kind": "room", "height": 3}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [15, 0]}, "properties": {"kind": "door"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [15, 10]},
         "properties": {"kind": "door", "name": "inner"}},
    ]}
    plan = read_floor_plan(data)
    assert plan.outline is not None and plan.width == 20 and plan.depth == 20
    assert plan.blocked_mask(np.array([[15, 15], [5, 15], [15, 5]])).tolist() == [True, False, False]
    nav = NavGrid(plan)
    way = nav.route(np.array([18.0, 2.0]), np.array([2.0, 18.0]))
    assert not shapely.LineString(np.vstack([[18, 2], way])).intersects(
        shapely.box(10.2, 10.2, 20, 20))
