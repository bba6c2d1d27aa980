"""Each intervention moves its metric the expected way (paired replicates, common random numbers)."""

import numpy as np
import pytest

from syntwin.agents import Interventions, Masks, TimeSlots, run_sweep

ARMS = {
    "baseline": Interventions(),
    "capacity": Interventions(capacity_limit=120),
    "spacing": Interventions(seat_spacing_m=1.6),
    "slots": Interventions(time_slots=TimeSlots(slot_min=30, max_per_slot=150)),
    "one_way": Interventions(one_way=True),
    "ventilation": Interventions(ach=6.0),
    "masks": Interventions(masks=Masks(emission_factor=0.5, inhalation_factor=0.7)),
}


@pytest.fixture(scope="module")
def sweep(canteen_config, dask_client):
    return run_sweep(canteen_config, ARMS, replicates=3, seed=21, keep_series=False, client=dask_client)


def diff(sweep, arm, metric):
    wide = sweep.runs.pivot_table(index=["arm", "replicate"], columns="metric", values="value")
    return wide.loc[arm, metric].to_numpy() - wide.loc["baseline", metric].to_numpy()


@pytest.mark.parametrize("arm, metric", [
    ("capacity", "peak_occupancy"), ("capacity", "contact_minutes"),
    ("spacing", "close_contacts"),
    ("slots", "peak_occupancy"),
    ("one_way", "counterflow_pair_minutes"),
    ("ventilation", "expected_infections"),
    ("masks", "expected_infections"),
])
def test_intervention_lowers_its_metric_in_every_replicate(sweep, arm, metric):
    d = diff(sweep, arm, metric)
    assert (d < 0).all(), (arm, metric, d)


def test_ventilation_and_masks_leave_movement_unchanged(sweep):
    # common random numbers: these arms change only the air, so the crowd is identical
    for arm in ("ventilation", "masks"):
        for metric in ("entered", "contact_minutes", "max_queue"):
            assert (diff(sweep, arm, metric) == 0).all()


def test_capacity_limit_is_respected(sweep):
    wide = sweep.runs.pivot_table(index=["arm", "replicate"], columns="metric", values="value")
    assert (wide.loc["capacity", "peak_occupancy"] <= 120).all()
    assert (wide.loc["spacing", "seats_available"] < wide.loc["baseline", "seats_available"]).all()


def test_summary_intervals(sweep):
    s = sweep.summary
    assert set(s["arm"]) == set(ARMS)
    assert (s["ci_low"] <= s["mean"] + 1e-12).all() and (s["mean"] <= s["ci_high"] + 1e-12).all()
    base = s[s["arm"] == "baseline"]
    assert np.allclose(base["diff_mean"], 0)
    vent = s[(s["arm"] == "ventilation") & (s["metric"] == "expected_infections")].iloc[0]
    assert vent["diff_high"] < 0  # the paired interval excludes zero
