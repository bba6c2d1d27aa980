"""Crowd scenarios: a Mesa crowd twin of a canteen or lecture hall, interventions, sweeps and live data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from syntwin.agents.config import (
    SWEEP_PARAMETERS,
    ArrivalProfile,
    CrowdConfig,
    ExposureParams,
    Interventions,
    Masks,
    TimeSlots,
    VisitorParams,
)
from syntwin.agents.floorplan import (
    Counter,
    Door,
    FloorPlan,
    QueueLane,
    Rect,
    Table,
    Zone,
    check_doors,
    check_furniture,
    check_zones,
    table_grid,
)
from syntwin.scenario.base import ScenarioHeader, Section

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock_seconds(text: str) -> int:
    """``"11:30"`` -> seconds after midnight."""
    m = _CLOCK.match(str(text).strip())
    if not m:
        raise ValueError(f"clock time must look like HH:MM, got {text!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def _rect(v: list[float]) -> Rect:
    return Rect(*map(float, v))


def _grid_tables(grids: list[TableGridSection]) -> list[Table]:
    out: list[Table] = []
    for g in grids:
        out += table_grid(g.origin, g.rows, g.cols, pitch=g.pitch, size=g.size, seats_per_side=g.seats_per_side,
                          seat_offset=g.seat_offset, sides=g.sides, prefix=g.prefix)
    return out


class ZoneSection(Section):
    """A sensor zone."""

    name: str = Field(min_length=1)
    """Zone name (counts and density are reported per zone)."""
    rect: tuple[float, float, float, float]
    """``[x0, y0, x1, y1]`` in metres."""


class TableSection(Section):
    """One table with explicit seats."""

    name: str = Field(min_length=1)
    """Table name."""
    rect: tuple[float, float, float, float]
    """Table footprint ``[x0, y0, x1, y1]``."""
    seats: list[tuple[float, float]] = Field(min_length=1)
    """Seat positions ``[x, y]``."""


class TableGridSection(Section):
    """A grid of identical 2-sided tables."""

    origin: tuple[float, float]
    """South-west corner of the first table."""
    rows: int = Field(ge=1, le=2000)
    """Tables along y."""
    cols: int = Field(ge=1, le=2000)
    """Tables along x."""
    pitch: tuple[float, float] = (3.0, 2.4)
    """Distance between table corners along x and y (m)."""
    size: tuple[float, float] = (1.8, 0.8)
    """Table width and depth (m)."""
    seats_per_side: int = Field(2, ge=1, le=200)
    """Seats on each long side."""
    seat_offset: float = Field(0.35, gt=0, le=2)
    """Distance of a seat from the table edge (m)."""
    sides: Literal["both", "south", "north"] = "both"
    """Long sides with seats (lecture desks: ``north``, seats behind the desk)."""
    prefix: str = "T"
    """Table names are ``{prefix}{row}-{col}``."""


class CounterSection(Section):
    """A serving counter."""

    name: str = Field(min_length=1)
    """Counter name (a queue lane refers to it)."""
    rect: tuple[float, float, float, float]
    """Counter footprint."""
    service_mean_s: float = Field(20.0, gt=0, le=3600)
    """Mean service time per visitor (s)."""
    staff: int = Field(0, ge=0, le=20)
    """Staff behind the counter (exposed and emitting)."""


class LaneSection(Section):
    """A queue lane from its tail to its head at the counter."""

    counter: str
    """Counter served at the head."""
    points: list[tuple[float, float]] = Field(min_length=2)
    """Polyline, tail first, head last."""
    spacing_m: float = Field(0.8, gt=0, le=5)
    """Distance between people queuing."""


class DoorSection(Section):
    """A door in the wall."""

    name: str = Field(min_length=1)
    """Door name."""
    at: tuple[float, float]
    """Door centre ``[x, y]``, on the wall."""
    width: float = Field(1.8, gt=0, le=20)
    """Opening width (m)."""
    use: Literal["both", "in", "out"] = "both"
    """Which way people may pass."""


class FloorPlanSection(Section):
    """The room: a rectangle ``[0, width] x [0, depth]`` with zones, tables, counters, lanes and doors."""

    width: float
    """East-west extent (m)."""
    depth: float
    """North-south extent (m)."""
    height: float = 3.0
    """Ceiling height (m); volume = width x depth x height."""
    zones: list[ZoneSection] = Field(default_factory=list)
    """Sensor zones."""
    tables: list[TableSection] = Field(default_factory=list)
    """Tables with explicit seats."""
    table_grids: list[TableGridSection] = Field(default_factory=list)
    """Grids of tables (added to ``tables``)."""
    counters: list[CounterSection] = Field(default_factory=list)
    """Serving counters (each with one queue lane)."""
    queue_lanes: list[LaneSection] = Field(default_factory=list)
    """Queue lanes."""
    doors: list[DoorSection] = Field(min_length=1)
    """Doors (at least one)."""

    @field_validator("width", "depth", "height")
    @classmethod
    def _positive(cls, v: float, info: ValidationInfo) -> float:
        if not v > 0:
            raise ValueError(f"room {info.field_name} must be > 0 m, got {v}: the room has zero area or volume")
        return v

    @field_validator("zones")
    @classmethod
    def _zones_in_room(cls, zones: list[ZoneSection], info: ValidationInfo) -> list[ZoneSection]:
        if "width" in info.data and "depth" in info.data:
            check_zones([Zone(z.name, _rect(z.rect)) for z in zones], info.data["width"], info.data["depth"])
        return zones

    @field_validator("tables", "table_grids")
    @classmethod
    def _tables_fit(cls, v: list, info: ValidationInfo) -> list:
        if "width" in info.data and "depth" in info.data:
            explicit = info.data.get("tables", []) if info.field_name == "table_grids" else v
            tables = [Table(t.name, _rect(t.rect), tuple(tuple(p) for p in t.seats)) for t in explicit]
            if info.field_name == "table_grids":
                tables += _grid_tables(v)
            check_furniture(tables, (), info.data["width"], info.data["depth"])
        return v

    @field_validator("doors")
    @classmethod
    def _doors_on_walls(cls, doors: list[DoorSection], info: ValidationInfo) -> list[DoorSection]:
        if "width" in info.data and "depth" in info.data:
            check_doors([Door(d.name, d.at[0], d.at[1], d.width, d.use) for d in doors],
                        info.data["width"], info.data["depth"])
        return doors

    @model_validator(mode="after")
    def _valid_plan(self) -> FloorPlanSection:
        self.to_plan()  # the library's ValueError names the element at fault
        return self

    def to_plan(self) -> FloorPlan:
        """The library floor plan (validated)."""
        tables = [Table(t.name, _rect(t.rect), tuple(tuple(s) for s in t.seats)) for t in self.tables]
        tables += _grid_tables(self.table_grids)
        return FloorPlan(
            self.width, self.depth, self.height,
            zones=tuple(Zone(z.name, _rect(z.rect)) for z in self.zones),
            tables=tuple(tables),
            counters=tuple(Counter(c.name, _rect(c.rect), c.service_mean_s, c.staff) for c in self.counters),
            lanes=tuple(QueueLane(ln.counter, tuple(tuple(p) for p in ln.points), ln.spacing_m)
                        for ln in self.queue_lanes),
            doors=tuple(Door(d.name, d.at[0], d.at[1], d.width, d.use) for d in self.doors),
        )


class FloorPlanFileSection(Section):
    """The room from a GeoJSON file (outline, walls, tables with seats, counters, lanes, doors, zones)."""

    file: str
    """GeoJSON FeatureCollection (see :mod:`syntwin.agents.geojson`), relative to the scenario file."""
    height: float | None = Field(None, gt=0, le=50)
    """Ceiling height (m), overriding the room feature's ``height``."""

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any, info: ValidationInfo) -> Any:
        source = (info.context or {}).get("source") if info.context else None
        if isinstance(data, dict) and isinstance(data.get("file"), str) and source:
            path = Path(data["file"])
            if not path.is_absolute():
                data = {**data, "file": str(Path(source).parent / path)}
        return data

    @model_validator(mode="after")
    def _valid_plan(self) -> FloorPlanFileSection:
        if not Path(self.file).is_file():
            raise ValueError(f"floor plan file not found: {self.file} (give a GeoJSON file relative to the "
                             "scenario file)")
        self.to_plan()
        return self

    def to_plan(self) -> FloorPlan:
        """The library floor plan read from the file (validated)."""
        from syntwin.agents.geojson import read_floor_plan

        return read_floor_plan(self.file, height=self.height)


