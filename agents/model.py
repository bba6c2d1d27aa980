"""The crowd model on Mesa 3: visitors arrive, queue, take food, sit, stay and leave.

Mesa owns the agents: each agent type (:class:`Visitor`, :class:`Staff`, or a user's, from
:data:`~syntwin.agents.registry.AGENT_TYPES`) registers its agents with the model; each step every type
selects the agents that must decide (:meth:`~syntwin.agents.people.Person.due`) and the model calls their
``step`` through an :class:`mesa.AgentSet` (``do("step")``). Virtual sensors come from
:data:`~syntwin.agents.registry.SENSORS`; their per-minute figures go through a :class:`mesa.DataCollector`.
The hot arithmetic — positions, movement, contacts, exposure — lives in NumPy arrays indexed by
``agent.idx``, so a step costs a few vector operations plus one KD-tree, not a Python loop over agents.

People walk at their own speed from door to queue place to counter to seat to the exit nearest by walking
distance, around tables, counters and walls (:class:`~syntwin.agents.navigation.NavGrid`: flow fields on
a grid, string-pulled routes). Simplifications (by design): no body exclusion between people; the room
air is well mixed (one Wells–Riley box); infectiousness enters as an expected value (prevalence).
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import mesa
import numpy as np
from mesa.agent import AgentSet
from scipy import special, stats

from syntwin.agents.arrivals import apply_time_slots, sample_arrivals
from syntwin.agents.config import CrowdConfig, Interventions
from syntwin.agents.exposure import WellsRileyRoom, infection_probability
from syntwin.agents.floorplan import FloorPlan, thin_seats
from syntwin.agents.navigation import NavGrid
from syntwin.agents.people import (
    BALKED,
    INSIDE,
    INSIDE_MASK,
    LEAVING,
    NO_SLOT,
    PENDING,
    PRESENT_MASK,
    QUEUE,
    SEATED,
    STAFF,
    STATE_NAMES,
    TO_SEAT,
    WAIT_OUT,
    WAIT_SEAT,
    Staff,
    Visitor,
)
from syntwin.agents.registry import AGENT_TYPES, SENSORS
from syntwin.agents.sensors import ContactSensor, zone_counts

#: Initial values of person rows added by assimilation (others NaN): see ``CrowdModel._grow``.
_GROW_FILL = {"state": PENDING, "seat_of": -1, "lane_of": -1, "dose": 0.0, "service_z": 1.0, "u": 0.5,
              "pos": 0.0, "target": 0.0, "speed": 1.2, "dwell_s": 0.0, "gave_up_flag": False}


@lru_cache(maxsize=8)
def navigation_grid(plan: FloorPlan, cell: float) -> NavGrid:
    """The plan's navigation grid, shared by the runs of one process (its flow fields are cached)."""
    return NavGrid(plan, cell)


