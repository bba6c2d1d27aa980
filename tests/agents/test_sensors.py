"""Virtual sensors against brute force and hand-computed cases."""

import numpy as np
import pytest

from syntwin.agents import Rect, lecture_hall_plan
from syntwin.agents.sensors import ContactSensor, HeatMap, plan_cell, zone_counts


def brute_pairs(pos, r):
    d = np.hypot(*(pos[:, None, :] - pos[None, :, :]).transpose(2, 0, 1))
    i, j = np.nonzero(np.triu(d <= r, 1))
    return {(int(a), int(b)) for a, b in zip(i, j)}


def test_pairs_and_contact_time_against_brute_force():
    rng = np.random.default_rng(0)
    sensor = ContactSensor(1.5, 2.0, merge_every=3)
    ids = np.array([3, 7, 8, 10, 12, 20])
    truth: dict[tuple[int, int], int] = {}
    per_person = np.zeros(21)
    for _ in range(10):
        pos = rng.uniform(0, 4, (len(ids), 2))
        got = sensor.update(ids, pos)
        local = brute_pairs(pos, 1.5)
        expect = {(int(ids[a]), int(ids[b])) for a, b in local}
        assert {tuple(sorted(map(int, p))) for p in got} == expect
        for p in expect:
            truth[p] = truth.get(p, 0) + 1
            per_person[list(p)] += 2.0
    pairs, secs = sensor.pair_durations_s()
    assert {(int(a), int(b)): float(s) for (a, b), s in zip(pairs, secs)} == {k: 2.0 * v for k, v in truth.items()}
    np.testing.assert_allclose(sensor.contact_s[:21], per_person)
    assert (pairs[:, 0] < pairs[:, 1]).all()


def test_a_pair_exactly_at_the_radius_counts_and_beyond_does_not():
    s = ContactSensor(1.5, 1.0)
    assert len(s.pairs(np.array([[0.0, 0.0], [1.5, 0.0]]))) == 1
    assert len(s.pairs(np.array([[0.0, 0.0], [1.5001, 0.0]]))) == 0
    assert s.pairs(np.array([[0.0, 0.0]])).shape == (0, 2)


def test_untracked_pairs_still_count_contact_time():
    s = ContactSensor(1.0, 5.0, track_pairs=False)
    s.update(np.array([0, 1, 2]), np.array([[0, 0], [0.5, 0], [9, 9]], float))
    assert s.contact_s[:3].tolist() == [5.0, 5.0, 0.0]
    pairs, secs = s.pair_durations_s()
    assert len(pairs) == 0 and len(secs) == 0


def test_zone_counts_include_edges():
    rects = [Rect(0, 0, 2, 2), Rect(2, 0, 4, 2), Rect(0, 2, 4, 4)]
    pos = np.array([[1, 1], [2, 1], [3, 1.5], [3.9, 3.9], [5, 5]], float)
    assert zone_counts(rects, pos).tolist() == [2, 2, 1]


def test_heatmap_bins_by_cell_and_weights():
    h = HeatMap(4.0, 2.0, 0.5)
    assert h.person_minutes.shape == (8, 4)
    h.add(np.array([[0.1, 0.1], [0.6, 0.1], [0.6, 0.2], [3.99, 1.99], [4.0, 2.0]]), 2.0)
    assert h.person_minutes[0, 0] == 2.0 and h.person_minutes[1, 0] == 4.0
    assert h.person_minutes[7, 3] == 4.0  # the far corner and a point on the far wall share the last cell
    assert h.person_minutes.sum() == 10.0
    h.add(np.empty((0, 2)))
    assert h.person_minutes.sum() == 10.0


def test_plan_aligned_cells_never_put_two_seats_in_one_cell():
    plan = lecture_hall_plan(rows=3, seats_per_row=10, seat_pitch=0.6)
    cell = plan_cell(plan, 1.0)
    assert cell == pytest.approx(0.42)
    h = HeatMap(plan.width, plan.depth, cell)
    h.add(plan.seats, 1.0)
    assert h.person_minutes.max() == 1.0 and h.person_minutes.sum() == len(plan.seats)
    assert plan_cell(plan, 0.3) == 0.3


