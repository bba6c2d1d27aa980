"""Distance to closest record (DCR) and nearest-neighbour distance ratio (NNDR), against a holdout.

Distances are L1 on the encoded rows (Gower x ``scale`` on :class:`~syntwin.graphs.encode.MixedEncoder`
vectors). A holdout of real patients the generator never saw gives the base rate: twins that are no
closer to the training rows than unseen patients are have not memorised them. Reference sets are
always compared at equal size, since a larger set is closer by chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from syntwin.graphs.knn import nearest

QUANTILES = (0.01, 0.05, 0.25, 0.5)


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(n, size)`` rows drawn without replacement (all rows when ``n <= size``)."""
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size=size, replace=False))


def distance_to_closest_record(
    twins_x: np.ndarray,
    train_x: np.ndarray,
    holdout_x: np.ndarray,
    *,
    rng: np.random.Generator,
    client: Any = None,
) -> dict[str, float]:
    """DCR of twins to the training rows against an equally sized holdout (control) set.

    A random subset of the training rows the size of the holdout is drawn, so the two reference
    sets are equally large. For each twin, the nearest record in each set is found;
    ``dcr_train_share`` is the share of twins strictly closer to the training subset (ties count
    one half). 0.5 means no memorisation signal.

    Returns:
        ``dcr_train_share``, ``dcr_median_train``, ``dcr_median_holdout`` and the 5th percentile
        ``dcr_p05_train`` (Gower units when the encoding is Gower).

    """
    m = min(len(train_x), len(holdout_x))
    if m == 0 or len(twins_x) == 0:
        raise ValueError("DCR needs non-empty twin, training and holdout sets")
    pick = np.sort(rng.choice(len(train_x), size=m, replace=False))
    hold = (
        holdout_x if len(holdout_x) == m else holdout_x[np.sort(rng.choice(len(holdout_x), m, replace=False))]
    )
    _, d_train = nearest(train_x[pick], twins_x, 1, client=client)
    _, d_hold = nearest(hold, twins_x, 1, client=client)
    d_train, d_hold = d_train[:, 0].astype(float), d_hold[:, 0].astype(float)
    share = float(np.mean(np.where(d_train < d_hold, 1.0, np.where(d_train == d_hold, 0.5, 0.0))))
    return {
        "dcr_train_share": round(share, 4),
        "dcr_median_train": round(float(np.median(d_train)), 6),
        "dcr_median_holdout": round(float(np.median(d_hold)), 6),
        "dcr_p05_train": round(float(np.quantile(d_train, 0.05)), 6),
    }


def _nndr(d: np.ndarray) -> np.ndarray:
    """``d1 / d2`` per row (two tied neighbours at distance 0 give 1: the record is not singled out)."""
    d1, d2 = d[:, 0].astype(float), d[:, 1].astype(float)
    return np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 1.0)


def dcr_profile(
    twins_x: np.ndarray,
    train_x: np.ndarray,
    holdout_x: np.ndarray,
    *,
    rng: np.random.Generator,
    client: Any = None,
    max_reference: int = 50_000,
    max_query: int = 20_000,
) -> dict[str, Any]:
    """DCR and NNDR distributions of twins->train against holdout->train, and the near-copy share.

    A training subset the size of the queried holdout is the reference for both query sets (so a
    holdout row and a twin face the same reference). ``near_copy_share`` is the share of twins
    closer to the training subset than the 1st percentile of holdout->train DCR (expected 0.01
    for twins that are as far from the training rows as unseen patients; copies give ~1).

    Returns:
        ``figures`` (flat scalars: ``near_copy_share``, ``dcr_p05_twins``, ``dcr_p05_holdout``,
        ``nndr_p05_twins``, ``nndr_p05_holdout``) and ``quantiles`` (q01, q05, q25, q50 of each
        distribution), with ``sizes``.

    """
    if len(twins_x) == 0 or len(train_x) < 2 or len(holdout_x) < 1:
        raise ValueError("DCR/NNDR needs >= 1 twin, >= 2 training rows and >= 1 holdout row")
    hold_q = holdout_x[_sample(len(holdout_x), max_query, rng)]
    m = min(len(train_x), max(len(hold_q), 2), max_reference)
    ref = train_x[_sample(len(train_x), m, rng)]
    twin_q = twins_x[_sample(len(twins_x), max_query, rng)]
    _, d_twin = nearest(ref, twin_q, 2, client=client)
    _, d_hold = nearest(ref, hold_q, 2, client=client)
    dcr_t, dcr_h = d_twin[:, 0].astype(float), d_hold[:, 0].astype(float)
    nndr_t, nndr_h = _nndr(d_twin), _nndr(d_hold)
    cut = float(np.quantile(dcr_h, 0.01))
    near = float(np.mean(dcr_t <= cut)) if cut > 0 else float(np.mean(dcr_t == 0))
    q = {
        name: {f"q{int(p * 100):02d}": round(float(np.quantile(v, p)), 6) for p in QUANTILES}
        for name, v in (
            ("dcr_twins", dcr_t),
            ("dcr_holdout", dcr_h),
            ("nndr_twins", nndr_t),
            ("nndr_holdout", nndr_h),
        )
    }
    figures = {
        "near_copy_share": round(near, 4),
        "dcr_p05_twins": q["dcr_twins"]["q05"],
        "dcr_p05_holdout": q["dcr_holdout"]["q05"],
        "nndr_p05_twins": q["nndr_twins"]["q05"],
        "nndr_p05_holdout": q["nndr_holdout"]["q05"],
    }
    return {
        "figures": figures,
        "quantiles": q,
        "sizes": {"reference": int(m), "twins": int(len(twin_q)), "holdout": int(len(hold_q))},
    }


__all__ = ["distance_to_closest_record", "dcr_profile"]
