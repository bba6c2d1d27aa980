"""k-anonymity and l-diversity on quasi-identifiers (Sweeney 2002; Machanavajjhala et al. 2007).

Numeric quasi-identifiers are generalised into bands first (age 63 -> "60-69"), as a registry
release would publish them; a table is k-anonymous when every combination of quasi-identifier
values (an equivalence class) is shared by at least k rows, and distinct-l-diverse when every
class holds at least l distinct values of the sensitive column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

_NICE = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def band_width(values: np.ndarray, max_bands: int = 10) -> float:
    """Return the smallest "nice" width (1, 2, 5, 10, ...) giving at most ``max_bands`` bands over ``values``.

    Whole-number data get whole-number widths.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return 1.0
    span = float(v.max() - v.min())
    whole = bool(np.all(v == np.round(v)))
    for scale in 10.0 ** np.arange(0 if whole else -3, 10):
        for w in _NICE[:4]:
            width = w * scale
            if np.floor(v.max() / width) - np.floor(v.min() / width) + 1 <= max_bands or width > span:
                return float(width)
    return span or 1.0


def default_bands(df: pd.DataFrame, quasi_identifiers: Sequence[str], max_bands: int = 6) -> dict[str, float]:
    """Band widths for the numeric quasi-identifiers of ``df`` (other columns are kept as they are)."""
    return {
        c: band_width(df[c].to_numpy(), max_bands)
        for c in quasi_identifiers
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    }


def generalise(
    df: pd.DataFrame, quasi_identifiers: Sequence[str], bands: Mapping[str, float]
) -> pd.DataFrame:
    """Return the quasi-identifier columns as strings, numeric ones cut into bands ``[lo, lo + width)``."""
    out = {}
    for c in quasi_identifiers:
        if c in bands:
            w = bands[c]
            lo = np.floor(df[c].to_numpy(dtype=float) / w) * w
            hi = lo + w
            fmt = lambda x: f"{x:g}"  # noqa: E731
            labels = [
                f"{fmt(a)}-<{fmt(b)}" if np.isfinite(a) else "<NA>" for a, b in zip(lo, hi, strict=True)
            ]
            out[c] = pd.Series(labels, index=df.index)
        else:
            out[c] = df[c].astype("string").fillna("<NA>")
    return pd.DataFrame(out, index=df.index)


def class_sizes(df: pd.DataFrame, quasi_identifiers: Sequence[str], bands: Mapping[str, float]) -> np.ndarray:
    """Size of each row's equivalence class (aligned with the rows of ``df``)."""
    if not quasi_identifiers:
        return np.full(len(df), len(df), dtype=np.int64)
    g = generalise(df, quasi_identifiers, bands)
    return (
        g.groupby(list(quasi_identifiers), sort=False, dropna=False)[list(quasi_identifiers)[0]]
        .transform("size")
        .to_numpy(dtype=np.int64)
    )


def k_anonymity(
    df: pd.DataFrame, quasi_identifiers: Sequence[str], bands: Mapping[str, float] | None = None
) -> int:
    """Return the smallest equivalence class (``len(df)`` without quasi-identifiers, 0 for an empty table)."""
    if len(df) == 0:
        return 0
    return int(class_sizes(df, quasi_identifiers, bands or {}).min())


def l_diversity(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    bands: Mapping[str, float] | None = None,
) -> int:
    """Distinct l-diversity: the fewest distinct ``sensitive`` values in any equivalence class."""
    if len(df) == 0:
        return 0
    g = generalise(df, quasi_identifiers, bands or {})
    g["_s"] = df[sensitive].astype("string").fillna("<NA>").to_numpy()
    if not quasi_identifiers:
        return int(g["_s"].nunique())
    return int(g.groupby(list(quasi_identifiers), sort=False, dropna=False)["_s"].nunique().min())


def small_class_mask(
    df: pd.DataFrame, quasi_identifiers: Sequence[str], k: int, bands: Mapping[str, float] | None = None
) -> np.ndarray:
    """Rows whose equivalence class has fewer than ``k`` rows (the rows a k-anonymous release suppresses)."""
    return class_sizes(df, quasi_identifiers, bands or {}) < k


__all__ = [
    "band_width",
    "default_bands",
    "generalise",
    "class_sizes",
    "k_anonymity",
    "l_diversity",
    "small_class_mask",
]
