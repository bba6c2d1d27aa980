"""One checkpointed-stage mechanism (RunContext.checkpointed) for every stage: skipped on resume, artifacts reloaded."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import yaml

from syntwin.pipeline.context import ARRAY, FRAME, JSON, RunContext
from syntwin.pipeline.run import partial_dir, run_scenario
from syntwin.scenario.crowd import CrowdScenario
from syntwin.scenario.load import shipped_scenarios


def test_a_finished_stage_is_skipped_and_its_artifacts_loaded(tmp_path):
    frame = pd.DataFrame({"a": [1.5, np.nan, 3.0], "g": pd.Categorical(["x", "y", "x"])})
    calls = []

    def compute(m: dict) -> dict:
        calls.append(1)
        m["rows"] = len(frame)
        (tmp_path / "w" / "out.txt").write_text("published")
        ctx.record_output("text", "out.txt")
        return {"table": frame, "mask": np.array([True, False, True]), "info": {"keys": np.arange(3)}}

    ctx = RunContext(work=tmp_path / "w", seed=1, client=None)
    ctx.work.mkdir()
    first = ctx.checkpointed("s", compute, table=FRAME, mask=ARRAY, info=JSON)
    again = RunContext(work=tmp_path / "w", seed=1, client=None)  # a resumed run's fresh context
    second = again.checkpointed("s", compute, table=FRAME, mask=ARRAY, info=JSON)
    assert len(calls) == 1 and again.resumed_stages == ["s"] and ctx.resumed_stages == []
    assert again.metrics["s"]["rows"] == 3 and again.outputs == {"text": "out.txt"}
    pd.testing.assert_frame_equal(first["table"], second["table"])
    pd.testing.assert_frame_equal(second["table"], frame)
    assert second["mask"].tolist() == [True, False, True] and second["info"] == {"keys": [0, 1, 2]}


def test_undeclared_artifacts_and_failed_stages_leave_no_checkpoint(tmp_path):
    ctx = RunContext(work=tmp_path, seed=1, client=None)
    with pytest.raises(TypeError, match="declared"):
        ctx.checkpointed("s", lambda m: {"x": np.zeros(2)}, y=ARRAY)
    assert not (tmp_path / ".checkpoints" / "s.json").exists()

    def boom(m: dict) -> None:
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        ctx.checkpointed("t", boom)
    assert not ctx.resumed("t")


class Interrupted(KeyboardInterrupt):
    """Stands for an interrupted run (Ctrl-C): the working directory is kept for --resume."""


def test_crowd_run_resumes_from_its_crowd_stage(dask_client, tmp_path):
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-03-04", periods=2 * 1440, freq="1min")
    n = np.zeros(len(idx))
    for t in range(1, len(idx)):
        n[t] = n[t - 1] - rng.binomial(int(n[t - 1]), 1 / 40) + rng.poisson(0.04 if 9 <= idx[t].hour < 17 else 0.001)
    pd.DataFrame({"timestamp": (idx + pd.Timedelta(seconds=15)).astype(str), "zone": "room", "count": n}).to_csv(
        tmp_path / "occ.csv", index=False)
    data = yaml.safe_load(shipped_scenarios()["room_live"].read_text())  # as tests/spine/test_live_run.py
    data["live"].update(stream="occ.csv", replicas=6, every_min=90, holdout_days=1, spin_up_min=60, co2=None)
    scenario = CrowdScenario.model_validate(data)
    source = str(tmp_path / "scenario.yaml")
    reference = run_scenario(scenario, tmp_path / "ref", client=dask_client, source=source, report=False)

    def stop(stage: str) -> None:
        if stage == "live":
            raise Interrupted

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run_scenario(scenario, out, client=dask_client, source=source, progress=stop, report=False)
    assert (partial_dir(out) / ".checkpoints" / "crowd.json").exists()
    resumed = run_scenario(scenario, out, client=dask_client, source=source, resume=True, report=False)
    assert resumed["resumed"] == ["crowd"] and reference["resumed"] == []
    assert resumed["outputs"] == reference["outputs"]
    assert resumed["metrics"]["crowd"]["baseline"] == reference["metrics"]["crowd"]["baseline"]
