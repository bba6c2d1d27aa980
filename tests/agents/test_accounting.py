"""No silent loss: every arrival has exactly one outcome, for every intervention, and the books balance."""

import dataclasses

import numpy as np
import pytest

from syntwin.agents import CrowdModel, Interventions, Masks, TimeSlots, VisitorParams, collect
from syntwin.agents.accounting import OUTCOMES, AccountingError, account, visitor_outcomes
from syntwin.agents.people import GONE, PENDING

ARMS = {
    "baseline": Interventions(),
    "capacity": Interventions(capacity_limit=120),
    "spacing": Interventions(seat_spacing_m=1.6),
    "slots_fit": Interventions(time_slots=TimeSlots(slot_min=30, max_per_slot=180)),
    "slots_overflow": Interventions(time_slots=TimeSlots(slot_min=30, max_per_slot=60)),
    "one_way": Interventions(one_way=True),
    "ventilation": Interventions(ach=6.0),
    "masks": Interventions(masks=Masks()),
}


@pytest.fixture(scope="module")
def config(canteen_config):
    # people give up outside after 10 minutes: the capacity arm turns some away at the door
    visitors = dataclasses.replace(canteen_config.visitors, max_outside_wait_s=600.0)
    return dataclasses.replace(canteen_config, dt_s=5.0, visitors=visitors)


@pytest.fixture(scope="module")
def runs(config):
    return {name: CrowdModel(config, iv, seed=8).run() for name, iv in ARMS.items()}


@pytest.mark.parametrize("arm", list(ARMS))
def test_every_visitor_has_one_outcome_and_totals_balance(runs, arm):
    m = runs[arm]
    books = account(m)
    assert sum(books[k] for k in OUTCOMES) == books["arrivals"] == m.n_arrivals > 600
    assert books["served"] + books["turned_away"] + books["in_progress"] + books["waiting_outside"] \
        + books["not_arrived"] == m.n_arrivals
    out = visitor_outcomes(m)
    assert len(out) == m.n_arrivals and set(out) <= set(OUTCOMES)
    s = collect(m).summary
    assert s["served"] == books["served"] and s["turned_away"] == books["turned_away"]
    assert s["entered"] == m.n_arrivals - books["no_slot"] - books["balked"] - books["waiting_outside"]


def test_each_intervention_shows_its_cost(runs):
    base = account(runs["baseline"])
    assert base["turned_away"] == base["gave_up"]  # nobody is refused at the door without a limit
    assert account(runs["spacing"])["gave_up"] > base["gave_up"]  # fewer seats: more give up
    assert account(runs["capacity"])["balked"] > 0  # turned away at the door
    over = account(runs["slots_overflow"])
    assert over["no_slot"] > 100  # five 30-minute slots x 60 cannot hold ~700 visitors: counted, not lost
    assert over["served"] + over["no_slot"] + over["gave_up"] + over["in_progress"] <= over["arrivals"]
    assert account(runs["slots_fit"])["no_slot"] == 0
    # the air-only arms move the same crowd: the same outcomes
    for arm in ("ventilation", "masks"):
        assert account(runs[arm]) == base


def test_outside_waits_and_queue(runs):
    cap = collect(runs["capacity"]).summary
    base = collect(runs["baseline"]).summary
    assert base["mean_outside_wait_s"] == 0 and base["max_outside_queue"] == 0
    assert 0 < cap["mean_outside_wait_s"] <= cap["p95_outside_wait_s"] <= 600 + 5
    assert cap["max_outside_queue"] >= cap["waiting_outside_end"] and cap["max_outside_queue"] > 5
    v = collect(runs["capacity"]).visitors
    balked = v[v["outcome"] == "balked"]
    assert len(balked) == cap["balked"] and (balked["outside_wait_s"] >= 600).all()
    risk = cap["infection_risk_per_visitor"]
    assert cap["infections_per_1000_visitors"] == pytest.approx(1000 * risk)
    assert risk == pytest.approx(cap["expected_infections"] / cap["entered"])


def test_a_lost_visitor_breaks_the_books(config):
    m = CrowdModel(config, seed=3).run()
    account(m)
    gone = int(np.flatnonzero(m.state[: m.n_arrivals] == GONE)[0])
    m.state[gone] = PENDING  # the visitor silently vanishes from the records
    with pytest.raises(AccountingError, match="does not balance"):
        account(m)
    m.state[gone] = GONE
    m.gave_up += 1  # a give-up counted that no visitor did
    with pytest.raises(AccountingError, match="gave_up: counted"):
        collect(m)


def test_overflow_error_refuses_the_plan(config):
    iv = Interventions(time_slots=TimeSlots(slot_min=30, max_per_slot=60, overflow="error"))
    with pytest.raises(ValueError, match="time slots overflow the run"):
        CrowdModel(config, iv, seed=8)


def test_gave_up_is_counted_when_seats_run_out(canteen_config):
    few_seats = dataclasses.replace(canteen_config, dt_s=5.0, duration_s=3600.0,
                                    visitors=VisitorParams(max_seat_wait_s=60.0, dwell_mean_min=60))
    m = CrowdModel(few_seats, Interventions(seat_spacing_m=4.0), seed=1).run()
    books = account(m)
    assert books["gave_up"] == m.gave_up > 0
    assert m.gave_up_flag.sum() == m.gave_up
