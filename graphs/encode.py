"""Mixed-type encoding under which the L1 distance equals the Gower distance.

Gower (1971) for features ``f`` with weights ``w_f``:

.. math::
    d(a, b) = \\frac{\\sum_f w_f \\, \\delta_f(a, b)}{\\sum_f w_f},\\qquad
    \\delta_f = \\begin{cases} |a_f - b_f| / R_f & \\text{numeric (range } R_f\\text{)}\\\\
    |r(a_f) - r(b_f)| / (L_f - 1) & \\text{ordinal (rank } r\\text{, } L_f \\text{ levels)}\\\\
    [a_f \\ne b_f] & \\text{categorical} \\end{cases}

:class:`MixedEncoder` maps a row to ``w_f (x_f - min_f) / R_f`` for numeric features, ``w_f r / (L_f - 1)``
for ordinal ones and ``w_f / 2`` times a one-hot vector for categorical ones, so that
``L1(x_a, x_b) = d(a, b) * scale_`` with ``scale_ = sum_f w_f`` (the feature count when unweighted).
Missing values (which Gower skips pairwise, renormalising by the weights present) have no such vector form:
:meth:`MixedEncoder.transform` rejects them, :func:`gower_distances` handles them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MixedEncoder", "gower_distances"]


def _check_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the data frame (it has {list(df.columns)})")


def _weights(features: Sequence[str], weights: dict[str, float] | None) -> dict[str, float]:
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(features))
    if unknown:
        raise ValueError(f"weights given for unknown features {unknown}; features are {list(features)}")
    out = {f: float(weights.get(f, 1.0)) for f in features}
    bad = {f: w for f, w in out.items() if not np.isfinite(w) or w < 0}
    if bad:
        raise ValueError(f"feature weights must be finite and >= 0, got {bad}")
    if sum(out.values()) <= 0:
        raise ValueError("at least one feature weight must be > 0")
    return out


def _ordinal_codes(s: pd.Series, levels: list[str], name: str) -> np.ndarray:
    """Rank of each value in ``levels`` (NaN where missing); unknown values raise."""
    lookup = {lvl: i for i, lvl in enumerate(levels)}
    codes = s.map(lookup)
    unknown = s[codes.isna() & s.notna()].unique()
    if len(unknown):
        raise ValueError(f"ordinal feature {name!r} has values {list(unknown)[:5]} "
                         f"not among its levels {levels}")
    return codes.to_numpy(dtype=np.float64)


class MixedEncoder:
    """Encode numeric, ordinal and categorical columns so that L1 distance = Gower distance × ``scale_``.

    Args:
        numeric: numeric columns, scaled by the range seen at :meth:`fit`.
        ordinal: ordinal columns mapped to their ordered levels, e.g. ``{"grade": ["I", "II", "III"]}``.
        categorical: nominal columns, one-hot encoded (categories learned at :meth:`fit`).
        weights: feature weights (default 1 each); Gower's weighted form.

    Attributes:
        n_features_: number of features.
        dim_: width of the encoded vectors.
        scale_: ``sum of weights``; ``gower(a, b) = L1(x_a, x_b) / scale_``.
        mins_, ranges_: numeric minimum and range per column (``ranges_`` fits :func:`gower_distances`).
        categories_: categories per categorical column.
    """

    def __init__(self, *, numeric: Sequence[str] = (), ordinal: dict[str, list[str]] | None = None,
                 categorical: Sequence[str] = (), weights: dict[str, float] | None = None) -> None:
        self.numeric = numeric
        self.ordinal = ordinal
        self.categorical = categorical
        self.weights = weights

    def __repr__(self) -> str:
        return (f"MixedEncoder(numeric={len(self.numeric)}, ordinal={len(self.ordinal or {})}, "
                f"categorical={len(self.categorical)}, weighted={bool(self.weights)})")

    @property
    def features(self) -> list[str]:
        """All feature names in encoding order."""
        return [*self.numeric, *(self.ordinal or {}), *self.categorical]

    def fit(self, df: pd.DataFrame) -> MixedEncoder:
        """Learn numeric ranges and categorical categories from ``df``."""
        feats = self.features
        if not feats:
            raise ValueError("MixedEncoder needs at least one feature (numeric, ordinal or categorical)")
        if len(set(feats)) != len(feats):
            raise ValueError(f"a feature is listed twice: {feats}")
        _check_columns(df, feats)
        if len(df) == 0:
            raise ValueError("cannot fit MixedEncoder on an empty data frame")
        self.weights_ = _weights(feats, self.weights)
        self.mins_, self.ranges_ = {}, {}
        for c in self.numeric:
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                raise ValueError(f"numeric feature {c!r} has non-numeric dtype {df[c].dtype}")
            v = df[c].to_numpy(dtype=np.float64)
            lo, hi = np.nanmin(v), np.nanmax(v)
            self.mins_[c], self.ranges_[c] = float(lo), float(hi - lo)
        for c, levels in (self.ordinal or {}).items():
            if len(levels) < 1 or len(set(levels)) != len(levels):
                raise ValueError(f"ordinal feature {c!r} needs distinct levels, got {levels}")
        self.categories_ = {}
        for c in self.categorical:
            cats = pd.unique(df[c].dropna())
            self.categories_[c] = sorted(cats, key=lambda v: (type(v).__name__, str(v)))
        self.n_features_ = len(feats)
        n_onehot = sum(len(v) for v in self.categories_.values())
        self.dim_ = len(self.numeric) + len(self.ordinal or {}) + n_onehot
        self.scale_ = float(sum(self.weights_.values()))
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode ``df`` as a float32 ``(n, dim_)`` array (raises on missing or unknown values)."""
        if not hasattr(self, "scale_"):
            raise ValueError("MixedEncoder is not fitted yet: call fit(df) first")
        _check_columns(df, self.features)
        n = len(df)
        out = np.zeros((n, self.dim_), dtype=np.float32)
        j = 0
        for c in self.numeric:
            v = df[c].to_numpy(dtype=np.float64)
            lo, r = self.mins_[c], self.ranges_[c]
            self._no_nan(c, np.isnan(v))
            out[:, j] = 0.0 if r == 0 else self.weights_[c] * (v - lo) / r
            j += 1
        for c, levels in (self.ordinal or {}).items():
            codes = _ordinal_codes(df[c], list(levels), c)
            self._no_nan(c, np.isnan(codes))
            out[:, j] = 0.0 if len(levels) == 1 else self.weights_[c] * codes / (len(levels) - 1)
            j += 1
        for c in self.categorical:
            cats = self.categories_[c]
            s = df[c]
            self._no_nan(c, s.isna().to_numpy())
            codes = pd.Categorical(s, categories=cats).codes
            if (codes < 0).any():
                unknown = list(pd.unique(s[codes < 0]))[:5]
                raise ValueError(f"categorical feature {c!r} has categories {unknown} not seen at fit "
                                 f"(known: {cats[:10]}); fit the encoder on data covering all categories")
            out[np.arange(n), j + codes] = self.weights_[c] / 2.0
            j += len(cats)
        return out

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """``fit(df).transform(df)``."""
        return self.fit(df).transform(df)

    @staticmethod
    def _no_nan(col: str, mask: np.ndarray) -> None:
        if mask.any():
            raise ValueError(f"feature {col!r} has {int(mask.sum())} missing values: the L1 encoding "
                             "cannot skip features pairwise as Gower does; impute them, or make 'missing' a "
                             "category level, before encoding (gower_distances handles NaN directly)")


