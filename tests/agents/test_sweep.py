import numpy as np
import pandas as pd
import pytest

from syntwin.agents import (ArrivalProfile, CrowdConfig, Interventions, Masks, VisitorParams, expand_grid,
                            lecture_hall_plan, run_sweep)
from syntwin.agents.config import SWEEP_PARAMETERS


@pytest.fixture(scope="module")
def lecture():
    plan = lecture_hall_plan(rows=6, seats_per_row=12)
    visitors = VisitorParams(dwell_mean_min=30, dwell_sd_min=3, p_food=0)
    return CrowdConfig(plan, ArrivalProfile((0, 600, 1200), (2, 8, 0)), visitors=visitors, duration_s=2700,
                       dt_s=5)


def arms():
    base = Interventions()
    return {f"ach={a},mask={e}": base.with_params(ach=a, masks_emission_factor=e, masks_when_seated=True)
            for a, e in [(p["ach"], p["e"]) for p in expand_grid({"ach": [1.5, 6.0], "e": [1.0, 0.5]})]}


def test_expand_grid_order():
    assert expand_grid({"a": [1, 2], "b": [3, 4]}) == [{"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 2, "b": 3},
                                                      {"a": 2, "b": 4}]
    with pytest.raises(ValueError, match="'a' has no values"):
        expand_grid({"a": []})


def test_with_params_sets_nested_fields_and_rejects_unknown():
    iv = Interventions().with_params(masks_emission_factor=0.3, ach=4.0)
    assert iv.masks == Masks(emission_factor=0.3) and iv.ach == 4.0
    with pytest.raises(ValueError, match="unknown sweep parameter 'acx'"):
        Interventions().with_params(acx=1)
    assert "masks_when_seated" in SWEEP_PARAMETERS


def test_same_seed_same_results_on_one_and_two_workers(lecture, dask_client):
    workers = sorted(dask_client.nthreads())
    one = run_sweep(lecture, arms(), replicates=3, seed=9, client=dask_client, workers=workers[:1])
    two = run_sweep(lecture, arms(), replicates=3, seed=9, client=dask_client)
    local = run_sweep(lecture, arms(), replicates=3, seed=9)
    for a, b in [(one, two), (one, local)]:
        pd.testing.assert_frame_equal(a.runs, b.runs)
        pd.testing.assert_frame_equal(a.summary, b.summary)
        pd.testing.assert_frame_equal(a.minutes, b.minutes)
    other = run_sweep(lecture, arms(), replicates=3, seed=10)
    assert not other.runs["value"].equals(one.runs["value"])


def test_common_random_numbers_and_directions(lecture):
    res = run_sweep(lecture, arms(), replicates=3, seed=4, keep_series=False)
    wide = res.runs.pivot_table(index=["arm", "replicate"], columns="metric", values="value")
    entered = wide["entered"].unstack("arm")
    assert (entered.nunique(axis=1) == 1).all()  # replicate r: the same crowd in every arm
    inf = wide["expected_infections"].unstack("arm")
    assert (inf["ach=6.0,mask=1.0"] < inf["ach=1.5,mask=1.0"]).all()
    assert (inf["ach=1.5,mask=0.5"] < inf["ach=1.5,mask=1.0"]).all()
    # both arms wear masks (inhalation 0.7); halving the emission halves every dose, and with
    # small doses 1 - exp(-D) ~ D, so expected infections halve too
    ratio = inf["ach=1.5,mask=0.5"] / inf["ach=1.5,mask=1.0"]
    assert np.allclose(ratio, 0.5, rtol=1e-3)
    assert res.minutes.empty and set(res.heatmaps) == set(arms())
