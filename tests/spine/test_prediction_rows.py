"""The prediction stage reads only its training sample and its share of the twins; held-out patients stay on the workers.

``prediction_rows`` gives exactly the rows of the whole frames (same sample, order, values and dtypes) and the
held-out encoding and scores, per part, bit for bit those of the whole held-out frame; and a run watched on its
worker (every DataFrame or array a task leaves in memory is recorded) never builds the whole cohort between
the graph and privacy stages: the only cohort rows that travel are the training sample's.
"""

from __future__ import annotations

import json
import logging
import os

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask.utils import key_split
from distributed import Client, LocalCluster, WorkerPlugin

from syntwin.pipeline.cohort import cohort_encoder, split_holdout
from syntwin.pipeline.dataset import dataset_files, read_dataset, write_dataset
from syntwin.pipeline.predict import training_sample, twin_sample
from syntwin.pipeline.prediction_rows import dataset_rows, holdout_scorer, prediction_rows
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.cohort import PredictionSection
from syntwin.scenario.load import load_scenario, shipped_scenarios
from syntwin.synthesis.evaluate import (baseline_gradient_boosting, baseline_logistic, fit_gradient_boosting,
                                        fit_logistic)
from syntwin.synthesis.predict import outcome_labels
from tests import small_runs

SEED = 2024


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    from syntwin.cohort.simulate import simulate_cohort

    tmp = tmp_path_factory.mktemp("datasets")
    cohort = simulate_cohort(3000, site="breast", seed=7, rows_per_partition=700)  # 5 parts
    schema = cohort.schema
    write_dataset(cohort.data, tmp / "cohort")
    df = read_dataset(tmp / "cohort").compute().reset_index(drop=True)
    label, ev = outcome_labels(df[schema.time].to_numpy(), df[schema.event].to_numpy(), 60.0)
    hold = split_holdout(np.where(ev, label, -1), 0.25, SEED)
    fake_twins = df.loc[~hold, list(schema.modelled)].sample(frac=1.1, replace=True, random_state=1)
    write_dataset(dd.from_pandas(fake_twins.reset_index(drop=True), npartitions=3), tmp / "twins")
    encoder = cohort_encoder(schema, {}).fit(df[~hold])
    return schema, df, hold, dataset_files(tmp / "cohort"), dataset_files(tmp / "twins"), encoder


@pytest.mark.parametrize("cap", [1000, None], ids=["sampled", "all-rows"])
@pytest.mark.parametrize("on_workers", [True, False], ids=["workers", "client"])
def test_rows_read_are_those_of_the_whole_frames(datasets, dask_client, cap, on_workers):
    schema, df, hold, cohort_files, twin_files, encoder = datasets
    p = PredictionSection(max_train_rows=cap)
    got = prediction_rows(cohort_files, twin_files, hold, schema, p, SEED, dask_client if on_workers else None,
                          encoder)
    # the reference: the frames the stage took before, from the whole cohort and all twins
    train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    twins = read_dataset(twin_files[0].parent).compute().reset_index(drop=True)
    rows = training_sample(train, schema, p, SEED)
    tw = twin_sample(len(twins), len(train), len(rows), SEED)
    np.testing.assert_array_equal(got["rows"], rows)
    pd.testing.assert_frame_equal(got["train"], train.iloc[rows].reset_index(drop=True))
    pd.testing.assert_frame_equal(got["twins"], twins.iloc[tw].reset_index(drop=True))
    pd.testing.assert_frame_equal(got["holdout"], holdout[[schema.time, schema.event]])
    assert got["x_hold"].dtype == np.float32
    np.testing.assert_array_equal(got["x_hold"], encoder.transform(holdout))  # bit for bit
    assert got["figures"] == {"train": len(rows), "of_train": len(train), "twins": len(tw),
                              "of_twins": len(twins), "sampled": cap is not None}
    assert (len(rows) < len(train)) == (cap is not None) and dataset_rows(twin_files) == len(twins)