def _plan_form(v: Any) -> str:
    return "File" if isinstance(v, dict) and "file" in v or isinstance(v, FloorPlanFileSection) else "Inline"


class SimulationSection(Section):
    """Time: the simulated window and the step."""

    start: str = "11:30"
    """Clock time of the simulation start (HH:MM)."""
    duration_min: float = Field(150.0, gt=0, le=24 * 60)
    """Simulated minutes."""
    step_s: float = Field(2.0, gt=0, le=60)
    """Step length (s); must divide 60."""
    replicates: int = Field(3, ge=1, le=1000)
    """Runs per arm (different seeds, the same in every arm) when there is no ``sweep``."""
    contact_radius_m: float = Field(1.5, gt=0, le=10)
    """Distance below which two people count as a close pair."""
    close_contact_min: float = Field(15.0, gt=0)
    """Cumulative minutes within the radius that make a close contact."""

    @field_validator("start")
    @classmethod
    def _clock(cls, v: str) -> str:
        clock_seconds(v)
        return v

    @field_validator("step_s")
    @classmethod
    def _divides_minute(cls, v: float) -> float:
        if abs(60 / v - round(60 / v)) > 1e-9:
            raise ValueError(f"step_s must divide 60 s (1, 2, 5, 10, 15, 30, 60 ...), got {v}")
        return v


