"""The prediction stage: every method of ``prediction.methods`` scored on the same held-out real patients.

Tuning never looks at the held-out patients: a validation share of the *training* patients chooses
twin-kNN's ``k`` and real/synthetic mix, the ensemble's blend and the GNN's early stopping; the chosen
settings are then applied with all training patients as reference. Each method gets AUROC with a
bootstrap CI on the evaluable held-out patients (label known at the horizon) and, as a survival
score, Harrell's C-index and time-dependent AUC at 1/3/5 years on all held-out patients.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from syntwin.cohort import CohortSchema
from syntwin.graphs.knn import nearest
from syntwin.pipeline.context import RunContext
from syntwin.scenario.cohort import PredictionSection
from syntwin.seeding import int_seed, rng, stratified_mask
from syntwin.synthesis.evaluate import auroc, auroc_ci, baseline_gradient_boosting, baseline_logistic
from syntwin.synthesis.predict import mix_knn_proba, outcome_labels, rank_blend, tune_knn_mix
from syntwin.synthesis.survival import concordance_index, cumulative_dynamic_auc
from syntwin.synthesis.syntwin2024 import DESIGNS, syntwin_designs

KS = (10, 25, 50, 100, 200)  # twin-kNN k grid searched on the validation patients
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # share of real neighbours in the twin-kNN mix
BETAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))  # logistic share in the ensemble's rank blend
SURVIVAL_SAMPLE = 20_000  # held-out patients in the C-index (exact pairwise count)
SURVIVAL_HORIZONS = (12.0, 36.0, 60.0)
GNN_THREADS = 2  # fixed, so GNN bytes do not depend on the machine's core count
TRAINED_ON = {
    "logistic": "real",
    "gradient_boosting": "real",
    "real_knn": "real",
    "twin_knn": "synthetic",
    "logistic_twins": "synthetic",
    "twin_knn_mix": "real+synthetic",
    "twin_ensemble": "real+synthetic",
    "gnn": "real+synthetic",
}
DESIGN_TRAINED_ON = {
    "A": "real",
    "B": "synthetic",
    "C": "real+synthetic",
    "D": "synthetic",
    "E": "real+synthetic",
    "F": "real",
}


@contextmanager
def _timed(seconds: dict[str, float], *names: str) -> Iterator[None]:
    """Add the block's wall time to ``seconds[name]`` of each name (shared work counts for each)."""
    start = time.perf_counter()
    yield
    for name in names:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


def _labels(
    table: pd.DataFrame, schema: CohortSchema, horizon: float | None
) -> tuple[np.ndarray, np.ndarray]:
    return outcome_labels(table[schema.time].to_numpy(), table[schema.event].to_numpy(), horizon)


def _neighbours(ref_x: np.ndarray, ref_y: np.ndarray, query: np.ndarray, k: int, client: Any, seed: int):
    idx, dist = nearest(ref_x, query, min(k, len(ref_x)), client=client, seed=seed)
    return ref_y[idx], dist


def _survival(
    holdout: pd.DataFrame, train: pd.DataFrame, schema: CohortSchema, risk: np.ndarray, sample: np.ndarray
) -> dict[str, float]:
    t, e = holdout[schema.time].to_numpy(float), holdout[schema.event].to_numpy(int)
    ok = sample[np.isfinite(risk[sample])]
    td = cumulative_dynamic_auc(
        t[ok],
        e[ok],
        risk[ok],
        SURVIVAL_HORIZONS,
        censor_time=train[schema.time].to_numpy(float),
        censor_event=train[schema.event].to_numpy(int),
    )
    out = {"c_index": round(concordance_index(t[ok], e[ok], risk[ok]), 4)}
    out.update({f"td_auc_{int(h)}m": round(float(a), 4) for h, a in zip(SURVIVAL_HORIZONS, td, strict=True)})
    return out


