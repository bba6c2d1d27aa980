"""The model's step, checked step by step against rules computed by hand from the state before and after.

Each test drives a small room through ``CrowdModel.step`` and checks, after every step, what that step
must have done: who passed the door and when, who waits outside, when services start and end, how far
walkers moved, when people sit and stand up, which exit they head for, who breathes the room air, and
what the per-minute figures report. Small rooms and short runs (a second or less each): mutation testing
(tests/README.md) runs them per mutant of the step.
"""

import dataclasses

import numpy as np
import pytest

from syntwin.agents import (ArrivalProfile, CrowdConfig, CrowdModel, ExposureParams, Interventions,
                            VisitorParams, canteen_plan)
from syntwin.agents.exposure import infection_probability
from syntwin.agents.people import (BALKED, GONE, LEAVING, PENDING, QUEUE, SEATED, STAFF, TO_SEAT, WAIT_OUT, Visitor,
                                   WAIT_SEAT)

BURST = ArrivalProfile((0, 300, 900, 1200), (4, 12, 6, 0))
MOVING = (QUEUE, TO_SEAT, LEAVING)


def config(routing=False, **kw):
    plan = canteen_plan(rows=3, cols=4, counters=2, service_mean_s=15.0)
    vp = kw.pop("visitors", VisitorParams(dwell_mean_min=6, dwell_sd_min=2))
    return CrowdConfig(plan, BURST, visitors=vp, exposure=ExposureParams(prevalence=0.05), duration_s=1800,
                       dt_s=5.0, routing=routing, **kw)


def steps(m):
    """Yield ``(before, m)`` after each step; ``before`` holds copies of the arrays the step changes."""
    while m.steps < m.config.duration_s / m.dt:
        before = {k: getattr(m, k).copy() for k in ("pos", "state", "dose", "seat_of")}
        before["serving"] = m.serving.copy()
        m.step()
        yield before, m


def test_the_door_admits_up_to_capacity_in_arrival_order_and_the_rest_wait_outside_breathing_no_room_air():
    m = CrowdModel(config(), Interventions(capacity_limit=6), seed=11)
    visitors = np.arange(m.n_arrivals)
    peak_out = peak_in = 0
    waited = 0
    for before, m in steps(m):
        t = m.time_s
        assert t == pytest.approx(m.steps * m.dt)
        came = visitors[~np.isnan(m.t_door[visitors])]
        # the door opens for a visitor at the first step at or after their arrival time
        assert ((m.t_door[came] - m.t_arrive[came] >= 0) & (m.t_door[came] - m.t_arrive[came] < m.dt)).all()
        assert np.isnan(m.t_door[visitors][m.t_arrive[visitors] > t]).all()
        assert (m.state[visitors][m.t_arrive[visitors] > t] == PENDING).all()
        outside = list(m.outside)
        assert sorted(outside) == np.flatnonzero(m.state == WAIT_OUT).tolist()
        assert (np.diff(m.t_arrive[outside]) >= 0).all()  # a queue in arrival order
        inside = m.inside_visitors
        assert inside <= 6
        if outside:  # nobody waits outside while there is room (at the door, before this step's exits)
            assert inside + int(((before["state"] != GONE) & (m.state == GONE)).sum()) == 6
            waited += 1
        assert (m.dose[outside] == 0).all() and (m.dose[m.state == PENDING] == 0).all()
        peak_out, peak_in = max(peak_out, len(outside)), max(peak_in, inside)
        assert m.peak_outside == peak_out and m.peak_occupancy == peak_in
        assert m.entered == int((~np.isnan(m.t_enter[visitors])).sum())
        assert m.left == int((m.state == GONE).sum())
    assert waited > 20 and peak_out > 3 and peak_in == 6


def test_visitors_balk_exactly_when_their_outside_wait_reaches_the_limit():
    cfg = config(visitors=VisitorParams(dwell_mean_min=6, dwell_sd_min=2, max_outside_wait_s=60.0))
    m = CrowdModel(cfg, Interventions(capacity_limit=4), seed=12)
    for before, m in steps(m):
        out = np.fromiter(m.outside, np.int64)
        assert (m.time_s - m.t_door[out] < 60.0).all()
        now = np.flatnonzero((before["state"] != BALKED) & (m.state == BALKED))
        np.testing.assert_array_equal(m.t_left[now], m.time_s)
        np.testing.assert_allclose(m.t_left[now] - m.t_door[now], 60.0)  # 60 s is 12 whole steps
    balked = m.state == BALKED
    assert m.balked == int(balked.sum()) > 5
    assert np.isnan(m.t_enter[balked]).all() and (m.dose[balked] == 0).all()


