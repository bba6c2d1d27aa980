"""Virtual sensors: close pairs and contact time (KD-tree, never all pairs), zone counts, heat maps."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from syntwin.agents.floorplan import Rect


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
        """Add a snapshot of positions weighted by ``minutes``."""
        if len(pos):
            h, _, _ = np.histogram2d(pos[:, 0], pos[:, 1], bins=[self.x_edges, self.y_edges])
            self.person_minutes += h * minutes

    def __repr__(self) -> str:
        return f"HeatMap(cells={self.person_minutes.shape})"


__all__ = ["ContactSensor", "zone_counts", "HeatMap"]
