"""Fidelity from per-partition statistics: the same figures as pandas on whole frames, the same bytes on 1 and 2
workers, and nothing but the dataset folders in.

The oracle is the pre-change pandas implementation (tests/spine/fidelity_reference.py) on the training rows and
the twins as frames; the new path reads the cohort and twin datasets on the workers.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syntwin.cohort.readers import read_cohort
from syntwin.cohort.simulate import simulate_cohort
from syntwin.errors import StageError
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.dataset import read_dataset, write_dataset
from syntwin.pipeline.fidelity import fidelity_stage
from syntwin.sample_data import shared_data
from syntwin.scenario.cohort import CohortScenario
from syntwin.synthesis import synthesize
from syntwin.synthesis.fidelity import quality_score
from syntwin.synthesis.survival import (kaplan_meier_table, km_sup_counts, km_sup_interval_counts,
                                        survival_counts)

sys.path.insert(0, str(Path(__file__).parent))
import fidelity_reference as ref  # noqa: E402

SEER = shared_data("seer_breast_cancer.csv")
FILES = ("cohort/km.parquet", "cohort/distributions.parquet", "cohort/communities.parquet")


def _scenario(horizon: float | None = 60.0) -> CohortScenario:
    return CohortScenario.model_validate({
        "kind": "cohort", "name": "fidelity-parts", "seed": 5,
        "cohort": {"simulate": {"n": 1000}},
        "prediction": {"horizon_months": horizon}, "synthesis": {"max_constraint_violations": 1.0},
    })


def _case(cohort, folder: Path, client, *, twin_rows: int, seed: int) -> dict:
    """Cohort dataset on disk, a holdout mask, communities of the training rows, and twins as a dataset with
    some missing values and broken rules (drawn without constraints)."""
    schema = cohort.schema
    write_dataset(cohort.data, folder / "cohort", client=client)
    df = read_dataset(folder / "cohort").compute().reset_index(drop=True)  # only for the pandas oracle
    rng = np.random.default_rng(seed)
    hold = rng.random(len(df)) < 0.25
    train = df[~hold].reset_index(drop=True)
    membership = rng.integers(0, 25, len(train)) + np.where(rng.random(len(train)) < 0.02, 100, 0)
    twins = synthesize(train[list(schema.modelled)], "independent", len(train), seed=seed,
                       numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                       categorical=list(schema.categorical), time=schema.time, event=schema.event)
    twins = twins[list(schema.modelled)].reset_index(drop=True)
    twins.loc[twins.index[::37], schema.numeric[0]] = np.nan
    twins.loc[twins.index[5::41], next(iter(schema.ordinal))] = None
    import dask.dataframe as dd

    write_dataset(dd.from_pandas(twins, chunksize=max(1, twin_rows), sort=False), folder / "twins", client=client)
    twins = read_dataset(folder / "twins").compute().reset_index(drop=True)
    return {"schema": schema, "train": train, "twins": twins, "hold": hold, "membership": membership,
            "data": folder / "cohort", "twin_data": folder / "twins"}


def _new(case, work: Path, client, scenario) -> tuple[dict, RunContext]:
    ctx = RunContext(work=work, seed=11, client=client)
    work.mkdir(parents=True)
    m: dict = {}
    fidelity_stage(scenario, ctx, case["data"], case["hold"], case["membership"], case["twin_data"],
                   case["schema"], m)
    return m, ctx


def _old(case, work: Path, scenario) -> dict:
    ctx = RunContext(work=work, seed=11, client=None)
    work.mkdir(parents=True)
    m: dict = {}
    ref.reference_fidelity_stage(scenario, ctx, case["train"], case["twins"], case["schema"], m, case["membership"])
    return m


def _assert_same_figures(case, tmp: Path, client, scenario) -> dict:
    new, _ = _new(case, tmp / "new", client, scenario)
    old = _old(case, tmp / "old", scenario)
    km_new = {k: {x: v[x] for x in ("sup", "n_real", "n_twins", "judged")} for k, v in new.pop("km").items()}
    km_old = {k: {x: (round(v[x], 4) if x == "sup" else v[x]) for x in ("sup", "n_real", "n_twins", "judged")}
              for k, v in old.pop("km").items()}
    assert km_new == km_old and len(km_new) >= 2
    assert new == old  # quality, columns, worst pairs, km sup, constraints, warnings: identical
    for f in FILES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp / "new" / f), pd.read_parquet(tmp / "old" / f),
                                      check_exact=True)
    return new


@pytest.mark.skipif(not SEER.exists(), reason="shared SEER CSV absent")
def test_real_seer_subset_same_figures_as_pandas(tmp_path, dask_client):
    cohort = read_cohort(SEER, "seer_breast_csv", rows_per_partition=700)
    case = _case(cohort, tmp_path, dask_client, twin_rows=900, seed=3)
    m = _assert_same_figures(case, tmp_path, dask_client, _scenario())
    # unrounded: shapes (KS with scipy's exact-mode lattice, TVD) to the bit, pairs to rounding (Pearson moments)
    schema = case["schema"]
    kw = dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
              categorical=list(schema.categorical), time=schema.time, event=schema.event)
    real = case["train"][list(schema.modelled)]
    new_q, old_q = quality_score(real, case["twins"], **kw), ref.quality_score(real, case["twins"], **kw)
    assert new_q["shapes"] == old_q["shapes"] and new_q["pairs"].keys() == old_q["pairs"].keys()
    assert all(abs(new_q["pairs"][k] - v) < 1e-12 for k, v in old_q["pairs"].items())
    assert 0.5 < m["quality"] < 1 and any(v["twins"] > 0 for v in m["constraints"].values())
    communities = pd.read_parquet(tmp_path / "new" / "cohort/communities.parquet")
    assert communities["suppressed"].any() and not communities["suppressed"].all()  # both kinds of rows
    # crude rates (no horizon) and the Wilson interval, too
    _assert_same_figures(case, tmp_path / "crude", dask_client, _scenario(None))


def test_simulated_cohort_same_figures_as_pandas(tmp_path, dask_client):
    cohort = simulate_cohort(12_000, seed=4, rows_per_partition=2_500)
    case = _case(cohort, tmp_path, dask_client, twin_rows=4_000, seed=4)
    _assert_same_figures(case, tmp_path, dask_client, _scenario())


def test_same_bytes_on_one_and_two_workers(tmp_path, dask_client):
    from distributed import Client, LocalCluster

    cohort = simulate_cohort(6_000, seed=8, rows_per_partition=1_000)
    case = _case(cohort, tmp_path, dask_client, twin_rows=1_500, seed=8)
    two, _ = _new(case, tmp_path / "two", dask_client, _scenario())
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as one_client:
        one, _ = _new(case, tmp_path / "one", one_client, _scenario())
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)  # bootstrap intervals included
    for f in FILES:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()


def test_count_bootstrap_is_the_row_bootstrap_in_distribution():
    """Multinomial resampling of the (time, event) table vs resampling rows: the same sup distribution."""
    rng = np.random.default_rng(0)
    t = np.floor(rng.exponential(40, 600))
    e = (rng.random(600) < 0.6).astype(int)
    t2 = np.floor(rng.exponential(45, 500))
    e2 = (rng.random(500) < 0.6).astype(int)
    a, b = survival_counts(t, e), survival_counts(t2, e2)
    est = km_sup_interval_counts(a, b, n_boot=300, seed=1)
    rows = []
    for _ in range(300):
        i, j = rng.integers(0, 600, 600), rng.integers(0, 500, 500)
        rows.append(km_sup_counts(survival_counts(t[i], e[i]), survival_counts(t2[j], e2[j])))
    lo, hi = np.quantile(rows, [0.025, 0.975])
    assert abs(est["ci_low"] - lo) < 0.02 and abs(est["ci_high"] - hi) < 0.02
    assert est["sup"] == ref.km_sup_distance(t, e, t2, e2)  # the point estimate to the bit
    pd.testing.assert_frame_equal(kaplan_meier_table(t, e), ref.kaplan_meier_table(t, e), check_exact=True)


def test_twins_without_the_modelled_columns_fail_clearly(tmp_path, dask_client):
    cohort = simulate_cohort(2_000, seed=2, rows_per_partition=1_000)
    case = _case(cohort, tmp_path, dask_client, twin_rows=1_000, seed=2)
    write_dataset(read_dataset(case["twin_data"]).drop(columns=[case["schema"].time]), tmp_path / "bad")
    case["twin_data"] = tmp_path / "bad"
    with pytest.raises(StageError, match="lacks the modelled columns"):
        _new(case, tmp_path / "w", dask_client, _scenario())
    case["hold"] = case["hold"][:-1]
    case["twin_data"] = tmp_path / "twins"
    with pytest.raises(StageError, match="holdout mask"):
        _new(case, tmp_path / "w2", dask_client, _scenario())