class ArrivalsSection(Section):
    """Arrivals: a non-homogeneous Poisson process with a piecewise-linear time-of-day profile."""

    profile: list[tuple[str, float]] = Field(min_length=2)
    """``[[HH:MM, visitors per minute], ...]``, linear between knots, zero outside."""

    @field_validator("profile")
    @classmethod
    def _knots(cls, v: list[tuple[str, float]]) -> list[tuple[str, float]]:
        times = [clock_seconds(t) for t, _ in v]
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("arrival profile clock times must be strictly increasing")
        if any(r < 0 for _, r in v):
            raise ValueError("arrival rates must be >= 0")
        return v


class VisitorsSection(Section):
    """Visitor behaviour."""

    speed_mean: float = Field(1.2, gt=0, le=3)
    """Mean walking speed (m/s)."""
    speed_sd: float = Field(0.2, ge=0, le=1)
    """Walking speed standard deviation."""
    dwell_mean_min: float = Field(25.0, gt=0)
    """Mean minutes seated (lognormal)."""
    dwell_sd_min: float = Field(8.0, gt=0)
    """Standard deviation of minutes seated."""
    p_food: float = Field(1.0, ge=0, le=1)
    """Share of visitors who queue at a counter."""
    max_seat_wait_s: float = Field(300.0, ge=0)
    """Visitors finding no seat for this long leave (counted as ``gave_up``)."""
    max_outside_wait_min: float | None = Field(None, gt=0)
    """Visitors kept outside by a capacity limit for this many minutes go away (counted as ``balked``,
    turned away at the door); unset: they wait until admitted or the run ends."""


