"""How close each prediction method of a run comes to the best possible (oracle) AUROC.

The simulated breast cohort draws its outcome from a known model (syntwin/cohort/simulate.py): Weibull
cancer-specific time per stage, log hazard eta = 0.45 ER- + 0.15 HER2+ + 0.25 triple-negative +
beta_age (age - 65)/10 + beta_grade (grade - 1), and an other-cause time from the US life table by age and sex. The
Bayes-optimal score of "cancer death within the horizon" is P(T_cancer <= min(h, T_other) | x), estimated
here by Monte Carlo per held-out patient; no method can beat its AUROC in expectation.

    .venv/bin/syntwin run seer_breast_twins --out runs/demo
    .venv/bin/python bench/twins/bench_oracle.py runs/demo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from syntwin.cohort import _lifetable as L
from syntwin.cohort import _sites as S
from syntwin.pipeline.cohort import load_cohort, split_holdout
from syntwin.scenario.load import load_scenario, shipped_scenarios
from syntwin.synthesis.evaluate import auroc_ci
from syntwin.synthesis.predict import outcome_labels

DRAWS = 2000


def oracle_score(df: pd.DataFrame, horizon: float, seed: int = 0) -> np.ndarray:
    """Monte Carlo P(T_cancer <= min(horizon, T_other) | covariates) of simulated breast patients."""
    p = S.SITE_PARAMS["breast"]
    stage = df["stage"].map({s: i for i, s in enumerate(S.STAGES)}).to_numpy()
    grade = df["grade"].map({g: i for i, g in enumerate(S.GRADES)}).to_numpy()
    er, pr, her2 = ((df[c] == "Positive").to_numpy() for c in ("er_status", "pr_status", "her2_status"))
    age = df["age"].to_numpy(float)
    male = (df["sex"] == "Male").to_numpy()
    eta = 0.45 * ~er + 0.15 * her2 + 0.25 * (~er & ~pr & ~her2)
    eta = eta + p.beta_age * (age - 65.0) / 10.0 + p.beta_grade * (grade - 1)
    k = np.asarray(p.weibull_shape)[stage][:, None]
    scale = np.asarray(p.weibull_scale)[stage][:, None]
    gen = np.random.default_rng(seed)
    e1, e2 = gen.standard_exponential((2, len(df), DRAWS))
    t_cancer = scale * (e1 * np.exp(-eta)[:, None]) ** (1.0 / k)
    rep = lambda v: np.repeat(v, DRAWS)  # noqa: E731
    t_other = 12.0 * L.other_cause_years(rep(age), rep(male), e2.ravel(), p.other_frailty).reshape(e2.shape)
    return ((t_cancer <= horizon + 1.0) & (t_cancer <= t_other)).mean(axis=1)  # months are floored


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="run directory of seer_breast_twins (any --set of n/seed)")
    args = parser.parse_args()
    manifest = json.loads((args.run / "manifest.json").read_text())
    n = manifest["metrics"]["cohort"]["rows"]
    scenario = load_scenario(shipped_scenarios()["seer_breast_twins"], [f"cohort.simulate.n={n}"])
    seed, horizon = manifest["seed"], scenario.prediction.horizon_months
    cohort = load_cohort(scenario.cohort, source="<bench>", seed=seed)
    schema = cohort.schema
    df = cohort.data.compute().reset_index(drop=True)
    label, evaluable = outcome_labels(df[schema.time].to_numpy(), df[schema.event].to_numpy(), horizon)
    hold = split_holdout(np.where(evaluable, label, -1), scenario.cohort.holdout, seed)
    holdout = df[hold].reset_index(drop=True)
    scores = pd.read_parquet(args.run / "prediction/scores.parquet")
    rows = holdout.iloc[scores["holdout_row"].to_numpy()]
    y = scores["label"].to_numpy()
    assert np.array_equal(
        y, outcome_labels(rows[schema.time].to_numpy(), rows[schema.event].to_numpy(), horizon)[0]
    ), "the run's held-out patients were not reconstructed"
    oracle = auroc_ci(y, oracle_score(rows, horizon), seed=1)
    print(f"run {args.run}: {len(y)} evaluable held-out patients, horizon {horizon} months")
    print("| method | trained on | AUROC | 95% CI | gap to oracle |\n|---|---|---|---|---|")
    print(
        f"| oracle P(event by horizon \\| x) | true model | {oracle['auroc']:.4f} | "
        f"{oracle['ci_low']:.3f}–{oracle['ci_high']:.3f} | 0 |"
    )
    pred = manifest["metrics"]["prediction"]
    for name, entry in sorted(
        ((k, v) for k, v in pred.items() if isinstance(v, dict) and "auroc" in v),
        key=lambda kv: -kv[1]["auroc"],
    ):
        ci = f"{entry['ci_low']:.3f}–{entry['ci_high']:.3f}" if "ci_low" in entry else "–"
        cov = "" if entry.get("coverage", 1) == 1 else f" (coverage {entry['coverage']:.2f})"
        print(
            f"| {name}{cov} | {entry['trained_on']} | {entry['auroc']:.4f} | {ci} | "
            f"{entry['auroc'] - oracle['auroc']:+.4f} |"
        )


if __name__ == "__main__":
    main()
