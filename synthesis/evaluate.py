"""Binary prediction metrics: AUROC with bootstrap (or DeLong) CI, balanced accuracy, Brier, coverage; baseline.

Scores may contain NaN for patients a method cannot score (e.g. SynTwin outside kept communities):
``binary_metrics`` reports that share as ``coverage`` = 1 − share and computes the other metrics on
the covered patients only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .delong import delong_interval, delong_paired_interval

__all__ = ["auroc", "auroc_ci", "baseline_gradient_boosting", "baseline_logistic", "binary_metrics",
           "paired_auroc_difference", "FittedBaseline", "fit_logistic", "fit_gradient_boosting"]


def _check(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(np.int64).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true and y_score differ in length: {y.shape[0]} vs {s.shape[0]}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0/1")
    return y, s


def auroc(y_true, y_score) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); NaN when one class is absent."""
    from sklearn.metrics import roc_auc_score

    y, s = _check(y_true, y_score)
    if len(y) == 0 or y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, s))


def _resample_counts(n: int, n_boot: int, seed: int):
    """Ordinary bootstrap resamples (n draws with replacement) as count vectors, seeded."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0xB007,)))
    for _ in range(int(n_boot)):
        yield np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)


class _CountedAUROC:
    """AUROC of a resample given as counts per patient, over the score's tie groups (sorted once).

    ``AUC = Σ_g pos_g (neg_{<g} + neg_g / 2) / (n₁ n₀)``: the Mann–Whitney statistic with ties 1/2,
    exactly ``roc_auc_score`` of the resample with each patient repeated ``count`` times (tested).
    """

    def __init__(self, y: np.ndarray, s: np.ndarray) -> None:
        self.y = y.astype(np.float64)
        self.groups, self.inverse = np.unique(s, return_inverse=True)

    def __call__(self, counts: np.ndarray) -> float:
        pos = np.bincount(self.inverse, weights=counts * self.y, minlength=len(self.groups))
        neg = np.bincount(self.inverse, weights=counts * (1 - self.y), minlength=len(self.groups))
        n1, n0 = pos.sum(), neg.sum()
        if n1 == 0 or n0 == 0:
            return float("nan")
        below = np.cumsum(neg) - neg  # negatives with a strictly lower score
        return float((pos * (below + 0.5 * neg)).sum() / (n1 * n0))


def _interval(stats: list[float], alpha: float) -> tuple[float, float]:
    stats = [v for v in stats if np.isfinite(v)]
    if not stats:
        return float("nan"), float("nan")
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


#: Above this many patients, ``interval="auto"`` gives DeLong's interval instead of the bootstrap's.
BOOTSTRAP_MAX_PATIENTS = 100_000
INTERVALS = ("auto", "bootstrap", "delong")


def _interval_method(interval: str, y: np.ndarray) -> str:
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; choose one of {list(INTERVALS)}")
    if interval == "auto":
        interval = "delong" if len(y) > BOOTSTRAP_MAX_PATIENTS else "bootstrap"
    if interval == "delong" and (len(y) == 0 or y.min() == y.max()):
        return "bootstrap"  # one class: no variance to estimate; the bootstrap gives NaN bounds
    return interval


def auroc_ci(y_true, y_score, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
             interval: str = "auto") -> dict:
    """AUROC with an ordinary percentile bootstrap interval (n patients drawn with replacement), or
    DeLong's asymptotic normal interval (:mod:`~syntwin.synthesis.delong`).

    ``interval="auto"`` takes the bootstrap up to :data:`BOOTSTRAP_MAX_PATIENTS` patients and DeLong above,
    where the bootstrap's 1,000 passes over all patients cost minutes and both intervals agree
    (bench/scale/README.md has the comparison). Resamples holding one class only are skipped. NaN-scored
    patients are dropped first.

    Returns:
        ``{"auroc", "ci_low", "ci_high", "n", "interval"}`` (point estimate on all covered patients).
    """
    y, s = _check(y_true, y_score)
    ok = ~np.isnan(s)
    y, s = y[ok], s[ok]
    point = auroc(y, s)
    method = _interval_method(interval, y)
    if method == "delong":
        _, lo, hi = delong_interval(y, s, alpha)
    else:
        counted = _CountedAUROC(y, s)
        lo, hi = _interval([counted(c) for c in _resample_counts(len(y), n_boot, seed)], alpha)
    return {"auroc": point, "ci_low": lo, "ci_high": hi, "n": int(len(y)), "interval": method}


def paired_auroc_difference(y_true, score_a, score_b, *, n_boot: int = 1000, alpha: float = 0.05,
                            seed: int = 0, interval: str = "auto") -> dict:
    """AUROC(a) − AUROC(b) on the same patients with a paired percentile bootstrap interval, or DeLong's
    (``interval`` as in :func:`auroc_ci`).

    Each resample draws patients with replacement once and scores both methods on it, so the
    interval reflects the correlation of the two scores (the covariance DeLong's variance has).
    Only patients both methods score (finite) enter.

    Returns:
        ``{"difference", "ci_low", "ci_high", "n", "excludes_zero", "interval"}``.
    """
    y, a = _check(y_true, score_a)
    _, b = _check(y_true, score_b)
    if a.shape != b.shape:
        raise ValueError(f"score_a and score_b differ in length: {a.shape[0]} vs {b.shape[0]}")
    ok = np.isfinite(a) & np.isfinite(b)
    y, a, b = y[ok], a[ok], b[ok]
    point = auroc(y, a) - auroc(y, b)
    method = _interval_method(interval, y)
    if method == "delong":
        _, lo, hi = delong_paired_interval(y, a, b, alpha)
    else:
        ca, cb = _CountedAUROC(y, a), _CountedAUROC(y, b)
        lo, hi = _interval([ca(c) - cb(c) for c in _resample_counts(len(y), n_boot, seed)], alpha)
    return {"difference": float(point), "ci_low": lo, "ci_high": hi, "n": int(len(y)),
            "excludes_zero": bool(lo > 0 or hi < 0), "interval": method}


def binary_metrics(y_true, y_score, *, threshold: float | None = None) -> dict:
    """AUROC, balanced accuracy, Brier score and coverage of probability scores.

    Balanced accuracy thresholds the scores at ``threshold``; by default at the prevalence of
    ``y_true`` among covered patients, which for calibrated probabilities is the threshold that
    maximises balanced accuracy (predict 1 when p ≥ π). Pass the *training* prevalence to keep the
    test labels out of it entirely.

    Returns:
        ``{"auroc", "balanced_accuracy", "brier", "coverage", "threshold", "n"}``.
    """
    y, s = _check(y_true, y_score)
    ok = ~np.isnan(s)
    coverage = float(ok.mean()) if len(s) else float("nan")
    y, s = y[ok], s[ok]
    if len(y) == 0:
        nan = float("nan")
        return {"auroc": nan, "balanced_accuracy": nan, "brier": nan, "coverage": coverage,
                "threshold": nan, "n": 0}
    thr = float(y.mean()) if threshold is None else float(threshold)
    pred = s >= thr
    tpr = pred[y == 1].mean() if (y == 1).any() else np.nan
    tnr = (~pred[y == 0]).mean() if (y == 0).any() else np.nan
    brier = float(np.mean((s - y) ** 2)) if (s.min() >= 0 and s.max() <= 1) else float("nan")
    return {"auroc": auroc(y, s), "balanced_accuracy": float((tpr + tnr) / 2), "brier": brier,
            "coverage": coverage, "threshold": thr, "n": int(len(y))}


class FittedBaseline:
    """A fitted baseline: ``predict(test_X)`` is P(y = 1), row by row (any batch of rows, same values).

    Pickles, so that held-out rows can be scored per part on the Dask workers. ``levels`` maps each
    non-numeric column to its training levels (boosting: native categories) or ``None`` (logistic: as str).
    """

    def __init__(self, model: Any, levels: dict[str, Any]):
        self.model, self.levels = model, levels

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        X = pd.DataFrame(X).copy()
        for c, levels in self.levels.items():
            if levels is None:  # one dtype per categorical column (mixed str/None trips OneHotEncoder)
                X[c] = X[c].astype(str)
            else:  # unseen levels are treated as missing
                X[c] = pd.Categorical(X[c].astype(str).where(X[c].notna()), categories=levels)
        return X

    def fit(self, train_X: pd.DataFrame, train_y) -> FittedBaseline:
        with threadpool_limits(limits=1):
            self.model.fit(self.prepare(train_X), np.asarray(train_y).astype(np.int64))
        return self

    def predict(self, test_X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1):
            return self.model.predict_proba(self.prepare(test_X))[:, 1]


def fit_logistic(train_X: pd.DataFrame, train_y, seed: int = 0, *, C: float = 1.0) -> FittedBaseline:
    """The L2 logistic regression of :func:`baseline_logistic`, fitted on ``train_X``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train_X = pd.DataFrame(train_X)
    num = [c for c in train_X.columns
           if pd.api.types.is_numeric_dtype(train_X[c]) and not pd.api.types.is_bool_dtype(train_X[c])]
    cat = [c for c in train_X.columns if c not in num]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
    ])
    model = make_pipeline(prep, LogisticRegression(C=C, max_iter=2000, random_state=int(seed)))
    return FittedBaseline(model, dict.fromkeys(cat)).fit(train_X, train_y)