class ExposureSection(Section):
    """Wells–Riley aerosol exposure (well-mixed room)."""

    ach: float = Field(3.0, gt=0, le=100)
    """Outdoor-air changes per hour."""
    loss_per_h: float | None = Field(None, ge=0, le=100)
    """Deposition + inactivation (1/h); default: 0.24 /h deposition (Buonanno et al. 2020) plus SARS-CoV-2
    inactivation at ``humidity`` and ``temp_c`` (Dabisch et al. 2021, as in CAiMIRA); 0 turns losses off."""
    humidity: float = Field(0.5, ge=0, le=1)
    """Relative humidity (0–1), for the default inactivation."""
    temp_c: float = Field(20.0, ge=-10, le=45)
    """Room temperature (°C), for the default inactivation."""
    prevalence: float = Field(0.01, ge=0, lt=1)
    """Probability that a person present is infectious."""
    quanta_per_h: float = Field(25.0, ge=0, le=10000)
    """Quanta emitted per hour by an infectious person."""
    breathing_m3_per_h: float = Field(0.54, gt=0, le=5)
    """Breathing rate (m³/h)."""


class MasksSection(Section):
    """Masks."""

    emission_factor: float = Field(0.5, ge=0, le=1)
    """Fraction of quanta still emitted."""
    inhalation_factor: float = Field(0.7, ge=0, le=1)
    """Fraction of quanta still inhaled."""
    when_seated: bool = False
    """Worn while seated (lecture) or not (eating)."""


class TimeSlotsSection(Section):
    """Booked time slots."""

    slot_min: float = Field(30.0, gt=0)
    """Slot length (minutes)."""
    max_per_slot: int = Field(60, ge=1)
    """Bookings per slot."""
    overflow: Literal["turn_away", "error"] = "turn_away"
    """Visitors for whom no slot is left before the end of the run: ``turn_away`` counts them as not
    admitted (``no_slot``, a cost of the arm); ``error`` refuses the plan."""


class ArmSection(Section):
    """One arm: a named set of interventions (none = the baseline)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.=,\-]+$")
    """Arm name."""
    capacity_limit: int | None = Field(None, ge=1)
    """Maximum people inside."""
    seat_spacing_m: float | None = Field(None, gt=0, le=10)
    """Remove seats so that remaining seats are at least this far apart."""
    time_slots: TimeSlotsSection | None = None
    """Booked time slots."""
    one_way: bool = False
    """Separate entrance and exit doors."""
    ach: float | None = Field(None, gt=0, le=100)
    """Ventilation override (air changes per hour)."""
    masks: MasksSection | None = None
    """Masks worn."""
    arrival_scale: float = Field(1.0, ge=0, le=100)
    """Demand multiplier (not an intervention)."""

    @property
    def is_baseline(self) -> bool:
        """True if no intervention is set."""
        return self.to_interventions() == Interventions(arrival_scale=self.arrival_scale)

    def to_interventions(self) -> Interventions:
        """The library's interventions."""
        return Interventions(
            capacity_limit=self.capacity_limit, seat_spacing_m=self.seat_spacing_m,
            time_slots=TimeSlots(**self.time_slots.model_dump()) if self.time_slots else None,
            one_way=self.one_way, ach=self.ach,
            masks=Masks(**self.masks.model_dump()) if self.masks else None, arrival_scale=self.arrival_scale,
        )


class SweepSection(Section):
    """A sweep: parameter sets (a grid or a list) applied to every arm, with replicates."""

    grid: dict[str, list[float | int | bool]] | None = None
    """Parameter -> values; all combinations are run."""
    sets: list[dict[str, float | int | bool]] | None = None
    """An explicit list of parameter sets."""
    replicates: int = Field(5, ge=1, le=1000)
    """Runs per parameter set (replicate r has the same seed in every set: common random numbers)."""

    @model_validator(mode="after")
    def _one_form(self) -> SweepSection:
        if (self.grid is None) == (self.sets is None):
            raise ValueError("give exactly one of 'grid' or 'sets'")
        keys = set(self.grid or {}) | {k for s in self.sets or [] for k in s}
        bad = sorted(keys - SWEEP_PARAMETERS)
        if bad:
            raise ValueError(f"unknown sweep parameter(s) {bad}; valid: {sorted(SWEEP_PARAMETERS)}")
        if self.grid is not None and any(not v for v in self.grid.values()):
            raise ValueError("every sweep grid parameter needs at least one value")
        masks = [*(self.grid or {}).get("masks", []), *(s["masks"] for s in self.sets or [] if "masks" in s)]
        if any(not isinstance(v, bool) for v in masks):
            raise ValueError(f"sweep parameter 'masks' takes true or false (masks on or off), got {masks}")
        return self


