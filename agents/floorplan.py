"""Floor plans in metres: a room with zones, tables and seats, counters, queue lanes, doors and walls.

The room spans ``[0, width] x [0, depth]`` (origin at the south-west corner, x east, y north); an optional
``outline`` polygon (an L-shaped hall, say) and inner ``walls`` (polylines with a thickness) restrict
where people can walk. Tables, counters and zones are axis-aligned rectangles; :meth:`FloorPlan.validate`
rejects impossible plans with a ``ValueError`` naming the offending element. Plans can be read from
GeoJSON (:mod:`syntwin.agents.geojson`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_EPS = 1e-9


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle ``[x0, x1] x [y0, y1]`` in metres."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        """Area in m² (0 for degenerate rectangles)."""
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        """Centre point."""
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Boolean mask of points (shape ``(n, 2)``) inside or on the rectangle."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return (xy[:, 0] >= self.x0) & (xy[:, 0] <= self.x1) & (xy[:, 1] >= self.y0) & (xy[:, 1] <= self.y1)

    def overlaps(self, other: Rect) -> bool:
        """True if the interiors intersect (touching edges do not overlap)."""
        return (min(self.x1, other.x1) - max(self.x0, other.x0) > _EPS
                and min(self.y1, other.y1) - max(self.y0, other.y0) > _EPS)

    def __repr__(self) -> str:
        return f"Rect({self.x0:g}, {self.y0:g}, {self.x1:g}, {self.y1:g})"


@dataclass(frozen=True)
class Zone:
    """A named sensor zone (counts per minute and density are reported per zone)."""

    name: str
    rect: Rect


@dataclass(frozen=True)
class Table:
    """A table (an obstacle rectangle) with its seats (points in metres)."""

    name: str
    rect: Rect
    seats: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Counter:
    """A serving counter; visitors are served one at a time at the head of its queue lane.

    Attributes:
        name: Counter name (queue lanes refer to it).
        rect: Counter footprint.
        service_mean_s: Mean service time per visitor (gamma distributed, shape 4).
        staff: Staff members standing behind the counter (exposed and emitting like visitors).
    """

    name: str
    rect: Rect
    service_mean_s: float = 20.0
    staff: int = 0


@dataclass(frozen=True)
class QueueLane:
    """A queue lane: a polyline from its tail to its head, the head being the serving point.

    Attributes:
        counter: Name of the counter served at the head.
        points: Polyline vertices, tail first, head last.
        spacing_m: Distance between consecutive people in the queue.
    """

    counter: str
    points: tuple[tuple[float, float], ...]
    spacing_m: float = 0.8

    def slots(self, n: int) -> np.ndarray:
        """Positions of the first ``n`` queue places, head first (``(n, 2)``).

        Places beyond the lane's length continue along the first segment's direction past the tail.
        """
        pts = np.asarray(self.points, dtype=float)[::-1]  # head first
        seg = np.diff(pts, axis=0)
        seg_len = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seg_len)])
        s = np.arange(n) * self.spacing_m
        k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
        frac = (s - cum[k]) / np.where(seg_len[k] > 0, seg_len[k], 1.0)
        return pts[k] + seg[k] * frac[:, None]


@dataclass(frozen=True)
class Door:
    """A door in the wall. ``use`` is ``both``, ``in`` or ``out`` (the latter two under one-way flow)."""

    name: str
    x: float
    y: float
    width: float = 1.8
    use: str = "both"


@dataclass(frozen=True)
class Wall:
    """An inner wall or partition: a polyline of ``points`` with a ``thickness`` (m); people walk round it."""

    name: str
    points: tuple[tuple[float, float], ...]
    thickness: float = 0.2


@dataclass(frozen=True)
class FloorPlan:
    """A rectangular room ``[0, width] x [0, depth]`` of ceiling ``height`` with its furniture.

    Attributes:
        width: East-west extent (m).
        depth: North-south extent (m).
        height: Ceiling height (m); the room volume is ``width * depth * height``.
        zones: Sensor zones (may overlap each other, must lie in the room).
        tables: Tables with seats; tables must not overlap each other, counters or the wall.
        counters: Serving counters (each needs exactly one queue lane).
        lanes: Queue lanes.
        doors: Doors; each lies on the wall (on the ``outline`` if given).
        walls: Inner walls (obstacles for walking).
        outline: Room outline polygon (vertices); default the ``width x depth`` rectangle.
    """

    width: float
    depth: float
    height: float
    zones: tuple[Zone, ...] = ()
    tables: tuple[Table, ...] = ()
    counters: tuple[Counter, ...] = ()
    lanes: tuple[QueueLane, ...] = ()
    doors: tuple[Door, ...] = field(default=())
    walls: tuple[Wall, ...] = ()
    outline: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def blocked_mask(self, xy: np.ndarray, clearance: float = 0.0, *, furniture: bool = True) -> np.ndarray:
        """True for points within ``clearance`` of a table, counter or wall, or outside the outline."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        out = np.zeros(len(xy), bool)
        x, y = xy[:, 0], xy[:, 1]
        for r in ([t.rect for t in self.tables] + [c.rect for c in self.counters]) if furniture else []:
            out |= ((x >= r.x0 - clearance) & (x <= r.x1 + clearance) & (y >= r.y0 - clearance)
                    & (y <= r.y1 + clearance))
        if self.walls or self.outline is not None:
            import shapely

            for w in self.walls:
                geom = shapely.LineString(w.points) if len(w.points) > 1 else shapely.Point(w.points[0])
                out |= shapely.dwithin(geom, shapely.points(xy), w.thickness / 2 + clearance)
            if self.outline is not None:
                out |= ~shapely.contains_xy(shapely.Polygon(self.outline), x, y)
        return out

    @property
    def room(self) -> Rect:
        """The room outline."""
        return Rect(0.0, 0.0, self.width, self.depth)

    @property
    def volume(self) -> float:
        """Room volume in m³."""
        return self.width * self.depth * self.height

    @property
    def seats(self) -> np.ndarray:
        """All seats as an ``(n, 2)`` array (table order, then seat order)."""
        pts = [s for t in self.tables for s in t.seats]
        return np.asarray(pts, dtype=float).reshape(-1, 2)

    def door_positions(self, use: str | None = None) -> np.ndarray:
        """Door centres (``(n, 2)``); with ``use`` only doors usable for ``in`` or ``out``."""
        doors = [d for d in self.doors if use is None or d.use in ("both", use)]
        return np.asarray([(d.x, d.y) for d in doors], dtype=float).reshape(-1, 2)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first impossible element of the plan."""
        for name, v in (("width", self.width), ("depth", self.depth), ("height", self.height)):
            if not v > 0:
                raise ValueError(f"room {name} must be > 0 m, got {v}: the room has zero area or volume")
        room = self.room
        _unique("zone", [z.name for z in self.zones])
        _unique("table", [t.name for t in self.tables])
        _unique("counter", [c.name for c in self.counters])
        _unique("door", [d.name for d in self.doors])
        check_zones(self.zones, self.width, self.depth)
        check_furniture(self.tables, self.counters, self.width, self.depth)
        names = {c.name for c in self.counters}
        lane_counters = [ln.counter for ln in self.lanes]
        for ln in self.lanes:
            if ln.counter not in names:
                raise ValueError(f"queue lane refers to unknown counter {ln.counter!r} "
                                 f"(counters: {sorted(names)})")
            if len(ln.points) < 2:
                raise ValueError(f"queue lane of counter {ln.counter!r} needs at least 2 points")
            if not room.contains(np.asarray(ln.points)).all():
                raise ValueError(f"queue lane of counter {ln.counter!r} leaves the room")
            if ln.spacing_m <= 0:
                raise ValueError(f"queue lane of counter {ln.counter!r}: spacing_m must be > 0")
        for c in self.counters:
            if lane_counters.count(c.name) != 1:
                raise ValueError(f"counter {c.name!r} needs exactly one queue lane, "
                                 f"has {lane_counters.count(c.name)}")
            if c.service_mean_s <= 0:
                raise ValueError(f"counter {c.name!r}: service_mean_s must be > 0")
        check_doors(self.doors, self.width, self.depth, self.outline)
        for w in self.walls:
            if not w.points or w.thickness <= 0:
                raise ValueError(f"wall {w.name!r} needs at least one point and a thickness > 0")
            if not room.contains(np.asarray(w.points)).all():
                raise ValueError(f"wall {w.name!r} leaves the room")
        if self.outline is not None:
            import shapely

            poly = shapely.Polygon(self.outline)
            if len(self.outline) < 3 or not poly.is_valid or poly.area <= 0:
                raise ValueError("the room outline must be a valid polygon (>= 3 vertices, no self-crossing)")
            for t in self.tables:
                if not shapely.contains_xy(poly, *np.asarray(t.seats, float).T).all():
                    raise ValueError(f"a seat of table {t.name!r} lies outside the room outline")

    def __repr__(self) -> str:
        return (f"FloorPlan({self.width:g}x{self.depth:g}x{self.height:g} m, zones={len(self.zones)}, "
                f"tables={len(self.tables)}, seats={len(self.seats)}, counters={len(self.counters)}, "
                f"doors={len(self.doors)})")


def check_zones(zones: tuple[Zone, ...] | list[Zone], width: float, depth: float) -> None:
    """Raise ``ValueError`` for a zone of zero area or reaching outside the ``width x depth`` room."""
    room = Rect(0.0, 0.0, width, depth)
    for z in zones:
        if z.rect.area <= 0:
            raise ValueError(f"zone {z.name!r} has zero area ({z.rect!r})")
        if not _inside(z.rect, room):
            raise ValueError(f"zone {z.name!r} {z.rect!r} extends outside the room walls "
                             f"(0, 0, {width:g}, {depth:g})")


def check_furniture(tables: tuple[Table, ...] | list[Table], counters: tuple[Counter, ...] | list[Counter],
                    width: float, depth: float) -> None:
    """Raise ``ValueError`` for impossible tables and counters.

    Furniture of zero area, reaching outside the walls or overlapping other furniture, seats outside the
    walls and seats closer than 0.3 m to each other are rejected.
    """
    room = Rect(0.0, 0.0, width, depth)
    obstacles = [("table", t.name, t.rect) for t in tables] + [("counter", c.name, c.rect) for c in counters]
    for kind, name, r in obstacles:
        if r.area <= 0:
            raise ValueError(f"{kind} {name!r} has zero area ({r!r})")
        if not _inside(r, room):
            raise ValueError(f"{kind} {name!r} {r!r} extends outside the room walls")
    _check_overlaps(obstacles)
    for t in tables:
        if not t.seats:
            raise ValueError(f"table {t.name!r} has no seats")
        pts = np.asarray(t.seats, dtype=float)
        outside = ~room.contains(pts)
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(f"seat {i} of table {t.name!r} at {tuple(pts[i])} is outside the room walls")
    seats = np.asarray([s for t in tables for s in t.seats], dtype=float).reshape(-1, 2)
    if len(seats) > 1:
        from scipy.spatial import cKDTree

        close = cKDTree(seats).query_pairs(0.3, output_type="ndarray")
        if len(close):
            i, j = close[0]
            raise ValueError(f"seats {int(i)} and {int(j)} are closer than 0.3 m ({tuple(seats[i])})")


def check_doors(doors: tuple[Door, ...] | list[Door], width: float, depth: float,
                outline: tuple[tuple[float, float], ...] | None = None) -> None:
    """Raise ``ValueError`` unless every door lies on the wall and people can both enter and leave."""
    if not doors:
        raise ValueError("the plan needs at least one door")
    boundary = None
    if outline is not None:
        import shapely

        boundary = shapely.Polygon(outline).exterior
    for d in doors:
        on_x = abs(d.x) < 1e-6 or abs(d.x - width) < 1e-6
        on_y = abs(d.y) < 1e-6 or abs(d.y - depth) < 1e-6
        inside = -1e-6 <= d.x <= width + 1e-6 and -1e-6 <= d.y <= depth + 1e-6
        if boundary is not None:
            import shapely

            on_x = on_y = bool(shapely.dwithin(boundary, shapely.Point(d.x, d.y), 0.05))
        if not ((on_x or on_y) and inside):
            raise ValueError(f"door {d.name!r} at ({d.x:g}, {d.y:g}) is not on a wall of the "
                             f"{width:g} x {depth:g} m room")
        if d.use not in ("both", "in", "out"):
            raise ValueError(f"door {d.name!r}: use must be 'both', 'in' or 'out', got {d.use!r}")
    if not any(d.use in ("both", "in") for d in doors):
        raise ValueError("no door can be used to enter (use: both or in)")
    if not any(d.use in ("both", "out") for d in doors):
        raise ValueError("no door can be used to leave (use: both or out)")


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"duplicate {kind} name {n!r}")
        seen.add(n)


def _inside(r: Rect, room: Rect) -> bool:
    tol = 1e-9
    return r.x0 >= room.x0 - tol and r.y0 >= room.y0 - tol and r.x1 <= room.x1 + tol and r.y1 <= room.y1 + tol


def _check_overlaps(obstacles: list[tuple[str, str, Rect]]) -> None:
    """Sweep on x so that large plans (thousands of tables) validate in O(n log n + overlaps)."""
    order = sorted(range(len(obstacles)), key=lambda i: obstacles[i][2].x0)
    active: list[int] = []
    for i in order:
        ri = obstacles[i][2]
        active = [j for j in active if obstacles[j][2].x1 > ri.x0 + _EPS]
        for j in active:
            if ri.overlaps(obstacles[j][2]):
                a, b = sorted((i, j))
                raise ValueError(f"{obstacles[a][0]} {obstacles[a][1]!r} {obstacles[a][2]!r} overlaps "
                                 f"{obstacles[b][0]} {obstacles[b][1]!r} {obstacles[b][2]!r}")
        active.append(i)


def table_grid(
    origin: tuple[float, float],
    rows: int,
    cols: int,
    *,
    pitch: tuple[float, float] = (3.0, 2.4),
    size: tuple[float, float] = (1.8, 0.8),
    seats_per_side: int = 2,
    seat_offset: float = 0.35,
    sides: str = "both",
    prefix: str = "T",
) -> tuple[Table, ...]:
    """A ``rows x cols`` grid of rectangular tables, seats on the long (south/north) sides.

    Args:
        origin: South-west corner of the first table.
        rows: Tables along y.
        cols: Tables along x.
        pitch: Distance between table corners along x and y.
        size: Table width (x) and depth (y).
        seats_per_side: Seats on each long side (evenly spaced).
        seat_offset: Distance of a seat from the table edge.
        sides: ``both``, ``south`` or ``north`` (lecture desks: seats behind the desk, ``north``).
        prefix: Table names are ``{prefix}{row}-{col}``.
    """
    if rows < 1 or cols < 1 or seats_per_side < 1:
        raise ValueError("table_grid needs rows, cols and seats_per_side >= 1")
    if sides not in ("both", "south", "north"):
        raise ValueError(f"sides must be 'both', 'south' or 'north', got {sides!r}")
    w, d = size
    out = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = origin[0] + c * pitch[0], origin[1] + r * pitch[1]
            xs = x0 + w * (np.arange(seats_per_side) + 0.5) / seats_per_side
            south = [(float(x), y0 - seat_offset) for x in xs] if sides != "north" else []
            north = [(float(x), y0 + d + seat_offset) for x in xs] if sides != "south" else []
            seats = south + north
            out.append(Table(f"{prefix}{r}-{c}", Rect(x0, y0, x0 + w, y0 + d), tuple(seats)))
    return tuple(out)


def thin_seats(seats: np.ndarray, min_distance: float) -> np.ndarray:
    """Seat removal for distancing: a greedy subset of seats pairwise at least ``min_distance`` apart.

    Seats are visited in order (deterministic); a seat is kept if no kept seat is closer.

    Returns:
        Boolean mask of kept seats.
    """
    seats = np.asarray(seats, dtype=float).reshape(-1, 2)
    keep = np.zeros(len(seats), dtype=bool)
    if not len(seats):
        return keep
    from scipy.spatial import cKDTree

    tree = cKDTree(seats)
    blocked = np.zeros(len(seats), dtype=bool)
    for i in range(len(seats)):
        if blocked[i]:
            continue
        keep[i] = True
        near = tree.query_ball_point(seats[i], min_distance - 1e-9)
        blocked[near] = True
    return keep


__all__ = ["Rect", "Zone", "Table", "Counter", "QueueLane", "Door", "Wall", "FloorPlan", "table_grid",
           "thin_seats",
           "check_zones", "check_doors", "check_furniture"]
