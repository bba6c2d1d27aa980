"""The prediction stage: every method of ``prediction.methods`` scored on the same held-out real patients.

Protocol (:data:`PROTOCOL`, recorded in the manifest): the cohort is split train / held-out before anything is
fitted, and the training patients into *inner* and *validation* rows (:func:`validation_mask`). Every setting
is tuned on the validation rows with models fitted on the inner rows only — twin methods with *tuning twins*
from a generator fitted on the inner rows only — over the same grids for every method (kNN ``k``
:data:`KS` for real, twin and mixed kNN; logistic ``C``; a small boosting grid). The final models are refitted on
all training rows with the chosen settings (twin methods on the final twins, generated from the training rows);
the GNN is cross-fitted (trained on inner rows + tuning twins, not refitted). Held-out labels reach nothing.

Each method gets AUROC with an ordinary bootstrap CI on the evaluable held-out patients (label known at the
horizon), a paired bootstrap interval of its difference from the best real-data baseline (methods are ranked
only where it excludes 0), and, as a survival score, Harrell's C-index (lifelines) and time-dependent AUC at
1/3/5 years (scikit-survival) on all held-out patients.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from syntwin.cohort import CohortSchema
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.knn_votes import attached_scores, neighbour_labels, neighbour_votes
from syntwin.scenario.cohort import PredictionSection
from syntwin.seeding import int_seed, rng, stratified_mask
from syntwin.synthesis.evaluate import (
    FittedBaseline,
    auroc,
    auroc_ci,
    baseline_gradient_boosting,
    baseline_logistic,
    fit_gradient_boosting,
    fit_logistic,
    paired_auroc_difference,
)
from syntwin.synthesis.predict import blend_proba, mix_knn_proba, outcome_labels, rank_blend, tune_knn_mix
from syntwin.synthesis.survival import concordance_index, cumulative_dynamic_auc
from syntwin.synthesis.syntwin2024 import DESIGNS, syntwin_designs

PROTOCOL = (
    "split train/held-out first; settings tuned on validation rows with models (and the generator of the "
    "tuning twins) fitted on the inner training rows only; final models refit on train = inner + validation "
    "(twin methods on twins generated from train); GNN cross-fitted on inner rows + tuning twins; encoder and "
    "graph fitted on training rows only (features, no labels); held-out labels reach nothing"
)
KS = (5, 10, 25, 50, 100, 200, 400)  # the k grid of every kNN method (real, twin, mix), tuned on validation
LOGISTIC_CS = (0.01, 0.1, 1.0, 10.0)  # L2 logistic C grid (validated)
GBM_GRID = (  # small validated search for histogram gradient boosting
    {"learning_rate": 0.05, "max_leaf_nodes": 15, "max_iter": 200},
    {"learning_rate": 0.05, "max_leaf_nodes": 31, "max_iter": 300},
    {"learning_rate": 0.1, "max_leaf_nodes": 63, "max_iter": 200},
)
REAL_BASELINES = ("logistic", "gradient_boosting", "real_knn")
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # share of real neighbours in the twin-kNN mix
BETAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))  # logistic share in the ensemble's rank blend
SURVIVAL_SAMPLE = 20_000  # held-out patients in the C-index (exact pairwise count)
SURVIVAL_HORIZONS = (12.0, 36.0, 60.0)
GNN_THREADS = 1  # fixed, so GNN bytes do not depend on the core count; with 2, a loaded 2-core machine ran it 3-4x slower
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


def validation_mask(train: pd.DataFrame, schema: CohortSchema, p: PredictionSection, seed: int) -> np.ndarray:
    """The validation rows of the training patients (evaluable, stratified by label, seeded).

    Computed before synthesis so that the tuning twins' generator can be fitted on the other (inner) rows.
    """
    y, ev = _labels(train, schema, p.horizon_months)
    return stratified_mask(np.where(ev, y, -1), p.validation, seed, "validation") & ev


def training_sample(train: pd.DataFrame, schema: CohortSchema, p: PredictionSection, seed: int) -> np.ndarray:
    """Rows of ``train`` the methods fit on: all of them up to ``p.max_train_rows``, beyond it a seeded sample of
    that many, stratified by the horizon label (non-evaluable patients a stratum of their own)."""
    n = len(train)
    if p.max_train_rows is None or n <= p.max_train_rows:
        return np.arange(n)
    y, ev = _labels(train, schema, p.horizon_months)
    return np.flatnonzero(stratified_mask(np.where(ev, y, -1), p.max_train_rows / n, seed, "prediction", "sample"))


def twin_sample(n_twins: int, n_train: int, n_sampled: int, seed: int) -> np.ndarray:
    """Rows of the twins the methods use beside ``n_sampled`` of ``n_train`` training patients: the same share,
    a seeded uniform sample (all of them when nothing was sampled)."""
    if n_sampled >= n_train:
        return np.arange(n_twins)
    size = max(1, int(round(n_twins * n_sampled / n_train)))
    return np.sort(rng(seed, "prediction", "twins").choice(n_twins, size, replace=False))


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


def _grid_search(fit_predict, grid: list[dict], fit_on: tuple, val_X: pd.DataFrame, y_val: np.ndarray) -> dict:
    """Validation AUROC of each setting (model fitted on ``fit_on``); the best (first on ties) and its score."""
    scored = [(auroc(y_val, fit_predict(*fit_on, val_X, **g)), -i) for i, g in enumerate(grid)]
    score, neg_i = max(scored)
    return {**grid[-neg_i], "val_auroc": float(score)}


def _trained_on(name: str, tuned: dict, twin_weight: float) -> str:
    """What a method's predictions really rest on, after tuning (a mix that chose real share 1 used no twin)."""
    t = tuned.get(name, {})
    if name == "twin_knn_mix":
        return {1.0: "real", 0.0: "synthetic"}.get(float(t["alpha"]), "real+synthetic")
    if name == "twin_ensemble":
        share, alpha = float(t["logistic_share"]), float(t["alpha"])
        if share == 1.0 or alpha == 1.0:
            return "real"
        return "synthetic" if share == 0.0 and alpha == 0.0 else "real+synthetic"
    if name == "gnn" and twin_weight == 0.0:
        return "real"
    return TRAINED_ON[name]


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
    """GraphSAGE trained on the graph of inner training patients + tuning twins, early-stopped on validation.

    Training is full batch on at most ``gnn_max_nodes`` labelled nodes (a seeded sample beyond it, at most a
    fifth of it validation patients). Every held-out patient is then scored inductively through its ``k``
    nearest training-graph nodes (:func:`~syntwin.pipeline.knn_votes.attached_scores`): no edge back and none
    between held-out patients, so a score does not depend on who else is held out, and the blocks are scored
    on the workers (cost linear in the held-out patients, client memory one float a patient).
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
    proba = attached_scores(model.attached_scorer(), x_nodes, x_hold, k, client=client,
                            seed=int_seed(seed, "gnn", "attach"))
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
    x_train,
    y_train,
    ev_train,
    x_twins,
    y_twins,
    ev_twins,
    scale: float,
    m: dict,
) -> tuple[np.ndarray, pd.DataFrame]:
    """SynTwin's designs A–F for a sample of held-out patients (all-pairs Gower, as published).

    The graph holds the held-out sample (queries, labels never read) beside as many labelled training patients
    (reference): A/C/E/F draw on the training patients' labels, B/D on the twins'.
    """
    seed = ctx.seed
    # drawn from all held-out rows: which held-out patients are scored must not depend on their outcome
    n_hold = len(x_hold)
    sample = np.sort(rng(seed, "syntwin", "real").choice(n_hold, min(p.syntwin_sample, n_hold), replace=False))
    ref_pool = np.flatnonzero(ev_train)
    ref = np.sort(rng(seed, "syntwin", "reference").choice(ref_pool, min(p.syntwin_sample, len(ref_pool)),
                                                            replace=False))
    twins = np.flatnonzero(ev_twins)
    twins = np.sort(rng(seed, "syntwin", "twins").choice(twins, min(p.syntwin_twins, len(twins)), replace=False))
    xr = np.vstack([x_hold[sample], x_train[ref]]).astype(np.float64)
    xs = x_twins[twins].astype(np.float64)
    y_graph = np.concatenate([np.full(len(sample), np.nan), y_train[ref].astype(np.float64)])
    is_query = np.arange(len(xr)) < len(sample)
    frame, info = syntwin_designs(
        cdist(xr, xr, "cityblock") / scale,
        cdist(xr, xs, "cityblock") / scale,
        y_graph,
        y_twins[twins],
        is_query=is_query,
        seed=int_seed(seed, "syntwin", "louvain"),
        client=ctx.client,
    )
    info.pop("seconds")  # wall times: not part of the run's reproducible figures
    m["syntwin_2024"] = {
        "patients": int(len(sample)),
        "reference_patients": int(len(ref)),
        "twins": int(len(twins)),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()},
    }
    frame = frame[is_query].reset_index(drop=True)
    frame.insert(0, "holdout_row", sample)
    frame.to_parquet(ctx.path("prediction/syntwin_2024.parquet"), index=False)
    ctx.record_output("syntwin_2024", "prediction/syntwin_2024.parquet")
    return sample, frame


def _entry(y: np.ndarray, s: np.ndarray, best: np.ndarray | None, name: str, seed: int) -> dict[str, Any]:
    """AUROC with its bootstrap CI, coverage, and the paired difference from the best real baseline."""
    entry: dict[str, Any] = {"coverage": round(float(np.isfinite(s).mean()), 4)}
    ok = np.isfinite(s)
    if ok.sum() and len(np.unique(y[ok])) == 2:
        entry.update(auroc_ci(y[ok], s[ok], seed=int_seed(seed, "boot", name)))
        if best is not None:
            diff = paired_auroc_difference(y, s, best, seed=int_seed(seed, "paired", name))
            verdict = "better" if diff["ci_low"] > 0 else "worse" if diff["ci_high"] < 0 else "no difference"
            entry["vs_best_real"] = {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in diff.items()},
                                     "verdict": verdict}
    return entry


def run_prediction(
    p: PredictionSection,
    ctx: RunContext,
    *,
    schema: CohortSchema,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    twins: pd.DataFrame,
    tuning_twins: pd.DataFrame,
    x_train: np.ndarray,
    x_hold: np.ndarray,
    x_twins: np.ndarray,
    x_tuning_twins: np.ndarray,
    graph_k: int,
    scale: float,
    m: dict,
    score_holdout: Callable[[FittedBaseline], np.ndarray] | None = None,
) -> None:
    """Score every method on the held-out patients; figures into ``m``, scores into ``prediction/``.

    ``twins`` come from a generator fitted on all training rows, ``tuning_twins`` from one fitted on the inner
    rows only (``~validation_mask(...)``): the latter alone are used to tune settings on the validation rows.
    ``score_holdout(model)`` gives a fitted logistic / boosting model's P(y = 1) of every held-out patient
    (e.g. per part on the workers, :func:`~syntwin.pipeline.prediction_rows.holdout_scorer`); by default
    ``model.predict(holdout[features])``, and ``holdout`` then needs only its outcome columns besides.
    """
    seed, client, methods = ctx.seed, ctx.client, list(p.methods)
    y_tr, ev_tr = _labels(train, schema, p.horizon_months)
    y_ho, ev_ho = _labels(holdout, schema, p.horizon_months)
    y_tw, ev_tw = _labels(twins, schema, p.horizon_months)
    y_tt, ev_tt = _labels(tuning_twins, schema, p.horizon_months)
    val = validation_mask(train, schema, p, seed)
    inner = ev_tr & ~val
    feats = schema.features
    if score_holdout is None:
        def score_holdout(model: FittedBaseline) -> np.ndarray:
            return model.predict(holdout[feats])
    scores: dict[str, np.ndarray] = {}  # method -> score of every held-out patient
    tuned: dict[str, dict] = {}
    seconds: dict[str, float] = {}  # wall time per part of the stage
    ctx.step("methods", len(methods))
    scored: set[str] = set()

    def progressed() -> None:  # advance the methods bar by the methods scored since the last call
        new = (set(scores) & set(methods)) - scored
        scored.update(new)
        ctx.advance(len(new))

    ks = tuple(sorted(set(KS) | {p.k}))
    kmax = max(ks)
    knn_methods = {"real_knn", "twin_knn", "twin_knn_mix", "twin_ensemble"} & set(methods)
    if knn_methods:
        kseed = int_seed(seed, "prediction", "knn")
        with _timed(seconds, "knn_search"):
            real_val = neighbour_labels(x_train[inner], y_tr[inner], x_train[val], kmax, client, kseed)
            twin_val = neighbour_labels(x_tuning_twins[ev_tt], y_tt[ev_tt], x_train[val], kmax, client, kseed)
        knn_tuned = []
        with _timed(seconds, "knn_tuning"):
            for name, real_pair, twin_pair, alphas in (
                ("real_knn", real_val, None, (1.0,)),
                ("twin_knn", None, twin_val, (0.0,)),
                ("twin_knn_mix", real_val, twin_val, ALPHAS),
            ):
                if name not in methods and not (name == "twin_knn_mix" and "twin_ensemble" in methods):
                    continue
                choice = tune_knn_mix(y_tr[val], real_pair, twin_pair, ks=ks, alphas=alphas, weighting=p.weighting)
                choice["k_at_grid_edge"] = bool(choice["k"] == min(kmax, int(ev_tr.sum())))
                tuned[name] = choice
                knn_tuned.append(name)
        # the held-out patients' votes at the chosen k only, each search as deep as its largest chosen k
        # (its nprobe calibrated for that depth): the validation grid's depth kmax is not needed any more
        need = {"real": [tuned[n]["k"] for n in knn_tuned if tuned[n]["alpha"] > 0.0],
                "twins": [tuned[n]["k"] for n in knn_tuned if tuned[n]["alpha"] < 1.0]}
        with _timed(seconds, "knn_search"):
            votes = {
                "real": neighbour_votes(x_train[ev_tr], y_tr[ev_tr], x_hold, max(need["real"], default=1),
                                        need["real"], weighting=p.weighting, client=client, seed=kseed),
                "twins": neighbour_votes(x_twins[ev_tw], y_tw[ev_tw], x_hold, max(need["twins"], default=1),
                                         need["twins"], weighting=p.weighting, client=client, seed=kseed),
            }
        for name in knn_tuned:
            k, alpha = tuned[name]["k"], tuned[name]["alpha"]
            scores[name] = blend_proba(votes["real"].get(k), votes["twins"].get(k), alpha)
            progressed()

    lseed = int_seed(seed, "logistic")
    log_grid = [{"C": c} for c in LOGISTIC_CS]

    def logistic(X, y, test, *, C):
        return baseline_logistic(X, y, test, seed=lseed, C=C)

    def boosting(X, y, test, **g):
        return baseline_gradient_boosting(X, y, test, seed=int_seed(seed, "gbm"), **g)

    val_X = train.loc[val, feats]
    if {"logistic", "twin_ensemble"} & set(methods):
        with _timed(seconds, "logistic"):
            tuned["logistic"] = _grid_search(logistic, log_grid, (train.loc[inner, feats], y_tr[inner]), val_X,
                                             y_tr[val])
            scores["logistic"] = score_holdout(fit_logistic(train.loc[ev_tr, feats], y_tr[ev_tr], lseed,
                                                            C=tuned["logistic"]["C"]))
            progressed()
    if "gradient_boosting" in methods:
        with _timed(seconds, "gradient_boosting"):
            choice = _grid_search(boosting, list(GBM_GRID), (train.loc[inner, feats], y_tr[inner]), val_X,
                                  y_tr[val])
            tuned["gradient_boosting"] = choice
            scores["gradient_boosting"] = score_holdout(fit_gradient_boosting(
                train.loc[ev_tr, feats], y_tr[ev_tr], int_seed(seed, "gbm"),
                **{k: v for k, v in choice.items() if k != "val_auroc"},
            ))
            progressed()
    if "logistic_twins" in methods:
        with _timed(seconds, "logistic_twins"):
            tuned["logistic_twins"] = _grid_search(
                logistic, log_grid, (tuning_twins.loc[ev_tt, feats], y_tt[ev_tt]), val_X, y_tr[val]
            )
            scores["logistic_twins"] = score_holdout(fit_logistic(twins.loc[ev_tw, feats], y_tw[ev_tw], lseed,
                                                                  C=tuned["logistic_twins"]["C"]))
            progressed()
    if "twin_ensemble" in methods:
        with _timed(seconds, "twin_ensemble"):
            # the blend weight is chosen on the validation patients with a logistic fit on the inner rows
            val_logistic = logistic(train.loc[inner, feats], y_tr[inner], val_X, C=tuned["logistic"]["C"])
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
                p, x_train, x_tuning_twins, x_hold, y_tr, y_tt, inner, val, ev_tt, graph_k, client, seed
            )
            progressed()

    survival_rows = np.sort(
        rng(seed, "survival").choice(len(holdout), min(SURVIVAL_SAMPLE, len(holdout)), replace=False)
    )
    scored = [n for n in TRAINED_ON if n in scores and n in methods]
    y_ev = y_ho[ev_ho]
    real_scored = [n for n in REAL_BASELINES if n in scored]
    best_real = max(real_scored, key=lambda n: auroc(y_ev, scores[n][ev_ho])) if real_scored else None
    with _timed(seconds, "evaluation"):
        for name in scored:
            s = scores[name]
            reference = None if best_real in (None, name) else scores[best_real][ev_ho]
            entry = _entry(y_ev, s[ev_ho], reference, name, seed)
            entry["trained_on"] = _trained_on(name, tuned, p.gnn_twin_weight)
            entry.update(
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in tuned.get(name, {}).items()}
            )
            entry.update(_survival(holdout, train, schema, s, survival_rows))
            m[name] = entry
    syntwin = None
    if "syntwin_2024" in methods:
        with _timed(seconds, "syntwin_2024"):
            sample, frame = _syntwin_reference(p, ctx, x_hold, x_train, y_tr, ev_tr, x_twins, y_tw, ev_tw, scale, m)
            ev = ev_ho[sample]  # evaluated where the label is known at the horizon
            m["syntwin_2024"]["evaluated"] = int(ev.sum())
            reference = None if best_real is None else scores[best_real][sample[ev]]
            for d in DESIGNS:
                entry = _entry(y_ho[sample[ev]], frame[d].to_numpy()[ev], reference, f"syntwin_{d}", seed)
                m[f"syntwin_2024_{d}"] = {**entry, "trained_on": DESIGN_TRAINED_ON[d]}
            syntwin = frame
        ctx.advance()
    ranked = {n: v["vs_best_real"]["verdict"] for n, v in m.items() if isinstance(v, dict) and "vs_best_real" in v}
    m.update(
        protocol=PROTOCOL,
        best_real_baseline=best_real,
        twins_help=sorted(n for n, v in ranked.items() if v == "better" and m[n]["trained_on"] != "real"),
        verdicts=ranked,
        evaluated=int(ev_ho.sum()),
        horizon_months=p.horizon_months,
        validation=int(val.sum()),
        inner=int(inner.sum()),
        survival_evaluated=int(len(survival_rows)),
        seconds_by_part={k: round(v, 2) for k, v in seconds.items()},
    )
    if "logistic" in scores and "logistic_twins" in scores:
        gap = paired_auroc_difference(y_ev, scores["logistic_twins"][ev_ho], scores["logistic"][ev_ho],
                                      seed=int_seed(seed, "paired", "train_on_twins"))
        m["train_on_twins_gap"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in gap.items()}
        m["train_on_twins_gap"]["within_0_02"] = bool(abs(gap["difference"]) <= 0.02)
    table = pd.DataFrame(
        {
            "holdout_row": np.flatnonzero(ev_ho),
            "label": y_ev,
            **{n: s[ev_ho] for n, s in scores.items() if n in methods},
        }
    )
    if syntwin is not None:
        designs = syntwin.set_index("holdout_row")[list(DESIGNS)].add_prefix("syntwin_2024_")
        table = table.join(designs, on="holdout_row")
    table.to_parquet(ctx.path("prediction/scores.parquet"), index=False)
    ctx.record_output("predictions", "prediction/scores.parquet")


__all__ = ["PROTOCOL", "run_prediction", "validation_mask", "training_sample", "twin_sample"]