def test_services_start_within_the_step_that_serves_and_end_before_the_step_that_releases():
    m = CrowdModel(config(), seed=13)
    end = {}
    started = 0
    for before, m in steps(m):
        t, dt = m.time_s, m.dt
        for lane, s in enumerate(m.serving):
            if s >= 0 and s != before["serving"][lane]:
                # the new head reached the serving place during this step and stands on it
                assert t - dt < m.t_service[s] <= t + 1e-9
                np.testing.assert_array_equal(m.pos[s], m._slots[lane][0])
                assert m.service_end[lane] == pytest.approx(
                    m.t_service[s] + m.lane_service[lane] * m.service_z[s], rel=1e-12)
                started += 1
            if s >= 0:
                end[int(s)] = m.service_end[lane]
                assert t < m.service_end[lane]  # released at the first step at or after the end
            q = list(m.lane_queue[lane])
            offset = 1 if s >= 0 else 0
            np.testing.assert_allclose(m.target[q], m._slots[lane][offset:offset + len(q)])
        served = np.flatnonzero((before["state"] == QUEUE) & np.isin(m.state, (TO_SEAT, SEATED, WAIT_SEAT)))
        for i in served:
            assert t - dt < end[int(i)] <= t + 1e-9
    assert started > 30


def start_of_walk(before, m):
    """Where each walker started this step's walk: where they stood, or the serving place for those whose
    service started and ended within the step (they walked to the counter, were served, walked on)."""
    start = before["pos"].copy()
    chained = np.flatnonzero((m.t_service > m.time_s - m.dt) & (m.state != QUEUE))
    for i in chained:
        start[i] = m._slots[m.lane_of[i]][0]
    return start, len(chained)


def test_walkers_move_straight_at_their_speed_and_stop_on_their_target():
    m = CrowdModel(config(), seed=14)
    moved = arrived = chains = 0
    for before, m in steps(m):
        walk = np.flatnonzero(np.isin(before["state"], MOVING) & (m.state != WAIT_SEAT))
        start, k = start_of_walk(before, m)
        d = m.target[walk] - start[walk]
        dist = np.hypot(*d.T)
        reach = m.speed[walk] * m.dt
        frac = np.minimum(1.0, reach / np.maximum(dist, 1e-12))
        np.testing.assert_allclose(m.pos[walk], start[walk] + d * frac[:, None], atol=1e-9)
        moved += int((dist > reach).sum())
        arrived += int(((dist > 0) & (dist <= reach)).sum())
        chains += k
    assert moved > 150 and arrived > 50 and chains > 0


def test_visitors_sit_on_arrival_at_their_seat_and_stand_up_at_the_first_step_after_their_stay():
    m = CrowdModel(config(), seed=15)
    sat = stood = 0
    for before, m in steps(m):
        t = m.time_s
        now = np.flatnonzero((before["state"] == TO_SEAT) & (m.state == SEATED))
        np.testing.assert_array_equal(m.t_seated[now], t)
        np.testing.assert_allclose(m.t_leave[now], t + m.dwell_s[now])
        np.testing.assert_allclose(m.pos[now], m.seats[m.seat_of[now]])
        assert not m.seat_free[m.seat_of[now]].any()
        up = np.flatnonzero((before["state"] == SEATED) & (m.state != SEATED))
        assert ((m.t_leave[up] <= t) & (m.t_leave[up] > t - m.dt)).all()
        assert np.isin(m.state[up], (LEAVING, GONE)).all() and (m.seat_of[up] == -1).all()
        assert m.seat_free[before["seat_of"][up]].all()  # the seat is free again
        sat, stood = sat + len(now), stood + len(up)
        seated = m.state == SEATED
        assert (m.t_leave[seated] > t).all()
        assert len(set(m.seat_of[m.seat_of >= 0].tolist())) == int((m.seat_of >= 0).sum())  # one per seat
    assert sat > 20 and stood > 10