def gower_distances(a: pd.DataFrame, b: pd.DataFrame, *, numeric: Sequence[str] = (),
                    ordinal: dict[str, list[str]] | None = None, categorical: Sequence[str] = (),
                    weights: dict[str, float] | None = None,
                    ranges: dict[str, float] | None = None) -> np.ndarray:
    """Direct (slow, O(n_a n_b) per feature) Gower distance matrix between the rows of ``a`` and ``b``.

    Missing values are skipped pairwise: ``d = sum_f w_f m_f delta_f / sum_f w_f m_f`` with ``m_f = 1``
    when both values are present (NaN when no feature is). Numeric ranges default to the range over
    ``a`` and ``b`` together; pass ``ranges`` (e.g. from a fitted :class:`MixedEncoder`) to fix them.

    Returns:
        float64 array of shape ``(len(a), len(b))``.
    """
    ordinal = ordinal or {}
    feats = [*numeric, *ordinal, *categorical]
    if not feats:
        raise ValueError("gower_distances needs at least one feature")
    _check_columns(a, feats)
    _check_columns(b, feats)
    w = _weights(feats, weights)
    num = np.zeros((len(a), len(b)))
    den = np.zeros((len(a), len(b)))

    def add(f: str, delta: np.ndarray) -> None:
        present = ~np.isnan(delta)
        num[present] += w[f] * delta[present]
        den[present] += w[f]

    for c in numeric:
        x, y = a[c].to_numpy(dtype=np.float64), b[c].to_numpy(dtype=np.float64)
        r = (ranges or {}).get(c)
        if r is None:
            both = np.concatenate([x, y])
            r = np.nanmax(both) - np.nanmin(both)
        delta = np.abs(x[:, None] - y[None, :])
        add(c, np.zeros_like(delta) if r == 0 else delta / r)
    for c, levels in ordinal.items():
        x, y = _ordinal_codes(a[c], list(levels), c), _ordinal_codes(b[c], list(levels), c)
        delta = np.abs(x[:, None] - y[None, :])
        add(c, np.zeros_like(delta) if len(levels) == 1 else delta / (len(levels) - 1))
    for c in categorical:
        x, y = a[c].to_numpy(dtype=object), b[c].to_numpy(dtype=object)
        delta = (x[:, None] != y[None, :]).astype(np.float64)
        delta[pd.isna(x)[:, None] | pd.isna(y)[None, :]] = np.nan
        add(c, delta)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
