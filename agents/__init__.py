"""Crowd twins on Mesa 3: floor plans, the canteen/lecture-hall model, sensors, exposure, sweeps, live data.

A plain library: it takes floor plans, parameters, seeds and optionally a Dask client, and returns
arrays and DataFrames; it knows nothing of scenario files.
"""

from syntwin.agents.accounting import OUTCOMES, AccountingError, account, visitor_outcomes
from syntwin.agents.config import (
    SWEEP_PARAMETERS,
    ArrivalProfile,
    CO2Params,
    CrowdConfig,
    ExposureParams,
    Interventions,
    Masks,
    TimeSlots,
    VisitorParams,
)
from syntwin.agents.co2 import CO2Room, CO2Sensor, fit_ventilation
from syntwin.agents.costs import BENEFITS, COSTS, cost_benefit
from syntwin.agents.exposure import WellsRileyRoom, infection_probability, wells_riley_probability
from syntwin.agents.floorplan import (
    Counter,
    Door,
    FloorPlan,
    QueueLane,
    Rect,
    Table,
    Zone,
    table_grid,
    thin_seats,
)
from syntwin.agents.layouts import big_hall_plan, canteen_plan, lecture_hall_plan
from syntwin.agents.model import CrowdModel, Staff, Visitor
from syntwin.agents.results import METRICS, CrowdResult, collect, run_arm
from syntwin.agents.sweep import SweepResult, arm_name, expand_grid, replicate_seed, run_sweep, summarize

__all__ = [
    "CO2Params", "CO2Room", "CO2Sensor", "fit_ventilation",
    "OUTCOMES", "AccountingError", "account", "visitor_outcomes", "BENEFITS", "COSTS", "cost_benefit",
    "ArrivalProfile", "CrowdConfig", "ExposureParams", "Interventions", "Masks", "TimeSlots", "VisitorParams",
    "SWEEP_PARAMETERS", "WellsRileyRoom", "infection_probability", "wells_riley_probability", "Counter",
    "Door", "FloorPlan", "QueueLane", "Rect", "Table", "Zone", "table_grid", "thin_seats", "big_hall_plan",
    "canteen_plan", "lecture_hall_plan", "CrowdModel", "Staff", "Visitor", "METRICS", "CrowdResult",
    "collect", "run_arm", "SweepResult", "arm_name", "expand_grid", "replicate_seed", "run_sweep",
    "summarize",
]