def _gnn(
    p: PredictionSection,
    x_train,
    x_twins,
    x_hold,
    y_train,
    y_twins,
    inner,
    val,
    ev_twins,
    k: int,
    client: Any,
    seed: int,
) -> tuple[np.ndarray, dict]:
    """GraphSAGE trained on the graph of real training patients + twins, then run over it + the queries.

    Training is full batch on at most ``gnn_max_nodes`` labelled nodes (a seeded sample beyond it, at most a
    fifth of it validation patients); prediction is one inductive pass over the training graph
    extended by all held-out patients, so its cost stays linear in the cohort.
    """
    from syntwin.synthesis.gnn import GraphSAGEClassifier, knn_graph_union

    gen = rng(seed, "gnn", "subsample")
    keep_inner, keep_twins, keep_val = np.flatnonzero(inner), np.flatnonzero(ev_twins), np.flatnonzero(val)
    if len(keep_val) > p.gnn_max_nodes // 5:  # early stopping needs a fifth of the budget at most
        keep_val = np.sort(gen.choice(keep_val, p.gnn_max_nodes // 5, replace=False))
    budget = max(p.gnn_max_nodes - len(keep_val), 1_000)
    if len(keep_inner) + len(keep_twins) > budget:
        share = budget / (len(keep_inner) + len(keep_twins))
        keep_inner = np.sort(gen.choice(keep_inner, max(1, int(share * len(keep_inner))), replace=False))
        keep_twins = np.sort(gen.choice(keep_twins, max(1, int(share * len(keep_twins))), replace=False))
    keep_train = np.sort(np.concatenate([keep_inner, keep_val]))
    x_nodes = np.vstack([x_train[keep_train], x_twins[keep_twins]])
    n_tr, n_tw = len(keep_train), len(keep_twins)
    nbr, dist = knn_graph_union([x_nodes], k, client=client, seed=int_seed(seed, "gnn", "knn"))
    y = np.concatenate([y_train[keep_train], y_twins[keep_twins]])
    train_mask = np.concatenate([inner[keep_train], np.ones(n_tw, bool)])
    val_mask = np.concatenate([val[keep_train], np.zeros(n_tw, bool)])
    weight = np.concatenate([np.ones(n_tr), np.full(n_tw, p.gnn_twin_weight)])
    model = GraphSAGEClassifier(
        hidden=p.gnn_hidden, epochs=p.gnn_epochs, threads=GNN_THREADS, seed=int_seed(seed, "gnn")
    )
    model.fit(x_nodes, nbr, dist, y, train_mask=train_mask, val_mask=val_mask, sample_weight=weight)
    nbr, dist = knn_graph_union([x_nodes, x_hold], k, client=client, seed=int_seed(seed, "gnn", "knn"))
    proba = model.predict_proba(np.vstack([x_nodes, x_hold]), nbr, dist)[len(x_nodes) :]
    info = {
        "nodes": int(len(y)),
        "twin_nodes": n_tw,
        "epochs": len(model.history_["val_auroc"]),
        "best_epoch": int(model.best_epoch_),
        "val_auroc": round(float(model.val_auroc_), 4),
        "k": int(nbr.shape[1]),
    }
    return proba, info


def _syntwin_reference(
    p: PredictionSection,
    ctx: RunContext,
    x_hold,
    y_hold,
    ev_hold,
    x_twins,
    y_twins,
    ev_twins,
    scale: float,
    m: dict,
) -> None:
    """SynTwin's designs A–F on a sample of evaluable held-out patients (all-pairs Gower, as published)."""
    seed = ctx.seed
    pool = np.flatnonzero(ev_hold)
    sample = np.sort(
        rng(seed, "syntwin", "real").choice(pool, min(p.syntwin_sample, len(pool)), replace=False)
    )
    twins = np.flatnonzero(ev_twins)
    twins = np.sort(
        rng(seed, "syntwin", "twins").choice(twins, min(p.syntwin_twins, len(twins)), replace=False)
    )
    xr, xs = x_hold[sample].astype(np.float64), x_twins[twins].astype(np.float64)
    frame, info = syntwin_designs(
        cdist(xr, xr, "cityblock") / scale,
        cdist(xr, xs, "cityblock") / scale,
        y_hold[sample],
        y_twins[twins],
        seed=int_seed(seed, "syntwin", "louvain"),
    )
    m["syntwin_2024"] = {
        "patients": int(len(sample)),
        "twins": int(len(twins)),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()},
    }
    for d in DESIGNS:
        s = frame[d].to_numpy()
        ok = np.isfinite(s)
        entry: dict[str, Any] = {
            "coverage": round(float(ok.mean()), 4),
            "trained_on": DESIGN_TRAINED_ON[d],
            "n": int(ok.sum()),
        }
        if ok.sum() and len(np.unique(y_hold[sample][ok])) == 2:
            entry.update(
                auroc_ci(y_hold[sample][ok], s[ok], frac=0.9, seed=int_seed(seed, "boot", "syntwin", d))
            )
            entry["n"] = int(ok.sum())
        m[f"syntwin_2024_{d}"] = entry
    frame.insert(0, "holdout_row", sample)
    frame.insert(1, "label", y_hold[sample])
    frame.to_parquet(ctx.path("prediction/syntwin_2024.parquet"), index=False)
    ctx.record_output("syntwin_2024", "prediction/syntwin_2024.parquet")


def run_prediction(
    p: PredictionSection,
    ctx: RunContext,
    *,
    schema: CohortSchema,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    twins: pd.DataFrame,
    x_train: np.ndarray,
    x_hold: np.ndarray,
    x_twins: np.ndarray,
    graph_k: int,
    scale: float,
    m: dict,
) -> None:
    """Score every method on the held-out patients; figures into ``m``, scores into ``prediction/``."""
    seed, client, methods = ctx.seed, ctx.client, list(p.methods)
    y_tr, ev_tr = _labels(train, schema, p.horizon_months)
    y_ho, ev_ho = _labels(holdout, schema, p.horizon_months)
    y_tw, ev_tw = _labels(twins, schema, p.horizon_months)
    val = stratified_mask(np.where(ev_tr, y_tr, -1), p.validation, seed, "validation") & ev_tr
    inner = ev_tr & ~val
    feats = schema.features
    scores: dict[str, np.ndarray] = {}  # method -> score of every held-out patient
    tuned: dict[str, dict] = {}
    seconds: dict[str, float] = {}  # wall time per part of the stage
    ctx.step("methods", len(methods))
    scored: set[str] = set()

    def progressed() -> None:  # advance the methods bar by the methods scored since the last call
        new = (set(scores) & set(methods)) - scored
        scored.update(new)
        ctx.advance(len(new))

    kmax = max(max(KS), p.k)
    knn_methods = {"real_knn", "twin_knn", "twin_knn_mix", "twin_ensemble"} & set(methods)
    if knn_methods:
        kseed = int_seed(seed, "prediction", "knn")
        with _timed(seconds, "knn_search"):
            real_test = _neighbours(x_train[ev_tr], y_tr[ev_tr], x_hold, kmax, client, kseed)
            twin_test = _neighbours(x_twins[ev_tw], y_tw[ev_tw], x_hold, kmax, client, kseed)
        if "real_knn" in methods:
            scores["real_knn"] = mix_knn_proba(
                real_test, None, k=min(p.k, real_test[0].shape[1]), alpha=1.0, weighting=p.weighting
            )
            tuned["real_knn"] = {"k": min(p.k, real_test[0].shape[1])}
            progressed()
        if knn_methods - {"real_knn"}:
            with _timed(seconds, "knn_search"):
                real_val = _neighbours(x_train[inner], y_tr[inner], x_train[val], kmax, client, kseed)
                twin_val = _neighbours(x_twins[ev_tw], y_tw[ev_tw], x_train[val], kmax, client, kseed)
            with _timed(seconds, "knn_tuning"):
                ks = tuple(sorted(set(KS) | {p.k}))
                for name, real_pair, alphas in (
                    ("twin_knn", None, (0.0,)),
                    ("twin_knn_mix", real_val, ALPHAS),
                ):
                    choice = tune_knn_mix(
                        y_tr[val], real_pair, twin_val, ks=ks, alphas=alphas, weighting=p.weighting
                    )
                    tuned[name] = choice
                    scores[name] = mix_knn_proba(
                        real_test if real_pair is not None else None,
                        twin_test,
                        k=choice["k"],
                        alpha=choice["alpha"],
                        weighting=p.weighting,
                    )
                    progressed()

    lseed = int_seed(seed, "logistic")
    if {"logistic", "twin_ensemble"} & set(methods):
        with _timed(seconds, "logistic"):
            scores["logistic"] = baseline_logistic(
                train.loc[ev_tr, feats], y_tr[ev_tr], holdout[feats], seed=lseed
            )
            progressed()
    if "gradient_boosting" in methods:
        with _timed(seconds, "gradient_boosting"):
            scores["gradient_boosting"] = baseline_gradient_boosting(
                train.loc[ev_tr, feats], y_tr[ev_tr], holdout[feats], seed=int_seed(seed, "gbm")
            )
            progressed()
    if "logistic_twins" in methods:
        with _timed(seconds, "logistic_twins"):
            scores["logistic_twins"] = baseline_logistic(
                twins.loc[ev_tw, feats], y_tw[ev_tw], holdout[feats], seed=lseed
            )
            progressed()
    if "twin_ensemble" in methods:
        with _timed(seconds, "twin_ensemble"):
            # the blend weight is chosen on the validation patients with a logistic fit on the others
            val_logistic = baseline_logistic(
                train.loc[inner, feats], y_tr[inner], train.loc[val, feats], seed=lseed
            )
            mix = tuned["twin_knn_mix"]
            val_mix = mix_knn_proba(real_val, twin_val, k=mix["k"], alpha=mix["alpha"], weighting=p.weighting)
            fits = [(auroc(y_tr[val], rank_blend(val_logistic, val_mix, b)), -b, b) for b in BETAS]
            best = max(fits)
            tuned["twin_ensemble"] = {
                "logistic_share": float(best[2]),
                "val_auroc": round(float(best[0]), 4),
                "k": mix["k"],
                "alpha": mix["alpha"],
            }
            scores["twin_ensemble"] = rank_blend(scores["logistic"], scores["twin_knn_mix"], best[2])
            progressed()
    if "gnn" in methods:
        with _timed(seconds, "gnn"):
            scores["gnn"], tuned["gnn"] = _gnn(
                p, x_train, x_twins, x_hold, y_tr, y_tw, inner, val, ev_tw, graph_k, client, seed
            )
            progressed()

    survival_rows = np.sort(
        rng(seed, "survival").choice(len(holdout), min(SURVIVAL_SAMPLE, len(holdout)), replace=False)
    )
    with _timed(seconds, "evaluation"):
        for name in [n for n in TRAINED_ON if n in scores and n in methods]:
            s = scores[name]
            entry = auroc_ci(y_ho[ev_ho], s[ev_ho], seed=int_seed(seed, "boot", name))
            entry.update(coverage=round(float(np.isfinite(s[ev_ho]).mean()), 4), trained_on=TRAINED_ON[name])
            entry.update(
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in tuned.get(name, {}).items()}
            )
            entry.update(_survival(holdout, train, schema, s, survival_rows))
            m[name] = entry
    if "syntwin_2024" in methods:
        with _timed(seconds, "syntwin_2024"):
            _syntwin_reference(p, ctx, x_hold, y_ho, ev_ho, x_twins, y_tw, ev_tw, scale, m)
        ctx.advance()
    m.update(
        evaluated=int(ev_ho.sum()),
        horizon_months=p.horizon_months,
        validation=int(val.sum()),
        survival_evaluated=int(len(survival_rows)),
        seconds_by_part={k: round(v, 2) for k, v in seconds.items()},
    )
    table = pd.DataFrame(
        {
            "holdout_row": np.flatnonzero(ev_ho),
            "label": y_ho[ev_ho],
            **{n: s[ev_ho] for n, s in scores.items() if n in methods},
        }
    )
    table.to_parquet(ctx.path("prediction/scores.parquet"), index=False)
    ctx.record_output("predictions", "prediction/scores.parquet")


__all__ = ["run_prediction"]
