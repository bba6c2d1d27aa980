"""Scenario files: shipped ones validate; every class of bad input gives one clear ScenarioError."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from syntwin.errors import ScenarioError
from syntwin.scenario import load_scenario, scenario_json_schema
from syntwin.scenario.load import shipped_scenarios

GOOD = """\
kind: cohort
name: small
seed: 3
cohort:
  simulate: {site: breast, n: 1000}
graph:
  k: 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_shipped_scenarios_validate_against_models_and_json_schema(name):
    path = shipped_scenarios()[name]
    model = load_scenario(path)
    assert model.name
    jsonschema.validate(yaml.safe_load(path.read_text()), scenario_json_schema())


def test_defaults_filled(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.graph.k == 10 and s.graph.metric == "gower" and s.runtime.workers == 2
    assert s.cohort.simulate.n == 1000 and s.seed == 3


def test_unknown_key_names_path_line_and_valid_keys(tmp_path):
    path = write(tmp_path, GOOD + "  kk: 3\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    msg = str(e.value)
    assert "graph.kk" in msg and "unknown key" in msg and "line 8" in msg and str(path) in msg
    assert "valid keys here:" in msg and "resolution" in msg


def test_bad_value_names_bound(tmp_path):
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, GOOD.replace("k: 10", "k: 0")))
    msg = str(e.value)
    assert "graph.k" in msg and "greater than or equal to 1" in msg and "line 7" in msg


def test_wrong_type(tmp_path):
    with pytest.raises(ScenarioError, match=r"cohort\.simulate\.n.*valid integer"):
        load_scenario(write(tmp_path, GOOD.replace("n: 1000", "n: many")))


def test_unknown_kind_lists_kinds(tmp_path):
    with pytest.raises(ScenarioError, match=r"kind: unknown scenario kind 'cohrt'.*use one of: cohort, crowd"):
        load_scenario(write(tmp_path, GOOD.replace("kind: cohort", "kind: cohrt")))


def test_missing_section(tmp_path):
    with pytest.raises(ScenarioError, match=r"cohort: required field is missing"):
        load_scenario(write(tmp_path, "kind: cohort\nname: x\n"))


def test_cross_field_rule(tmp_path):
    text = GOOD.replace("cohort:\n", "cohort:\n  file: x.csv\n")
    with pytest.raises(ScenarioError, match="exactly one of 'simulate' or 'file'"):
        load_scenario(write(tmp_path, text))


def test_malformed_yaml_names_line(tmp_path):
    with pytest.raises(ScenarioError, match=r"line 2: malformed YAML: mapping values are not allowed"):
        load_scenario(write(tmp_path, "kind: cohort\nname: x: y\n"))


def test_not_a_mapping_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        load_scenario(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_overrides(tmp_path):
    path = write(tmp_path, GOOD)
    s = load_scenario(path, ["graph.k=30", "synthesis.generator=latent_class", "prediction.horizon_months=null"])
    assert s.graph.k == 30 and s.synthesis.generator == "latent_class" and s.prediction.horizon_months is None
    with pytest.raises(ScenarioError, match=r"graph\.k"):
        load_scenario(path, ["graph.k=-1"])
    with pytest.raises(ScenarioError, match="bad override"):
        load_scenario(path, ["graph.k"])


def test_json_schema_rejects_what_models_reject(tmp_path):
    schema = scenario_json_schema()
    bad = yaml.safe_load(GOOD)
    bad["graph"]["kk"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize("section, message", [
    ("prediction: {methods: [logistic, magic]}", r"prediction\.methods\.1.*'logistic'.*'syntwin_2024'"),
    ("prediction: {methods: []}", r"prediction\.methods.*at least 1"),
    ("prediction: {validation: 0.7}", r"prediction\.validation.*less than 0\.5"),
    ("prediction: {gnn_max_nodes: 10}", r"prediction\.gnn_max_nodes.*greater than or equal to 1000"),
    ("prediction: {max_train_rows: 5}", r"prediction\.max_train_rows.*greater than or equal to 1000"),
    ("privacy: {max_attacker_twins: 10}", r"privacy\.max_attacker_twins.*greater than or equal to 1000"),
    ("prediction: {syntwin_sample: 100000}", r"prediction\.syntwin_sample.*less than or equal to 30000"),
])
def test_bad_prediction_settings(tmp_path, section, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(tmp_path, GOOD + section + "\n"))
