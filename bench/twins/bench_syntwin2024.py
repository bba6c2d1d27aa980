"""SynTwin as published (Moore et al., PSB 2024), on the simulated SEER-like breast cohort: Table 2 beside the paper's.

Protocol of the paper: SEER breast, 87,674 patients balanced by vital status (dead/alive at last follow-up);
57,674 train the generator — one global mixture of product multinomials (K = 30) fitted by Gibbs sampling — and
30,000 are evaluated; 12 features (survival months excluded); all-pairs Gower among evaluated patients; edge
where d <= the percolation threshold (logistic fit to the cumulative pair count, tangent at its inflection
crossing zero); Louvain resolution scan 0–9 × 10 seeds (most communities >= 10 wins, mode of winners);
communities >= 10 kept; designs A–F leave-one-out among the evaluated patients (the paper's own design);
AUROC with an ordinary bootstrap on the patients of kept communities (coverage stated).

    timeout 3000 .venv/bin/python -W ignore bench/twins/bench_syntwin2024.py --evaluate 30000 --twins 57674
    timeout 1500 .venv/bin/python -W ignore bench/twins/bench_syntwin2024.py --evaluate 6000 --twins 20000

All-pairs matrices cost 8·n_eval·(n_eval + n_twins) bytes: 30,000 evaluated with 57,674 twins need ~21 GB,
beyond this shared machine; the command line sizes it down and the README says at which size it ran.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from syntwin.cohort import _sites as S
from syntwin.cohort.simulate import simulate_cohort
from syntwin.graphs.encode import MixedEncoder
from syntwin.synthesis.evaluate import auroc_ci
from syntwin.synthesis.syntwin2024 import (
    DESIGNS,
    fit_product_multinomial_gibbs,
    sample_product_multinomial,
    syntwin_designs,
)

PAPER = {"A": 0.791, "B": 0.784, "C": 0.783, "D": 0.864, "E": 0.852, "F": 0.494}
NUMERIC = ["age", "tumor_size_mm", "nodes_examined", "nodes_positive"]
ORDINAL = ["grade", "stage"]
CATEGORICAL = ["race", "marital_status", "summary_stage", "er_status", "pr_status", "her2_status"]
FEATURES = NUMERIC + ORDINAL + CATEGORICAL  # 12, as in the paper (our simulator's nearest equivalents)
BINS = 10  # numeric features are coded by deciles of the generator-training rows for the multinomial mixture


def balanced_cohort(n: int, seed: int) -> pd.DataFrame:
    """``n`` simulated breast patients, half dead and half alive at last follow-up (vital status)."""
    pool = simulate_cohort(int(n * 1.6), site="breast", seed=seed).data.compute().reset_index(drop=True)
    dead = (pool["vital_status"].astype(str) == "Dead").to_numpy()
    gen = np.random.default_rng(seed)
    half = min(n // 2, dead.sum(), (~dead).sum())
    if half < n // 2:
        pool = simulate_cohort(int(n * 1.6 * (n // 2) / half) + 1000, site="breast",
                               seed=seed).data.compute().reset_index(drop=True)
        dead = (pool["vital_status"].astype(str) == "Dead").to_numpy()
    rows = np.concatenate([gen.choice(np.flatnonzero(dead), n // 2, replace=False),
                           gen.choice(np.flatnonzero(~dead), n - n // 2, replace=False)])
    out = pool.iloc[np.sort(rows)].reset_index(drop=True)
    out["dead"] = (out["vital_status"].astype(str) == "Dead").astype(int)
    # nodes are counted only for operated patients: no count = 0 examined / 0 positive here
    out[["nodes_examined", "nodes_positive"]] = out[["nodes_examined", "nodes_positive"]].fillna(0.0)
    return out


def codes_of(df: pd.DataFrame, edges: dict, levels: dict) -> np.ndarray:
    cols = []
    for c in NUMERIC:  # dense decile codes: only deciles present in the training rows
        raw = np.searchsorted(edges[c], df[c].to_numpy(float), side="right")
        cols.append(np.searchsorted(levels[c], raw))
    for c in ORDINAL + CATEGORICAL + ["dead"]:
        cols.append(df[c].astype(str).map({v: i for i, v in enumerate(levels[c])}).to_numpy())
    return np.column_stack(cols).astype(np.int64)


def decode(codes: np.ndarray, train: pd.DataFrame, edges: dict, levels: dict, seed: int) -> pd.DataFrame:
    """Codes back to values: a numeric decile is drawn as a training value of that decile (uniform)."""
    gen = np.random.default_rng(seed)
    out = {}
    for j, c in enumerate(NUMERIC):
        code = np.searchsorted(levels[c], np.searchsorted(edges[c], train[c].to_numpy(float), side="right"))
        values = train[c].to_numpy(float)
        drawn = np.empty(len(codes))
        for b in np.unique(codes[:, j]):
            pool = values[code == b]
            at = codes[:, j] == b
            drawn[at] = gen.choice(pool, at.sum()) if len(pool) else np.nan
        out[c] = drawn
    for j, c in enumerate(ORDINAL + CATEGORICAL + ["dead"], start=len(NUMERIC)):
        out[c] = np.asarray(levels[c], dtype=object)[codes[:, j]]
    frame = pd.DataFrame(out)
    frame["dead"] = frame["dead"].astype(int)
    return frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=87_674)
    ap.add_argument("--evaluate", type=int, default=30_000)
    ap.add_argument("--twins", type=int, default=57_674)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = balanced_cohort(args.patients, args.seed)
    gen = np.random.default_rng(args.seed)
    is_eval = np.zeros(len(df), bool)
    is_eval[gen.choice(len(df), 30_000 if args.patients >= 87_674 else len(df) * 30 // 87, replace=False)] = True
    train, evaluation = df[~is_eval].reset_index(drop=True), df[is_eval].reset_index(drop=True)
    if args.evaluate < len(evaluation):
        evaluation = evaluation.sample(args.evaluate, random_state=args.seed).reset_index(drop=True)
    edges = {c: np.unique(np.quantile(train[c], np.linspace(0, 1, BINS + 1)[1:-1])) for c in NUMERIC}
    levels = {c: sorted(train[c].astype(str).unique()) for c in ORDINAL + CATEGORICAL + ["dead"]}
    levels.update({c: np.unique(np.searchsorted(edges[c], train[c].to_numpy(float), side="right")) for c in NUMERIC})
    model = fit_product_multinomial_gibbs(codes_of(train, edges, levels), k=30, iterations=args.iterations,
                                          burn_in=args.iterations // 2, seed=args.seed)
    t_fit = time.perf_counter() - t0
    twins = decode(sample_product_multinomial(model, args.twins, seed=args.seed + 1), train, edges, levels,
                   args.seed + 2)
    enc = MixedEncoder(numeric=NUMERIC, ordinal={"grade": list(S.GRADES), "stage": list(S.STAGES)},
                       categorical=CATEGORICAL).fit(train[FEATURES])
    xe = enc.transform(evaluation).astype(np.float64)
    xs = enc.transform(twins).astype(np.float64)
    d = cdist(xe, xe, "cityblock") / enc.scale_
    ds = cdist(xe, xs, "cityblock") / enc.scale_
    t1 = time.perf_counter()
    frame, info = syntwin_designs(d, ds, evaluation["dead"].to_numpy(), twins["dead"].to_numpy(),
                                  seed=args.seed)
    t_designs = time.perf_counter() - t1
    y = evaluation["dead"].to_numpy()
    rows = []
    for k in DESIGNS:
        s = frame[k].to_numpy()
        ok = np.isfinite(s)
        r = auroc_ci(y[ok], s[ok], seed=args.seed) if ok.sum() and len(np.unique(y[ok])) == 2 else {}
        rows.append({"design": k, "paper": PAPER[k], "auroc": r.get("auroc"), "ci_low": r.get("ci_low"),
                     "ci_high": r.get("ci_high"), "n": int(ok.sum()), "coverage": float(ok.mean())})
    result = {"patients": len(df), "generator_rows": len(train), "evaluated": len(evaluation),
              "twins": len(twins), "features": FEATURES,
              "info": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()},
              "seconds": {"cohort_and_gibbs": round(t_fit, 1), "designs": round(t_designs, 1),
                          "total": round(time.perf_counter() - t0, 1)},
              "table": rows}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
