"""SynTwin as published (Moore et al., PSB 2024), on the simulated SEER-like breast cohort: Table 2 beside the paper's.

Protocol of the paper: SEER breast, 87,674 patients balanced by vital status (dead/alive at last follow-up);
57,674 train the generator — one global mixture of product multinomials (K = 30) fitted by Gibbs sampling — and
30,000 are evaluated; 12 features (survival months excluded); all-pairs Gower among evaluated patients; edge
where d <= the percolation threshold (logistic fit to the cumulative pair count, tangent at its inflection
crossing zero); Louvain resolution scan 0–9 × 10 seeds (most communities >= 10 wins, mode of winners);
communities >= 10 kept; designs A–F leave-one-out among the evaluated patients (the paper's own design);
AUROC with an ordinary bootstrap on the patients of kept communities (coverage stated).

Distances are Gower over the label-encoded features, as in their step4a (numeric features coded by training
deciles, ordered like grade and stage: ``|a − b| / range``; the rest categorical), so twins are the mixture's
codes themselves. They are streamed in row blocks (``syntwin.synthesis.allpairs.GowerCodes``): pair counts and
the edges at or below the threshold, never an n × n matrix.

    flock /work/wt/heavy.lock timeout 1200 .venv/bin/python -W ignore bench/twins/bench_syntwin2024.py \
        --evaluate 30000 --twins 57674 --resolutions 3 --scan-seeds 3 --checkpoint /tmp/ck30k --json r30k.json

(11.7 min, 10 GiB at 30,000 with one resolution; their full scan, 0–9 × 10 seeds, is ~100 Louvain runs of ~3 min
there: run it with ``--checkpoint`` over several lock holds, each resuming where the last stopped.)
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

from syntwin.cohort import _sites as S
from syntwin.cohort.simulate import simulate_cohort
from syntwin.synthesis.allpairs import GowerCodes
from syntwin.synthesis.evaluate import auroc_ci
from syntwin.synthesis.syntwin2024 import (
    DESIGNS,
    fit_product_multinomial_gibbs,
    sample_product_multinomial,
    syntwin_designs_from,
)

PAPER = {"A": 0.791, "B": 0.784, "C": 0.783, "D": 0.864, "E": 0.852, "F": 0.494}
NUMERIC = ["age", "tumor_size_mm", "nodes_examined", "nodes_positive"]
ORDINAL = ["grade", "stage"]
CATEGORICAL = ["race", "marital_status", "summary_stage", "er_status", "pr_status", "her2_status"]
FEATURES = NUMERIC + ORDINAL + CATEGORICAL  # 12, as in the paper (our simulator's nearest equivalents)
BINS = 10  # numeric features are coded by deciles of the generator-training rows (mixture and Gower)
ORDER = {"grade": list(S.GRADES), "stage": list(S.STAGES)}


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


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=87_674)
    ap.add_argument("--evaluate", type=int, default=30_000)
    ap.add_argument("--twins", type=int, default=57_674)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", default=None)
    ap.add_argument("--workers", type=int, default=0, help="Dask LocalCluster workers for the scan (0: none)")
    ap.add_argument("--checkpoint", default=None, help="folder keeping each Louvain run: a stopped run resumes")
    ap.add_argument("--resolutions", default=None, help="comma list instead of their 0..9 (a named deviation)")
    ap.add_argument("--scan-seeds", type=int, default=10, help="Louvain seeds of the scan (theirs: 10)")
    args = ap.parse_args()
    client = None
    if args.workers:
        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                     memory_limit=0, dashboard_address=None))
    scan = {"seeds": args.scan_seeds}
    if args.resolutions:
        scan["resolutions"] = [float(r) for r in args.resolutions.split(",")]
    t0 = time.perf_counter()
    df = balanced_cohort(args.patients, args.seed)
    gen = np.random.default_rng(args.seed)
    is_eval = np.zeros(len(df), bool)
    is_eval[gen.choice(len(df), 30_000 if args.patients >= 87_674 else len(df) * 30 // 87, replace=False)] = True
    train, evaluation = df[~is_eval].reset_index(drop=True), df[is_eval].reset_index(drop=True)
    if args.evaluate < len(evaluation):
        evaluation = evaluation.sample(args.evaluate, random_state=args.seed).reset_index(drop=True)
    edges = {c: np.unique(np.quantile(train[c], np.linspace(0, 1, BINS + 1)[1:-1])) for c in NUMERIC}
    levels = {c: sorted(train[c].astype(str).unique()) for c in CATEGORICAL + ["dead"]}
    levels.update({c: [v for v in ORDER[c] if v in set(train[c].astype(str))] for c in ORDINAL})
    levels.update({c: np.unique(np.searchsorted(edges[c], train[c].to_numpy(float), side="right")) for c in NUMERIC})
    model = fit_product_multinomial_gibbs(codes_of(train, edges, levels), k=30, iterations=args.iterations,
                                          burn_in=args.iterations // 2, seed=args.seed)
    t_fit = time.perf_counter() - t0
    twins = sample_product_multinomial(model, args.twins, seed=args.seed + 1)
    x_eval = codes_of(evaluation, edges, levels)
    n_levels = [len(levels[c]) for c in FEATURES]
    source = GowerCodes(x_eval[:, :-1], twins[:, :-1], ordered=[c not in CATEGORICAL for c in FEATURES],
                        levels=n_levels)
    y_twins = np.asarray(levels["dead"], dtype=object)[twins[:, -1]].astype(int)
    t1 = time.perf_counter()
    frame, info = syntwin_designs_from(source, evaluation["dead"].to_numpy(), y_twins, seed=args.seed,
                                       client=client, checkpoint=args.checkpoint, **scan)
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
              "twins": len(twins), "features": FEATURES, "scan": {**scan, "workers": args.workers}, "distance": "Gower over codes (deciles, ordered, categorical)",
              "info": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()},
              "seconds": {"cohort_and_gibbs": round(t_fit, 1), "designs": round(t_designs, 1),
                          "total": round(time.perf_counter() - t0, 1)},
              "peak_rss_gib": round(peak_rss_gib(), 2),
              "table": rows}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