def test_people_leave_by_the_exit_nearest_to_where_they_stand_up():
    for routing in (False, True):
        m = CrowdModel(config(routing=routing), seed=16)
        assert len(m.exits) == 2
        width = np.hypot(*m.exit_span.T)
        heading = {}
        for before, m in steps(m):
            up = np.flatnonzero((before["state"] == SEATED) & np.isin(m.state, (LEAVING, GONE)))
            for i in up:
                p = before["pos"][i]
                far = [m.nav.distance(p, e) if routing else np.hypot(*(e - p)) for e in m.exits]
                heading[int(i)] = int(np.argmin(far))
        gone = [i for i in heading if m.state[i] == GONE]
        assert len(gone) > 10
        for i in gone:
            k = heading[i]
            assert np.hypot(*(m.pos[i] - m.exits[k])) <= 0.4 * width[k] + 1e-9


def test_routed_walkers_never_cut_through_furniture_and_end_where_they_were_going():
    m = CrowdModel(config(routing=True), seed=17)
    for before, m in steps(m):
        walk = np.flatnonzero(np.isin(before["state"], MOVING) & np.isin(m.state, (*MOVING, SEATED, GONE)))
        start, _ = start_of_walk(before, m)
        along = np.linspace(0, 1, 25)[:, None, None]
        path = (start[walk] + along * (m.pos[walk] - start[walk])).reshape(-1, 2)
        assert not m.config.plan.blocked_mask(path).any()  # no step passes through a table or counter
        seated = np.flatnonzero(m.state == SEATED)
        np.testing.assert_allclose(m.pos[seated], m.seats[m.seat_of[seated]])
        for lane, q in enumerate(m.lane_queue):  # queue members are headed for their place in line
            offset = 1 if m.serving[lane] >= 0 else 0
            q = list(q)
            np.testing.assert_allclose(m._goal_of(np.asarray(q, np.int64)),
                                       np.clip(m._slots[lane][offset:offset + len(q)], 0,
                                               [m.config.plan.width, m.config.plan.depth]))
    gone = m.state == GONE
    assert gone.sum() > 10
    assert (np.hypot(*(m.pos[gone][:, None, :] - m.exits[None]).transpose(2, 0, 1)).min(axis=1) < 1.0).all()


def test_each_step_doses_exactly_the_people_present_with_that_steps_air():
    m = CrowdModel(config(), seed=18)
    ex = m.config.exposure
    lam = m.air.removal_per_s
    c = total = 0.0
    for before, m in steps(m):
        # present for this step's air: inside after movement (those who passed the exit are gone) or staff
        present = np.isin(m.state, (QUEUE, TO_SEAT, WAIT_SEAT, SEATED, LEAVING, STAFF))
        e = ex.prevalence * ex.quanta_per_h * present.sum() / 3600 / m.config.plan.volume
        c_ss = e / lam
        step_integral = c_ss * m.dt + (c - c_ss) * (1 - np.exp(-lam * m.dt)) / lam
        c = c_ss + (c - c_ss) * np.exp(-lam * m.dt)
        total += step_integral
        assert m.air.concentration == pytest.approx(c, rel=1e-9)
        assert m.exposure_integral == pytest.approx(total, rel=1e-9)
        gained = m.dose - before["dose"]
        assert (gained[~present] == 0).all()
        np.testing.assert_allclose(gained[present], ex.breathing_m3_per_h / 3600 * step_integral, rtol=1e-9)
    assert int((m.state == STAFF).sum()) == 2 and total > 0


def test_minute_rows_report_the_state_at_each_minute():
    m = CrowdModel(config(), Interventions(capacity_limit=8), seed=19)
    ex = m.config.exposure
    rows = [dict(minute=0, occupancy=0, waiting_outside=0, queue_length=0, quanta_per_m3=0.0,
                 expected_infections=0.0)]
    for before, m in steps(m):
        if m.steps % 12:  # 60 s / 5 s
            continue
        entered = ~np.isnan(m.t_enter) & (m.state != STAFF)
        rows.append(dict(
            minute=m.steps // 12,
            occupancy=int(np.isin(m.state, (QUEUE, TO_SEAT, WAIT_SEAT, SEATED, LEAVING)).sum()),
            waiting_outside=int((m.state == WAIT_OUT).sum()),
            queue_length=int((m.state == QUEUE).sum()),
            quanta_per_m3=m.air.concentration,
            expected_infections=(1 - ex.prevalence) * float((1 - np.exp(-m.dose[entered])).sum()),
        ))
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 1800 / 60 + 1 == len(rows)
    for col in rows[0]:
        np.testing.assert_allclose(df[col].to_numpy(float), [r[col] for r in rows], rtol=1e-9, err_msg=col)
    assert df["waiting_outside"].max() > 0 and df["expected_infections"].iloc[-1] > 0
    staff = m.state == STAFF
    assert m.expected_infections_now(staff=True) == pytest.approx(
        (1 - ex.prevalence) * infection_probability(m.dose[staff]).sum(), rel=1e-12)


