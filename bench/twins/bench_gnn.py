"""GraphSAGE outcome prediction on the real SEER breast subset, next to logistic regression, same folds.

Folds as bench_twins.py: StratifiedKFold(folds, shuffle=True, random_state=seed + repeat). Per fold:
  * logistic regression on the real training fold (bench_twins' baseline);
  * GNN: nodes = real training patients + the test fold (unlabelled queries) [+ ``--twins`` latent_class
    twins fitted on the inner-training rows only]; kNN graph (Gower = L1 on MixedEncoder vectors, ``--k``)
    over all nodes; trained on an inner 80% of the training fold (+ twins, loss weight ``--twin-weight``),
    early-stopped on the other 20% (validation AUROC). The test fold's labels are never used.
Prints AUROC per fold, the mean over folds and the pooled out-of-fold AUROC per repeat.

Usage:
    .venv/bin/python bench/twins/bench_gnn.py [--folds 5] [--repeats 2] [--k 15] [--twins 10000]
        [--hidden 64] [--lr 0.01] [--dropout 0.2] [--twin-weight 0.5] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_twins import EVENT, FEATURES, ROLES, TIME, load  # noqa: E402

from syntwin.graphs.encode import MixedEncoder  # noqa: E402
from syntwin.synthesis import (  # noqa: E402
    GraphSAGEClassifier,
    auroc,
    baseline_logistic,
    knn_graph_union,
    make_generator,
)


def gnn_fold(X, y, tr, te, args, seed, twins_X=None, twins_y=None
             ) -> tuple[np.ndarray, int, float]:
    """GNN probabilities of the test fold ``te`` (graph: training fold, [twins], test fold)."""
    inner_tr, inner_va = train_test_split(np.arange(len(tr)), test_size=0.2, stratify=y[tr],
                                          random_state=seed)
    blocks, labels = [X[tr]], [y[tr]]
    if twins_X is not None:
        blocks.append(twins_X)
        labels.append(twins_y)
    blocks.append(X[te])
    labels.append(np.full(len(te), -1))
    n = sum(len(b) for b in blocks)
    nb, d = knn_graph_union(blocks, args.k, seed=seed)
    train = np.zeros(n, dtype=bool)
    val = np.zeros(n, dtype=bool)
    train[inner_tr] = True
    val[inner_va] = True
    weight = np.ones(n)
    if twins_X is not None:
        train[len(tr):len(tr) + len(twins_X)] = True
        weight[len(tr):len(tr) + len(twins_X)] = args.twin_weight
    model = GraphSAGEClassifier(hidden=args.hidden, epochs=args.epochs, patience=args.patience, lr=args.lr,
                                dropout=args.dropout, threads=args.threads, seed=seed)
    model.fit(np.vstack(blocks), nb, d, np.concatenate(labels), train_mask=train, val_mask=val,
              sample_weight=weight)
    return model.predict_proba()[-len(te):], model.best_epoch_, model.val_auroc_


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--patience", type=int, default=20)
    ap.add_argument("--twins", type=int, default=10000, help="latent_class twins per fold (0: none)")
    ap.add_argument("--twin-weight", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = load()
    y = df[EVENT].to_numpy()
    enc = MixedEncoder(**ROLES).fit(df[FEATURES])  # ranges/categories only, no labels
    X = enc.transform(df[FEATURES]).astype(np.float32)
    methods = ["logistic (real)", f"GNN real+query (k={args.k})"]
    if args.twins:
        methods.append(f"GNN real+{args.twins} twins+query")
    per_fold = {m: [] for m in methods}
    oof = {m: np.full((args.repeats, len(df)), np.nan) for m in methods}
    for rep in range(args.repeats):
        skf = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed + rep)
        for fold, (tr, te) in enumerate(skf.split(X, y)):
            seed = args.seed + 1000 * rep + fold
            train = df.iloc[tr].reset_index(drop=True)
            pred = {methods[0]: baseline_logistic(train[FEATURES], y[tr], df.iloc[te][FEATURES], seed=seed)}
            pred[methods[1]], ep, va = gnn_fold(X, y, tr, te, args, seed)
            info = f"best epoch {ep}, val {va:.3f}"
            if args.twins:
                inner_tr, _ = train_test_split(np.arange(len(tr)), test_size=0.2, stratify=y[tr],
                                               random_state=seed)  # the same inner split as gnn_fold
                gen = make_generator("latent_class").fit(train.iloc[inner_tr], seed=seed, time=TIME,
                                                         event=EVENT, **ROLES)
                twins = gen.sample(args.twins, seed=seed)
                pred[methods[2]], ep, va = gnn_fold(X, y, tr, te, args, seed, enc.transform(twins[FEATURES]),
                                                    twins[EVENT].to_numpy())
                info += f"; with twins: best epoch {ep}, val {va:.3f}"
            for m, p in pred.items():
                oof[m][rep, te] = p
                per_fold[m].append(auroc(y[te], p))
            print(f"repeat {rep} fold {fold}: " + ", ".join(f"{m} {per_fold[m][-1]:.3f}" for m in methods)
                  + f" ({info}; {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nSEER breast (n={len(df)}), {args.repeats}x{args.folds}-fold CV; "
          "AUROC per fold | mean (sd) over folds | pooled out-of-fold")
    for m in methods:
        a = np.array(per_fold[m])
        pooled = np.mean([auroc(y, oof[m][r]) for r in range(args.repeats)])
        print(f"{m:34s} " + " ".join(f"{v:.3f}" for v in a) + f" | mean {a.mean():.3f} ({a.std(ddof=1):.3f})"
              f" | pooled {pooled:.3f}")
    print(f"wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
