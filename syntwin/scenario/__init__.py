"""Scenario files: typed, validated YAML that drives every run."""

from syntwin.scenario.load import SCENARIO_KINDS, load_scenario, parse_scenario, scenario_json_schema

__all__ = ["load_scenario", "parse_scenario", "scenario_json_schema", "SCENARIO_KINDS"]
