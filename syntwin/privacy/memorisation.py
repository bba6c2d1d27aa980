r"""Memorisation measured against chance: near copies of training patients vs of held-out patients.

A twin is a *near copy* of a reference patient when every quasi-identifier is equal and at most one
other released column differs (Hamming distance <= 1 over the released columns; exact copies
included). Twins of an honest generator resemble patients it never saw as often as the patients it
was fitted on, so the rate of near copies among the twins against an equally large set of held-out
patients is the chance rate. With, per twin :math:`i`, :math:`a_i = 1` if it near-copies a training
patient (of a random training subset as large as the holdout) and :math:`b_i = 1` if it near-copies a
held-out patient, the rates are :math:`r_{train} = \bar a`, :math:`r_{hold} = \bar b` and the gated
*excess* over ``max_ratio`` times chance is

.. math:: E = \overline{a - \rho\, b}, \qquad \mathrm{se}(E) = \mathrm{sd}(a_i - \rho\, b_i) / \sqrt{n}

(paired on the same twins, ``ρ`` = ``max_ratio``, default 1.1), with a 95 % normal interval (its
variance floored by rates with one pseudo-success, so a handful of twins never looks certain). Decision:

* **fail** when the lower bound of :math:`E` is above 0 — the twins copy training patients
  significantly more than ``ρ`` x chance;
* **inconclusive** when it is not, but the upper bound exceeds ``tolerance`` (default 1 % of the
  twins) — too few twins or near copies to rule out that more than that share was memorised;
* **pass** otherwise.

The reported figure is the ratio :math:`(\sum a + 1/2) / (\sum b + 1/2)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from syntwin.privacy.anonymeter_risks import Z95
from syntwin.privacy.copies import row_keys
from syntwin.privacy.gate import FAIL, INCONCLUSIVE, PASS


def near_copy_masks(
    queries: pd.DataFrame, reference: pd.DataFrame, columns: Sequence[str], quasi: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Per query row: is it an exact copy, and a near copy (Hamming <= 1, QIs equal), of a reference row."""
    columns = list(columns)
    exact = np.isin(row_keys(queries, columns), np.unique(row_keys(reference, columns)))
    near = exact.copy()
    for c in columns:
        if c in quasi:
            continue
        rest = [x for x in columns if x != c]
        near |= np.isin(row_keys(queries, rest), np.unique(row_keys(reference, rest)))
    return exact, near


def memorisation(
    twins: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Sequence[str],
    *,
    quasi: Sequence[str] = (),
    rng: np.random.Generator,
    max_ratio: float = 1.1,
    tolerance: float = 0.01,
) -> dict[str, Any]:
    """Near- and exact-copy rates of ``twins`` against train and an equal-size holdout; the decision.

    Returns:
        ``ratio`` (near copies, train / holdout), ``exact_ratio``, the rates and counts, the excess
        ``E`` with its interval (``ci_low``, ``ci_high``), ``status``, ``n`` (twins), ``reference``
        (patients per side) and ``decide`` (what would decide an inconclusive test).
    """
    tr_idx, ho_idx = memorisation_sample(len(train), len(holdout), rng)
    ex_t, a = near_copy_masks(twins, train.iloc[tr_idx], columns, quasi)
    ex_h, b = near_copy_masks(twins, holdout.iloc[ho_idx], columns, quasi)
    return memorisation_from_masks(ex_t, a, ex_h, b, len(tr_idx), max_ratio=max_ratio, tolerance=tolerance)


def memorisation_sample(n_train: int, n_holdout: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The sorted training and held-out rows :func:`memorisation` compares with: ``min(n_train, n_holdout)`` each."""
    m = min(n_train, n_holdout)
    return (np.sort(rng.choice(n_train, m, replace=False)), np.sort(rng.choice(n_holdout, m, replace=False)))


def near_copy_column_sets(columns: Sequence[str], quasi: Sequence[str] = ()) -> list[list[str]]:
    """The column sets whose row keys :func:`near_copy_masks` compares: all columns, then each non-QI left out."""
    columns = list(columns)
    return [columns, *([x for x in columns if x != c] for c in columns if c not in quasi)]


def memorisation_from_masks(ex_t: np.ndarray, a: np.ndarray, ex_h: np.ndarray, b: np.ndarray, reference: int, *,
                            max_ratio: float = 1.1, tolerance: float = 0.01) -> dict[str, Any]:
    """The figures and decision of :func:`memorisation` from its per-twin masks (exact and near copies of the
    training sample, ``ex_t``, ``a``, and of the held-out sample, ``ex_h``, ``b``; ``reference`` rows each)."""
    m = reference
    n = len(a)
    d = a.astype(float) - max_ratio * b.astype(float)
    excess = float(d.mean())
    # the sample variance, floored by that of rates with one pseudo-success each (Agresti-Coull style):
    # twins that show no near copy at all still leave an interval as wide as their number allows
    pa, pb = (a.sum() + 1) / (n + 2), (b.sum() + 1) / (n + 2)
    var = max(float(d.var(ddof=1)) if n > 1 else 0.0, pa * (1 - pa) + max_ratio**2 * pb * (1 - pb))
    half = Z95 * np.sqrt(var / n)
    lo, hi = excess - half, excess + half
    status = FAIL if lo > 0 else (INCONCLUSIVE if hi > tolerance else PASS)
    return {
        "ratio": round(float((a.sum() + 0.5) / (b.sum() + 0.5)), 4),
        "exact_ratio": round(float((ex_t.sum() + 0.5) / (ex_h.sum() + 0.5)), 4),
        "near_rate_train": round(float(a.mean()), 6),
        "near_rate_holdout": round(float(b.mean()), 6),
        "near_copies_train": int(a.sum()),
        "near_copies_holdout": int(b.sum()),
        "exact_copies_train": int(ex_t.sum()),
        "exact_copies_holdout": int(ex_h.sum()),
        "excess": round(excess, 6),
        "ci_low": round(float(lo), 6),
        "ci_high": round(float(hi), 6),
        "tolerance": tolerance,
        "status": status,
        "n": n,
        "reference": m,
        "decide": None if status != INCONCLUSIVE else (
            f"more twins or patients: the excess's upper bound {hi:.4f} must be <= {tolerance} "
            f"(about {int(np.ceil(n * (half / max(tolerance - excess, 1e-9)) ** 2))} twins at this rate)"),
    }


__all__ = ["memorisation", "memorisation_sample", "memorisation_from_masks", "near_copy_masks",
           "near_copy_column_sets"]
