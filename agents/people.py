"""People of the crowd model: states, visitors and staff (Mesa agents backed by the model's arrays).

Each agent type is a :class:`Person` subclass registered in :data:`~syntwin.agents.registry.AGENT_TYPES`.
Its behaviour lives in the class: :meth:`Person.due` selects, with array arithmetic, the agents that must
decide something this step, and the model calls their :meth:`Person.step` through an
:class:`mesa.AgentSet` (``do("step")``); movement, contacts and exposure stay vectorised in the model's
arrays, indexed by ``agent.idx``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from syntwin.agents.registry import AGENT_TYPES

if TYPE_CHECKING:
    from syntwin.agents.model import CrowdModel

# person states
PENDING, WAIT_OUT, QUEUE, TO_SEAT, WAIT_SEAT, SEATED, LEAVING, GONE, STAFF, NO_SLOT, BALKED = range(11)
INSIDE = (QUEUE, TO_SEAT, WAIT_SEAT, SEATED, LEAVING)
INSIDE_MASK = np.zeros(11, bool)
INSIDE_MASK[list(INSIDE)] = True  # state -> inside the room (visitors)
PRESENT_MASK = INSIDE_MASK.copy()
PRESENT_MASK[STAFF] = True  # state -> in the room (visitors and staff)
STATE_NAMES = ("pending", "waiting_outside", "queue", "to_seat", "waiting_seat", "seated", "leaving", "gone",
               "staff", "no_slot", "balked")


class Person(mesa.Agent):
    """Base of the agent types: state in the model's arrays at row ``idx``, behaviour in the class.

    Subclasses set ``name`` and override what they need:

    - :meth:`initial`: positions of the agents of this type present from the start (staff);
    - :meth:`setup`: give those rows their state and create the agents;
    - :meth:`due`: the rows that must decide this step (vectorised);
    - :meth:`step`: one agent's decision.
    """

    name: ClassVar[str] = ""

    def __init__(self, model: CrowdModel, idx: int) -> None:
        self.idx = idx
        super().__init__(model)
        model.people[idx] = self

    @classmethod
    def initial(cls, model: CrowdModel) -> np.ndarray:
        """Positions ``(n, 2)`` of this type's agents present from the start (default: none)."""
        return np.empty((0, 2))

    @classmethod
    def setup(cls, model: CrowdModel, ids: np.ndarray, pos: np.ndarray) -> None:
        """Create the agents of rows ``ids`` at ``pos`` (default: stationary, present all run)."""
        for i, p in zip(ids, pos):
            model.state[i], model.pos[i], model.target[i] = STAFF, p, p
            cls(model, int(i))

    @classmethod
    def due(cls, model: CrowdModel, t: float) -> np.ndarray:
        """Rows of this type's agents that must act at time ``t`` (default: none)."""
        return np.empty(0, np.int64)

    def step(self) -> None:
        """One decision (default: nothing)."""


