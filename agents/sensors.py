"""Virtual sensors: close pairs and contact time (KD-tree, never all pairs), zone counts, heat maps.

The model runs the sensors named in ``CrowdConfig.sensors``, resolved through
:data:`~syntwin.agents.registry.SENSORS`; each is a :class:`Sensor` subclass that sees, every step and
every minute, the ids and positions of the people present. A sensor's per-minute ``figures`` become
columns of the model's :class:`mesa.DataCollector`; its ``tables`` become DataCollector tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.spatial import cKDTree

from syntwin.agents.floorplan import FloorPlan, Rect
from syntwin.agents.registry import SENSORS

if TYPE_CHECKING:
    from syntwin.agents.model import CrowdModel


class ContactSensor:
    """Pairs of people within ``radius`` (distance <= r) at each step, and their accumulated contact time.

    Pairs come from ``scipy.spatial.cKDTree.query_pairs`` (O(n log n + pairs)). Per-pair durations are
    kept as sorted ``int64`` keys ``i * n_max + j`` (``i < j``, global person ids) with step counts,
    merged every ``merge_every`` steps, so memory grows with distinct pairs, not with steps.

    Args:
        radius: Contact distance (m).
        dt_s: Step length (s).
        track_pairs: Keep per-pair durations.
        merge_every: Steps between merges of the per-pair buffer.
    """

    def __init__(self, radius: float, dt_s: float, *, track_pairs: bool = True,
                 merge_every: int = 60) -> None:
        self.radius = radius
        self.dt_s = dt_s
        self.track_pairs = track_pairs
        self.merge_every = merge_every
        self.contact_s = np.zeros(0)
        self._keys = np.empty(0, np.int64)
        self._steps = np.empty(0, np.int64)
        self._buffer: list[np.ndarray] = []
        self._n_max = 1 << 31

    def ensure(self, n: int) -> None:
        """Make room for person ids below ``n``."""
        if len(self.contact_s) < n:
            self.contact_s = np.concatenate([self.contact_s, np.zeros(n - len(self.contact_s))])

    def pairs(self, pos: np.ndarray) -> np.ndarray:
        """Index pairs (rows of ``pos``) at most ``radius`` apart, shape ``(k, 2)``."""
        if len(pos) < 2:
            return np.empty((0, 2), np.intp)
        return cKDTree(pos).query_pairs(self.radius, output_type="ndarray")

    def update(self, ids: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Record one step for the people ``ids`` at ``pos``; return the close pairs as global ids."""
        local = self.pairs(pos)
        glob = ids[local] if len(local) else np.empty((0, 2), np.int64)
        if len(glob):
            self.ensure(int(ids.max()) + 1)
            self.contact_s += np.bincount(glob.ravel(), minlength=len(self.contact_s)) * self.dt_s
            if self.track_pairs:
                lo, hi = glob.min(axis=1).astype(np.int64), glob.max(axis=1).astype(np.int64)
                self._buffer.append(lo * self._n_max + hi)
                if len(self._buffer) >= self.merge_every:
                    self._merge()
        return glob

    def _merge(self) -> None:
        if not self._buffer:
            return
        keys = np.concatenate([self._keys, *self._buffer])
        weights = np.concatenate([self._steps, np.ones(sum(len(b) for b in self._buffer), np.int64)])
        self._buffer = []
        uniq, inv = np.unique(keys, return_inverse=True)
        self._keys, self._steps = uniq, np.bincount(inv, weights=weights).astype(np.int64)

    def pair_durations_s(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pairs (k, 2) of global ids, seconds together)`` over the whole run."""
        self._merge()
        return (np.column_stack([self._keys // self._n_max, self._keys % self._n_max]),
                self._steps * self.dt_s)

    def __repr__(self) -> str:
        return f"ContactSensor(radius={self.radius:g}, dt_s={self.dt_s:g})"


def zone_counts(rects: list[Rect], pos: np.ndarray) -> np.ndarray:
    """People inside each zone rectangle (a person on a shared edge counts in both)."""
    return np.array([int(r.contains(pos).sum()) for r in rects], dtype=np.int64)


class HeatMap:
    """Occupancy heat map: person-minutes per cell of a regular grid over the room."""

    def __init__(self, width: float, depth: float, cell: float) -> None:
        self.cell = cell
        self.x_edges = cell * np.arange(max(1, int(np.ceil(width / cell - 1e-9))) + 1)
        self.y_edges = cell * np.arange(max(1, int(np.ceil(depth / cell - 1e-9))) + 1)
        self.person_minutes = np.zeros((len(self.x_edges) - 1, len(self.y_edges) - 1))

    def add(self, pos: np.ndarray, minutes: float = 1.0) -> None:
        """Add a snapshot of positions weighted by ``minutes`` (points on the far walls: the last cell)."""
        if len(pos):
            nx, ny = self.person_minutes.shape
            ix = np.clip((pos[:, 0] / self.cell).astype(np.int64), 0, nx - 1)
            iy = np.clip((pos[:, 1] / self.cell).astype(np.int64), 0, ny - 1)
            h = np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny)
            self.person_minutes += h * minutes

    def __repr__(self) -> str:
        return f"HeatMap(cells={self.person_minutes.shape})"


def plan_cell(plan: FloorPlan, cell: float) -> float:
    """Heat-map cell size aligned to the plan: at most ``cell`` and small enough that no two seats share one.

    Two seats ``d`` apart differ by at least ``d/√2`` along one axis, so cells narrower than that
    (``0.7 d``, ``d`` the smallest seat spacing) never hold two seats.
    """
    seats = plan.seats
    if len(seats) < 2:
        return cell
    d, _ = cKDTree(seats).query(seats, k=2)
    return float(min(cell, 0.7 * d[:, 1].min()))


class Sensor:
    """Base of the virtual sensors.

    Attributes:
        name: Registry name.
        figures: Per-minute model-level figures this sensor reports (DataCollector columns).
        tables: DataCollector tables ``{name: columns}`` this sensor fills.
    """

    name: ClassVar[str] = ""
    figures: ClassVar[tuple[str, ...]] = ()
    tables: ClassVar[dict[str, list[str]]] = {}

    def __init__(self, model: CrowdModel) -> None:
        self.model = model

    def step(self, ids: np.ndarray, pos: np.ndarray) -> None:
        """Observe one step: people ``ids`` present at ``pos``."""

    def minute(self, ids: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        """Observe a minute boundary; return this minute's ``figures``."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@SENSORS.register
