"""Exports of twin tables: identifiers never leave, files are written atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from syntwin.cohort.schema import CohortSchema
from syntwin.io import atomic_write

FORMATS = ("parquet", "csv")


def releasable(twins: pd.DataFrame, schema: CohortSchema) -> pd.DataFrame:
    """The twin columns that may leave: modelled columns only (no identifiers, no internals)."""
    return twins[[c for c in schema.modelled if c in twins.columns]].reset_index(drop=True)


def export_twins(twins: pd.DataFrame, schema: CohortSchema, folder: Path, formats: list[str]) -> dict[str, Path]:
    """Write the releasable twin table in each format to ``folder``; return format -> path."""
    table = releasable(twins, schema)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt in formats:
        if fmt == "parquet":
            path = atomic_write(folder / "twins.parquet", lambda p: table.to_parquet(p, index=False))
        elif fmt == "csv":
            path = atomic_write(folder / "twins.csv", lambda p: table.to_csv(p, index=False, lineterminator="\n"))
        else:
            raise ValueError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
        written[fmt] = path
    return written


__all__ = ["export_twins", "releasable", "FORMATS"]
