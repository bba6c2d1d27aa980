"""Floor plans from GeoJSON: the room outline, walls, tables with seats, counters, queue lanes, doors, zones.

A ``FeatureCollection`` in metres (any origin: coordinates are shifted so the room's bounding box starts
at 0, 0). Each feature's ``properties.kind`` says what it is:

============  ======================  ===========================================================
kind          geometry                properties
============  ======================  ===========================================================
room          Polygon (exactly one)   ``height`` (m, required unless given to the reader)
wall          LineString / Polygon    ``name``, ``thickness`` (m, default 0.2)
table         Polygon (a rectangle)   ``name``, ``seats``: ``[[x, y], ...]`` (or seat features)
seat          Point                   ``table``: the table's name
counter       Polygon (a rectangle)   ``name``, ``service_mean_s`` (20), ``staff`` (0)
queue_lane    LineString tail->head   ``counter``, ``spacing_m`` (0.8)
door          Point or LineString     ``name``, ``width`` (m; a LineString's length), ``use``
zone          Polygon (a rectangle)   ``name``
============  ======================  ===========================================================

Geometry goes through shapely (validity, rectangles, lengths); errors are ``ValueError`` naming the
feature (index, kind and name) and what to fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from syntwin.agents.floorplan import Counter, Door, FloorPlan, QueueLane, Rect, Table, Wall, Zone

KINDS = ("room", "wall", "table", "seat", "counter", "queue_lane", "door", "zone")


def _where(k: int, f: dict) -> str:
    p = f.get("properties") or {}
    name = p.get("name") or p.get("counter") or p.get("table")
    return f"feature {k} ({p.get('kind', '?')}{' ' + repr(name) if name else ''})"


def read_floor_plan(source: str | Path | dict[str, Any], *, height: float | None = None) -> FloorPlan:
    """Read a GeoJSON floor plan (a path or an already parsed mapping) into a validated :class:`FloorPlan`.

    Args:
        source: GeoJSON file or mapping.
        height: Ceiling height (m), overriding the room feature's ``height``.

    Raises:
        ValueError: Not a FeatureCollection, unknown kinds, bad geometry, or an impossible plan; the
            message names the feature.
    """
    import shapely
    from shapely.geometry import shape

    data = json.loads(Path(source).read_text(encoding="utf-8")) if not isinstance(source, dict) else source
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise ValueError("a floor plan must be a GeoJSON FeatureCollection with a 'features' list")
    feats = data["features"]
    geoms = []
    for k, f in enumerate(feats):
        kind = (f.get("properties") or {}).get("kind")
        if kind not in KINDS:
            raise ValueError(f"{_where(k, f)}: properties.kind must be one of {list(KINDS)}, got {kind!r}")
        try:
            g = shape(f["geometry"])
        except Exception as exc:  # shapely raises several types for bad geometry
            raise ValueError(f"{_where(k, f)}: bad geometry ({exc})") from None
        if not g.is_valid:
            raise ValueError(f"{_where(k, f)}: invalid geometry ({shapely.is_valid_reason(g)})")
        geoms.append(g)
    rooms = [k for k, f in enumerate(feats) if f["properties"]["kind"] == "room"]
    if len(rooms) != 1 or geoms[rooms[0]].geom_type != "Polygon":
        raise ValueError(f"the plan needs exactly one 'room' Polygon feature, found {len(rooms)}")
    room = geoms[rooms[0]]
    x0, y0, x1, y1 = room.bounds
    shift = np.array([x0, y0])
    height = height if height is not None else feats[rooms[0]]["properties"].get("height")
    if height is None:
        raise ValueError("the room feature needs properties.height (ceiling height in m)")

    def xy(coords) -> tuple[tuple[float, float], ...]:
        return tuple((float(a - shift[0]), float(b - shift[1])) for a, b, *_ in coords)

    def rect(k: int) -> Rect:
        g = geoms[k]
        bx0, by0, bx1, by1 = g.bounds
        if g.geom_type != "Polygon" or abs(g.area - (bx1 - bx0) * (by1 - by0)) > 1e-6 * max(g.area, 1.0):
            raise ValueError(f"{_where(k, feats[k])}: must be an axis-aligned rectangle (Polygon); "
                             "draw rotated furniture as walls")
        return Rect(bx0 - x0, by0 - y0, bx1 - x0, by1 - y0)

    by_kind: dict[str, list[int]] = {}
    for k, f in enumerate(feats):
        by_kind.setdefault(f["properties"]["kind"], []).append(k)
    props = [f["properties"] for f in feats]
    seats: dict[str, list[tuple[float, float]]] = {}
    for k in by_kind.get("seat", []):
        if geoms[k].geom_type != "Point" or "table" not in props[k]:
            raise ValueError(f"{_where(k, feats[k])}: a seat is a Point with properties.table")
        seats.setdefault(props[k]["table"], []).append(xy(geoms[k].coords)[0])
    tables = []
    for k in by_kind.get("table", []):
        name = props[k].get("name") or f"table{k}"
        pts = list(xy(props[k].get("seats", []))) + seats.pop(name, [])
        tables.append(Table(name, rect(k), tuple(pts)))
    if seats:
        raise ValueError(f"seat features refer to unknown table(s) {sorted(seats)}")
    counters = tuple(Counter(props[k].get("name") or f"counter{k}", rect(k),
                             float(props[k].get("service_mean_s", 20.0)), int(props[k].get("staff", 0)))
                     for k in by_kind.get("counter", []))
    lanes = []
    for k in by_kind.get("queue_lane", []):
        if geoms[k].geom_type != "LineString" or "counter" not in props[k]:
            raise ValueError(f"{_where(k, feats[k])}: a queue lane is a LineString (tail to head) with "
                             "properties.counter")
        spacing = float(props[k].get("spacing_m", 0.8))
        lanes.append(QueueLane(props[k]["counter"], xy(geoms[k].coords), spacing))
    doors = []
    for k in by_kind.get("door", []):
        g, p = geoms[k], props[k]
        if g.geom_type == "Point":
            (cx, cy), width = xy(g.coords)[0], float(p.get("width", 1.8))
        elif g.geom_type == "LineString":
            (cx, cy) = xy(g.interpolate(0.5, normalized=True).coords)[0]
            width = float(p.get("width", g.length))
        else:
            raise ValueError(f"{_where(k, feats[k])}: a door is a Point or a LineString on the room outline")
        doors.append(Door(p.get("name") or f"door{k}", cx, cy, width, p.get("use", "both")))
    walls = []
    for k in by_kind.get("wall", []):
        g = geoms[k]
        line = g.exterior if g.geom_type == "Polygon" else g
        if line.geom_type != "LineString" and line.geom_type != "LinearRing":
            raise ValueError(f"{_where(k, feats[k])}: a wall is a LineString or a Polygon")
        thickness = float(props[k].get("thickness", 0.2))
        walls.append(Wall(props[k].get("name") or f"wall{k}", xy(line.coords), thickness))
    zones = tuple(Zone(props[k].get("name") or f"zone{k}", rect(k)) for k in by_kind.get("zone", []))
    is_box = abs(room.area - (x1 - x0) * (y1 - y0)) < 1e-6 * room.area
    try:
        return FloorPlan(x1 - x0, y1 - y0, float(height), zones=zones, tables=tuple(tables),
                         counters=counters, lanes=tuple(lanes), doors=tuple(doors), walls=tuple(walls),
                         outline=None if is_box else xy(room.exterior.coords)[:-1])
    except ValueError as exc:
        raise ValueError(f"floor plan: {exc}") from None


def plan_to_geojson(plan: FloorPlan) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection that :func:`read_floor_plan` reads back unchanged."""

    def box(r: Rect) -> dict:
        ring = [[r.x0, r.y0], [r.x1, r.y0], [r.x1, r.y1], [r.x0, r.y1], [r.x0, r.y0]]
        return {"type": "Polygon", "coordinates": [ring]}

    def feat(geom: dict, **props: Any) -> dict:
        return {"type": "Feature", "geometry": geom, "properties": props}

    outline = list(plan.outline) if plan.outline else [(0, 0), (plan.width, 0), (plan.width, plan.depth),
                                                        (0, plan.depth)]
    out = [feat({"type": "Polygon", "coordinates": [[list(p) for p in [*outline, outline[0]]]]}, kind="room",
                height=plan.height)]
    out += [feat({"type": "LineString", "coordinates": [list(p) for p in w.points]}, kind="wall", name=w.name,
                 thickness=w.thickness) for w in plan.walls]
    out += [feat(box(t.rect), kind="table", name=t.name, seats=[list(s) for s in t.seats])
            for t in plan.tables]
    out += [feat(box(c.rect), kind="counter", name=c.name, service_mean_s=c.service_mean_s, staff=c.staff)
            for c in plan.counters]
    out += [feat({"type": "LineString", "coordinates": [list(p) for p in ln.points]}, kind="queue_lane",
                 counter=ln.counter, spacing_m=ln.spacing_m) for ln in plan.lanes]
    out += [feat({"type": "Point", "coordinates": [d.x, d.y]}, kind="door", name=d.name, width=d.width,
                 use=d.use) for d in plan.doors]
    out += [feat(box(z.rect), kind="zone", name=z.name) for z in plan.zones]
    return {"type": "FeatureCollection", "features": out}


__all__ = ["read_floor_plan", "plan_to_geojson", "KINDS"]
