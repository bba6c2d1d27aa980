import numpy as np
import pytest
from scipy.spatial.distance import pdist

from syntwin.agents import (Counter, Door, FloorPlan, QueueLane, Rect, Table, Zone, canteen_plan, table_grid,
                            thin_seats)

DOOR = (Door("d", 0.0, 2.0),)


def test_canteen_plan_is_valid():
    plan = canteen_plan()
    assert len(plan.seats) == 324
    assert plan.volume == pytest.approx(plan.width * plan.depth * 3.5)
    assert repr(plan) == "FloorPlan(39.6x23.8x3.5 m, zones=2, tables=81, seats=324, counters=3, doors=2)"


@pytest.mark.parametrize("kwargs, message", [
    (dict(width=0.0, depth=5, height=3), "zero area"),
    (dict(width=10, depth=10, height=3, zones=(Zone("z", Rect(1, 1, 1, 5)),)), "zone 'z' has zero area"),
    (dict(width=10, depth=10, height=3, tables=(Table("a", Rect(1, 1, 3, 2), ((2, 0.5),)),
                                                Table("b", Rect(2, 1.5, 4, 3), ((3, 3.5),)))),
     "table 'a' .* overlaps table 'b'"),
    (dict(width=10, depth=10, height=3, tables=(Table("a", Rect(1, 1, 3, 2), ((2, 10.5),)),)),
     "seat 0 of table 'a' .* outside the room walls"),
    (dict(width=10, depth=10, height=3, tables=(Table("a", Rect(8, 1, 11, 2), ((9, 0.5),)),)),
     "table 'a' .* extends outside the room walls"),
    (dict(width=10, depth=10, height=3, counters=(Counter("c", Rect(1, 8, 3, 9)),)),
     "counter 'c' needs exactly one"),
    (dict(width=10, depth=10, height=3, lanes=(QueueLane("x", ((1, 1), (1, 5))),)), "unknown counter 'x'"),
])
def test_bad_plans_raise_clear_errors(kwargs, message):
    kwargs.setdefault("doors", DOOR)
    with pytest.raises(ValueError, match=message):
        FloorPlan(**kwargs)


def test_door_must_be_on_a_wall():
    with pytest.raises(ValueError, match="door 'd' at \\(5, 5\\) is not on a wall"):
        FloorPlan(10, 10, 3, doors=(Door("d", 5, 5),))
    with pytest.raises(ValueError, match="at least one door"):
        FloorPlan(10, 10, 3)


def test_thin_seats_against_brute_force():
    seats = np.concatenate([t.seats for t in table_grid((1, 1), 4, 4)])
    keep = thin_seats(seats, 1.6)
    kept = seats[keep]
    assert pdist(kept).min() >= 1.6 - 1e-9
    # maximality: every removed seat is within 1.6 m of a kept one
    removed = seats[~keep]
    d = np.hypot(*(removed[:, None, :] - kept[None, :, :]).transpose(2, 0, 1))
    assert (d.min(axis=1) < 1.6).all()
    assert 0 < keep.sum() < len(seats)


def test_queue_slots_walk_back_from_the_head():
    lane = QueueLane("c", ((0.0, 0.0), (0.0, 2.0), (2.0, 2.0)), spacing_m=1.0)
    np.testing.assert_allclose(lane.slots(5), [[2, 2], [1, 2], [0, 2], [0, 1], [0, 0]])
