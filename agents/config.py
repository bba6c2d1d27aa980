"""Plain parameter objects of a crowd run: visitors, exposure, interventions and the whole configuration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from syntwin.agents.floorplan import FloorPlan


@dataclass(frozen=True)
class ArrivalProfile:
    """Piecewise-linear arrival rate over the simulated period.

    Attributes:
        times_s: Knot times in seconds since the simulation start (increasing).
        rates_per_min: Arrival rate (visitors per minute) at each knot; linear in between, 0 outside.
    """

    times_s: tuple[float, ...]
    rates_per_min: tuple[float, ...]

    def __post_init__(self) -> None:
        t, r = np.asarray(self.times_s, float), np.asarray(self.rates_per_min, float)
        if len(t) < 2 or len(t) != len(r):
            raise ValueError("an arrival profile needs >= 2 knots with one rate each")
        if np.any(np.diff(t) <= 0):
            raise ValueError("arrival profile times must be strictly increasing")
        if np.any(r < 0) or not np.all(np.isfinite(r)):
            raise ValueError("arrival rates must be finite and >= 0")

    def __repr__(self) -> str:
        return f"ArrivalProfile(knots={len(self.times_s)}, expected={self.expected():.0f})"

    def rate_per_s(self, t_s: np.ndarray) -> np.ndarray:
        """Arrival intensity λ(t) in 1/s."""
        return np.interp(t_s, self.times_s, self.rates_per_min, left=0.0, right=0.0) / 60.0

    def expected(self, start_s: float = 0.0, end_s: float = np.inf) -> float:
        """Expected number of arrivals in ``[start_s, end_s]`` (the integral of λ)."""
        t = np.asarray(self.times_s, float)
        stop = min(end_s, t[-1])
        grid = np.unique(np.clip(np.concatenate([t, [start_s, stop]]), start_s, stop))
        return float(np.trapezoid(self.rate_per_s(grid), grid)) if len(grid) > 1 else 0.0


@dataclass(frozen=True)
class VisitorParams:
    """Visitor behaviour.

    Attributes:
        speed_mean: Mean walking speed (m/s); per visitor normal, clipped to [0.5, 2].
        speed_sd: Standard deviation of walking speed.
        dwell_mean_min: Mean time seated (minutes), lognormal.
        dwell_sd_min: Standard deviation of the time seated (minutes).
        p_food: Share of visitors who queue at a counter (others go straight to a seat).
        max_seat_wait_s: A visitor who finds no free seat for this long leaves (``gave_up``).
        max_outside_wait_s: A visitor kept outside by a capacity limit for this long goes away
            (``balked``, turned away at the door); ``None``: waits until admitted or the run ends.
    """

    speed_mean: float = 1.2
    speed_sd: float = 0.2
    dwell_mean_min: float = 25.0
    dwell_sd_min: float = 8.0
    p_food: float = 1.0
    max_seat_wait_s: float = 300.0
    max_outside_wait_s: float | None = None


@dataclass(frozen=True)
class ExposureParams:
    """Wells–Riley parameters (see :mod:`syntwin.agents.exposure`).

    Attributes:
        ach: Outdoor-air changes per hour.
        loss_per_h: Deposition + inactivation (1/h); default (None): deposition 0.24 /h plus the
            inactivation at ``humidity`` and ``temp_c`` (:func:`syntwin.agents.exposure.default_losses_per_h`).
        humidity: Relative humidity (0–1), for the default inactivation.
        temp_c: Room temperature (°C), for the default inactivation.
        prevalence: Probability that a person present is infectious (expected-value model: the
            emission is ``prevalence · q`` per person, infections are counted among the ``1 - prevalence``).
        quanta_per_h: Quanta emission rate of an infectious person (speaking, e.g. Buonanno et al. 2020).
        breathing_m3_per_h: Breathing rate (sitting/standing light activity ≈ 0.54 m³/h).
    """

    ach: float = 3.0
    loss_per_h: float | None = None
    prevalence: float = 0.01
    quanta_per_h: float = 25.0
    breathing_m3_per_h: float = 0.54
    humidity: float = 0.5
    temp_c: float = 20.0

    def __post_init__(self) -> None:
        if self.loss_per_h is None:
            from syntwin.agents.exposure import default_losses_per_h

            object.__setattr__(self, "loss_per_h", default_losses_per_h(self.humidity, self.temp_c))


@dataclass(frozen=True)
class Masks:
    """Masks: the emitted and inhaled fractions of quanta while worn.

    Attributes:
        emission_factor: Fraction of quanta still emitted (surgical ≈ 0.5).
        inhalation_factor: Fraction of quanta still inhaled (surgical ≈ 0.7).
        when_seated: Worn while seated too (lecture) — in a canteen masks come off to eat.
    """

    emission_factor: float = 0.5
    inhalation_factor: float = 0.7
    when_seated: bool = False


@dataclass(frozen=True)
class TimeSlots:
    """Booked time slots: at most ``max_per_slot`` arrivals per slot; the rest take the next free slot.

    Attributes:
        slot_min: Slot length (minutes).
        max_per_slot: Bookings per slot.
        overflow: What happens to visitors for whom no slot is left before the end of the run:
            ``turn_away`` (they are not admitted and counted as ``no_slot``) or ``error`` (the plan is
            refused with a ``ValueError``).
    """

    slot_min: float = 30.0
    max_per_slot: int = 60
    overflow: str = "turn_away"

    def __post_init__(self) -> None:
        if self.slot_min <= 0 or self.max_per_slot < 1:
            raise ValueError("time slots need slot_min > 0 and max_per_slot >= 1")
        if self.overflow not in ("turn_away", "error"):
            raise ValueError(f"time slots overflow must be 'turn_away' or 'error', got {self.overflow!r}")


@dataclass(frozen=True)
class Interventions:
    """One arm's interventions (all off by default: the baseline).

    Attributes:
        capacity_limit: Maximum people inside; others wait outside, admitted first-come first-served.
        seat_spacing_m: Remove seats so that the remaining ones are at least this far apart.
        time_slots: Spread arrivals over booked slots.
        one_way: Enter only through ``in``/``both`` doors nearest the queue, leave through ``out`` doors
            (or the door farthest from the entrance): no counter-flow at the doors.
        ach: Ventilation override (air changes per hour).
        masks: Masks worn (``None``: no masks).
        arrival_scale: Multiply the arrival profile (a demand scenario, not an intervention).
    """

    capacity_limit: int | None = None
    seat_spacing_m: float | None = None
    time_slots: TimeSlots | None = None
    one_way: bool = False
    ach: float | None = None
    masks: Masks | None = None
    arrival_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.capacity_limit is not None and self.capacity_limit < 1:
            raise ValueError("capacity_limit must be >= 1")
        if self.seat_spacing_m is not None and self.seat_spacing_m <= 0:
            raise ValueError("seat_spacing_m must be > 0")
        if self.ach is not None and self.ach <= 0:
            raise ValueError("ach must be > 0")
        if self.arrival_scale < 0:
            raise ValueError("arrival_scale must be >= 0")

    def with_params(self, **params: Any) -> Interventions:
        """A copy with flat parameters set (``masks_emission_factor`` sets ``masks.emission_factor``).

        ``masks=False`` switches masks off (``masks_*`` parameters beside it are then ignored, so a grid
        over ``masks: [false, true]`` has an unmasked arm); ``masks=True`` wears default :class:`Masks`.
        """
        direct, nested = {}, {}
        masks_on = params.get("masks")
        for key, value in params.items():
            if key == "masks":
                if not isinstance(value, bool):
                    raise ValueError(f"sweep parameter 'masks' must be true or false, got {value!r}")
                direct["masks"] = (self.masks or Masks()) if value else None
            elif key in {f.name for f in dataclasses.fields(self)}:
                direct[key] = value
            elif key.startswith("masks_") or key.startswith("time_slots_"):
                head = "masks" if key.startswith("masks_") else "time_slots"
                nested.setdefault(head, {})[key[len(head) + 1:]] = value
            else:
                raise ValueError(f"unknown sweep parameter {key!r}; valid: {sorted(SWEEP_PARAMETERS)}")
        out = dataclasses.replace(self, **direct)
        if masks_on is False:
            nested.pop("masks", None)
        for head, kw in nested.items():
            base = getattr(out, head) or (Masks() if head == "masks" else TimeSlots())
            out = dataclasses.replace(out, **{head: dataclasses.replace(base, **kw)})
        return out


#: Flat names a sweep may vary.
SWEEP_PARAMETERS = frozenset(
    ["capacity_limit", "seat_spacing_m", "one_way", "ach", "arrival_scale", "masks"]
    + [f"masks_{f.name}" for f in dataclasses.fields(Masks)]
    + [f"time_slots_{f.name}" for f in dataclasses.fields(TimeSlots)]
)


@dataclass(frozen=True)
class CO2Params:
    """The virtual CO2 sensor's room (sensor ``co2``, :class:`syntwin.agents.co2.CO2Sensor`).

    Attributes:
        volume_m3: Well-mixed volume (default: the floor plan's).
        ach: Air changes per hour (default: the run's Wells–Riley ventilation).
        outdoor_ppm: Background CO2.
        per_person_m3_s: CO2 generation per person (:func:`syntwin.agents.co2.co2_generation_m3_s`).
    """

    volume_m3: float | None = None
    ach: float | None = None
    outdoor_ppm: float = 420.0
    per_person_m3_s: float = 5.0e-6


@dataclass(frozen=True)
class CrowdConfig:
    """Everything a crowd run needs besides its interventions and seed.

    Attributes:
        plan: The floor plan.
        arrivals: Arrival profile.
        visitors: Visitor behaviour.
        exposure: Wells–Riley parameters.
        duration_s: Simulated time.
        dt_s: Time step (movement, contacts and exposure are updated every step).
        contact_radius_m: Distance below which two people are a close pair.
        close_contact_min: Cumulative minutes within the radius that make a pair a "close contact".
        heatmap_cell_m: Cell size of the occupancy heat map.
        track_pairs: Keep per-pair contact durations (needed for close contacts; memory ~ pairs).
        routing: Walk around tables, counters and walls on a navigation grid (else straight lines).
        nav_cell_m: Cell size of the navigation grid (m).
        agent_types: Agent types acting each step, by registry name (``AGENT_TYPES``), in this order.
        sensors: Virtual sensors by registry name (``SENSORS``), in this order; ``contacts`` is required.
        co2: Settings of the ``co2`` sensor, if it runs.
    """

    plan: FloorPlan
    arrivals: ArrivalProfile
    visitors: VisitorParams = field(default_factory=VisitorParams)
    exposure: ExposureParams = field(default_factory=ExposureParams)
    duration_s: float = 9000.0
    dt_s: float = 5.0
    contact_radius_m: float = 1.5
    close_contact_min: float = 15.0
    heatmap_cell_m: float = 1.0
    track_pairs: bool = True
    routing: bool = True
    nav_cell_m: float = 0.3
    agent_types: tuple[str, ...] = ("visitor", "staff")
    sensors: tuple[str, ...] = ("contacts", "zones", "occupancy_heatmap", "contact_heatmap")
    co2: CO2Params | None = None

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.dt_s <= 0:
            raise ValueError("duration_s and dt_s must be > 0")
        if self.dt_s > 60 or 60 % self.dt_s > 1e-9:
            raise ValueError(f"dt_s must divide 60 s (sensors report per minute), got {self.dt_s}")
        if self.contact_radius_m <= 0:
            raise ValueError("contact_radius_m must be > 0")

    def __repr__(self) -> str:
        return (f"CrowdConfig(plan={self.plan!r}, arrivals={self.arrivals!r}, "
                f"duration_s={self.duration_s:g}, dt_s={self.dt_s:g})")


__all__ = ["ArrivalProfile", "VisitorParams", "ExposureParams", "Masks", "TimeSlots", "Interventions",
           "CrowdConfig", "CO2Params", "SWEEP_PARAMETERS"]
