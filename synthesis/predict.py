"""Outcome prediction from digital twins: labels at a horizon and similarity-weighted twin votes."""

from __future__ import annotations

import numpy as np

__all__ = ["outcome_labels", "twin_knn_proba"]

_WEIGHTINGS = ("similarity", "uniform")


def twin_knn_proba(
    neighbor_labels: np.ndarray,
    neighbor_distances: np.ndarray,
    *,
    weighting: str = "similarity",
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
        dmax = d[valid].max() if valid.any() else 1.0
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