@pytest.mark.parametrize("fit", [fit_logistic, fit_gradient_boosting], ids=["logistic", "boosting"])
def test_held_out_scores_per_part_are_those_of_the_whole_frame(datasets, dask_client, fit):
    """Fitted on the client, scored per part file on the workers: the same float64 bytes as all rows at once."""
    schema, df, hold, cohort_files, _, _ = datasets
    feats = schema.features
    train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    model = fit(train[feats], train[schema.event].to_numpy(), 3)
    whole = model.predict(holdout[feats])
    for client in (dask_client, None):
        np.testing.assert_array_equal(holdout_scorer(cohort_files, hold, feats, client)(model), whole)
    if fit is fit_logistic:  # as the one-call baseline the grid search uses
        np.testing.assert_array_equal(baseline_logistic(train[feats], train[schema.event].to_numpy(),
                                                        holdout[feats], 3), whole)
    else:
        np.testing.assert_array_equal(baseline_gradient_boosting(
            train[feats], train[schema.event].to_numpy(), holdout[feats], 3), whole)


class ResultsInMemory(WorkerPlugin):
    """Append to ``log`` (JSON lines) each DataFrame or array a task leaves in this worker's memory (key prefix,
    rows, columns), once the file ``armed`` exists."""

    def __init__(self, log, armed):
        self.log, self.armed = str(log), str(armed)

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if finish != "memory" or not os.path.exists(self.armed) or key not in self.worker.data:
            return
        value = self.worker.data[key]
        if isinstance(value, (pd.DataFrame, np.ndarray)):
            columns = list(map(str, value.columns)) if isinstance(value, pd.DataFrame) else None
            with open(self.log, "a") as f:
                f.write(json.dumps({"key": key_split(key), "rows": len(value), "columns": columns}) + "\n")


class Stop(KeyboardInterrupt):
    """Ends the run when the privacy stage begins (it still takes the whole cohort: another change)."""


def test_between_graph_and_privacy_no_task_builds_the_whole_cohort(tmp_path):
    n, cap = 3000, 1000
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], [
        *small_runs.SMALL, small_runs.CHEAP_METHODS, f"cohort.simulate.n={n}",
        "cohort.simulate.rows_per_partition=1000", f"prediction.max_train_rows={cap}"])
    log, armed = tmp_path / "frames.jsonl", tmp_path / "armed"
    stages: list[str] = []

    def progress(name: str) -> None:
        stages.append(name)
        if name == "graph":  # from here on the old code computed the whole cohort on the client
            armed.touch()
        if name == "privacy":
            raise Stop(name)

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.register_plugin(ResultsInMemory(log, armed))
        with pytest.raises(Stop):
            run_scenario(scenario, tmp_path / "run", client=client, progress=progress, report=False)
    assert stages[-3:] == ["fidelity", "prediction", "privacy"]
    results = [json.loads(line) for line in log.read_text().splitlines()]
    checkpoints = partial_dir(tmp_path / "run") / ".checkpoints"
    cohort_metrics = json.loads((checkpoints / "cohort.json").read_text())["metrics"]
    sample = json.loads((checkpoints / "prediction.json").read_text())["metrics"]["training_sample"]
    assert sample["sampled"] and abs(sample["train"] - cap) <= 5 and sample["of_train"] == cohort_metrics["train"]
    frames = [f for f in results if f["columns"] is not None]
    cohort_rows = [f for f in frames if "patient_id" in f["columns"]]
    assert cohort_rows, "no cohort row was read: the plugin saw nothing"
    # the only cohort rows any task returns: the training sample (read_rows, one part file per task) ...
    assert {f["key"] for f in cohort_rows} == {"read_rows_task"}, {f["key"] for f in cohort_rows}
    assert sum(f["rows"] for f in cohort_rows) == sample["train"] < n
    # ... and the outcome columns of every patient (the sample's labels, the held-out evaluation)
    outcomes = [f for f in frames if f["key"] == "read_rows_task" and len(f["columns"]) == 2]
    assert sum(f["rows"] for f in outcomes) == n
    twin_rows = [f for f in frames if f["key"] == "read_rows_task" and "patient_id" not in f["columns"]
                 and len(f["columns"]) > 2]
    assert sum(f["rows"] for f in twin_rows) == sample["twins"] < sample["of_twins"]
    # the held-out patients stay on the workers: per part, their encoding and each model's scores come back
    encoded = [f["rows"] for f in results if f["key"] == "apply_task"]
    scored = [f["rows"] for f in results if f["key"] == "score_task"]
    assert max(encoded + scored) <= 1000 and sum(encoded) == cohort_metrics["holdout"]
    assert sum(scored) == 3 * cohort_metrics["holdout"]  # logistic, gradient boosting, logistic_twins
