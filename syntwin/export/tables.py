"""The releasable twin table, and its Parquet (partitioned when large) and CSV files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from syntwin.cohort.schema import CohortSchema
from syntwin.io import atomic_write
from syntwin.privacy.copies import row_keys
from syntwin.privacy.kanon import small_class_mask

#: Rows per Parquet file; larger tables become a directory of ``part-NNNNN.parquet`` files.
ROWS_PER_FILE = 1_000_000

OnWrite = Callable[[Path], None] | None


def releasable(
    twins: pd.DataFrame, schema: CohortSchema, release: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Return the twin rows and columns that may leave.

    Columns: the modelled ones only (features, outcomes); identifiers and extra columns never
    leave. Rows: with ``release`` (the ``release`` entry of
    :func:`~syntwin.privacy.evaluate_privacy`), twins identical to a training patient
    (``exclude_keys``) are dropped, then twins in quasi-identifier classes smaller than ``k`` are
    suppressed, so the table is k-anonymous on the banded quasi-identifiers (applying it twice
    removes nothing more). Whole-number float columns come out as integers
    (:func:`whole_numbers_as_int`).
    """
    cols = [c for c in schema.modelled if c in twins.columns and c not in schema.identifiers]
    table = twins[cols]
    if release and release.get("exclude_keys"):
        keys = np.asarray(release["exclude_keys"], dtype=np.uint64)
        table = table.loc[~np.isin(row_keys(table, list(release["key_columns"])), keys)]
    if release:
        quasi = [c for c in release.get("quasi_identifiers", ()) if c in table.columns]
        table = table.loc[~small_class_mask(table, quasi, int(release["k"]), release.get("bands") or {})]
    return whole_numbers_as_int(table.reset_index(drop=True))


def whole_numbers_as_int(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns whose present values are all whole numbers, as (nullable) integers.

    Cohort readers and generators keep counts and years as floats (so that a missing value fits);
    a released table should say ``2004``, not ``2004.0``. Missing values stay missing (``Int64``).
    """
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s.dtype):
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            ok = np.isfinite(x)
            if ok.any() and not np.isinf(x).any() and np.all(x[ok] == np.round(x[ok])) \
                    and np.all(np.abs(x[ok]) < 2**53):
                s = s.astype("int64") if ok.all() else s.astype("Int64")
        out[c] = s
    return pd.DataFrame(out, index=df.index)


def write_parquet(
    df: pd.DataFrame, path: Path, *, rows_per_file: int = ROWS_PER_FILE, on_write: OnWrite = None
) -> Path:
    """Write ``df`` to ``path``: one file, or a directory of parts when longer than ``rows_per_file``.

    The directory is filled under a temporary name and renamed, so a failure leaves nothing at ``path``.
    """
    path = Path(path)
    if len(df) <= rows_per_file:

        def write(tmp: Path) -> None:
            df.to_parquet(tmp, index=False)
            if on_write:
                on_write(tmp)

        return atomic_write(path, write)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        schema = pa.Schema.from_pandas(df, preserve_index=False)  # types of the whole table, not of part 0
        for i, start in enumerate(range(0, len(df), rows_per_file)):
            part = pa.Table.from_pandas(
                df.iloc[start : start + rows_per_file], schema=schema, preserve_index=False
            )
            pq.write_table(part, tmp / f"part-{i:05d}.parquet")
            if on_write:
                on_write(tmp / f"part-{i:05d}.parquet")
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def write_csv(df: pd.DataFrame, path: Path, *, on_write: OnWrite = None) -> Path:
    """Write ``df`` as CSV (header, LF line ends, no index), atomically."""

    def write(tmp: Path) -> None:
        df.to_csv(tmp, index=False, lineterminator="\n")
        if on_write:
            on_write(tmp)

    return atomic_write(path, write)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_parquet` (file or partitioned directory) or :func:`write_csv`."""
    path = Path(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.is_dir():
        return pd.concat([pd.read_parquet(p) for p in sorted(path.glob("part-*.parquet"))], ignore_index=True)
    return pd.read_parquet(path)


__all__ = ["releasable", "whole_numbers_as_int", "write_parquet", "write_csv", "read_table", "ROWS_PER_FILE"]
