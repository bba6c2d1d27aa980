"""The graph stage runs on the workers from the cohort dataset: same bytes on 1 and 2 workers and after a
worker running one of its kNN search tasks is killed; no row or edge file is left behind."""

from __future__ import annotations

import logging

import pytest
from distributed import Client, LocalCluster

from syntwin.io import sha256_tree
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.load import load_scenario, shipped_scenarios
from tests.spine.test_fault_tolerance import KillWorkerWhenTaskStarts

SMALL = ["cohort.simulate.n=3000", "cohort.simulate.rows_per_partition=1000"]
COARSENED = ["graph.coarsen_above=1000", "graph.block_rows=1000"]  # 2,250 training patients: 3 blocks


class Interrupted(KeyboardInterrupt):
    """Stops the run when synthesis begins (the graph is checkpointed by then)."""


def _stop_at_synthesis(name: str) -> None:
    if name == "synthesis":
        raise Interrupted(name)


def _graph_stage(out, client, overrides) -> dict:
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], [*SMALL, *overrides])
    with pytest.raises(Interrupted):
        run_scenario(scenario, out, client=client, progress=_stop_at_synthesis, report=False)
    work = partial_dir(out)
    graph = work / "graph"
    assert sorted(p.name for p in (graph / "edges").iterdir()) == [f"part.{b:05d}.parquet" for b in range(3)]
    assert not (work / ".checkpoints" / "graph-build").exists()  # encoded rows, index, pair files removed
    return {"graph": sha256_tree(graph), "membership": sha256_tree(work / ".checkpoints" / "graph")}


def _one_worker(plugin=None):
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    if plugin is not None:
        client.register_plugin(plugin)
    return cluster, client


@pytest.mark.parametrize("overrides", [[], COARSENED], ids=["full-leiden", "coarsened"])
def test_graph_stage_same_bytes_on_1_and_2_workers_and_after_a_worker_kill(tmp_path, dask_client, overrides):
    two = _graph_stage(tmp_path / "w2", dask_client, overrides)
    cluster, client = _one_worker()
    with cluster, client:
        one = _graph_stage(tmp_path / "w1", client, overrides)
    assert one == two
    if overrides:
        return  # the kill is tested once (full Leiden): the search tasks are the same
    marker = tmp_path / "killed.json"
    cluster, client = _one_worker(KillWorkerWhenTaskStarts("_search_task", marker))
    with cluster, client:
        killed = _graph_stage(tmp_path / "killed", client, overrides)
    assert marker.exists(), "no kNN search task started, so no worker was killed"
    assert killed == two  # the only worker was lost mid-search: Dask reran its tasks from the files