def baseline_logistic(train_X: pd.DataFrame, train_y, test_X: pd.DataFrame, seed: int = 0,
                      *, C: float = 1.0) -> np.ndarray:
    """P(y = 1) on ``test_X`` from an L2 logistic regression fitted on ``train_X``.

    Numeric columns (number dtypes) are median-imputed and standardised; the others one-hot encoded
    (unknown test levels ignored). Preprocessing is fitted on the training rows only. One BLAS/OpenMP
    thread, as for :func:`baseline_gradient_boosting`.
    """
    return fit_logistic(train_X, train_y, seed, C=C).predict(test_X)


def fit_gradient_boosting(train_X: pd.DataFrame, train_y, seed: int = 0, *, max_iter: int = 200,
                          learning_rate: float = 0.05, max_leaf_nodes: int = 31) -> FittedBaseline:
    """The histogram gradient boosting of :func:`baseline_gradient_boosting`, fitted on ``train_X``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train_X = pd.DataFrame(train_X)
    cat = [c for c in train_X.columns
           if not pd.api.types.is_numeric_dtype(train_X[c]) or pd.api.types.is_bool_dtype(train_X[c])]
    levels = {c: pd.unique(train_X[c].dropna().astype(str)) for c in cat}
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate,
                                           max_leaf_nodes=max_leaf_nodes,
                                           categorical_features="from_dtype", early_stopping=False,
                                           random_state=int(seed))
    return FittedBaseline(model, levels).fit(train_X, train_y)


def baseline_gradient_boosting(train_X: pd.DataFrame, train_y, test_X: pd.DataFrame, seed: int = 0, *,
                               max_iter: int = 200, learning_rate: float = 0.05,
                               max_leaf_nodes: int = 31) -> np.ndarray:
    """P(y = 1) on ``test_X`` from sklearn's histogram gradient boosting.

    Non-numeric columns are handled as native categorical features (levels learned on the training
    rows; unseen test levels are treated as missing). Early stopping is off so the fit never looks
    at a validation split drawn from the test rows. It runs on one BLAS/OpenMP thread: beside a run's Dask
    workers on the same cores, OpenMP's spinning threads slow the fit many times over, and one thread
    gives the same predictions.
    """
    return fit_gradient_boosting(train_X, train_y, seed, max_iter=max_iter, learning_rate=learning_rate,
                                 max_leaf_nodes=max_leaf_nodes).predict(test_X)
