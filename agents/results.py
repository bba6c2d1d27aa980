"""Results of one crowd run: per-minute sensor series, zone counts, per-visitor records and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from syntwin.agents.accounting import OUTCOMES, account, visitor_outcomes
from syntwin.agents.config import CrowdConfig, Interventions
from syntwin.agents.exposure import infection_probability
from syntwin.agents.model import BALKED, STATE_NAMES, CrowdModel

#: Summary metrics and the direction that is better for public health (+1 higher is better, -1 lower).
METRICS: dict[str, int] = {
    "arrivals": 0, "entered": 0, "left": 0, "inside_end": 0, "waiting_outside_end": 0, "gave_up": -1,
    **{k: 0 for k in OUTCOMES if k not in ("gave_up",)}, "served": 1, "turned_away": -1,
    "turned_away_share": -1, "mean_outside_wait_s": -1, "p95_outside_wait_s": -1, "max_outside_queue": -1,
    "infection_risk_per_visitor": -1, "infections_per_1000_visitors": -1,
    "peak_occupancy": -1, "mean_occupancy": -1, "peak_density_per_m2": -1, "max_queue": -1,
    "mean_wait_s": -1, "p95_wait_s": -1, "mean_close_pairs": -1, "contact_minutes": -1,
    "contact_minutes_per_visitor": -1, "close_contacts": -1, "counterflow_pair_minutes": -1,
    "expected_infections": -1, "expected_infections_staff": -1, "mean_infection_risk": -1,
    "max_infection_risk": -1, "seats_available": 0,
}


@dataclass
class CrowdResult:
    """What one run produced.

    Attributes:
        summary: Figures named in :data:`METRICS`.
        minutes: One row per simulated minute (occupancy, queue, close pairs, quanta, infections).
        zones: One row per minute and zone (count, density per m²).
        visitors: One row per arrival (times, outcome, waits, contact minutes, dose, infection probability).
        heatmap: Person-minutes per cell (x cells, y cells), cells of ``heatmap_cell_m`` metres.
        contact_heatmap: Contact minutes per cell (same grid), empty without the ``contact_heatmap`` sensor.
        heatmap_cell_m: Cell size of both maps (aligned to the plan: no two seats share a cell).
    """

    summary: dict[str, float]
    minutes: pd.DataFrame
    zones: pd.DataFrame
    visitors: pd.DataFrame
    heatmap: np.ndarray
    contact_heatmap: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    heatmap_cell_m: float = 1.0

    def __repr__(self) -> str:
        return f"CrowdResult(minutes={len(self.minutes)}, visitors={len(self.visitors)})"


def collect(model: CrowdModel) -> CrowdResult:
    """Read a (run) model's sensors into a :class:`CrowdResult`."""
    dc = model.datacollector
    minutes = dc.get_model_vars_dataframe().reset_index(drop=True)
    zones = dc.get_table_dataframe("zones")
    cfg = model.config
    books = account(model)  # raises AccountingError if a visitor was lost
    n = model.n_arrivals
    wait = model.t_service - model.t_join
    risk = infection_probability(model.dose)
    visitors = pd.DataFrame({
        "arrive_s": model.t_arrive[:n], "enter_s": model.t_enter[:n], "service_s": model.t_service[:n],
        "seated_s": model.t_seated[:n], "left_s": model.t_left[:n], "wait_s": wait[:n],
        "outside_wait_s": outside_wait_s(model),
        "state": pd.Categorical.from_codes(model.state[:n], STATE_NAMES),
        "outcome": pd.Categorical(visitor_outcomes(model), categories=OUTCOMES),
        "contact_minutes": model.contacts.contact_s[:n] / 60.0, "dose_quanta": model.dose[:n],
        "infection_risk": risk[:n],
    })
    entered = visitors[visitors["enter_s"].notna()]
    waits = visitors["wait_s"].dropna().to_numpy()
    outside = visitors["outside_wait_s"].dropna().to_numpy()
    infections = model.expected_infections_now()
    close = 0
    if cfg.track_pairs:
        _, secs = model.contacts.pair_durations_s()
        close = int((secs >= cfg.close_contact_min * 60.0).sum())
    zone_area = {z.name: z.rect.area for z in cfg.plan.zones}
    summary = {
        "arrivals": float(model.n_arrivals),
        "entered": float(model.entered),
        "left": float(model.left),
        "inside_end": float(model.inside_visitors),
        "waiting_outside_end": float(len(model.outside)),
        "gave_up": float(model.gave_up),
        "peak_occupancy": float(model.peak_occupancy),
        "mean_occupancy": float(minutes["occupancy"].mean()),
        "peak_density_per_m2": float(zones["density_per_m2"].max()) if len(zones) and zone_area else 0.0,
        "max_queue": float(minutes["queue_length"].max()),
        "mean_wait_s": float(waits.mean()) if len(waits) else 0.0,
        "p95_wait_s": float(np.percentile(waits, 95)) if len(waits) else 0.0,
        "mean_close_pairs": float(minutes["close_pairs"].mean()),
        "contact_minutes": float(minutes["close_pairs"].sum()),
        "contact_minutes_per_visitor": float(entered["contact_minutes"].mean()) if len(entered) else 0.0,
        "close_contacts": float(close),
        "counterflow_pair_minutes": float(model.counterflow_pair_s / 60.0),
        "expected_infections": infections,
        "expected_infections_staff": model.expected_infections_now(staff=True),
        "mean_infection_risk": float(entered["infection_risk"].mean()) if len(entered) else 0.0,
        "max_infection_risk": float(entered["infection_risk"].max()) if len(entered) else 0.0,
        "seats_available": float(model.seats_available),
        **{k: float(books[k]) for k in (*OUTCOMES, "served", "turned_away")},
        "turned_away_share": books["turned_away"] / n if n else 0.0,
        "mean_outside_wait_s": float(outside.mean()) if len(outside) else 0.0,
        "p95_outside_wait_s": float(np.percentile(outside, 95)) if len(outside) else 0.0,
        "max_outside_queue": float(model.peak_outside),
        "infection_risk_per_visitor": infections / len(entered) if len(entered) else 0.0,
        "infections_per_1000_visitors": 1000.0 * infections / len(entered) if len(entered) else 0.0,
    }
    occ = model.sensors.get("occupancy_heatmap")
    contact = model.sensors.get("contact_heatmap")
    return CrowdResult(summary, minutes, zones, visitors,
                       occ.map.person_minutes.copy() if occ else np.zeros((0, 0)),
                       contact.map.person_minutes.copy() if contact else np.zeros((0, 0)),
                       (occ or contact).map.cell if (occ or contact) else cfg.heatmap_cell_m)


def outside_wait_s(model: CrowdModel) -> np.ndarray:
    """Seconds each arrival waited outside: until admitted, until going away, or (still outside) the end.

    Counted from the step at which the visitor reached the door (a visitor let straight in waited 0 s);
    ``nan`` for visitors who never came (no slot, or not yet arrived).
    """
    n = model.n_arrivals
    end = np.where(~np.isnan(model.t_enter[:n]), model.t_enter[:n],
                   np.where(model.state[:n] == BALKED, model.t_left[:n], model.time_s))
    return end - model.t_door[:n]


def run_arm(config: CrowdConfig, interventions: Interventions | None = None, *,
            seed: int | np.random.SeedSequence = 0) -> CrowdResult:
    """Build, run and read one model."""
    return collect(CrowdModel(config, interventions, seed=seed).run())


__all__ = ["CrowdResult", "collect", "run_arm", "METRICS"]