@pytest.mark.parametrize("north", [False, True])
def test_a_queue_longer_than_its_lane_waits_inside_the_walls(north):
    from syntwin.agents import Counter, Door, FloorPlan, QueueLane, Rect, Table, Zone

    if north:  # counter by the south wall, lane running north: the overflow heads for the north wall
        plan = FloorPlan(10, 6, 3, zones=(Zone("all", Rect(0, 0, 10, 6)),),
                         tables=(Table("t", Rect(6, 2, 7, 3), ((6.5, 1.6), (6.5, 3.4))),),
                         counters=(Counter("c", Rect(1, 0.5, 3, 1.0), service_mean_s=120.0),),
                         lanes=(QueueLane("c", ((2, 3.0), (2, 1.5))),), doors=(Door("d", 5, 6),))
    else:  # the canteen's lanes run south from the counters: the overflow heads for the south wall
        plan = canteen_plan(rows=2, cols=2, counters=1, service_mean_s=120.0)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 600, 601), (6, 6, 0)), duration_s=900, dt_s=5.0, routing=False)
    m = CrowdModel(cfg, seed=20)
    longest = 0
    for before, m in steps(m):
        q = list(m.lane_queue[0])
        longest = max(longest, len(q))
        assert ((m.target[q] >= 0) & (m.target[q] <= [plan.width, plan.depth])).all()
    assert longest * plan.lanes[0].spacing_m > plan.depth  # the line was longer than the room


@pytest.mark.parametrize("patience_s", [60.0, 600.0])
def test_waiters_are_seated_first_come_and_give_up_exactly_when_their_patience_runs_out(patience_s):
    """A room with 10 seats and ~60 visitors who stay ~3 min (no food counters). After every step:
    - nobody is still waiting for a seat who has waited ``max_seat_wait_s`` or more (at that step they sit
      or give up, not a step later), and whoever gave up did so at the first step their wait reached it;
    - in a step in which nobody came in, the seats free at its start go to the waiters: min(waiters, free)
      of them stop waiting, the longest-waiting first."""
    from syntwin.agents import lecture_hall_plan

    plan = lecture_hall_plan(rows=2, seats_per_row=5)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 600, 900), (6, 6, 0)), duration_s=1800, dt_s=5.0,
                      visitors=VisitorParams(dwell_mean_min=3, dwell_sd_min=1, p_food=0,
                                             max_seat_wait_s=patience_s))
    m = CrowdModel(cfg, seed=11)
    offered = gave_up_seen = 0
    while m.steps < cfg.duration_s / m.dt:
        waiting = np.flatnonzero(m.state == WAIT_SEAT)
        free, entered, flags = int(m.seat_free.sum()), m.entered, m.gave_up_flag.copy()
        m.step()
        t = m.time_s
        still = np.flatnonzero(m.state == WAIT_SEAT)
        assert (t - m.t_wait_seat[still] < patience_s).all()
        quit_now = np.flatnonzero(m.gave_up_flag & ~flags)
        assert (t - m.t_wait_seat[quit_now] >= patience_s).all()
        assert (t - m.dt - m.t_wait_seat[quit_now] < patience_s).all()
        gave_up_seen += len(quit_now)
        if m.entered == entered and len(waiting) and free:
            seated = waiting[m.seat_of[waiting] >= 0]  # walking to it or already sitting
            assert len(seated) == min(len(waiting), free)
            longest = waiting[np.argsort(m.t_wait_seat[waiting], kind="stable")][:len(seated)]
            assert set(seated.tolist()) == set(longest.tolist())
            offered += 1
    assert offered > 0  # the rule above was exercised
    if patience_s == 60.0:
        assert gave_up_seen > 0