class CrowdModel(mesa.Model):
    """A canteen / lecture-hall crowd twin.

    Args:
        config: Floor plan, arrivals, behaviour, exposure and step settings.
        interventions: This arm's interventions (default: none, the baseline).
        seed: Seed (int or ``SeedSequence``); arrivals, visitor traits and Mesa's own generators come from
            fixed children of it, so arms run with the same seed share arrivals and traits (common random
            numbers) wherever their interventions allow.
    """

    def __init__(self, config: CrowdConfig, interventions: Interventions | None = None, *,
                 seed: int | np.random.SeedSequence = 0) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        child = [np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, k)) for k in range(4)]
        super().__init__(rng=np.random.default_rng(child[0]))
        self.config = config
        self.interventions = iv = interventions or Interventions()
        plan = config.plan
        self.dt = config.dt_s
        self.time_s = 0.0
        self.people: dict[int, mesa.Agent] = {}
        self.nav = navigation_grid(config.plan, config.nav_cell_m) if config.routing else None
        self._routes: dict[int, list[np.ndarray]] = {}  # remaining waypoints after the current target
        arr = sample_arrivals(config.arrivals, config.duration_s, np.random.default_rng(child[1]),
                              scale=iv.arrival_scale)
        self.n_arrivals = len(arr)
        u = np.random.default_rng(child[2]).random((len(arr), 8))
        booked = np.ones(len(arr), bool)
        if iv.time_slots is not None:
            arr, booked = apply_time_slots(arr, iv.time_slots, np.random.default_rng(child[3]),
                                           duration_s=config.duration_s)
        # seats, doors, lanes
        self.seats = plan.seats
        self.seat_free = np.ones(len(self.seats), bool)
        if iv.seat_spacing_m is not None:
            self.seat_free &= thin_seats(self.seats, iv.seat_spacing_m)
        self.seats_available = int(self.seat_free.sum())
        self.entrances, self.exits = self._doors(iv.one_way)
        self.entrance_span = self._spans(self.entrances)
        self.exit_span = self._spans(self.exits)
        self.lanes = list(plan.lanes)
        counters = {c.name: c for c in plan.counters}
        self.lane_service = np.array([counters[ln.counter].service_mean_s for ln in self.lanes])
        self.lane_queue: list[deque[int]] = [deque() for _ in self.lanes]
        self.serving = np.full(len(self.lanes), -1)
        self.service_end = np.zeros(len(self.lanes))
        self._slots = [ln.slots(64) for ln in self.lanes]
        # agent types and the rows of those present from the start (staff)
        self.person_types = AGENT_TYPES.resolve_all(config.agent_types)
        initial = [(cls, cls.initial(self)) for cls in self.person_types]
        n = len(arr) + sum(len(p) for _, p in initial)
        self.n_staff = n - len(arr)
        self._alloc(n)
        self.t_arrive[: len(arr)] = arr
        vp = config.visitors
        self.u[: len(arr)] = u
        self.speed[: len(arr)] = np.clip(vp.speed_mean + vp.speed_sd * stats.norm.ppf(u[:, 0]), 0.5, 2.0)
        s2 = np.log(1 + (vp.dwell_sd_min / vp.dwell_mean_min) ** 2)
        z = stats.norm.ppf(u[:, 1])
        self.dwell_s[: len(arr)] = 60 * vp.dwell_mean_min * np.exp(np.sqrt(s2) * z - s2 / 2)
        self.service_z[: len(arr)] = stats.gamma.ppf(u[:, 2], 4.0, scale=0.25)
        self.state[: len(arr)][~booked] = NO_SLOT  # time slots full until the end: not admitted
        self.no_slot = int((~booked).sum())
        self.order = np.flatnonzero(booked)[np.argsort(arr[booked], kind="stable")]
        self._next = 0
        self.outside: deque[int] = deque()
        start = len(arr)
        for cls, p in initial:
            cls.setup(self, np.arange(start, start + len(p)), p)
            start += len(p)
        # sensors and exposure
        ex = config.exposure
        self.air = WellsRileyRoom(plan.volume, iv.ach if iv.ach is not None else ex.ach, ex.loss_per_h)
        self.exposure_integral = 0.0  # ∫C dt since the start (quanta·s/m³): the air of someone present all run
        self.contacts = ContactSensor(config.contact_radius_m, self.dt, track_pairs=config.track_pairs)
        self.contacts.ensure(n)
        if "contacts" not in config.sensors:
            raise ValueError(f"sensors must include 'contacts' (contact and counter-flow figures), got "
                             f"{list(config.sensors)}")
        self.sensors = {cls.name: cls(self) for cls in SENSORS.resolve_all(config.sensors)}
        self.entered = self.left = self.gave_up = self.balked = 0
        self.peak_outside = 0
        self.peak_occupancy = 0
        figures = [f for s in self.sensors.values() for f in s.figures]
        tables = {k: v for s in self.sensors.values() for k, v in s.tables.items()}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: k for k in ("minute", "occupancy", "waiting_outside", "queue_length",
                                            *figures, "quanta_per_m3", "expected_infections")},
            tables=tables,
        )
        self.minute = 0
        self.assimilated_in = self.assimilated_out = 0  # visitors added/removed by assimilation (live)
        self._update_minute_figures()

    # ---- construction helpers -------------------------------------------------------------------
    _TIMES = ("t_arrive", "t_door", "t_enter", "t_join", "t_service", "t_seated", "t_leave", "t_left",
              "t_wait_seat")
    _ARRAYS = ("pos", "target", "state", "speed", "dwell_s", "service_z", "u", "dose", "gave_up_flag",
               "seat_of", "lane_of", *_TIMES)

    def _alloc(self, n: int) -> None:
        self.pos = np.zeros((n, 2))
        self.target = np.zeros((n, 2))
        self.state = np.full(n, PENDING, np.int8)
        self.speed = np.full(n, self.config.visitors.speed_mean)
        self.dwell_s = np.full(n, 60 * self.config.visitors.dwell_mean_min)
        self.service_z = np.ones(n)
        self.u = np.full((n, 8), 0.5)
        self.dose = np.zeros(n)
        self.gave_up_flag = np.zeros(n, bool)
        self.seat_of = np.full(n, -1)
        self.lane_of = np.full(n, -1)
        for name in self._TIMES:
            setattr(self, name, np.full(n, np.nan))

    def _doors(self, one_way: bool) -> tuple[np.ndarray, np.ndarray]:
        """Entrance and exit door centres; one-way flow separates them."""
        plan = self.config.plan
        if not one_way:
            return plan.door_positions("in"), plan.door_positions("out")
        only_in = np.asarray([(d.x, d.y) for d in plan.doors if d.use == "in"]).reshape(-1, 2)
        only_out = np.asarray([(d.x, d.y) for d in plan.doors if d.use == "out"]).reshape(-1, 2)
        both = np.asarray([(d.x, d.y) for d in plan.doors if d.use == "both"]).reshape(-1, 2)
        if not len(only_in):
            if len(both) < (1 if len(only_out) else 2):
                raise ValueError("one-way flow needs at least two doors (one to enter, one to leave)")
            ref = np.asarray(plan.lanes[0].points[0]) if plan.lanes else plan.seats.mean(axis=0)
            first = int(np.argmin(np.hypot(*(both - ref).T)))
            only_in, both = both[[first]], np.delete(both, first, axis=0)
        return only_in, (only_out if len(only_out) else both)

    def _spans(self, doors: np.ndarray) -> np.ndarray:
        """Vector across each door's opening (entrants spread over the door width)."""
        plan = self.config.plan
        width = {(d.x, d.y): d.width for d in plan.doors}
        out = np.zeros_like(doors)
        for k, (x, y) in enumerate(doors):
            w = width[(float(x), float(y))]
            horizontal_wall = abs(y) < 1e-6 or abs(y - plan.depth) < 1e-6
            out[k] = (w, 0.0) if horizontal_wall else (0.0, w)
        return out

    def free_place(self, pts: np.ndarray) -> np.ndarray:
        """The nearest places to ``pts`` that are free of furniture (unchanged without routing)."""
        pts = np.asarray(pts, float).reshape(-1, 2)
        return self.nav.free_place(pts) if self.nav is not None and len(pts) else pts

    def go(self, i: int, goal: np.ndarray) -> None:
        """Send person ``i`` to ``goal``: around obstacles with routing, else in a straight line."""
        goal = np.asarray(goal, float)
        if self.nav is None:
            self.target[i] = goal
            self._routes.pop(i, None)
            return
        way = self.nav.route(self.pos[i], goal)
        self.target[i] = way[0]
        if len(way) > 1:
            self._routes[i] = list(way[1:])
        else:
            self._routes.pop(i, None)

    def nearest_exit(self, i: int) -> int:
        """Index of the exit nearest to person ``i`` by walking distance (straight line without routing)."""
        if self.nav is None or len(self.exits) == 1:
            return int(np.argmin(np.hypot(*(self.exits - self.pos[i]).T)))
        return int(np.argmin([self.nav.distance(self.pos[i], e) for e in self.exits]))

    def retarget_lane(self, lane: int) -> None:
        """Point everyone waiting in ``lane`` at their queue place (the head place is the server's)."""
        q = self.lane_queue[lane]
        if not q:
            return
        offset = 1 if self.serving[lane] >= 0 else 0
        need = len(q) + offset
        if need > len(self._slots[lane]):
            self._slots[lane] = self.lanes[lane].slots(2 * need)
        slots = np.clip(self._slots[lane][offset:need], 0.0, [self.config.plan.width, self.config.plan.depth])
        ids = np.fromiter(q, np.int64, len(q))
        if self.nav is None:
            self.target[ids] = slots
            return
        moved = np.flatnonzero(np.any(self._goal_of(ids) != slots, axis=1))
        if not len(moved):
            return
        straight = self.nav.clear(self.pos[ids[moved]], slots[moved])
        for k, ok in zip(moved, straight):
            i = int(ids[k])
            if ok:
                self.target[i] = slots[k]
                self._routes.pop(i, None)
            else:
                self.go(i, slots[k])

    def _goal_of(self, ids: np.ndarray) -> np.ndarray:
        """Final goal of each person (the last waypoint of their route, else their target)."""
        out = self.target[ids].copy()
        for k, i in enumerate(ids):
            r = self._routes.get(int(i))
            if r:
                out[k] = r[-1]
        return out

    def _agents_of(self, ids: np.ndarray) -> AgentSet:
        return AgentSet([self.people[int(i)] for i in ids], random=self.random)

    # ---- the step -------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance ``dt_s`` seconds: arrivals, queues, seats, movement, sensors, exposure."""
        t = self.time_s = self.steps * self.dt
        self._arrivals(t)
        self._queues(t)
        for cls in self.person_types:  # each type's agents that must decide now, through an AgentSet
            due = cls.due(self, t)
            if len(due):
                self._agents_of(due).do("step")
        self._move()
        self._sense_and_expose()
        if (self.steps * self.dt) % 60 < 1e-9:
            self._minute()

    def _arrivals(self, t: float) -> None:
        iv = self.interventions
        new = []
        while self._next < len(self.order) and self.t_arrive[self.order[self._next]] <= t:
            new.append(int(self.order[self._next]))
            self._next += 1
        for i in new:
            Visitor(self, i)
            self.state[i] = WAIT_OUT
            self.t_door[i] = t
            self.outside.append(i)
        room = np.inf if iv.capacity_limit is None else iv.capacity_limit - self.inside_visitors
        while self.outside and room > 0:
            self.people[self.outside.popleft()].enter()
            room -= 1
        limit = self.config.visitors.max_outside_wait_s
        if limit is not None:  # the deque is in arrival order: the longest waits are at its head
            while self.outside and t - self.t_door[self.outside[0]] >= limit:
                self.people[self.outside.popleft()].balk()
        self.peak_outside = max(self.peak_outside, len(self.outside))

    def _queues(self, t: float) -> None:
        """Serve queue heads, chaining services at exact times.

        A head already at its place starts when the previous service ends, not at the next step, so the
        step length does not throttle the counters.
        """
        for lane, q in enumerate(self.lane_queue):
            free_at = t
            while True:
                s = self.serving[lane]
                if s >= 0:
                    if t < self.service_end[lane]:
                        break
                    free_at = self.service_end[lane]
                    self.serving[lane] = -1
                    self.people[int(s)].choose_seat()
                if not q:
                    break
                head = q[0]
                place = self._slots[lane][0]  # the serving place at the counter
                d = float(np.hypot(*(place - self.pos[head])))
                if d > self.speed[head] * self.dt:
                    break
                q.popleft()
                self.pos[head] = self.target[head] = place
                start = max(free_at, t - self.dt + d / self.speed[head])
                self.serving[lane] = head
                self.t_service[head] = start
                self.service_end[lane] = start + self.lane_service[lane] * self.service_z[head]
            self.retarget_lane(lane)

    def _move(self) -> None:
        st = self.state
        moving = np.flatnonzero((st == QUEUE) | (st == TO_SEAT) | (st == LEAVING))
        if not len(moving):
            return
        d = self.target[moving] - self.pos[moving]
        dist = np.hypot(d[:, 0], d[:, 1])
        step = self.speed[moving] * self.dt
        arrive = dist <= step
        frac = np.where(arrive, 1.0, step / np.maximum(dist, 1e-12))
        self.pos[moving] += d * frac[:, None]
        arrived = moving[arrive]
        if self._routes and len(arrived):  # at an intermediate waypoint: head for the next one
            via = np.fromiter((int(i) in self._routes for i in arrived), bool, len(arrived))
            for i in arrived[via]:
                rest = self._routes[int(i)]
                self.target[i] = rest.pop(0)
                if not rest:
                    del self._routes[int(i)]
            arrived = arrived[~via]
        seated = arrived[st[arrived] == TO_SEAT]
        st[seated] = SEATED
        self.t_seated[seated] = self.time_s
        self.t_leave[seated] = self.time_s + self.dwell_s[seated]
        out = arrived[st[arrived] == LEAVING]
        if len(out):
            self._agents_of(out).do("exit")

    def _sense_and_expose(self) -> None:
        st = self.state
        present = np.flatnonzero(PRESENT_MASK[st])
        pos = self.pos[present]
        for sensor in self.sensors.values():
            sensor.step(present, pos)
        self.peak_occupancy = max(self.peak_occupancy, self.inside_visitors)
        ex, masks = self.config.exposure, self.interventions.masks
        emit = np.ones(len(present))
        inhale = np.ones(len(present))
        if masks is not None:
            worn = np.ones(len(present), bool) if masks.when_seated else st[present] != SEATED
            emit[worn], inhale[worn] = masks.emission_factor, masks.inhalation_factor
        emission = ex.prevalence * ex.quanta_per_h * emit.sum()
        integral = self.air.step(emission, self.dt)
        self.exposure_integral += integral
        self.dose[present] += ex.breathing_m3_per_h / 3600.0 * inhale * integral

    def _minute(self) -> None:
        self.minute = int(round(self.steps * self.dt / 60))
        self._update_minute_figures()

    def _update_minute_figures(self) -> None:
        st = self.state
        present = np.flatnonzero(PRESENT_MASK[st])
        pos = self.pos[present]
        self.occupancy = int(INSIDE_MASK[st].sum())
        self.waiting_outside = len(self.outside)
        self.queue_length = int(sum(len(q) for q in self.lane_queue) + (self.serving >= 0).sum())
        for sensor in self.sensors.values():
            for k, v in sensor.minute(present, pos).items():
                setattr(self, k, float(v))
        self.quanta_per_m3 = float(self.air.concentration)
        self.expected_infections = self.expected_infections_now()
        self.datacollector.collect(self)

    # ---- figures ---------------------------------------------------------------------------------
    @property
    def counterflow_pair_s(self) -> float:
        """Pair-seconds of counter-flow (one walking in, one walking out) so far."""
        return self.sensors["contacts"].counterflow_pair_s

    @property
    def heatmap(self):
        """Occupancy heat map (person-minutes per cell), if the sensor runs."""
        return self.sensors["occupancy_heatmap"].map if "occupancy_heatmap" in self.sensors else None

    @property
    def inside_visitors(self) -> int:
        """Visitors currently inside (staff excluded)."""
        return int(INSIDE_MASK[self.state].sum())

    def expected_infections_now(self, staff: bool = False) -> float:
        """Expected infections so far among visitors (or staff) who entered: ``Σ (1-π)(1-exp(-dose))``."""
        who = (self.state == STAFF) if staff else (~np.isnan(self.t_enter) & (self.state != STAFF))
        return float((1 - self.config.exposure.prevalence) * infection_probability(self.dose[who]).sum())

    def run(self) -> CrowdModel:
        """Run to ``duration_s``; returns self."""
        n = int(round(self.config.duration_s / self.dt))
        while self.steps < n:
            self.step()
        return self

    # ---- hooks for assimilation (syntwin.agents.live) ---------------------------------------------
    def zone_occupancy(self) -> np.ndarray:
        """Visitors inside each zone now (what the zone sensors count)."""
        inside = np.flatnonzero(INSIDE_MASK[self.state])
        return zone_counts([z.rect for z in self.config.plan.zones], self.pos[inside])

    def schedule_arrivals(self, times_s: np.ndarray, u: np.ndarray, dwell_s: np.ndarray | None = None) -> None:
        """Append visitors arriving at ``times_s`` (>= now) with trait uniforms ``u`` (shape ``(k, 8)``) and,
        optionally, their stays (default: the visitors' lognormal).

        Their rows come after the staff's; ``n_arrivals`` (the sampled arrivals that visitor accounting
        covers) is unchanged.
        """
        times_s = np.asarray(times_s, float)
        if not len(times_s):
            return
        start = self._grow(len(times_s))
        self._set_traits(slice(start, None), times_s, u, dwell_s)
        rest = np.concatenate([self.order[self._next:], np.arange(start, len(self.state))])
        self.order = np.concatenate([self.order[: self._next],
                                     rest[np.argsort(self.t_arrive[rest], kind="stable")]])

    def set_zone_occupancy(self, zone: int, count: int, u: np.ndarray, dwell_s: np.ndarray | None = None) -> None:
        """Make ``count`` visitors be inside zone ``zone`` now (assimilating a sensor count).

        Missing visitors are placed on free seats of the zone (standing at its centre if none is free),
        seated from now with a fresh stay (``dwell_s``, default the visitors' lognormal); surplus ones (those
        who entered first) leave at once. Both are counted (``assimilated_in``/``assimilated_out``), not as
        entries or departures. ``u``: uniforms ``(k, 8)`` for new visitors.
        """
        rect = self.config.plan.zones[zone].rect
        inside = np.flatnonzero(INSIDE_MASK[self.state])
        here = inside[rect.contains(self.pos[inside])]
        if len(here) > count:
            gone = here[np.argsort(self.t_enter[here], kind="stable")][: len(here) - count]
            for i in gone:
                if self.seat_of[i] >= 0:
                    self.seat_free[self.seat_of[i]] = True
                    self.seat_of[i] = -1
                self.people[int(i)].exit()
            self.left -= len(gone)
            self.assimilated_out += len(gone)
        elif len(here) < count:
            k = count - len(here)
            start = self._grow(k)
            self._set_traits(slice(start, None), np.full(k, self.time_s), u[:k],
                             None if dwell_s is None else dwell_s[:k])
            free = np.flatnonzero(self.seat_free & rect.contains(self.seats))
            for j, i in enumerate(range(start, start + k)):
                Visitor(self, i)
                self.t_enter[i] = self.t_seated[i] = self.time_s
                if j < len(free):
                    self.seat_free[free[j]] = False
                    self.seat_of[i] = free[j]
                    self.pos[i] = self.target[i] = self.seats[free[j]]
                else:
                    self.pos[i] = self.target[i] = rect.center
                self.state[i] = SEATED
                self.t_leave[i] = self.time_s + self.dwell_s[i]
            self.order = np.concatenate([self.order[: self._next], np.arange(start, start + k),
                                         self.order[self._next:]])
            self._next += k
            self.assimilated_in += k

    def _grow(self, k: int) -> int:
        """Append ``k`` person rows to every per-person array; return the first new row."""
        start = len(self.state)
        for name in self._ARRAYS:
            value = getattr(self, name)
            pad = np.full((k, *value.shape[1:]), _GROW_FILL.get(name, np.nan), value.dtype)
            setattr(self, name, np.concatenate([value, pad]))
        self.contacts.ensure(start + k)
        return start

    def _set_traits(self, rows: slice, times_s: np.ndarray, u: np.ndarray, dwell_s: np.ndarray | None) -> None:
        vp = self.config.visitors
        self.t_arrive[rows] = times_s
        self.u[rows] = u
        self.speed[rows] = np.clip(vp.speed_mean + vp.speed_sd * special.ndtri(u[:, 0]), 0.5, 2.0)
        s2 = np.log(1 + (vp.dwell_sd_min / vp.dwell_mean_min) ** 2)
        self.dwell_s[rows] = (60 * vp.dwell_mean_min * np.exp(np.sqrt(s2) * special.ndtri(u[:, 1]) - s2 / 2)
                              if dwell_s is None else dwell_s)
        self.service_z[rows] = special.gammaincinv(4.0, u[:, 2]) * 0.25  # = stats.gamma.ppf(u, 4, scale=0.25)

    def populate(self, n: int) -> None:
        """Add ``n`` visitors at uniform random places, each walking to a random seat (benchmarks)."""
        rng = self.rng
        start = len(self.state)
        old = {k: getattr(self, k) for k in self._ARRAYS}
        self._alloc(start + n)
        for k, v in old.items():
            getattr(self, k)[:start] = v
        self.contacts.ensure(start + n)
        plan = self.config.plan
        self.pos[start:] = rng.uniform([0, 0], [plan.width, plan.depth], (n, 2))
        self.u[start:] = rng.random((n, 8))
        self.speed[start:] = np.clip(rng.normal(1.2, 0.2, n), 0.5, 2.0)
        self.t_arrive[start:] = self.t_enter[start:] = self.time_s
        ids = np.arange(start, start + n)
        free = np.flatnonzero(self.seat_free)
        seated = ids[: len(free)]
        seats = rng.choice(free, size=len(seated), replace=False)
        self.seat_free[seats] = False
        self.seat_of[seated] = seats
        self.target[seated] = self.seats[seats]
        self.state[seated] = TO_SEAT
        self.state[ids[len(free):]] = QUEUE
        for i in ids:
            Visitor(self, int(i))
        for i in ids[len(free):]:  # more people than seats: they wait standing
            self.people[int(i)].choose_seat()
        self.entered += n

    def __repr__(self) -> str:
        return (f"CrowdModel(plan={self.config.plan!r}, arrivals={self.n_arrivals}, "
                f"t={self.time_s:g}s)")


__all__ = ["CrowdModel", "Visitor", "Staff", "STATE_NAMES", "INSIDE", "BALKED", "NO_SLOT"]