class LiveCO2Section(Section):
    """The twin's virtual CO2 sensor (well-mixed mass balance, :class:`syntwin.agents.co2.CO2Room`)."""

    outdoor_ppm: float = Field(420.0, gt=0, le=5000)
    """Outdoor (background) CO2."""
    ach: float | Literal["fit"] = "fit"
    """Air changes per hour, or ``fit``: from the CO2 decays of the stream's history (fixed background);
    the fitted value also sets the twin's Wells–Riley ventilation."""
    volume_m3: float | Literal["fit", "plan"] = "fit"
    """Well-mixed volume: a number, ``plan`` (the floor plan's), or ``fit`` (the effective volume of the
    stream's CO2 mass balance)."""
    activity: str = "seated_office"
    """Occupants' activity (met level of :data:`syntwin.agents.co2.ACTIVITY_MET`) for CO2 generation."""

    @field_validator("activity")
    @classmethod
    def _known_activity(cls, v: str) -> str:
        from syntwin.agents.co2 import ACTIVITY_MET

        if v not in ACTIVITY_MET:
            raise ValueError(f"unknown activity {v!r}; valid: {sorted(ACTIVITY_MET)}")
        return v


class LiveSection(Section):
    """Live data: the crowd model follows a real occupancy stream and forecasts occupancy and exposure."""

    stream: str
    """CSV or JSON-lines file (``timestamp, zone, count[, co2]``; the UCI room-occupancy CSV is read as
    well), relative to the scenario file."""
    zones: list[str] | None = None
    """Stream zones to follow (default: all); each must be a zone of the floor plan."""
    horizons_min: list[int] = Field(default_factory=lambda: [15, 60], min_length=1)
    """Forecast horizons (minutes)."""
    holdout_days: int = Field(2, ge=1, le=365)
    """The last days of the stream are held out one at a time (calibrated on every other day) to score
    the forecasts against persistence, climatology and their blend."""
    every_min: int = Field(10, ge=1, le=1440)
    """Forecast every this many observed minutes of a held-out day."""
    replicas: int = Field(32, ge=2, le=2000)
    """Crowd-model replicas (particles)."""
    obs_sd: float = Field(0.5, gt=0, le=100)
    """Count sensor error (people)."""
    spread: float = Field(1.0, ge=0, le=5)
    """Stationary sd of the log arrival-rate multiplier."""
    memory_min: float = Field(60.0, gt=0)
    """Correlation time of the multiplier (minutes)."""
    max_gap_min: float = Field(30.0, gt=0)
    """Longer gaps without readings are not simulated through."""
    spin_up_min: int = Field(180, ge=0, le=10080)
    """Readings assimilated before a held-out day (or before the forecast now) starts."""
    co2: LiveCO2Section | None = None
    """Virtual CO2 sensor; a stream with a ``co2`` column sets it at every reading."""

    @field_validator("horizons_min")
    @classmethod
    def _horizons(cls, v: list[int]) -> list[int]:
        if any(h < 1 or h > 24 * 60 for h in v):
            raise ValueError("forecast horizons must be between 1 and 1440 minutes")
        return sorted(set(v))


class ExportSection(Section):
    """What the run writes besides the summary tables."""

    plots: bool = True
    """Write PNG plots (occupancy heat maps, metric time series)."""
    series: bool = True
    """Write per-minute sensor series of every run (Parquet)."""


