"""Twin-based outcome prediction on the real SEER breast subset, side by side with plain baselines.

For each stratified CV fold (features: all columns but Survival Months and Status; outcome: Status):
  * logistic regression and gradient boosting on the real training rows;
  * kNN over the real training patients (Gower via MixedEncoder + L1, k neighbours, similarity weights), at
    the fixed k and at k tuned on the same inner split and grid as the twins' k;
  * per generator: fit on the training rows (features + survival pair), draw twins, then
      - kNN over the twins at the fixed k, and at k tuned on an inner 80/20 split of the training rows,
      - a blend w·kNN(real) + (1−w)·kNN(twins), (k_real, k_twins, w) tuned on the same inner split,
      - logistic regression trained on the twins only (train-on-synthetic, test-on-real);
  * latent_class only: the model's own P(event | features) (the twin-kNN limit of infinitely many twins);
  * SynTwin designs A–F (syntwin2024) on the Gower graph of the test fold's patients, with the twins of
    ``--syntwin``; these cover only members of communities >= 10 (column "cover").
Tuning never sees the test fold.
Out-of-fold predictions are pooled per repeat; AUROC with a 1,000-resample bootstrap CI, balanced
accuracy and Brier are printed. Fidelity of the twins of the first fold: SDMetrics-style quality and
the KM sup-distance by 6th Stage.

Usage:
    .venv/bin/python bench/twins/bench_twins.py [--folds 5] [--repeats 1] [--twins 40000] [--k 50]
        [--generators latent_class,gaussian_copula] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from syntwin.graphs.encode import MixedEncoder
from syntwin.synthesis import (
    auroc,
    auroc_ci,
    baseline_gradient_boosting,
    baseline_logistic,
    binary_metrics,
    make_generator,
    twin_knn_proba,
)
from syntwin.synthesis.fidelity import quality_score
from syntwin.synthesis.survival import km_sup_by_stratum
from syntwin.synthesis.syntwin2024 import DESIGNS, syntwin_designs
from syntwin.sample_data import shared_data

CSV = shared_data("seer_breast_cancer.csv")
TIME, EVENT = "Survival Months", "Status"
ROLES = dict(
    numeric=["Age", "Tumor Size", "Regional Node Examined", "Reginol Node Positive"],
    ordinal={"T Stage": ["T1", "T2", "T3", "T4"], "N Stage": ["N1", "N2", "N3"],
             "6th Stage": ["IIA", "IIB", "IIIA", "IIIB", "IIIC"]},
    categorical=["Race", "Marital Status", "differentiate", "Grade", "A Stage", "Estrogen Status",
                 "Progesterone Status"],
)
FEATURES = [*ROLES["numeric"], *ROLES["ordinal"], *ROLES["categorical"]]


def load(path: Path = CSV) -> pd.DataFrame:
    df = pd.read_csv(path)
    df.columns = [c.strip() for c in df.columns]
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.strip()
    df[EVENT] = (df[EVENT] == "Dead").astype(np.int64)
    return df[[*FEATURES, TIME, EVENT]]


K_GRID = (10, 25, 50, 100, 200, 400)
W_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def knn_scores(ref_X: np.ndarray, ref_y: np.ndarray, query_X: np.ndarray, ks) -> dict[int, np.ndarray]:
    """Similarity-weighted kNN probability for each k of ``ks`` (one neighbour search)."""
    kmax = min(max(ks), len(ref_X))
    nn = NearestNeighbors(n_neighbors=kmax, metric="manhattan", algorithm="brute", n_jobs=1).fit(ref_X)
    d, idx = nn.kneighbors(query_X)
    return {k: twin_knn_proba(ref_y[idx[:, :k]], d[:, :k], weighting="similarity") for k in ks}


def twins_for(g: str, train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    gen = make_generator(g).fit(train, seed=seed, time=TIME, event=EVENT, **ROLES)
    return gen, gen.sample(n, seed=seed)


def tune(g: str, df: pd.DataFrame, X: np.ndarray, y: np.ndarray, tr: np.ndarray, n_twins: int, enc,
         seed: int) -> tuple[int, int, float]:
    """Pick (k_twins, k_real, w) on an inner 80/20 split of the training rows only."""
    inner_tr, inner_va = train_test_split(tr, test_size=0.2, stratify=y[tr], random_state=seed)
    _, twins = twins_for(g, df.iloc[inner_tr].reset_index(drop=True), n_twins, seed + 7)
    Xt, yt = enc.transform(twins[FEATURES]), twins[EVENT].to_numpy()
    st = knn_scores(Xt, yt, X[inner_va], K_GRID)
    sr = knn_scores(X[inner_tr], y[inner_tr], X[inner_va], K_GRID)
    k_t = max(K_GRID, key=lambda k: auroc(y[inner_va], st[k]))
    k_r = max(K_GRID, key=lambda k: auroc(y[inner_va], sr[k]))
    w = max(W_GRID, key=lambda w: auroc(y[inner_va], w * sr[k_r] + (1 - w) * st[k_t]))
    return k_t, k_r, w


def run(args) -> dict:
    df = load()
    y = df[EVENT].to_numpy()
    enc = MixedEncoder(**ROLES).fit(df[FEATURES])  # ranges/categories only, no labels
    X = enc.transform(df[FEATURES])
    gens = [g for g in args.generators.split(",") if g]
    methods = ["logistic (real)", "gradient boosting (real)", f"kNN real (k={args.k})", "kNN real (k tuned)"]
    for g in gens:
        methods += [f"kNN twins {g} (k={args.k})", f"kNN twins {g} (k tuned)",
                    f"blend kNN real+twins {g} (tuned)", f"logistic on twins {g}"]
        if g == "latent_class":
            methods += ["latent_class posterior (real fit)"]
    if args.syntwin in gens:
        methods += [f"SynTwin {k} ({args.syntwin} twins)" for k in DESIGNS]
    oof = {m: np.full((args.repeats, len(df)), np.nan) for m in methods}
    timing: dict[str, float] = {}
    fidelity: dict[str, dict] = {}
    chosen: dict[str, list] = {g: [] for g in gens}
    syntwin_info: list[dict] = []
    for rep in range(args.repeats):
        skf = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed + rep)
        for fold, (tr, te) in enumerate(skf.split(X, y)):
            seed = args.seed + 1000 * rep + fold
            train, test = df.iloc[tr].reset_index(drop=True), df.iloc[te]
            oof["logistic (real)"][rep, te] = baseline_logistic(train[FEATURES], y[tr], test[FEATURES], seed=seed)
            oof["gradient boosting (real)"][rep, te] = baseline_gradient_boosting(train[FEATURES], y[tr],
                                                                                  test[FEATURES], seed=seed)
            oof[f"kNN real (k={args.k})"][rep, te] = knn_scores(X[tr], y[tr], X[te], [args.k])[args.k]
            for g in gens:
                k_t, k_r, w = tune(g, df, X, y, tr, args.twins, enc, seed)
                chosen[g].append((k_t, k_r, w))
                t0 = time.perf_counter()
                gen, twins = twins_for(g, train, args.twins, seed)
                timing[g] = timing.get(g, 0.0) + time.perf_counter() - t0
                Xt, yt = enc.transform(twins[FEATURES]), twins[EVENT].to_numpy()
                st = knn_scores(Xt, yt, X[te], sorted({args.k, k_t}))
                sr = knn_scores(X[tr], y[tr], X[te], [k_r])[k_r]
                if g == gens[0]:  # the real kNN tuned on the same inner split and grid as the twins' k
                    oof["kNN real (k tuned)"][rep, te] = sr
                oof[f"kNN twins {g} (k={args.k})"][rep, te] = st[args.k]
                oof[f"kNN twins {g} (k tuned)"][rep, te] = st[k_t]
                oof[f"blend kNN real+twins {g} (tuned)"][rep, te] = w * sr + (1 - w) * st[k_t]
                oof[f"logistic on twins {g}"][rep, te] = baseline_logistic(twins[FEATURES], yt, test[FEATURES],
                                                                           seed=seed)
                if g == "latent_class":
                    oof["latent_class posterior (real fit)"][rep, te] = gen.event_proba(test[FEATURES])
                if g == args.syntwin:  # transductive, as in the paper: graph of the test patients
                    d_rr = cdist(X[te], X[te], "cityblock") / enc.scale_
                    d_rs = cdist(X[te], Xt, "cityblock") / enc.scale_
                    pred, info = syntwin_designs(d_rr, d_rs, y[te], yt, seed=seed)
                    for k in DESIGNS:
                        oof[f"SynTwin {k} ({g} twins)"][rep, te] = pred[k].to_numpy()
                    syntwin_info.append(info)
                if rep == 0 and fold == 0:
                    q = quality_score(train, twins.sample(len(train), random_state=0), time=TIME, event=EVENT,
                                      **ROLES)
                    km = km_sup_by_stratum(train, twins, time=TIME, event=EVENT, by="6th Stage", min_size=30)
                    fidelity[g] = {"quality": q["score"], "shapes": q["column_shapes"],
                                   "pair_trends": q["column_pair_trends"], "km_sup_all": km["all"],
                                   "km_sup_max_stage": km["max"]}
            print(f"repeat {rep} fold {fold} done; chosen (k_twins, k_real, w_real): "
                  + ", ".join(f"{g} {chosen[g][-1]}" for g in gens), flush=True)
    results = {}
    for m, P in oof.items():
        per_rep = [auroc_ci(y, P[r], n_boot=args.boot, seed=args.seed) for r in range(args.repeats)]
        bm = [binary_metrics(y, P[r]) for r in range(args.repeats)]
        results[m] = {
            "auroc": float(np.mean([r["auroc"] for r in per_rep])),
            "ci_low": float(np.mean([r["ci_low"] for r in per_rep])),
            "ci_high": float(np.mean([r["ci_high"] for r in per_rep])),
            "balanced_accuracy": float(np.mean([b["balanced_accuracy"] for b in bm])),
            "brier": float(np.mean([b["brier"] for b in bm])),
            "coverage": float(np.mean([b["coverage"] for b in bm])),
        }
    return {"results": results, "fidelity": fidelity, "fit_sample_seconds_total": timing,
            "chosen": {g: [list(map(float, c)) for c in v] for g, v in chosen.items()}, "syntwin": syntwin_info,
            "config": vars(args)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--twins", type=int, default=40000)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generators", default="latent_class,gaussian_copula")
    ap.add_argument("--syntwin", default="latent_class", help="generator whose twins feed SynTwin designs A-F")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = run(args)
    print(f"\nSEER breast (n=4,024), {args.repeats}x{args.folds}-fold CV, {args.twins} twins per fold, k={args.k}")
    print(f"{'method':42s} {'AUROC':>6s} {'95% CI':>15s} {'bal.acc':>7s} {'Brier':>6s} {'cover':>5s}")
    for m, r in out["results"].items():
        print(f"{m:42s} {r['auroc']:6.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] "
              f"{r['balanced_accuracy']:7.3f} {r['brier']:6.3f} {r['coverage']:5.2f}")
    for g, f in out["fidelity"].items():
        print(f"fidelity {g}: quality {f['quality']:.3f} (shapes {f['shapes']:.3f}, pairs {f['pair_trends']:.3f}),"
              f" KM sup all {f['km_sup_all']:.3f}, worst stage {f['km_sup_max_stage']:.3f}")
    for info in out["syntwin"]:
        print("SynTwin fold: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in info.items()))
    for g, s in out["fit_sample_seconds_total"].items():
        print(f"fit+sample {g}: {s:.1f} s total")
    print(f"wall {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
