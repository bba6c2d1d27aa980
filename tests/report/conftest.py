"""Run directories for the report tests: one built by hand (the manifest contract), one real pipeline run,
one real crowd run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from syntwin.cohort.schema import CohortSchema
from syntwin.graphs.store import SimilarityGraph
from tests import small_runs
from tests.small_runs import cli_sets

SCHEMA = CohortSchema(numeric=["age"], ordinal={"grade": ["I", "II", "III"]}, categorical=["er"],
                      time="months", event="dead", identifiers=["pid"], quasi_identifiers=["age"])


def make_cohort_run(path: Path, *, graph: bool = True, scores: bool = True, twins: bool = True,
                    km: bool = False, extra_png: bool = False) -> Path:
    """A cohort run directory following the manifest contract, with small seeded contents."""
    rng = np.random.default_rng(0)
    (path / "cohort").mkdir(parents=True)
    SCHEMA.save(path / "cohort/schema.json")
    outputs = {"schema": "cohort/schema.json"}
    n = 300
    if twins:
        (path / "export").mkdir()
        pd.DataFrame({"age": rng.normal(60, 10, n).round(), "grade": rng.choice(["I", "II", "III"], n),
                      "er": rng.choice(["pos", "neg"], n), "months": rng.exponential(60, n).round(1),
                      "dead": rng.integers(0, 2, n)}).to_parquet(path / "export/twins.parquet", index=False)
        outputs["twins_parquet"] = "export/twins.parquet"
    if graph:
        # three planted communities of 40, 30, 20 patients plus a 5-patient one (below the cut of 10)
        membership = np.repeat([0, 1, 2, 3], [40, 30, 20, 5])
        src, dst = [], []
        for i in range(len(membership)):
            for j in rng.choice(len(membership), 6, replace=False):
                if i != j and (membership[i] == membership[j] or rng.random() < 0.15):
                    src.append(min(i, j))
                    dst.append(max(i, j))
        e = pd.DataFrame({"src": src, "dst": dst}).drop_duplicates()
        e["distance"] = rng.random(len(e))
        e["weight"] = 1 - e["distance"]
        SimilarityGraph(n_nodes=len(membership), edges=e, membership=membership).save(path / "graph")
        outputs["graph"] = "graph"
    if scores:
        (path / "prediction").mkdir()
        y = rng.integers(0, 2, 200)
        pd.DataFrame({"holdout_row": np.arange(200), "label": y, "twin_knn": y * 0.3 + rng.random(200),
                      "real_knn": y * 0.5 + rng.random(200), "logistic": y * 0.6 + rng.random(200)}
                     ).to_parquet(path / "prediction/scores.parquet", index=False)
        outputs["predictions"] = "prediction/scores.parquet"
    if km:
        t = np.arange(0, 121, 12.0)
        parts = []
        for stratum, scale in (("all", 150), ("I", 300), ("II", 90)):
            for side, f in (("real", 1.0), ("synthetic twins", 0.93)):
                s = np.exp(-t / (scale * f))
                parts.append(pd.DataFrame({
                    "group": side if stratum == "all" else f"{side}: grade {stratum}", "side": side,
                    "stratum": stratum, "time": t, "survival": s, "ci_low": s * 0.95,
                    "ci_high": np.minimum(s * 1.05, 1), "at_risk": (200 * s).astype(int)}))
        km_frame = pd.concat(parts, ignore_index=True)
        # the legacy two-curve layout of the Kaplan-Meier section: "real" and "synthetic"
        km_frame.loc[(km_frame["stratum"] == "all") & (km_frame["side"] == "synthetic twins"), "group"] = "synthetic"
        km_frame.to_parquet(path / "cohort/km.parquet")
        pd.DataFrame({"column": ["grade"] * 3 + ["age"] * 2, "kind": ["ordinal"] * 3 + ["numeric"] * 2,
                      "level": ["I", "II", "III", "20–60", "60–90"], "real_share": [0.3, 0.5, np.nan, 0.4, 0.6],
                      "twin_share": [0.32, 0.47, 0.21, 0.45, 0.55], "suppressed": [False, False, True, False, False]}
                     ).to_parquet(path / "cohort/distributions.parquet")
    if extra_png:
        fig = Figure(figsize=(3, 2))
        fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
        fig.savefig(path / "diagnostics.png")
    manifest = {
        "scenario": "hand_made", "kind": "cohort", "seed": 7, "config_sha256": "ab" * 32,
        "versions": {"syntwin": "0.1.0", "python": "3.11"},
        "metrics": {
            "cohort": {"rows": 400, "train": 300, "holdout": 100, "cleaning": {"rows_read": 400},
                       "seconds": 1.0},
            "graph": {"nodes": 95, "edges": 300, "communities": 3, "coverage": 0.947, "seconds": 0.5},
            "synthesis": {"generator": "latent_class", "rows": 300, "groups": 3, "seconds": 2.0},
            "export": {"rows": 300, "formats": ["parquet"]},
            "fidelity": {"quality": 0.98, "column_shapes": 0.99, "column_pair_trends": 0.97, "strata": "grade",
                         "quality_columns": {"age": 0.99, "grade": 0.97}, "max_km_sup": 0.05,
                         "km": {"all": {"sup": 0.03, "ci_low": 0.01, "ci_high": 0.05, "n_real": 300,
                                        "n_twins": 300, "judged": True},
                                "II": {"sup": 0.08, "ci_low": 0.04, "ci_high": 0.12, "n_real": 220,
                                       "n_twins": 215, "judged": True}},
                         "constraints": {"nodes_positive <= nodes_examined": {"real": 0.0, "twins": 0.0}},
                         "warnings": ["Kaplan–Meier of the twins differs from the real patients' by 0.080 "
                                      "(> 0.05) for grade II (220 real patients)"]},
            "prediction": {
                **{m: {"auroc": a, "ci_low": a - 0.05, "ci_high": a + 0.05, "coverage": 1.0, "n": 200,
                       "trained_on": t, **({"vs_best_real": {"difference": a - 0.75, "ci_low": a - 0.8,
                                                             "ci_high": a - 0.7, "verdict": "worse"}}
                                           if m != "logistic" else {})}
                   for m, a, t in (("twin_knn", 0.61, "synthetic"), ("real_knn", 0.7, "real"),
                                   ("logistic", 0.75, "real"))},
                "best_real_baseline": "logistic", "twins_help": [], "protocol": "split first"},
            "privacy": {"exact_copies": 0, "dcr_train_share": 0.52,
                        "gate": {"exact_copies": {"value": 0, "threshold": 0, "op": "<=", "passed": True},
                                 "dcr_train_share": {"value": 0.52, "threshold": 0.5, "op": "<=",
                                                     "passed": False}}},
        },
        "outputs": {k: {"path": v, "sha256": "0" * 64} for k, v in outputs.items()},
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


@pytest.fixture
def hand_run(tmp_path) -> Path:
    return make_cohort_run(tmp_path / "run", km=True, extra_png=True)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory) -> Path:
    """A real `syntwin run` of the shipped cohort scenario on a small simulated cohort (~20 s)."""
    out = tmp_path_factory.mktemp("real") / "run"
    exe = shutil.which("syntwin", path=str(Path(sys.executable).parent)) or "syntwin"
    proc = subprocess.run([exe, "run", "seer_breast_twins", "--out", str(out),
                           *cli_sets(["cohort.simulate.n=1500", "synthesis.generator=latent_class",
                                      *small_runs.SMALL_PRIVACY, "privacy.max_k_suppressed_share=0.3"])],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"})
    if proc.returncode != 0:
        pytest.fail(f"syntwin run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return out


@pytest.fixture(scope="session")
def crowd_run(tmp_path_factory) -> Path:
    """A real crowd run (run_crowd: 20-minute canteen, 2 arms x 2 replicates, no Dask) and its manifest."""
    import yaml

    from syntwin.pipeline.context import RunContext
    from syntwin.pipeline.crowd import run_crowd
    from syntwin.scenario.crowd import CrowdScenario

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "scenarios/canteen_lunch.yaml").read_text())
    data["interventions"] = data["interventions"][:2]
    data["simulation"].update(duration_min=20, replicates=2)
    scenario = CrowdScenario.model_validate(data)
    out = tmp_path_factory.mktemp("crowd") / "run"
    ctx = RunContext(work=out, seed=3, client=None, source=str(root / "scenarios/canteen_lunch.yaml"))
    run_crowd(scenario, ctx)
    manifest = {"scenario": scenario.name, "kind": "crowd", "seed": 3, "config_sha256": "cd" * 32,
                "versions": {"syntwin": "0.1.0"}, "metrics": ctx.metrics, "outputs": ctx.output_entries()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out
