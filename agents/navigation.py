"""Walking around furniture: a navigation grid, shortest paths by Dijkstra, and string-pulled routes.

The room is rasterised into square cells of ``cell`` metres; a cell is blocked if its centre lies within
``clearance`` of a table, counter or wall, or outside the room's outline. Free cells form an 8-connected
graph (diagonal steps only where both side cells are free, so routes never cut a corner) weighted by
step length; :func:`scipy.sparse.csgraph.dijkstra` from a goal cell gives every cell's walking distance
and next step towards it (a flow field, cached per goal: seats, exits and queue places are few and fixed).
A route from a position to a goal follows the flow field and is then shortened by string pulling
(a waypoint is dropped while the straight segment past it stays in free cells), so people walk straight
where they can and around tables where they must.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from syntwin.agents.floorplan import FloorPlan


class NavGrid:
    """Navigation grid of a floor plan.

    Args:
        plan: The floor plan (tables, counters, walls and the outline block walking).
        cell: Cell size (m).
        clearance: Distance kept from furniture and walls (m); seats and queue places next to tables
            stay reachable because a blocked goal cell is replaced by the nearest free one.
    """

    def __init__(self, plan: FloorPlan, cell: float = 0.3, clearance: float = 0.15) -> None:
        self.plan, self.cell, self.clearance = plan, cell, clearance
        self.nx = max(1, int(np.ceil(plan.width / cell - 1e-9)))
        self.ny = max(1, int(np.ceil(plan.depth / cell - 1e-9)))
        xs = (np.arange(self.nx) + 0.5) * cell
        ys = (np.arange(self.ny) + 0.5) * cell
        self.centres = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)  # (nx, ny, 2)
        self.blocked = np.zeros((self.nx, self.ny), bool)
        for r in [t.rect for t in plan.tables] + [c.rect for c in plan.counters]:  # raster by slicing
            x_lo, x_hi = np.searchsorted(xs, r.x0 - clearance), np.searchsorted(xs, r.x1 + clearance, "right")
            y_lo, y_hi = np.searchsorted(ys, r.y0 - clearance), np.searchsorted(ys, r.y1 + clearance, "right")
            self.blocked[x_lo:x_hi, y_lo:y_hi] = True
        if plan.walls or plan.outline is not None:
            walls = plan.blocked_mask(self.centres.reshape(-1, 2), clearance, furniture=False)
            self.blocked |= walls.reshape(self.nx, self.ny)
        self._graph = None
        self._fields: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._vias: dict[tuple[int, int], np.ndarray] = {}  # (start cell, goal cell) -> pulled waypoints

    # ---- cells ----------------------------------------------------------------------------------
    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """Flat cell index of each point ``(n, 2)``."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        ix = np.minimum(np.maximum((xy[:, 0] / self.cell).astype(np.int64), 0), self.nx - 1)
        iy = np.minimum(np.maximum((xy[:, 1] / self.cell).astype(np.int64), 0), self.ny - 1)
        return ix * self.ny + iy

    def free_cell(self, xy: np.ndarray) -> np.ndarray:
        """The free cell nearest to each point (its own cell if free)."""
        c = self.cell_of(xy)
        flat = self.blocked.ravel()
        if not flat[c].any():
            return c
        free = np.flatnonzero(~flat)
        if not len(free):
            raise ValueError("the floor plan has no free floor to walk on")
        pts = self.centres.reshape(-1, 2)
        out = c.copy()
        for k in np.flatnonzero(flat[c]):
            d = np.hypot(*(pts[free] - np.asarray(xy, float).reshape(-1, 2)[k]).T)
            out[k] = free[int(np.argmin(d))]
        return out

    def free_place(self, xy: np.ndarray) -> np.ndarray:
        """Each point moved to the centre of its nearest free cell if it stands in a blocked one."""
        xy = np.asarray(xy, float).reshape(-1, 2).copy()
        bad = self.blocked.ravel()[self.cell_of(xy)]
        if bad.any():
            xy[bad] = self.centres.reshape(-1, 2)[self.free_cell(xy[bad])]
        return xy

    # ---- line of sight --------------------------------------------------------------------------
    def clear(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For segments ``a[k] -> b[k]``: True where every sample (at most cell/2 apart) is in a free cell.

        The cells of the two ends are not tested (people start on and walk to seats beside tables).
        """
        a, b = np.asarray(a, float).reshape(-1, 2), np.asarray(b, float).reshape(-1, 2)
        if not len(a):
            return np.zeros(0, bool)
        n = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / (self.cell / 2)).astype(np.int64))
        seg = np.repeat(np.arange(len(a)), n)
        start = np.repeat(np.cumsum(n) - n, n)
        t = (np.arange(len(seg)) - start + 0.5) / n[seg]
        cells = self.cell_of(a[seg] + (b - a)[seg] * t[:, None])
        bad = self.blocked.ravel()[cells] & (cells != self.cell_of(a)[seg]) & (cells != self.cell_of(b)[seg])
        return np.bincount(seg, weights=bad, minlength=len(a)) == 0

    # ---- shortest paths -------------------------------------------------------------------------
    def _build_graph(self):
        free = ~self.blocked
        rows, cols, w = [], [], []
        idx = np.arange(self.nx * self.ny).reshape(self.nx, self.ny)
        for dx, dy in ((1, 0), (0, 1), (1, 1), (1, -1)):
            xa, xb = slice(0, self.nx - dx), slice(dx, self.nx)
            ya, yb = (slice(0, self.ny - dy), slice(dy, self.ny)) if dy >= 0 else \
                (slice(-dy, self.ny), slice(0, self.ny + dy))
            ok = free[xa, ya] & free[xb, yb]
            if dx and dy:  # no corner cutting
                ok &= free[xb, ya] & free[xa, yb]
            a, b = idx[xa, ya][ok], idx[xb, yb][ok]
            rows += [a, b]
            cols += [b, a]
            w += [np.full(2 * len(a), self.cell * np.hypot(dx, dy))]
        n = self.nx * self.ny
        self._graph = coo_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(n, n)).tocsr()

    def field(self, goal_cell: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distance to the goal, next cell towards it)`` for every cell (cached per goal)."""
        if goal_cell not in self._fields:
            if self._graph is None:
                self._build_graph()
            dist, pred = dijkstra(self._graph, directed=False, indices=int(goal_cell),
                                  return_predecessors=True)
            self._fields[goal_cell] = (dist, pred)
        return self._fields[goal_cell]

    def distance(self, xy: np.ndarray, goal: np.ndarray) -> float:
        """Walking distance (m, along the grid) from ``xy`` to ``goal``; ``inf`` if unreachable."""
        g = int(self.free_cell(goal)[0])
        return float(self.field(g)[0][int(self.free_cell(xy)[0])])

    def route(self, start: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Waypoints ``(k, 2)`` from ``start`` to ``goal`` (the last one is ``goal`` itself).

        Straight if the segment is clear; otherwise the flow-field path, string-pulled. An unreachable
        goal (walled off) gives the straight segment.
        """
        start, goal = np.asarray(start, float), np.asarray(goal, float)
        if self.clear(start, goal)[0]:
            return goal[None, :]
        g = int(self.free_cell(goal)[0])
        c = int(self.free_cell(start)[0])
        key = (c, g)
        if key not in self._vias:  # waypoints between the two cells, shared by everyone on this trip
            dist, pred = self.field(g)
            if not np.isfinite(dist[c]):
                self._vias[key] = np.empty((0, 2))
            else:
                cells = [c]
                while cells[-1] != g and len(cells) <= self.nx * self.ny:
                    cells.append(int(pred[cells[-1]]))
                centres = self.centres.reshape(-1, 2)
                self._vias[key] = self._pull(centres[cells])[1:-1] if len(cells) > 2 else np.empty((0, 2))
        via = self._vias[key]
        if len(via) and self.clear(start, via[-1:])[0] and self.clear(via[-1:], goal)[0]:
            via = via[-1:]  # from this exact start the last corner may already be in sight
        return np.vstack([via, goal[None, :]])

    def _pull(self, pts: np.ndarray, reach: int = 48) -> np.ndarray:
        """String pulling: keep a point only where the segment past it would cross a blocked cell.

        Looks at most ``reach`` grid steps ahead (a long straight run then keeps a point on its line).
        """
        out = [0]
        i = 0
        while i < len(pts) - 1:
            later = np.arange(i + 1, min(len(pts), i + 1 + reach))
            ok = self.clear(np.repeat(pts[i][None, :], len(later), axis=0), pts[later])
            # the farthest point still visible from pts[i] (the next one always is: adjacent cells)
            j = int(later[np.flatnonzero(ok)[-1]]) if ok.any() else i + 1
            out.append(j)
            i = j
        return pts[out]

    def __repr__(self) -> str:
        return f"NavGrid({self.nx}x{self.ny} cells of {self.cell:g} m, blocked={int(self.blocked.sum())})"


__all__ = ["NavGrid"]