def test_close_contact_sensor_reports_pairs_per_minute(small_model):
    m = small_model
    s = m.sensors["contacts"]
    assert s.pairs.shape[1] == 2 and s.counterflow_pair_s >= 0
    minutes = m.datacollector.get_model_vars_dataframe()
    assert minutes["close_pairs"].iloc[0] == 0 and minutes["counterflow_pairs"].iloc[0] == 0
    # per-minute mean pairs x minutes = total pair-steps x dt / 60
    total = m.contacts.contact_s.sum() / 2 / 60  # pair-minutes
    assert minutes["close_pairs"].sum() == pytest.approx(total, rel=1e-9)
    assert s.counterflow_pair_s / 60 == pytest.approx(minutes["counterflow_pairs"].sum(), rel=1e-9)


@pytest.fixture(scope="module")
def small_model():
    from syntwin.agents import ArrivalProfile, CrowdConfig, CrowdModel, canteen_plan

    plan = canteen_plan(rows=2, cols=3, counters=1)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 300, 600), (6, 6, 0)), duration_s=1200, dt_s=5.0)
    return CrowdModel(cfg, seed=1).run()


def test_pair_durations_add_up_to_each_persons_contact_time():
    rng = np.random.default_rng(1)
    s = ContactSensor(1.2, 5.0, merge_every=4)
    ids = np.arange(0, 30, 3)  # global ids 0, 3, ..., 27
    for _ in range(9):
        s.update(ids, rng.uniform(0, 3, (len(ids), 2)))
    pairs, secs = s.pair_durations_s()
    assert len(s.contact_s) == 28  # room for the ids seen, no more
    per_person = np.zeros(28)
    np.add.at(per_person, pairs[:, 0], secs)  # the pairs are ids: they index per-person arrays
    np.add.at(per_person, pairs[:, 1], secs)
    np.testing.assert_allclose(per_person, s.contact_s)
    assert per_person.sum() > 0 and (secs % 5.0 == 0).all()


def test_a_room_smaller_than_a_cell_has_one_cell_and_a_snapshot_counts_one_minute_by_default():
    h = HeatMap(0.4, 0.3, 1.0)
    assert h.person_minutes.shape == (1, 1)
    h.add(np.array([[0.1, 0.1], [0.4, 0.3]]))
    assert h.person_minutes.tolist() == [[2.0]]


@pytest.fixture
def still_room():
    """A canteen without staff and twelve visitors whose states and places the tests set by hand."""
    from syntwin.agents import ArrivalProfile, CrowdConfig, CrowdModel, canteen_plan

    plan = canteen_plan(rows=2, cols=2, counters=1)  # zones: servery x 0-4 m, dining x 4-11.9 m (14 m deep)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 60), (0, 0)), duration_s=600, dt_s=5.0, agent_types=("visitor",))
    m = CrowdModel(cfg, seed=0)
    m.populate(12)
    return m


