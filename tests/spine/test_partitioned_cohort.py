"""The cohort stage keeps the cohort on the cluster: a partitioned Parquet dataset written on the workers."""

from __future__ import annotations

import logging

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_worker

from syntwin.cohort.simulate import simulate_cohort
from syntwin.pipeline.dataset import dataset_files, outcome_columns, read_dataset, read_rows, write_dataset
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios

SMALL = ["cohort.simulate.n=3000", "cohort.simulate.rows_per_partition=1000"]


class Interrupted(KeyboardInterrupt):
    """Stops the run when the graph stage begins (its working directory stays, with the cohort checkpoint)."""


def _stop_at_graph(name: str) -> None:
    if name == "graph":
        raise Interrupted(name)


def _cohort_stage_only(out, client) -> list:
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], SMALL)
    with pytest.raises(Interrupted):
        run_scenario(scenario, out, client=client, progress=_stop_at_graph, report=False)
    return dataset_files(partial_dir(out) / ".checkpoints" / "cohort" / "data")


def test_partitioned_cohort_round_trip(tmp_path, dask_client):
    cohort = simulate_cohort(5000, seed=3, rows_per_partition=1000)
    parts = write_dataset(cohort.data, tmp_path / "ds", client=dask_client,
                          summarise=outcome_columns(cohort.schema))
    assert [p["rows"] for p in parts] == [1000] * 5
    files = dataset_files(tmp_path / "ds")
    assert [f.name for f in files] == [f"part.{i:05d}.parquet" for i in range(5)]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)  # patient rows, whatever the workers' umask
    back = read_dataset(tmp_path / "ds")
    assert isinstance(back, dd.DataFrame) and back.npartitions == 5
    expected = cohort.data.compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(back.compute().reset_index(drop=True), expected)
    assert np.array_equal(np.concatenate([p["time"] for p in parts]), expected[cohort.schema.time].to_numpy())


def _only_on_a_worker(i: int) -> pd.DataFrame:
    get_worker()  # raises ValueError in the client process
    return pd.DataFrame({"x": np.arange(i * 10, i * 10 + 10, dtype=np.float64), "event": np.ones(10, np.int64)})


def test_partitions_are_built_and_written_on_the_workers(tmp_path, dask_client):
    data = dd.from_map(_only_on_a_worker, range(4), meta=pd.DataFrame({"x": [0.0], "event": [0]}).iloc[:0],
                       enforce_metadata=False)
    with pytest.raises(ValueError):
        data.compute(scheduler="sync")  # the frame cannot be computed on the client at all
    parts = write_dataset(data, tmp_path / "ds", client=dask_client, summarise=lambda p: {"n": len(p)})
    assert [p["rows"] for p in parts] == [10] * 4  # the client got counts, not rows
    assert read_dataset(tmp_path / "ds").compute()["x"].tolist() == list(map(float, range(40)))


def test_cohort_stage_writes_the_dataset_with_the_same_bytes_on_1_and_2_workers(tmp_path, dask_client):
    two = _cohort_stage_only(tmp_path / "w2", dask_client)
    assert len(two) == 3  # ceil(3000 / 1000) partitions: the cohort's own, not the workers'
    checkpoint = partial_dir(tmp_path / "w2") / ".checkpoints" / "cohort"
    assert not list(checkpoint.glob("*.parquet"))  # no whole-cohort frame beside the dataset
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        one = _cohort_stage_only(tmp_path / "w1", client)
    assert [f.name for f in one] == [f.name for f in two]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two))


def test_graph_coarsen_above_is_validated_and_switches_the_community_method(dask_client):
    from syntwin.errors import ScenarioError
    from syntwin.pipeline.cohort import similarity_graph

    path = shipped_scenarios()["seer_breast_twins"]
    with pytest.raises(ScenarioError, match="coarsen_above"):
        load_scenario(path, ["graph.coarsen_above=10"])
    assert load_scenario(path, ["graph.coarsen_above=null"]).graph.coarsen_above is None
    rng = np.random.default_rng(0)
    x = (rng.normal(0, 8, (40, 5))[rng.integers(0, 40, 6000)] + rng.normal(0, 1, (6000, 5))).astype(np.float32)
    args = dict(k=10, method="exact", resolution=1.0, scale=1.0, client=dask_client, seed=1, block_rows=2000)
    full, m_full = similarity_graph(x, coarsen_above=None, **args)
    coarse, m_coarse = similarity_graph(x, coarsen_above=5000, **args)
    assert m_full["communities_method"] == "full" and m_coarse["communities_method"] == "coarsened"
    assert m_coarse["coarsened"]["blocks"] == 3 and coarse.membership.shape == (6000,)
    assert m_coarse["modularity"] >= m_full["modularity"] - 0.01


def test_read_rows_brings_only_the_selected_rows_in_dataset_order(tmp_path, dask_client):
    cohort = simulate_cohort(5000, seed=4, rows_per_partition=1000)
    write_dataset(cohort.data, tmp_path / "ds", client=dask_client)
    files = dataset_files(tmp_path / "ds")
    whole = cohort.data.compute().reset_index(drop=True)
    mask = np.random.default_rng(0).random(len(whole)) < 0.1
    mask[1000:2000] = False  # a part with nothing selected is not read
    got = read_rows(files, mask, client=dask_client, columns=["age", cohort.schema.time])
    pd.testing.assert_frame_equal(got, whole.loc[mask, ["age", cohort.schema.time]].reset_index(drop=True))
    pd.testing.assert_frame_equal(read_rows(files, mask), whole.loc[mask].reset_index(drop=True))
    with pytest.raises(ValueError, match="rows but the row mask"):
        read_rows(files, mask[:-1])
