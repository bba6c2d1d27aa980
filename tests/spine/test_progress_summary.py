"""Progress (rich terminal, JSON lines) and the end-of-run summary, on real runs with a 2-process cluster."""

import io
import json
import re
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from syntwin.pipeline.run import run_scenario
from syntwin.progress import STAGES, JsonReporter, RichReporter, planned_stages
from syntwin.scenario.load import load_scenario, shipped_scenarios
from syntwin.summary import MAX_LINES, run_summary
from tests import small_runs

SMALL = [*small_runs.SMALL, "synthesis.per_community=true", "synthesis.min_group_size=200",
         "prediction.methods=[logistic,twin_knn,logistic_twins]"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def cohort_run(dask_client, tmp_path_factory):
    """A small default-scenario run shown on a captured terminal."""
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], SMALL)
    out = tmp_path_factory.mktemp("runs") / "cohort"
    term = io.StringIO()
    console = Console(file=term, force_terminal=True, width=120)
    with RichReporter(planned_stages(scenario), console=console, title=scenario.name) as reporter:
        manifest = run_scenario(scenario, out, client=dask_client, progress=reporter)
        reporter.finish()
    return manifest, out, ANSI.sub("", term.getvalue())


def test_terminal_shows_stage_k_of_n_and_step_bars(cohort_run):
    manifest, _, text = cohort_run
    n = len(STAGES["cohort"])
    ran = set(manifest["metrics"])
    assert ran <= set(STAGES["cohort"]) and len(ran) >= n - 1  # the plan is what a run does (export may be refused)
    for k, stage in enumerate(STAGES["cohort"], 1):
        if stage in ran:
            assert f"[{k}/{n}] {stage}" in text, stage
    assert re.search(r"methods\s+━+\s+3/3", text), "no complete bar of the prediction methods"
    assert re.search(r"communities\s+\S*━", text), "no bar of the synthesis communities"
    assert re.search(r"attacks and checks\s+\S*━\S*\s+\d+/\?", text), "the privacy parts' count (total unknown)"


def test_summary_of_a_cohort_run(cohort_run):
    manifest, out, _ = cohort_run
    lines = run_summary(manifest, out, wall_seconds=12.0)
    assert len(lines) <= MAX_LINES
    text = "\n".join(lines)
    assert "cohort: 3,000 patients" in text
    assert f"{out / 'report.html'}" in text
    if manifest["metrics"]["privacy"].get("passed", True):
        assert f"{out / 'export'}" in text and "privacy: gate passed" in text
        assert re.search(r"released: [\d,]+ of [\d,]+ twins", text)
    else:  # a refusal is published without export/ and says why
        assert "released: nothing" in text and "privacy: gate REFUSED the release — " in text
        assert not (out / "export").exists()
    assert re.search(r"fidelity: (within its thresholds|\d+ warning)", text)
    assert "highest AUROC:" in text
    assert re.search(r"twins helped: (yes|no|not tested)", text)
    assert not re.search(r"\d\.0\b", lines[1] + lines[2])  # counts as integers
    assert (out / "report.html").exists()


def test_json_progress_of_a_crowd_run(dask_client, tmp_path):
    data = yaml.safe_load(Path(shipped_scenarios()["canteen_lunch"]).read_text())
    data["simulation"].update(duration_min=20, replicates=2)
    data["interventions"] = data["interventions"][:2]
    data["export"] = {"plots": False, "series": False}
    path = tmp_path / "canteen.yaml"
    path.write_text(yaml.safe_dump(data))
    scenario = load_scenario(path)
    stream = io.StringIO()
    reporter = JsonReporter(planned_stages(scenario), stream=stream)
    manifest = run_scenario(scenario, tmp_path / "run", client=dask_client, progress=reporter, source=str(path))
    reporter.finish()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0] == {**events[0], "event": "stage", "stage": "crowd", "index": 1, "total": 1}
    runs = [e for e in events if e["event"] == "advance"]
    assert [e["done"] for e in runs] == [1, 2, 3, 4] and {e["of"] for e in runs} == {4}
    assert events[-1]["event"] == "done" and events[-1]["status"] == "done"
    lines = run_summary(manifest, tmp_path / "run")
    assert len(lines) <= MAX_LINES
    assert lines[1].startswith("crowd: 2 arms × 2 replicates = 4 runs")
    assert any(line.strip().startswith("baseline:") for line in lines)


def test_show_prints_every_figure_with_counts_as_integers(cohort_run):
    from typer.testing import CliRunner

    from syntwin.cli import app

    manifest, out, _ = cohort_run
    result = CliRunner().invoke(app, ["show", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[2].strip(): line.split("│")[3].strip() for line in result.output.splitlines()
            if line.count("│") >= 4 and "│ cohort " in line}
    assert rows["rows"] == "3,000" and rows["train"] == f"{manifest['metrics']['cohort']['train']:,}"  # not 3000.0
    assert "privacy gate" in result.output and "prediction" in result.output


def test_failed_stage_is_not_reported_finished():
    stream = io.StringIO()
    reporter = JsonReporter(["cohort", "graph", "synthesis"], stream=stream)
    reporter("cohort")
    reporter("graph")
    reporter.step("partitions", 4)
    reporter.advance(2)
    reporter.finish("failed")
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["stage"] for e in events if e["event"] == "stage_done"] == ["cohort"]
    assert [(e["done"], e["of"]) for e in events if e["event"] in ("step", "advance")] == [(0, 4), (2, 4)]
    assert events[-1]["event"] == "done" and events[-1]["status"] == "failed"