def test_counterflow_is_a_close_pair_of_one_walking_in_and_one_walking_out(still_room):
    from syntwin.agents.people import LEAVING, QUEUE, SEATED, TO_SEAT

    m = still_room
    # six pairs 1 m apart, pairs >= 3 m from each other: (state of lower id, state of higher id)
    cases = [(TO_SEAT, LEAVING), (LEAVING, QUEUE), (QUEUE, LEAVING), (LEAVING, LEAVING), (QUEUE, LEAVING),
             (SEATED, LEAVING)]
    places = [(1, 2), (5, 2), (9, 2), (1, 7), (5, 7), (9, 7)]
    for k, ((sa, sb), (x, y)) in enumerate(zip(cases, places)):
        m.state[2 * k], m.state[2 * k + 1] = sa, sb
        m.pos[2 * k], m.pos[2 * k + 1] = (x, y), (x + 1, y)
    m.target[:12] = m.pos[:12]
    m.target[3] = m.target[8] = (0.5, 12.5)  # queueing and still walking (pairs 2, 5); pair 3's stands
    ids = np.arange(12)
    s = m.sensors["contacts"]
    for _ in range(2):
        s.step(ids, m.pos[ids])
    assert {tuple(p) for p in s.pairs.tolist()} == {(2 * k, 2 * k + 1) for k in range(6)}
    assert s.counterflow_pair_s == 2 * 3 * 5.0  # pairs 1, 2 and 5, two steps
    assert s.minute(ids, m.pos[ids]) == {"close_pairs": 12 / 12, "counterflow_pairs": 6 / 12}  # 12 steps/min
    assert s.minute(ids, m.pos[ids]) == {"close_pairs": 0.0, "counterflow_pairs": 0.0}
    # the contact heat map puts dt/60 minutes at both ends of each close pair
    hm = m.sensors["contact_heatmap"]
    hm.step(ids, m.pos[ids])
    assert hm.map.person_minutes.sum() == pytest.approx(12 * 5 / 60)
    cells = (m.pos[ids] / hm.map.cell).astype(int)
    np.testing.assert_allclose(hm.map.person_minutes[cells[:, 0], cells[:, 1]], 5 / 60)


def test_zone_rows_count_people_and_density_per_zone(still_room):
    m = still_room
    m.pos[:12] = [(1, 1)] * 3 + [(4, 5)] + [(8, 8)] * 8  # three in the servery, one on the shared edge, eight
    m.minute = 7
    ids = np.arange(12)
    m.sensors["zones"].minute(ids, m.pos[ids])
    rows = m.datacollector.get_table_dataframe("zones").tail(2)
    assert rows["minute"].tolist() == [7, 7] and rows["zone"].tolist() == ["servery", "dining"]
    assert rows["count"].tolist() == [4, 9]
    np.testing.assert_allclose(rows["density_per_m2"], [4 / (4 * 14), 9 / (7.9 * 14)])
    before = m.sensors["occupancy_heatmap"].map.person_minutes.sum()
    m.sensors["occupancy_heatmap"].minute(ids, m.pos[ids])
    assert m.sensors["occupancy_heatmap"].map.person_minutes.sum() == before + 12  # one minute each


def test_heat_maps_of_a_run_add_up_to_person_minutes_and_contact_minutes(small_model):
    m = small_model
    plan = m.config.plan
    rows = m.datacollector.get_model_vars_dataframe()
    staff = int((m.state == 8).sum())
    assert staff == 1 and m.heatmap.cell == plan_cell(plan, m.config.heatmap_cell_m)
    # a snapshot of everyone present at each minute row (the first at t = 0)
    assert m.heatmap.person_minutes.sum() == pytest.approx((rows["occupancy"] + staff).sum())
    contact_map = m.sensors["contact_heatmap"].map
    assert contact_map.person_minutes.sum() == pytest.approx(m.contacts.contact_s.sum() / 60)
    assert contact_map.person_minutes.sum() > 0
    assert contact_map.cell == m.heatmap.cell


def test_two_seats_already_set_the_cell():
    from syntwin.agents import Door, FloorPlan, Table, Zone

    plan = FloorPlan(10, 6, 3, zones=(Zone("all", Rect(0, 0, 10, 6)),),
                     tables=(Table("t", Rect(6, 2, 7, 3), ((6.5, 1.6), (6.5, 3.4))),), doors=(Door("d", 5, 6),))
    assert plan_cell(plan, 2.0) == pytest.approx(0.7 * 1.8)  # the two seats are 1.8 m apart


def test_heat_map_adds_snapshots_up_in_person_minutes():
    from syntwin.agents.sensors import HeatMap

    h = HeatMap(4.0, 2.0, 1.0)
    h.add(np.array([[0.5, 0.5], [0.5, 0.7], [3.9, 1.9]]), 1.0)
    h.add(np.array([[0.5, 0.5]]), 2.0)
    h.add(np.empty((0, 2)), 5.0)
    assert h.person_minutes.shape == (4, 2) and h.person_minutes.sum() == 5.0
    assert h.person_minutes[0, 0] == 4.0 and h.person_minutes[3, 1] == 1.0