@AGENT_TYPES.register
class Visitor(Person):
    """A visitor: queues for food, takes a seat (or waits for one, or gives up), stays, leaves.

    Created by the model's door when their arrival time comes (:meth:`CrowdModel._arrivals`).
    """

    name = "visitor"

    @classmethod
    def due(cls, model: CrowdModel, t: float) -> np.ndarray:
        """Visitors waiting for a seat (first come first seated; with no seat free only those whose patience
        ran out) and seated visitors whose dwell time is over."""
        st = model.state
        waiting = np.flatnonzero(st == WAIT_SEAT)
        if len(waiting):
            if model.seat_free.any():
                waiting = waiting[np.argsort(model.t_wait_seat[waiting], kind="stable")]
            else:
                limit = model.config.visitors.max_seat_wait_s
                waiting = waiting[t - model.t_wait_seat[waiting] >= limit]
        done = np.flatnonzero((st == SEATED) & (model.t_leave <= t))
        return np.concatenate([waiting, done])

    def step(self) -> None:
        """Waiting: try to sit (or give up); seated and done: stand up and leave."""
        s = self.model.state[self.idx]
        if s == WAIT_SEAT:
            self.choose_seat()
        elif s == SEATED:
            self.leave()

    @property
    def pos(self) -> np.ndarray | None:
        """Position in metres (Mesa's ``pos``), a view into the model's position array."""
        return self.model.pos[self.idx] if hasattr(self, "idx") else None

    @pos.setter
    def pos(self, value) -> None:
        """Set the position (Mesa's base class sets ``None`` at creation, which is ignored)."""
        if value is not None:
            self.model.pos[self.idx] = value

    @property
    def state(self) -> str:
        """State name (``queue``, ``seated``, …)."""
        return STATE_NAMES[self.model.state[self.idx]]

    def enter(self) -> None:
        """Step in through an entrance and head for a counter queue or a seat."""
        m = self.model
        m.state[self.idx] = QUEUE
        m.t_enter[self.idx] = m.time_s
        k = int(m.u[self.idx, 3] * len(m.entrances))
        m.pos[self.idx] = m.entrances[k] + m.entrance_span[k] * (m.u[self.idx, 6] - 0.5)
        m.entered += 1
        if m.lanes and m.u[self.idx, 4] < m.config.visitors.p_food:
            lengths = [len(q) + (s >= 0) for q, s in zip(m.lane_queue, m.serving)]
            lane = int(np.argmin(lengths))
            m.lane_of[self.idx] = lane
            m.lane_queue[lane].append(self.idx)
            m.t_join[self.idx] = m.time_s
            m.retarget_lane(lane)
        else:
            self.choose_seat()

    def choose_seat(self) -> None:
        """Take a free seat (uniformly among the free ones), or wait standing if none is free.

        First come first seated: somebody not yet waiting (in from the door, or served at a counter) waits too
        while others are already waiting for a seat; :meth:`due` seats the waiters, longest-waiting first.
        """
        m = self.model
        queue_first = m.state[self.idx] != WAIT_SEAT and bool((m.state == WAIT_SEAT).any())
        free = np.empty(0, np.int64) if queue_first else np.flatnonzero(m.seat_free)
        if len(free) == 0:
            if m.state[self.idx] != WAIT_SEAT:  # step 2 m aside (random direction) and wait standing
                m.state[self.idx] = WAIT_SEAT
                m.t_wait_seat[self.idx] = m.time_s
                angle = 2 * np.pi * m.u[self.idx, 7]
                spot = m.pos[self.idx] + 2.0 * np.array([np.cos(angle), np.sin(angle)])
                spot = m.free_place(np.clip(spot, 0.0, [m.config.plan.width, m.config.plan.depth]))[0]
                m.pos[self.idx] = m.target[self.idx] = spot
                m._routes.pop(self.idx, None)
            elif m.time_s - m.t_wait_seat[self.idx] >= m.config.visitors.max_seat_wait_s:
                m.gave_up += 1
                m.gave_up_flag[self.idx] = True
                self.leave()
            return
        seat = int(free[int(m.u[self.idx, 5] * len(free))])
        m.seat_free[seat] = False
        m.seat_of[self.idx] = seat
        m.go(self.idx, m.seats[seat])
        m.state[self.idx] = TO_SEAT

    def leave(self) -> None:
        """Free the seat and walk to the exit nearest by walking distance (to a place across its width)."""
        m = self.model
        if m.seat_of[self.idx] >= 0:
            m.seat_free[m.seat_of[self.idx]] = True
            m.seat_of[self.idx] = -1
        k = m.nearest_exit(self.idx)
        m.go(self.idx, m.exits[k] + 0.8 * m.exit_span[k] * (m.u[self.idx, 6] - 0.5))
        m.state[self.idx] = LEAVING

    def balk(self) -> None:
        """Give up waiting outside (turned away at the door by a capacity limit): leave the model."""
        self.model.balked += 1
        self._depart(BALKED)

    def exit(self) -> None:
        """Pass the door: leave the room and the model."""
        self.model.left += 1
        self._depart(GONE)

    def _depart(self, state: int) -> None:
        m = self.model
        m.state[self.idx] = state
        m.t_left[self.idx] = m.time_s
        del m.people[self.idx]
        self.remove()


@AGENT_TYPES.register
class Staff(Person):
    """A staff member standing behind a serving counter for the whole run (breathes and emits)."""

    name = "staff"

    @classmethod
    def initial(cls, model: CrowdModel) -> np.ndarray:
        """One place per staff member, spread along the far side of each counter from its queue."""
        plan = model.config.plan
        pts = []
        lanes = {ln.counter: ln for ln in plan.lanes}
        for c in plan.counters:
            if c.staff <= 0:
                continue
            head = np.asarray(lanes[c.name].points[-1])
            cx, cy = c.rect.center
            if (c.rect.x1 - c.rect.x0) >= (c.rect.y1 - c.rect.y0):
                y = c.rect.y1 + 0.5 if head[1] < cy else c.rect.y0 - 0.5
                pts += [(x, y) for x in np.linspace(c.rect.x0, c.rect.x1, c.staff + 2)[1:-1]]
            else:
                x = c.rect.x1 + 0.5 if head[0] < cx else c.rect.x0 - 0.5
                pts += [(x, y) for y in np.linspace(c.rect.y0, c.rect.y1, c.staff + 2)[1:-1]]
        pts = np.clip(np.asarray(pts, float).reshape(-1, 2), 0.0, [plan.width, plan.depth])
        return model.free_place(pts)


__all__ = ["Person", "Visitor", "Staff", "STATE_NAMES", "INSIDE", "INSIDE_MASK", "PRESENT_MASK"]