class CloseContacts(Sensor):
    """Close pairs (distance <= ``contact_radius_m``) each step, per-person and per-pair contact time, and
    counter-flow pairs (one walking in, one walking out)."""

    name = "contacts"
    figures = ("close_pairs", "counterflow_pairs")

    def __init__(self, model: CrowdModel) -> None:
        super().__init__(model)
        self.pairs = np.empty((0, 2), np.int64)
        self._pairs = self._counterflow = 0.0
        self.counterflow_pair_s = 0.0

    def step(self, ids: np.ndarray, pos: np.ndarray) -> None:
        """Find this step's close pairs; count those in counter-flow."""
        m = self.model
        self.pairs = pairs = m.contacts.update(ids, pos)
        self._pairs += len(pairs)
        if len(pairs):
            from syntwin.agents.people import LEAVING, QUEUE, TO_SEAT

            st = m.state
            inbound = (st == TO_SEAT) | ((st == QUEUE) & np.any(m.pos != m.target, axis=1))
            outbound = st == LEAVING
            a, b = pairs[:, 0], pairs[:, 1]
            cf = int(((inbound[a] & outbound[b]) | (outbound[a] & inbound[b])).sum())
            self._counterflow += cf
            self.counterflow_pair_s += cf * m.dt

    def minute(self, ids: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        """Mean close pairs and counter-flow pairs over the minute's steps."""
        per_min = 60.0 / self.model.dt
        out = {"close_pairs": self._pairs / per_min, "counterflow_pairs": self._counterflow / per_min}
        self._pairs = self._counterflow = 0.0
        return out


@SENSORS.register
class ZoneCounts(Sensor):
    """People per zone each minute (a person on a shared edge counts in both) and density per m²."""

    name = "zones"
    tables = {"zones": ["minute", "zone", "count", "density_per_m2"]}

    def minute(self, ids: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        """Add one table row per zone."""
        m = self.model
        zones = m.config.plan.zones
        for z, c in zip(zones, zone_counts([z.rect for z in zones], pos)):
            m.datacollector.add_table_row("zones", {"minute": m.minute, "zone": z.name, "count": int(c),
                                                    "density_per_m2": c / z.rect.area})
        return {}


@SENSORS.register
class OccupancyHeatMap(Sensor):
    """Person-minutes per cell (positions sampled each minute) on a grid aligned to the plan."""

    name = "occupancy_heatmap"

    def __init__(self, model: CrowdModel) -> None:
        super().__init__(model)
        plan = model.config.plan
        self.map = HeatMap(plan.width, plan.depth, plan_cell(plan, model.config.heatmap_cell_m))

    def minute(self, ids: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        """Add the minute's snapshot."""
        self.map.add(pos, 1.0)
        return {}


@SENSORS.register
class ContactHeatMap(Sensor):
    """Contact minutes per cell: every step, each person in a close pair adds ``dt`` at their place.

    Needs the ``contacts`` sensor before it. The cells are those of the occupancy heat map (aligned to
    the plan), so a hotspot is a place where people were close, not merely present.
    """

    name = "contact_heatmap"

    def __init__(self, model: CrowdModel) -> None:
        super().__init__(model)
        plan = model.config.plan
        self.map = HeatMap(plan.width, plan.depth, plan_cell(plan, model.config.heatmap_cell_m))

    def step(self, ids: np.ndarray, pos: np.ndarray) -> None:
        """Bin both ends of this step's close pairs."""
        pairs = self.model.sensors["contacts"].pairs
        if len(pairs):
            self.map.add(self.model.pos[pairs.ravel()], self.model.dt / 60.0)


__all__ = ["ContactSensor", "zone_counts", "HeatMap", "plan_cell", "Sensor", "CloseContacts", "ZoneCounts",
           "OccupancyHeatMap", "ContactHeatMap"]
