"""Privacy checks of synthetic twins against the training rows, with a held-out control set.

The control (holdout) set gives the base rate: a twin set that is no closer to the training rows
than unseen real patients are has not memorised them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from syntwin.errors import PrivacyGateError
from syntwin.graphs.knn import nearest


def _row_keys(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One hashable key per row over ``columns`` (missing values compare equal)."""
    return pd.util.hash_pandas_object(df[columns].astype("string").fillna("<NA>"), index=False)


def exact_copies(twins: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> int:
    """Number of twins identical to some reference row on every column in ``columns``."""
    ref = set(_row_keys(reference, columns).to_numpy().tolist())
    return int(np.isin(_row_keys(twins, columns).to_numpy(), list(ref)).sum()) if ref else 0


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
    sets are equally large (a larger set is closer by chance). For each twin, the nearest
    record in each set is found; ``dcr_train_share`` is the share of twins strictly closer to
    the training subset (ties count one half). 0.5 means no memorisation signal.

    Returns:
        ``dcr_train_share``, ``dcr_median_train``, ``dcr_median_holdout`` and the 5th percentile
        ``dcr_p05_train`` (Gower units when the encoding is Gower).
    """
    m = min(len(train_x), len(holdout_x))
    if m == 0 or len(twins_x) == 0:
        raise ValueError("DCR needs non-empty twin, training and holdout sets")
    pick = np.sort(rng.choice(len(train_x), size=m, replace=False))
    hold = holdout_x if len(holdout_x) == m else holdout_x[np.sort(rng.choice(len(holdout_x), m, replace=False))]
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


@dataclass
class ReleaseGate:
    """Thresholds a twin set must meet before it may leave the run.

    Each entry of ``checks`` is ``metric -> (comparison, threshold)`` with comparison ``"<="``
    or ``">="``.
    """

    checks: dict[str, tuple[str, float]] = field(default_factory=dict)

    def evaluate(self, metrics: dict[str, float]) -> dict[str, dict[str, Any]]:
        """Per check: the figure, its threshold and whether it passed."""
        table = {}
        for name, (op, threshold) in self.checks.items():
            value = metrics[name]
            ok = value <= threshold if op == "<=" else value >= threshold
            table[name] = {"value": value, "threshold": threshold, "op": op, "passed": bool(ok)}
        return table

    def enforce(self, metrics: dict[str, float]) -> dict[str, dict[str, Any]]:
        """Like :meth:`evaluate`, but raise :class:`PrivacyGateError` naming every failed check."""
        table = self.evaluate(metrics)
        failed = [f"{k} = {v['value']} (must be {v['op']} {v['threshold']})" for k, v in table.items()
                  if not v["passed"]]
        if failed:
            raise PrivacyGateError(failed, hint="use another generator or settings, or review the thresholds")
        return table


__all__ = ["exact_copies", "distance_to_closest_record", "ReleaseGate"]
