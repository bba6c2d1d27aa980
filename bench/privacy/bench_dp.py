"""Benchmark: differentially private twins (mst) at several ε against the non-DP generators, on the real SEER subset.

The SEER breast CSV is read through the ``seer_breast_csv`` preset (its public domains) and split like the
``seer_subset_file`` scenario (25 % held out, stratified by the recorded outcome, seed 7). For each
generator, twins of the 3,018 training patients (as many as the training rows) are judged by:

* utility: train-on-twins AUROC (an L2 logistic regression fitted on the twins predicting the recorded
  death, scored on the held-out real patients) next to the same model fitted on the real training rows;
  Kaplan–Meier sup distance twins vs training rows; SDMetrics-style fidelity quality;
* attacks: the run's privacy evaluation (``evaluate_privacy``): membership-inference AUROCs and the upper
  95 % bound of the inference risk (worst secret), on the twins against training and held-out patients.

ε = ∞ rows are the non-DP generators (``latent_class``, the default; ``gaussian_copula``, the scenario's).
OpenDP's noise cannot be seeded, so mst rows vary from run to run (``--repeats`` fits each ε again).

Usage:
  python bench/privacy/bench_dp.py --epsilons 0.5 1 --out bench/privacy/dp_results.json
  python bench/privacy/bench_dp.py --epsilons 4 inf --out bench/privacy/dp_results.json
  python bench/privacy/bench_dp.py --table bench/privacy/dp_results.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from syntwin.sample_data import shared_data

SEER = shared_data("seer_breast_cancer.csv")


def _data(path: Path, seed: int = 7):
    from syntwin.cohort.readers import read_cohort
    from syntwin.pipeline.cohort import split_holdout
    from syntwin.synthesis.predict import outcome_labels

    cohort = read_cohort(path, "seer_breast_csv")
    s = cohort.schema
    df = cohort.data.compute().reset_index(drop=True)
    label, evaluable = outcome_labels(df[s.time].to_numpy(), df[s.event].to_numpy(), None)
    hold = split_holdout(np.where(evaluable, label, -1), 0.25, seed)
    return s, df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)


def _generator(name: str, epsilon: float, schema):
    from syntwin.pipeline.public_domains import with_public_domains
    from syntwin.synthesis import make_generator
    from syntwin.synthesis.generators import with_missingness

    if name == "mst":
        return with_public_domains(make_generator("mst", epsilon=epsilon), schema)
    return with_missingness(make_generator(name))


def one(name: str, epsilon: float, schema, train, hold, seed: int) -> dict:
    from sklearn.metrics import roc_auc_score

    from syntwin.privacy import evaluate_privacy
    from syntwin.synthesis.evaluate import baseline_logistic
    from syntwin.synthesis.fidelity import quality_score
    from syntwin.synthesis.survival import km_sup_distance

    roles = dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                 categorical=list(schema.categorical), time=schema.time, event=schema.event)
    gen = _generator(name, epsilon, schema)
    t0 = time.perf_counter()
    gen.fit(train[schema.modelled], **roles, seed=seed)
    fit_s = time.perf_counter() - t0
    twins = gen.sample(len(train), seed=seed + 1)
    feats = schema.features
    y_hold = hold[schema.event].to_numpy()
    auroc_twins = roc_auc_score(y_hold, baseline_logistic(twins[feats], twins[schema.event], hold[feats], seed))
    auroc_real = roc_auc_score(y_hold, baseline_logistic(train[feats], train[schema.event], hold[feats], seed))
    km = km_sup_distance(train[schema.time], train[schema.event], twins[schema.time], twins[schema.event])
    quality = quality_score(train[schema.modelled], twins, **roles)["score"]
    dp = getattr(gen, "guarantee", None)
    dp = dp(len(train)) if dp and getattr(gen, "differentially_private", False) else None
    t1 = time.perf_counter()
    priv = evaluate_privacy(twins, train, hold, **roles, quasi_identifiers=list(schema.quasi_identifiers),
                            seed=seed, dp=dp)
    f, gate = priv["figures"], priv["gate"]
    return {
        "generator": name, "epsilon": epsilon if name == "mst" else math.inf,
        "delta": dp["delta"] if dp else 0.0, "rho": dp["rho"] if dp else None,
        "epsilon_spent": getattr(gen, "epsilon_", None), "fit_seconds": round(fit_s, 1),
        "privacy_seconds": round(time.perf_counter() - t1, 1),
        "auroc_twins": round(float(auroc_twins), 4), "auroc_real": round(float(auroc_real), 4),
        "km_sup": round(float(km), 4), "quality": round(float(quality), 4),
        "mia_distance_auroc": f["mia_distance_auroc"], "mia_density_auroc": f["mia_density_auroc"],
        "inference_risk": f["inference_risk"], "inference_ci_high": gate["inference_risk"].get("ci_high"),
        "memorisation_ratio": f["memorisation_ratio"], "exact_copy_share": f["exact_copy_share"],
        "rows_train": len(train), "rows_holdout": len(hold),
    }


def table(rows: list[dict]) -> str:
    """A markdown table: one line per (generator, ε), mean over repeats with [min, max] when repeated."""
    cols = ["auroc_twins", "km_sup", "quality", "mia_distance_auroc", "mia_density_auroc", "inference_ci_high"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["generator"], r["epsilon"]), []).append(r)

    def cell(vals: list[float]) -> str:
        m = float(np.mean(vals))
        return f"{m:.3f}" if len(vals) == 1 else f"{m:.3f} [{min(vals):.3f}, {max(vals):.3f}]"

    out = ["| generator | ε | fits | train-on-twins AUROC (real rows: %.3f) | KM sup | quality | MIA AUROC distance | "
           "MIA AUROC density | inference risk, 95 %% upper bound |" % rows[0]["auroc_real"],
           "|---|---|---|---|---|---|---|---|---|"]
    for (gen, eps), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        out.append(f"| {gen} | {'∞' if math.isinf(eps) else f'{eps:g}'} | {len(rs)} | "
                   + " | ".join(cell([r[c] for r in rs]) for c in cols) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilons", nargs="+", default=["0.5", "1", "4", "inf"])
    ap.add_argument("--data", type=Path, default=SEER)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--table", type=Path, default=None, help="print the markdown table of a results file and stop")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    schema, train, hold = _data(args.data, args.seed)
    rows = []
    for e in args.epsilons:
        runs = [("latent_class", math.inf), ("gaussian_copula", math.inf)] if e == "inf" else \
            [("mst", float(e))] * args.repeats
        for name, eps in runs:
            try:
                row = one(name, eps, schema, train, hold, args.seed)
            except ImportError as exc:  # gaussian_copula needs the sdv extra
                print(f"skipped {name}: {exc}")
                continue
            print(json.dumps(row))
            rows.append(row)
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.is_file() else []
        args.out.write_text(json.dumps(old + rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
