"""Outcome prediction from digital twins: labels at a horizon and similarity-weighted twin votes."""

from __future__ import annotations

import numpy as np

__all__ = ["blend_proba", "mix_knn_proba", "outcome_labels", "rank_blend", "tune_knn_mix", "twin_knn_proba",
           "valid_distance_max"]

_WEIGHTINGS = ("similarity", "uniform")


def twin_knn_proba(
    neighbor_labels: np.ndarray,
    neighbor_distances: np.ndarray,
    *,
    weighting: str = "similarity",
    d_max: float | None = None,
) -> np.ndarray:
    """P(event) of each query as the weighted fraction of its ``k`` nearest twins with the event.

    .. math::
        \\hat p_q = \\frac{\\sum_i w_{qi} y_{qi}}{\\sum_i w_{qi}}, \\qquad
        w_{qi} = 1 - d_{qi} / d_{\\max} \\ (\\text{similarity}) \\quad\\text{or}\\quad 1 \\ (\\text{uniform})

    with ``d_max`` the largest finite distance over all queries (SynTwin's edge weight 1 − d/max d).
    Missing neighbours (label < 0, or distance NaN/inf — as returned for short neighbour lists) get
    weight 0; a query whose weights are all 0 falls back to the uniform mean of its valid neighbours,
    and to NaN when it has none.

    Args:
        neighbor_labels: (nq, k) 0/1 outcome of each neighbour; negative = no neighbour.
        neighbor_distances: (nq, k) distances, same shape.
        weighting: "similarity" or "uniform".
        d_max: the largest valid distance when these queries are a block of a larger set (see
            :func:`valid_distance_max`); by default computed from these queries.

    Returns:
        (nq,) float array of probabilities in [0, 1] (NaN for queries without a valid neighbour).

    """
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; valid: {list(_WEIGHTINGS)}")
    y = np.asarray(neighbor_labels, dtype=np.float64)
    d = np.asarray(neighbor_distances, dtype=np.float64)
    if y.ndim != 2 or y.shape != d.shape:
        raise ValueError(f"labels and distances must be (nq, k) arrays of one shape, got {y.shape}, "
                         f"{d.shape}")
    valid = (y >= 0) & np.isfinite(d)
    if np.any(y[valid] > 1):
        raise ValueError("neighbor_labels must be 0/1 (negative for a missing neighbour)")
    if weighting == "uniform":
        w = valid.astype(np.float64)
    else:
        dmax = (d[valid].max() if valid.any() else 1.0) if d_max is None else float(d_max)
        w = np.where(valid, 1.0 - d / dmax, 0.0) if dmax > 0 else valid.astype(np.float64)
        dead = (w.sum(axis=1) <= 0) & valid.any(axis=1)
        w[dead] = valid[dead]
    yv = np.where(valid, y, 0.0)
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (w * yv).sum(axis=1) / np.where(tot > 0, tot, 1.0), np.nan)