@pytest.mark.parametrize("p_food", [0.0, 0.6])
def test_a_newcomer_never_takes_a_seat_from_someone_already_waiting_for_one(p_food):
    """First come first seated across the whole room: in a step in which somebody who was not waiting (just
    in from the door, or just served at a counter) took a seat, nobody who was already waiting for a seat
    before that step is still waiting after it. A room of 10 seats, ~90 visitors, seats always short."""
    from syntwin.agents import lecture_hall_plan

    plan = lecture_hall_plan(rows=2, seats_per_row=5)
    if p_food:
        plan = canteen_plan(rows=2, cols=2, counters=2, service_mean_s=10.0)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 900, 1200), (6, 6, 0)), duration_s=1800, dt_s=5.0,
                      visitors=VisitorParams(dwell_mean_min=3, dwell_sd_min=1, p_food=p_food,
                                             max_seat_wait_s=900.0))
    m = CrowdModel(cfg, seed=5)
    checked = 0
    while m.steps < cfg.duration_s / m.dt:
        state, seat_of = m.state.copy(), m.seat_of.copy()
        m.step()
        took = np.flatnonzero((seat_of < 0) & (m.seat_of >= 0) & (state != WAIT_SEAT))
        if len(took):
            still = np.flatnonzero((state == WAIT_SEAT) & (m.state == WAIT_SEAT))
            assert len(still) == 0, f"t={m.time_s}: {took} seated while {still} kept waiting"
            checked += 1
    assert checked > 0 and m.gave_up == 0  # newcomers were seated; nobody's patience ran out


def test_an_arrival_on_a_step_time_passes_the_door_in_that_step():
    """Arrival times rounded up to whole steps: each visitor reaches the door in the step at their arrival
    time, not one step later (the door takes everyone with ``t_arrive <= t``)."""
    m = CrowdModel(config(), seed=4)
    visitors = np.flatnonzero(~np.isnan(m.t_arrive))
    m.t_arrive[visitors] = np.ceil(m.t_arrive[visitors] / m.dt) * m.dt  # order unchanged (monotone)
    m.run()
    came = visitors[~np.isnan(m.t_door[visitors])]
    assert len(came) > 50
    np.testing.assert_array_equal(m.t_door[came], m.t_arrive[came])


def test_a_newcomer_joins_the_lane_with_fewest_people_queueing_or_being_served():
    """Two empty queues, one counter busy serving: the next visitor who wants food joins the idle counter."""
    m = CrowdModel(config(visitors=VisitorParams(p_food=1.0)), seed=2)
    m.step()
    visitors = [i for i in np.flatnonzero(~np.isnan(m.t_arrive)) if m.state[i] == PENDING][:2]
    m.serving[:] = -1
    m.serving[0] = visitors[1]  # lane 0 busy (who it serves does not matter here)
    for q in m.lane_queue:
        q.clear()
    v = m.people.get(int(visitors[0])) or Visitor(m, int(visitors[0]))
    v.enter()
    assert m.lane_of[visitors[0]] == 1 and list(m.lane_queue[1]) == [visitors[0]]


def test_staff_stand_behind_their_counter_on_the_side_away_from_its_queue():
    """Each counter's ``staff`` members stand beside it (0.5 m off its far edge, spread along it), on the side
    opposite the head of its queue lane; a counter without staff (first here) does not stop the others'."""
    plan = canteen_plan(rows=3, cols=4, counters=2, service_mean_s=15.0)
    counters = (dataclasses.replace(plan.counters[0], staff=0), dataclasses.replace(plan.counters[1], staff=3))
    plan = dataclasses.replace(plan, counters=counters)
    m = CrowdModel(dataclasses.replace(config(), plan=plan), seed=1)
    staff = m.pos[m.state == STAFF]
    c = counters[1]
    head = np.asarray(next(ln for ln in plan.lanes if ln.counter == c.name).points[-1])
    assert len(staff) == 3
    cx, cy = c.rect.center
    wide = (c.rect.x1 - c.rect.x0) >= (c.rect.y1 - c.rect.y0)
    along, across, mid, h = (0, 1, cy, head[1]) if wide else (1, 0, cx, head[0])
    lo, hi = (c.rect.x0, c.rect.x1) if wide else (c.rect.y0, c.rect.y1)
    assert (np.sign(staff[:, across] - mid) == -np.sign(h - mid)).all()  # the far side from the queue
    assert ((staff[:, along] > lo) & (staff[:, along] < hi)).all() and len(np.unique(staff[:, along])) == 3
