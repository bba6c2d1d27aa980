"""Aggregate count tables that cannot be subtracted: small-cell and complementary suppression.

Policy (SEER's rule, made safe against subtraction):

* **primary suppression**: every cell with a count below ``min_cell`` (11) is withheld — *including
  zero cells*. Every combination of the levels present in the table is listed, so an absent row never
  says "zero", and a blank cell does not tell 0 from 1–10.
* **margins are assumed public**: the row totals, column totals and the grand total can be known from
  elsewhere (the export manifest gives the number of twins; another table gives the event counts), so a
  single withheld cell in any row or column would be its total minus the rest.
* **complementary suppression**: while some row or column (the whole table, for a one-way table) holds
  exactly one withheld cell, the smallest published cell of that line is withheld too. Then no withheld
  cell is a linear combination of the published cells and the margins: :func:`recoverable_cells`
  checks exactly that (the cell's unit vector lies in the row space of the margin equations
  restricted to the withheld cells) and :func:`aggregate_counts` refuses a table where one is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

MIN_CELL = 11


def _lines(keys: list[tuple], n_dims: int) -> list[list[int]]:
    """Index sets of every margin: the grand total, and each row/column (fixing all but one dimension)."""
    lines = [list(range(len(keys)))]
    for d in range(n_dims):
        if n_dims == 1:
            break
        groups: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k[:d] + k[d + 1:], []).append(i)
        lines += list(groups.values())
    return lines


def recoverable_cells(counts: np.ndarray, withheld: np.ndarray, lines: list[list[int]]) -> np.ndarray:
    """Mask of withheld cells whose exact value follows from the published cells and the margins.

    Each margin gives ``sum(withheld cells of the line) = total - published cells``; a withheld cell is
    determined iff its unit vector is in the row space of those equations (rank test).
    """
    hidden = np.flatnonzero(withheld)
    if len(hidden) == 0:
        return np.zeros(len(counts), bool)
    pos = {c: j for j, c in enumerate(hidden)}
    rows = [[1.0 if c in set(line) else 0.0 for c in hidden] for line in lines if set(line) & set(hidden)]
    A = np.array(rows) if rows else np.zeros((0, len(hidden)))
    rank = np.linalg.matrix_rank(A) if len(A) else 0
    out = np.zeros(len(counts), bool)
    for c, j in pos.items():
        e = np.zeros((1, len(hidden)))
        e[0, j] = 1.0
        out[c] = np.linalg.matrix_rank(np.vstack([A, e])) == rank if len(A) else False
    return out


def _withhold_smallest(counts: np.ndarray, withheld: np.ndarray, line: list[int]) -> bool:
    open_ = [i for i in line if not withheld[i]]
    if open_:
        withheld[min(open_, key=lambda i: (counts[i], i))] = True
    return bool(open_)


def _complement(counts: np.ndarray, withheld: np.ndarray, lines: list[list[int]]) -> None:
    """Withhold more cells (in place) until no withheld cell is recoverable from the published ones."""
    while True:
        changed = True
        while changed:  # no line with exactly one withheld cell
            changed = False
            for line in lines:
                if sum(withheld[i] for i in line) == 1:
                    changed |= _withhold_smallest(counts, withheld, line)
        exposed = np.flatnonzero(recoverable_cells(counts, withheld, lines))
        if not len(exposed):
            return
        # a cell still determined (e.g. a bridge between two blocks): widen one of its lines
        if not any(_withhold_smallest(counts, withheld, line) for line in lines if exposed[0] in line):
            return  # everything is withheld: what is left equals a public margin


def aggregate_counts(df: pd.DataFrame, by: Sequence[str], *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Patient counts per combination of the levels of ``by``, suppressed so no withheld cell can be recomputed.

    Returns one row per combination of the levels present (zero cells included) with ``count``
    (nullable Int64, ``<NA>`` when withheld) and ``suppressed`` (``"small"`` for primary suppression,
    ``"complementary"``, or ``""``). See the module docstring for the policy.
    """
    by = list(by)
    missing = [c for c in by if c not in df.columns]
    if missing or not by:
        raise ValueError(f"aggregate columns {missing or by} are not in the table")
    if min_cell < 1:
        raise ValueError(f"min_cell must be >= 1, got {min_cell}")
    return suppressed_counts(df.groupby(by, dropna=False, observed=True).size(), by, min_cell=min_cell)


def suppressed_counts(observed: pd.Series, by: Sequence[str], *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """:func:`aggregate_counts` from the counts of the combinations present (a groupby ``size`` over ``by``).

    The levels of each column are those present in ``observed``'s index, so counts summed over the parts of a
    table (``groupby(by).sum()`` of per-part sizes) give the same table as the whole frame.
    """
    by = list(by)
    if min_cell < 1:
        raise ValueError(f"min_cell must be >= 1, got {min_cell}")
    observed = observed[observed > 0]
    idx = observed.index
    levels = [sorted(pd.unique(idx.get_level_values(c) if isinstance(idx, pd.MultiIndex) else idx),
                     key=lambda v: (pd.isna(v), str(v))) for c in by]
    keys = list(itertools.product(*levels))
    index = pd.MultiIndex.from_tuples(keys, names=by) if len(by) > 1 else pd.Index([k[0] for k in keys], name=by[0])
    counts = observed.reindex(index, fill_value=0).to_numpy().astype(np.int64)
    small = counts < min_cell
    withheld = small.copy()
    lines = _lines(keys, len(by))
    _complement(counts, withheld, lines)
    out = pd.DataFrame(keys, columns=by)
    out["count"] = pd.array(counts, dtype="Int64")
    out.loc[withheld, "count"] = pd.NA
    out["suppressed"] = np.where(small, "small", np.where(withheld, "complementary", ""))
    return out


def default_aggregates(
    columns: Sequence[str], event: str | None, categorical: Sequence[str]
) -> list[list[str]]:
    """List the published tables: each categorical/ordinal column by the event (alone without one)."""
    return [[c, event] if event else [c] for c in categorical if c in columns and c != event]


def small_cell_safe(counts: pd.Series | np.ndarray, *, min_cell: int = MIN_CELL) -> bool:
    """Whether a figure built from these group sizes may be shown (every group >= ``min_cell`` patients)."""
    return bool(len(np.asarray(counts))) and bool((np.asarray(counts) >= min_cell).all())


def curve_points_safe(times: np.ndarray, durations: np.ndarray, *, min_cell: int = MIN_CELL) -> np.ndarray:
    """Mask of survival-curve points that may be shown: at least ``min_cell`` patients still at risk.

    A Kaplan–Meier step where fewer patients remain describes a handful of real patients (a step of
    1/3 says one of three died then); the report shows real-patient curves only up to that point.
    """
    d = np.sort(np.asarray(durations, dtype=float))
    at_risk = len(d) - np.searchsorted(d, np.asarray(times, dtype=float), side="left")
    return at_risk >= min_cell


__all__ = ["aggregate_counts", "suppressed_counts", "default_aggregates", "recoverable_cells", "small_cell_safe", "curve_points_safe",
           "MIN_CELL"]
