"""What a new user meets first: the default install (no BUSL code), clean --help, integer columns, plain text."""

import json
import re
from importlib.metadata import PackageNotFoundError, requires

import numpy as np
import pandas as pd
from packaging.requirements import Requirement

from syntwin.cohort.schema import CohortSchema
from syntwin.export import export_twins

BUSL = {"sdv", "ctgan", "rdt", "copulas", "deepecho", "sdmetrics"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str = "syntwin") -> set[str]:
    """Every distribution ``pip install syntwin`` pulls in (no extras of syntwin), from installed metadata."""
    seen: set[str] = set()
    stack = [(root, frozenset())]
    while stack:
        name, extras = stack.pop()
        key = (_norm(name), extras)
        if _norm(name) in seen and not extras:
            continue
        seen.add(_norm(name))
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in reqs:
            req = Requirement(text)
            wanted = [""] + sorted(extras)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            stack.append((req.name, frozenset(req.extras)))
        del key
    return seen


def test_default_install_has_no_busl_package():
    closure = runtime_closure()
    assert {"dask", "distributed", "igraph", "mesa", "lifelines"} <= closure  # the walk follows extras of deps
    assert not closure & BUSL, f"the default install pulls BUSL packages: {sorted(closure & BUSL)}"


def test_help_has_no_bool_metavar():
    from typer.testing import CliRunner

    from syntwin.cli import app

    for args in ([], ["run"], ["export"], ["cohort", "simulate"]):
        text = CliRunner().invoke(app, [*args, "--help"], terminal_width=150).output
        assert "Usage" in text and "--help" in text and "<bool>" not in text, args
    assert "<path>" in CliRunner().invoke(app, ["run", "--help"], terminal_width=150).output  # values keep theirs


def test_user_text_has_no_internal_issue_references():
    from syntwin.scenario.load import scenario_json_schema

    text = json.dumps(scenario_json_schema())
    assert not re.search(r"issue\s*#?\d", text, re.I), re.search(r".{40}issue\s*#?\d.{20}", text, re.I)


def test_whole_number_columns_stay_integers_in_csv_and_fhir(tmp_path):
    n = 40
    gen = np.random.default_rng(0)
    twins = pd.DataFrame({
        "age": gen.integers(30, 80, n).astype(float),
        "year_of_diagnosis": gen.integers(2004, 2016, n).astype(float),
        "tumor_size_mm": np.where(np.arange(n) % 7 == 0, np.nan, gen.integers(5, 60, n)).astype(float),
        "nodes_ratio": gen.random(n),
        "sex": ["Female"] * n,
        "survival_months": gen.integers(0, 120, n).astype(float),
        "cancer_death": gen.integers(0, 2, n),
    })
    schema = CohortSchema(numeric=("age", "year_of_diagnosis", "tumor_size_mm", "nodes_ratio"),
                          categorical=("sex",), time="survival_months", event="cancer_death")
    written = export_twins(twins, schema, tmp_path, ["csv", "fhir", "parquet"], site="breast")
    lines = written["csv"].read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    row = dict(zip(header, first))
    assert re.fullmatch(r"\d{4}", row["year_of_diagnosis"]) and re.fullmatch(r"\d+", row["age"])
    assert re.fullmatch(r"\d+", row["survival_months"])
    assert "." in row["nodes_ratio"]  # a real fraction stays a float
    sizes = [dict(zip(header, line.split(",")))["tumor_size_mm"] for line in lines[1:]]
    assert "" in sizes and all(re.fullmatch(r"\d+", s) for s in sizes if s)  # missing stays missing
    observations = [json.loads(line) for line in (written["fhir"] / "Observation.ndjson").read_text().splitlines()]
    values = [o["valueQuantity"]["value"] for o in observations if "valueQuantity" in o]
    assert values and all(isinstance(v, int) for v in values)
    parquet = pd.read_parquet(written["parquet"])
    assert pd.api.types.is_integer_dtype(parquet["year_of_diagnosis"])
    assert parquet["tumor_size_mm"].isna().sum() == (np.arange(n) % 7 == 0).sum()
