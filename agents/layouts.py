"""Parametrised standard layouts: a canteen with a servery, a lecture hall, a large hall for benchmarks."""

from __future__ import annotations

import numpy as np

from syntwin.agents.floorplan import Counter, Door, FloorPlan, QueueLane, Rect, Table, Zone, table_grid


def canteen_plan(*, rows: int = 9, cols: int = 9, counters: int = 3, service_mean_s: float = 20.0,
                 staff_per_counter: int = 1, height: float = 3.5) -> FloorPlan:
    """A canteen: a servery (west, counters on the north wall, lanes running north) and a dining hall.

    Two doors on the south wall: ``west`` next to the queue lanes and ``east`` by the dining hall.
    The default 9 x 9 tables of 4 seats give 324 seats in a 40 x 24 m room.
    """
    servery_w = 3.0 * counters + 1.0
    tables = table_grid((servery_w + 1.5, 1.5), rows, cols, pitch=(3.1, 2.5))
    width = servery_w + 1.5 + (cols - 1) * 3.1 + 1.8 + 1.5
    depth = max(1.5 + (rows - 1) * 2.5 + 0.8 + 1.5, 14.0)
    cs, lanes = [], []
    for k in range(counters):
        x0 = 1.0 + 3.0 * k
        cs.append(Counter(f"counter{k + 1}", Rect(x0, depth - 2.0, x0 + 2.5, depth - 1.0), service_mean_s,
                          staff_per_counter))
        xm = x0 + 1.25
        lanes.append(QueueLane(f"counter{k + 1}", ((xm, 4.0), (xm, depth - 2.6))))
    zones = (Zone("servery", Rect(0.0, 0.0, servery_w, depth)),
             Zone("dining", Rect(servery_w, 0.0, width, depth)))
    doors = (Door("west", servery_w / 2, 0.0), Door("east", servery_w + 0.45 * (width - servery_w), 0.0))
    return FloorPlan(width, depth, height, zones=zones, tables=tables, counters=tuple(cs), lanes=tuple(lanes),
                     doors=doors)


def lecture_hall_plan(*, rows: int = 12, seats_per_row: int = 20, seat_pitch: float = 0.6,
                      row_pitch: float = 1.0, height: float = 5.0) -> FloorPlan:
    """A lecture hall: rows of seats (each row a long desk), a front zone, doors at the back and the front."""
    desk_w = seats_per_row * seat_pitch
    width = desk_w + 4.0
    depth = 4.0 + rows * row_pitch + 2.0
    tables = []
    for r in range(rows):
        y0 = 4.0 + r * row_pitch
        xs = 2.0 + seat_pitch * (np.arange(seats_per_row) + 0.5)
        tables.append(Table(f"row{r + 1}", Rect(2.0, y0, 2.0 + desk_w, y0 + 0.4),
                            tuple((float(x), y0 + 0.7) for x in xs)))
    zones = (Zone("front", Rect(0.0, 0.0, width, 4.0)), Zone("seating", Rect(0.0, 4.0, width, depth)))
    doors = (Door("back", 1.0, depth), Door("front", width - 1.0, 0.0))
    return FloorPlan(width, depth, height, zones=zones, tables=tuple(tables), doors=doors)


def big_hall_plan(n_seats: int, *, height: float = 4.0) -> FloorPlan:
    """A square hall with at least ``n_seats`` seats at 4-seat tables (benchmarks at 10k-100k people)."""
    side = int(np.ceil(np.sqrt(n_seats / 4)))
    tables = table_grid((1.5, 1.5), side, side, pitch=(3.1, 2.5))
    width, depth = 1.5 + (side - 1) * 3.1 + 1.8 + 1.5, 1.5 + (side - 1) * 2.5 + 0.8 + 1.5
    return FloorPlan(width, depth, height, zones=(Zone("hall", Rect(0, 0, width, depth)),), tables=tables,
                     doors=(Door("a", width / 3, 0.0), Door("b", 2 * width / 3, 0.0)))


__all__ = ["canteen_plan", "lecture_hall_plan", "big_hall_plan"]