class CrowdScenario(ScenarioHeader):
    """A crowd twin: floor plan, arrivals, behaviour, exposure, arms, optional sweep and live data."""

    kind: Literal["crowd"]
    """Scenario kind."""
    floor_plan: Annotated[Annotated[FloorPlanSection, Tag("Inline")]
                          | Annotated[FloorPlanFileSection, Tag("File")], Discriminator(_plan_form)]
    """The room and its furniture, inline or from a GeoJSON file (``{file: plans/canteen.geojson}``)."""
    arrivals: ArrivalsSection
    """Arrival profile."""
    simulation: SimulationSection = SimulationSection()
    """Simulated window, step and replicates."""
    visitors: VisitorsSection = VisitorsSection()
    """Visitor behaviour."""
    exposure: ExposureSection = ExposureSection()
    """Aerosol exposure."""
    interventions: list[ArmSection] = Field(default_factory=lambda: [ArmSection(name="baseline")],
                                            min_length=1)
    """Arms; one must set no intervention (the baseline, the reference for paired differences)."""
    sweep: SweepSection | None = None
    """Optional sweep over parameter sets (applied on top of every arm)."""
    live: LiveSection | None = None
    """Optional live-data assimilation and forecast."""
    export: ExportSection = ExportSection()
    """Outputs."""

    @field_validator("interventions")
    @classmethod
    def _arm_names(cls, arms: list[ArmSection]) -> list[ArmSection]:
        names = [a.name for a in arms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate arm name(s) {dup}")
        if not any(a.is_baseline for a in arms):
            raise ValueError("interventions need a baseline arm without interventions "
                             "(e.g. '- name: baseline')")
        return arms

    @model_validator(mode="after")
    def _arms(self) -> CrowdScenario:
        plan = self.floor_plan.to_plan()
        config = self.to_config()
        for a in self.interventions:
            if a.one_way and len(plan.doors) < 2:
                raise ValueError(f"arm {a.name!r}: one_way needs at least two doors")
            ts = a.time_slots
            if ts is not None and ts.overflow == "error":
                slots = int(-(-config.duration_s // (ts.slot_min * 60)))
                expected = config.arrivals.expected(0.0, config.duration_s) * a.arrival_scale
                if expected > slots * ts.max_per_slot:
                    raise ValueError(
                        f"arm {a.name!r}: time slots overflow the run: {slots} slots x {ts.max_per_slot} = "
                        f"{slots * ts.max_per_slot} bookings for ~{expected:.0f} expected visitors; raise "
                        "max_per_slot or slot_min, or set overflow: turn_away to count those turned away")
        return self

    def to_config(self) -> CrowdConfig:
        """The library configuration (times relative to ``simulation.start``)."""
        start = clock_seconds(self.simulation.start)
        prof = ArrivalProfile(tuple(float(clock_seconds(t) - start) for t, _ in self.arrivals.profile),
                              tuple(float(r) for _, r in self.arrivals.profile))
        return CrowdConfig(
            plan=self.floor_plan.to_plan(), arrivals=prof,
            visitors=self._visitor_params(),
            exposure=ExposureParams(**self.exposure.model_dump()),
            duration_s=self.simulation.duration_min * 60.0, dt_s=self.simulation.step_s,
            contact_radius_m=self.simulation.contact_radius_m,
            close_contact_min=self.simulation.close_contact_min,
        )

    def _visitor_params(self) -> VisitorParams:
        v = self.visitors.model_dump()
        wait = v.pop("max_outside_wait_min")
        return VisitorParams(**v, max_outside_wait_s=None if wait is None else 60.0 * wait)

    def arms(self) -> dict[str, Interventions]:
        """Arm name -> interventions, the baseline first; with a sweep, every arm x every parameter set."""
        ordered = sorted(self.interventions, key=lambda a: not a.is_baseline)
        base = {a.name: a.to_interventions() for a in ordered}
        if self.sweep is None:
            return base
        from syntwin.agents.sweep import arm_name, expand_grid

        sets = expand_grid(self.sweep.grid) if self.sweep.grid is not None else list(self.sweep.sets or [])
        out: dict[str, Interventions] = {}
        for name, iv in base.items():
            for params in sets:
                label = arm_name(params) if len(base) == 1 else f"{name}|{arm_name(params)}"
                out[label] = iv.with_params(**params)
        return out

    @property
    def replicates(self) -> int:
        """Runs per arm."""
        return self.sweep.replicates if self.sweep is not None else self.simulation.replicates


__all__ = ["CrowdScenario", "clock_seconds"]
