"""Does prediction gain anything from more than ``prediction.max_train_rows`` training patients? (issue 15)

The real-data baselines (L2 logistic, histogram gradient boosting, the real kNN) are fitted on seeded,
label-stratified samples of the training patients of a simulated SEER-like cohort and on all of them, and
scored on the same held-out patients; each sample's AUROC is compared with the full fit's by a paired bootstrap
(``paired_auroc_difference``). The settings are the ones the pipeline's grid picks most often (logistic C = 1,
boosting 0.05 / 31 leaves / 200 iterations, kNN k = 100 uniform); the held-out patients are never tuned on.

    .venv/bin/python bench/scale/bench_training_sample.py --n 1000000 --samples 50000 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="simulated patients")
    ap.add_argument("--samples", type=int, nargs="+", default=[50_000, 200_000], help="training sample sizes")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.graphs.knn import nearest
    from syntwin.pipeline.cohort import cohort_encoder, split_holdout
    from syntwin.seeding import stratified_mask
    from syntwin.synthesis.evaluate import (auroc, baseline_gradient_boosting, baseline_logistic,
                                            paired_auroc_difference)
    from syntwin.synthesis.predict import outcome_labels

    t0 = time.perf_counter()
    cohort = simulate_cohort(args.n, site="breast", seed=args.seed)
    df = cohort.data.compute().reset_index(drop=True)
    schema = cohort.schema
    y, ev = outcome_labels(df[schema.time].to_numpy(), df[schema.event].to_numpy(), 60.0)
    hold = split_holdout(np.where(ev, y, -1), 0.25, args.seed)
    train, test = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    y_tr, ev_tr, y_te, ev_te = y[~hold], ev[~hold], y[hold], ev[hold]
    feats = schema.features
    enc = cohort_encoder(schema, {}).fit(train[feats])
    x_tr, x_te = enc.transform(train).astype(np.float32), enc.transform(test[ev_te]).astype(np.float32)
    print(f"cohort {args.n:,}: {int(ev_tr.sum()):,} evaluable training, {int(ev_te.sum()):,} evaluable held-out "
          f"patients ({time.perf_counter() - t0:.0f} s)")

    def fits(rows: np.ndarray) -> dict[str, np.ndarray]:
        X, yy = train.loc[rows, feats], y_tr[rows]
        idx, _ = nearest(x_tr[rows], x_te, 100, seed=args.seed)
        return {"logistic": baseline_logistic(X, yy, test.loc[ev_te, feats], seed=args.seed, C=1.0),
                "gradient_boosting": baseline_gradient_boosting(X, yy, test.loc[ev_te, feats], seed=args.seed),
                "real_knn": yy[idx].mean(axis=1)}

    evaluable = np.flatnonzero(ev_tr)
    full_t = time.perf_counter()
    full = fits(evaluable)
    full_s = time.perf_counter() - full_t
    rows = [{"training patients": len(evaluable), "method": m, "auroc": auroc(y_te[ev_te], s),
             "minus full": 0.0, "ci": "", "seconds (3 fits)": full_s} for m, s in full.items()]
    for size in sorted(args.samples):
        share = min(1.0, size / len(evaluable))
        pick = np.flatnonzero(stratified_mask(y_tr[evaluable], share, args.seed, "prediction", "sample"))
        t = time.perf_counter()
        got = fits(evaluable[pick])
        sec = time.perf_counter() - t
        for m, s in got.items():
            d = paired_auroc_difference(y_te[ev_te], s, full[m], seed=args.seed, n_boot=200)
            rows.append({"training patients": len(pick), "method": m, "auroc": auroc(y_te[ev_te], s),
                         "minus full": d["difference"], "ci": f"{d['ci_low']:+.4f} to {d['ci_high']:+.4f}",
                         "seconds (3 fits)": sec})
    table = pd.DataFrame(rows).sort_values(["method", "training patients"])
    print("| method | training patients | AUROC | minus full (paired 95 % CI) | seconds (3 fits) |")
    print("|---|---|---|---|---|")
    for r in table.itertuples(index=False):
        print(f"| {r.method} | {r._0:,} | {r.auroc:.4f} | {r._3:+.4f} {r.ci} | {r._5:.1f} |")


if __name__ == "__main__":
    main()