def outcome_labels(
    time: np.ndarray, event: np.ndarray, horizon_months: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Binary outcome at a horizon and whether it is known.

    With ``horizon_months = h``: label = 1 when the event happened by ``h`` (``event & time <= h``);
    the label is evaluable when it is 1 or the patient was followed at least ``h`` (``time >= h``) —
    patients censored before ``h`` without the event are not evaluable. With ``h = None``: label =
    event, all evaluable (SynTwin's "dead at last follow-up").

    Returns:
        ``(label, evaluable)``: int64 and bool arrays.

    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event).astype(np.int64)
    if t.shape != e.shape:
        raise ValueError(f"time and event must have one shape, got {t.shape}, {e.shape}")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("event must hold only 0/1")
    if horizon_months is None:
        return e.copy(), np.ones(t.shape, dtype=bool)
    h = float(horizon_months)
    label = ((e == 1) & (t <= h)).astype(np.int64)
    return label, (label == 1) | (t >= h)


def valid_distance_max(neighbor_labels: np.ndarray, neighbor_distances: np.ndarray) -> float:
    """The largest distance of a valid neighbour (label >= 0, finite distance); ``-inf`` when there is none.

    The maximum over blocks of queries is that of all of them, so :func:`twin_knn_proba` of each block with
    ``d_max = max(block maxima)`` (1.0 if none is finite) equals it on all queries at once.
    """
    d = np.asarray(neighbor_distances, dtype=np.float64)
    valid = (np.asarray(neighbor_labels) >= 0) & np.isfinite(d)
    return float(d[valid].max()) if valid.any() else -np.inf


def blend_proba(real: np.ndarray | None, twins: np.ndarray | None, alpha: float) -> np.ndarray:
    """``alpha * real + (1 - alpha) * twins`` of two kNN probabilities, a NaN term falling back to the other
    (a term with share 0 is not used and may be None): the blend of :func:`mix_knn_proba`."""
    parts = [(w, t) for t, w in ((real, alpha), (twins, 1.0 - alpha)) if w != 0.0]
    if any(t is None for _, t in parts):
        raise ValueError("a neighbour pair with a non-zero share in the blend is None")
    if len(parts) == 1:
        return parts[0][1]
    (wa, a), (wb, b) = parts
    a_ok, b_ok = np.isfinite(a), np.isfinite(b)
    return np.where(a_ok & b_ok, wa * a + wb * b, np.where(a_ok, a, b))


def mix_knn_proba(
    real: tuple[np.ndarray, np.ndarray] | None,
    twins: tuple[np.ndarray, np.ndarray] | None,
    *,
    k: int,
    alpha: float,
    weighting: str = "similarity",
) -> np.ndarray:
    r"""Blend of the twin-kNN probabilities over real and over synthetic neighbours.

    .. math::
        \hat p_q = \alpha\,\hat p^{\text{real}}_q(k) + (1 - \alpha)\,\hat p^{\text{twins}}_q(k)

    with each term :func:`twin_knn_proba` over the first ``k`` columns of its (labels, distances)
    pair (neighbour lists sorted by distance). ``alpha = 1`` uses real neighbours only, ``alpha = 0``
    twins only (the other pair may then be None). A NaN term falls back to the other one.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    terms = {}
    for key, pair, w in (("real", real, alpha), ("twins", twins, 1.0 - alpha)):
        if w != 0.0 and pair is not None:
            labels, dist = pair
            terms[key] = twin_knn_proba(labels[:, :k], dist[:, :k], weighting=weighting)
    return blend_proba(terms.get("real"), terms.get("twins"), alpha)


def tune_knn_mix(
    y_val: np.ndarray,
    real: tuple[np.ndarray, np.ndarray] | None,
    twins: tuple[np.ndarray, np.ndarray] | None,
    *,
    ks: tuple[int, ...] = (10, 25, 50, 100, 200),
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    weighting: str = "similarity",
) -> dict:
    """Choose ``k`` and the real/synthetic mix ``alpha`` of :func:`mix_knn_proba` by validation AUROC.

    Only validation patients are scored here (their neighbour lists must not contain themselves); the
    caller applies the chosen ``(k, alpha)`` to the test patients, whose labels this never sees. Values
    of ``k`` beyond the neighbour lists' width are skipped; ties keep the smaller ``k``, then the
    smaller ``alpha``.

    Returns:
        ``{"k", "alpha", "val_auroc"}`` of the best pair.

    """
    from .evaluate import auroc

    y = np.asarray(y_val)
    width = min(p[0].shape[1] for p in (real, twins) if p is not None)
    if real is None:
        alphas = (0.0,)
    if twins is None:
        alphas = (1.0,)
    best = None
    for k in sorted({min(int(k), width) for k in ks}):
        for a in alphas:
            score = auroc(y, mix_knn_proba(real, twins, k=k, alpha=float(a), weighting=weighting))
            if np.isfinite(score) and (best is None or score > best["val_auroc"] + 1e-12):
                best = {"k": int(k), "alpha": float(a), "val_auroc": float(score)}
    if best is None:
        raise ValueError("no (k, alpha) gave a finite validation AUROC (one class only in y_val?)")
    return best


def rank_blend(a: np.ndarray, b: np.ndarray, beta: float) -> np.ndarray:
    """``beta * rank(a) + (1 - beta) * rank(b)``, ranks scaled to (0, 1]: a blend of two scores' orders.

    AUROC depends on order only, so two scores on different scales are blended through their
    percentile ranks within the scored set.
    """
    from scipy.stats import rankdata

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"scores must have one shape, got {a.shape}, {b.shape}")
    n = max(len(a), 1)
    return beta * rankdata(a) / n + (1.0 - beta) * rankdata(b) / n
