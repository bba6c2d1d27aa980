"""Exact copies: twins identical to a training patient on every released column."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _row_keys(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One 64-bit key per row over ``columns``.

    Numbers are compared as float64 (so ``1`` equals ``1.0``, whatever the integer or float dtype a
    generator returned) and everything else as strings; missing values compare equal.
    """
    parts = {}
    for c in columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parts[c] = s.astype("float64").fillna(np.nan).reset_index(drop=True)
        else:
            parts[c] = s.astype("string").fillna("<NA>").reset_index(drop=True)
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def exact_copies(twins: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> int:
    """Count the twins identical to some reference row on every column in ``columns``.

    Rows are compared through a 64-bit hash of their string forms; the chance of a false match
    among ``n`` twins and ``m`` reference rows is about ``n m / 2**64`` (1e-8 for 1M x 1M).
    """
    missing = [c for c in columns if c not in twins.columns or c not in reference.columns]
    if missing:
        raise ValueError(f"columns {missing} are missing from the twins or the reference table")
    if len(reference) == 0 or len(twins) == 0:
        return 0
    ref = np.unique(_row_keys(reference, columns))
    return int(np.isin(_row_keys(twins, columns), ref, assume_unique=False).sum())


def row_keys(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Return the 64-bit row keys :func:`exact_copies` compares (stable across processes and file formats)."""
    return _row_keys(df, columns)


def copy_mask(twins: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Boolean mask of the twins that copy a reference row (see :func:`exact_copies`)."""
    if len(reference) == 0:
        return np.zeros(len(twins), dtype=bool)
    return np.isin(_row_keys(twins, columns), np.unique(_row_keys(reference, columns)))


__all__ = ["exact_copies", "copy_mask", "row_keys"]
