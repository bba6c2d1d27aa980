"""Aggregate count tables with small-cell suppression (SEER's rule: no cell below 11 is published)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

MIN_CELL = 11


def aggregate_counts(df: pd.DataFrame, by: Sequence[str], *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Patient counts per combination of ``by``; counts in ``1..min_cell-1`` are suppressed.

    Returns one row per observed combination with ``count`` (nullable Int64, ``<NA>`` when
    suppressed) and ``suppressed`` (bool). Only observed combinations are listed, so zero cells
    do not appear; no margins are published (a margin would let a suppressed cell be recomputed).
    """
    missing = [c for c in by if c not in df.columns]
    if missing or not by:
        raise ValueError(f"aggregate columns {missing or list(by)} are not in the table")
    if min_cell < 1:
        raise ValueError(f"min_cell must be >= 1, got {min_cell}")
    counts = df.groupby(list(by), dropna=False, observed=True).size().rename("count").reset_index()
    small = counts["count"] < min_cell
    counts["count"] = counts["count"].astype("Int64").mask(small)
    counts["suppressed"] = small.to_numpy()
    return counts


def default_aggregates(
    columns: Sequence[str], event: str | None, categorical: Sequence[str]
) -> list[list[str]]:
    """List the published tables: each categorical/ordinal column by the event (alone without one)."""
    return [[c, event] if event else [c] for c in categorical if c in columns and c != event]


__all__ = ["aggregate_counts", "default_aggregates", "MIN_CELL"]
