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
_SEP = "\x1f"  # joins the generalised quasi-identifiers of a class key


def band_width(values: np.ndarray, max_bands: int = 10) -> float:
    """Return the smallest "nice" width (1, 2, 5, 10, ...) giving at most ``max_bands`` bands over ``values``.

    Whole-number data get whole-number widths.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return 1.0
    return band_width_of_range(float(v.min()), float(v.max()), bool(np.all(v == np.round(v))), max_bands)


def band_width_of_range(lo: float, hi: float, whole: bool, max_bands: int = 10) -> float:
    """:func:`band_width` from the finite values' minimum ``lo``, maximum ``hi`` and whether all are whole."""
    span = float(hi - lo)
    for scale in 10.0 ** np.arange(0 if whole else -3, 10):
        for w in _NICE[:4]:
            width = w * scale
            if np.floor(hi / width) - np.floor(lo / width) + 1 <= max_bands or width > span:
                return float(width)
    return span or 1.0


def band_stats(df: pd.DataFrame, quasi_identifiers: Sequence[str]) -> dict[str, dict]:
    """What :func:`default_bands` needs from one partition: per QI, numeric or not, finite count, min, max, whole."""
    out = {}
    for c in quasi_identifiers:
        numeric = bool(pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]))
        row: dict = {"numeric": numeric, "n": 0, "min": np.inf, "max": -np.inf, "whole": True}
        if numeric:
            v = df[c].to_numpy(dtype=float, na_value=np.nan)
            v = v[np.isfinite(v)]
            if len(v):
                row.update(n=len(v), min=float(v.min()), max=float(v.max()), whole=bool(np.all(v == np.round(v))))
        out[c] = row
    return out


def bands_from_stats(parts: Sequence[Mapping[str, Mapping]], max_bands: int = 6) -> dict[str, float]:
    """:func:`default_bands` of the concatenated partitions, from their :func:`band_stats` (in any order)."""
    if not parts:
        return {}
    out = {}
    for c in parts[0]:
        rows = [p[c] for p in parts]
        if not all(r["numeric"] for r in rows):
            continue
        seen = [r for r in rows if r["n"]]
        out[c] = 1.0 if not seen else band_width_of_range(
            min(r["min"] for r in seen), max(r["max"] for r in seen), all(r["whole"] for r in seen), max_bands)
    return out


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


def class_counts(df: pd.DataFrame, quasi_identifiers: Sequence[str], bands: Mapping[str, float],
                 sensitive: str | None = None) -> pd.DataFrame:
    """Rows per equivalence class (and per ``sensitive`` value): columns ``key``, [``value``], ``n``.

    ``key`` joins the generalised quasi-identifiers (``""`` without any); counts of partitions add up to
    those of their concatenation, so :func:`k_figures` of summed counts is that of the whole table.
    """
    if quasi_identifiers and len(df):
        g = generalise(df, quasi_identifiers, bands)
        key = g[quasi_identifiers[0]].astype(str)
        for c in quasi_identifiers[1:]:
            key = key + _SEP + g[c].astype(str)
        key = key.to_numpy(dtype=object)
    else:
        key = np.full(len(df), "", dtype=object)
    frame = {"key": key}
    if sensitive is not None:
        frame["value"] = df[sensitive].astype("string").fillna("<NA>").to_numpy(dtype=object)
    by = list(frame)
    if not len(df):
        return pd.DataFrame({**{c: pd.Series([], dtype=object) for c in by}, "n": pd.Series([], dtype=np.int64)})
    return pd.DataFrame(frame).groupby(by, sort=False).size().rename("n").reset_index()


def k_figures(counts: pd.DataFrame, k: int, n_rows: int, sensitive: bool = False) -> dict[str, float | int]:
    r"""k-anonymity before/after suppressing the classes under ``k``, the share suppressed, l-diversity.

    ``counts`` is :func:`class_counts` (summed over partitions); ``n_rows`` the share's denominator. With
    class sizes :math:`s_c`: ``k_anonymity_raw`` :math:`= \min_c s_c`, ``k_anonymity`` :math:`= \min_{s_c \ge k}
    s_c`, ``k_suppressed_share`` :math:`= \sum_{s_c < k} s_c / n` and ``l_diversity`` the fewest distinct
    sensitive values in a released class (the figures :func:`class_sizes` and :func:`l_diversity` give).
    """
    sizes = counts.groupby("key", sort=False)["n"].sum()
    small = sizes < k
    out: dict[str, float | int] = {
        "k_anonymity_raw": int(sizes.min()) if len(sizes) else 0,
        "k_anonymity": int(sizes[~small].min()) if (~small).any() else 0,
        "k_suppressed_share": round(float(sizes[small].sum() / n_rows), 4),
    }
    if sensitive:
        kept = counts[counts["key"].isin(set(sizes.index[~small])) & (counts["n"] > 0)]
        out["l_diversity"] = int(kept.groupby("key", sort=False)["value"].nunique().min()) if len(kept) else 0
    return out


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
    "band_width_of_range",
    "band_stats",
    "bands_from_stats",
    "class_counts",
    "k_figures",
    "default_bands",
    "generalise",
    "class_sizes",
    "k_anonymity",
    "l_diversity",
    "small_class_mask",
]
