"""People of the crowd model: states, visitors and staff (Mesa agents backed by the model's arrays)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

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


class Visitor(mesa.Agent):
    """A visitor; its state lives in the model's arrays at row ``idx``."""

    def __init__(self, model: CrowdModel, idx: int) -> None:
        self.idx = idx
        super().__init__(model)
        model.people[idx] = self

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
        """Take a free seat (uniformly among the free ones), or wait standing if none is free."""
        m = self.model
        free = np.flatnonzero(m.seat_free)
        if len(free) == 0:
            if m.state[self.idx] != WAIT_SEAT:  # step 2 m aside (random direction) and wait standing
                m.state[self.idx] = WAIT_SEAT
                m.t_wait_seat[self.idx] = m.time_s
                angle = 2 * np.pi * m.u[self.idx, 7]
                spot = m.pos[self.idx] + 2.0 * np.array([np.cos(angle), np.sin(angle)])
                spot = np.clip(spot, 0.0, [m.config.plan.width, m.config.plan.depth])
                m.pos[self.idx] = m.target[self.idx] = spot
            elif m.time_s - m.t_wait_seat[self.idx] >= m.config.visitors.max_seat_wait_s:
                m.gave_up += 1
                m.gave_up_flag[self.idx] = True
                self.leave()
            return
        seat = int(free[int(m.u[self.idx, 5] * len(free))])
        m.seat_free[seat] = False
        m.seat_of[self.idx] = seat
        m.target[self.idx] = m.seats[seat]
        m.state[self.idx] = TO_SEAT

    def leave(self) -> None:
        """Free the seat and walk to the nearest exit."""
        m = self.model
        if m.seat_of[self.idx] >= 0:
            m.seat_free[m.seat_of[self.idx]] = True
            m.seat_of[self.idx] = -1
        d = np.hypot(*(m.exits - m.pos[self.idx]).T)
        m.target[self.idx] = m.exits[int(np.argmin(d))]
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


class Staff(mesa.Agent):
    """A staff member standing behind a serving counter for the whole run."""

    def __init__(self, model: CrowdModel, idx: int) -> None:
        self.idx = idx
        super().__init__(model)
        model.people[idx] = self


__all__ = ["Visitor", "Staff", "STATE_NAMES", "INSIDE", "INSIDE_MASK", "PRESENT_MASK"]
