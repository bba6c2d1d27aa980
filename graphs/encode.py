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
Missing values, which Gower skips pairwise (renormalising by the weights present), have no such vector form;
the encoder follows a declared strategy per kind instead (``missing=``), :func:`gower_distances` skips pairwise:

* ``"median+indicator"`` (numeric and ordinal, the default): the value is the training median (rank median
  for ordinals) and an extra dimension of height ``w_f / 2`` marks it missing, so a missing value is
  ``w_f (|med - x| / R_f + 1/2)`` from an observed ``x`` and 0 from another missing value;
* ``"median"``: the median alone (imputation, no indicator; missing looks like a typical patient);
* ``"level"`` (categorical, the default): missing is one more category (distance 1 to every observed one);
* ``"mode"``: the most frequent category;
* ``"error"``: refuse missing values (the exact-Gower check).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MixedEncoder", "gower_distances", "MISSING_STRATEGIES", "DEFAULT_MISSING"]

#: Strategies for missing feature values, per kind (see the module docstring).
MISSING_STRATEGIES = {"numeric": ("median+indicator", "median", "error"),
                      "ordinal": ("median+indicator", "median", "error"),
                      "categorical": ("level", "mode", "error")}
DEFAULT_MISSING = {"numeric": "median+indicator", "ordinal": "median+indicator", "categorical": "level"}


def _missing(missing: dict[str, str] | str | None) -> dict[str, str]:
    """Resolve ``missing=`` (a dict per kind, a single ``"error"``, or ``None`` for the defaults)."""
    if missing == "error":
        return {k: "error" for k in MISSING_STRATEGIES}
    out = {**DEFAULT_MISSING, **(missing or {})}
    for kind, strategy in out.items():
        if kind not in MISSING_STRATEGIES or strategy not in MISSING_STRATEGIES[kind]:
            raise ValueError(f"missing strategy {kind}={strategy!r} is unknown; valid: "
                             + "; ".join(f"{k}: {', '.join(v)}" for k, v in MISSING_STRATEGIES.items()))
    return out


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


def _median_of_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` repeated ``counts`` times (``values`` sorted), without expanding them."""
    n = int(counts.sum())
    ends = np.cumsum(counts)
    lo, hi = values[np.searchsorted(ends, (n - 1) // 2, side="right")], values[np.searchsorted(ends, n // 2,
                                                                                               side="right")]
    return float(np.mean(np.array([lo, hi], dtype=np.float64)))


class MixedEncoder:
    """Encode numeric, ordinal and categorical columns so that L1 distance = Gower distance × ``scale_``.

    Args:
        numeric: numeric columns, scaled by the range seen at :meth:`fit`.
        ordinal: ordinal columns mapped to their ordered levels, e.g. ``{"grade": ["I", "II", "III"]}``.
        categorical: nominal columns, one-hot encoded (categories learned at :meth:`fit`).
        weights: feature weights (default 1 each); Gower's weighted form.
        missing: strategy per kind for missing values, e.g. ``{"numeric": "median", "categorical": "level"}``
            (default :data:`DEFAULT_MISSING`; ``"error"`` refuses them). See the module docstring.
        categories: known levels per categorical column (e.g. its public domain), added to those seen
            at :meth:`fit`, so rows with a level absent from the fitting rows can be encoded.

    Attributes:
        n_features_: number of features.
        dim_: width of the encoded vectors.
        scale_: ``sum of weights``; ``gower(a, b) = L1(x_a, x_b) / scale_``.
        mins_, ranges_: numeric minimum and range per column (``ranges_`` fits :func:`gower_distances`).
        categories_: categories per categorical column.
        fill_: value (numeric) or rank (ordinal) or category replacing a missing value, per column.
        indicators_: columns that carry a missing-indicator dimension (or a "missing" category).
    """

    def __init__(self, *, numeric: Sequence[str] = (), ordinal: dict[str, list[str]] | None = None,
                 categorical: Sequence[str] = (), weights: dict[str, float] | None = None,
                 missing: dict[str, str] | str | None = None, categories: dict[str, list] | None = None) -> None:
        self.numeric = numeric
        self.ordinal = ordinal
        self.categorical = categorical
        self.weights = weights
        self.missing = missing
        self.categories = categories

    def __repr__(self) -> str:
        return (f"MixedEncoder(numeric={len(self.numeric)}, ordinal={len(self.ordinal or {})}, "
                f"categorical={len(self.categorical)}, weighted={bool(self.weights)})")

    @property
    def features(self) -> list[str]:
        """All feature names in encoding order."""
        return [*self.numeric, *(self.ordinal or {}), *self.categorical]

    def fit(self, df: pd.DataFrame) -> MixedEncoder:
        """Learn numeric ranges and categorical categories from ``df``."""
        _check_columns(df, self._begin_fit(len(df)))
        for c in self.numeric:
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                raise ValueError(f"numeric feature {c!r} has non-numeric dtype {df[c].dtype}")
            v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
            seen = v[~np.isnan(v)]
            lo, hi = (float(seen.min()), float(seen.max())) if len(seen) else (0.0, 0.0)
            self.mins_[c], self.ranges_[c] = lo, hi - lo
            self._fit_missing(c, "numeric", v, float(np.median(seen)) if len(seen) else 0.0)
        for c, levels in (self.ordinal or {}).items():
            if len(levels) < 1 or len(set(levels)) != len(levels):
                raise ValueError(f"ordinal feature {c!r} needs distinct levels, got {levels}")
            codes = _ordinal_codes(df[c], list(levels), c)
            seen = codes[~np.isnan(codes)]
            self._fit_missing(c, "ordinal", codes, float(np.round(np.median(seen))) if len(seen) else 0.0)
        self.categories_ = {}
        for c in self.categorical:
            present = df[c].dropna()
            known = [v for v in (self.categories or {}).get(c, ()) if v not in set(present)]
            cats = sorted([*pd.unique(present), *known], key=lambda v: (type(v).__name__, str(v)))
            mode = present.value_counts(sort=True).index[0] if len(present) else None
            self.categories_[c] = cats
            self._fit_missing(c, "categorical", df[c].isna().to_numpy(), mode)
        return self._end_fit()

    # ------------------------------------------------------------ fitting from per-partition summaries
    def summarise(self, df: pd.DataFrame) -> dict:
        """What :meth:`fit` needs from one partition of the fitting rows, of bounded size.

        Per numeric column its distinct observed values with counts (sorted) and the missing count; per ordinal
        column the count of each level; per categorical column the value counts in order of first appearance.
        Sizes are bounded by the distinct values, not the rows. :meth:`merge_summaries` combines partitions,
        :meth:`fit_summary` fits from the result exactly as :meth:`fit` on the concatenated rows would.
        """
        _check_columns(df, self.features)
        out: dict = {"rows": len(df), "numeric": {}, "ordinal": {}, "categorical": {}}
        for c in self.numeric:
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                raise ValueError(f"numeric feature {c!r} has non-numeric dtype {df[c].dtype}")
            v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
            values, counts = np.unique(v[~np.isnan(v)], return_counts=True)
            out["numeric"][c] = (values, counts, int(np.isnan(v).sum()))
        for c, levels in (self.ordinal or {}).items():
            codes = _ordinal_codes(df[c], list(levels), c)
            seen = codes[~np.isnan(codes)].astype(np.int64)
            out["ordinal"][c] = (np.bincount(seen, minlength=len(levels)), int(np.isnan(codes).sum()))
        for c in self.categorical:
            counts = df[c].dropna().value_counts(sort=False)  # order of first appearance
            counts = counts[counts > 0]  # a pandas Categorical lists its unseen categories too
            out["categorical"][c] = (list(counts.index), counts.to_numpy(np.int64), int(df[c].isna().sum()))
        return out

    @staticmethod
    def merge_summaries(parts: Sequence[dict]) -> dict:
        """One summary of the rows of all ``parts`` (in order) from their :meth:`summarise` results."""
        if not parts:
            raise ValueError("no partition summaries to merge")
        out: dict = {"rows": sum(p["rows"] for p in parts), "numeric": {}, "ordinal": {}, "categorical": {}}
        for c in parts[0]["numeric"]:
            values = np.concatenate([p["numeric"][c][0] for p in parts])
            u, inv = np.unique(values, return_inverse=True)
            counts = np.bincount(inv, weights=np.concatenate([p["numeric"][c][1] for p in parts]),
                                 minlength=len(u)).astype(np.int64)
            out["numeric"][c] = (u, counts, sum(p["numeric"][c][2] for p in parts))
        for c in parts[0]["ordinal"]:
            out["ordinal"][c] = (sum(p["ordinal"][c][0] for p in parts), sum(p["ordinal"][c][1] for p in parts))
        for c in parts[0]["categorical"]:
            total: dict = {}
            for p in parts:  # dict insertion order = first appearance over the partitions in order
                for v, n in zip(p["categorical"][c][0], p["categorical"][c][1]):
                    total[v] = total.get(v, 0) + int(n)
            out["categorical"][c] = (list(total), np.array(list(total.values()), dtype=np.int64),
                                     sum(p["categorical"][c][2] for p in parts))
        return out

    def fit_summary(self, summary: dict) -> MixedEncoder:
        """Fit from a (merged) :meth:`summarise` result: the same state as :meth:`fit` on those rows."""
        self._begin_fit(summary["rows"])
        for c in self.numeric:
            values, counts, n_missing = summary["numeric"][c]
            lo, hi = (float(values[0]), float(values[-1])) if len(values) else (0.0, 0.0)
            self.mins_[c], self.ranges_[c] = lo, hi - lo
            self._fit_missing_count(c, "numeric", n_missing, _median_of_counts(values, counts)
                                    if len(values) else 0.0)
        for c, levels in (self.ordinal or {}).items():
            if len(levels) < 1 or len(set(levels)) != len(levels):
                raise ValueError(f"ordinal feature {c!r} needs distinct levels, got {levels}")
            counts, n_missing = summary["ordinal"][c]
            median = _median_of_counts(np.arange(len(levels), dtype=np.float64), np.asarray(counts))
            self._fit_missing_count(c, "ordinal", n_missing, float(np.round(median)) if counts.sum() else 0.0)
        self.categories_ = {}
        for c in self.categorical:
            values, counts, n_missing = summary["categorical"][c]
            seen = set(values)
            known = [v for v in (self.categories or {}).get(c, ()) if v not in seen]
            self.categories_[c] = sorted([*values, *known], key=lambda v: (type(v).__name__, str(v)))
            # the same tie order as value_counts(sort=True) on the rows: stable sort of first-appearance order
            mode = pd.Series(counts, index=values).sort_values(ascending=False).index[0] if len(values) else None
            self._fit_missing_count(c, "categorical", n_missing, mode)
        return self._end_fit()

    def _begin_fit(self, n_rows: int) -> list[str]:
        """Check the feature lists, reset the fitted state; returns the features."""
        feats = self.features
        if not feats:
            raise ValueError("MixedEncoder needs at least one feature (numeric, ordinal or categorical)")
        if len(set(feats)) != len(feats):
            raise ValueError(f"a feature is listed twice: {feats}")
        if n_rows == 0:
            raise ValueError("cannot fit MixedEncoder on an empty data frame")
        self.weights_ = _weights(feats, self.weights)
        self.missing_ = _missing(self.missing)
        self.mins_, self.ranges_, self.fill_, self.indicators_ = {}, {}, {}, []
        return feats

    def _end_fit(self) -> MixedEncoder:
        self.n_features_ = len(self.features)
        n_onehot = sum(len(v) for v in self.categories_.values())
        self.dim_ = len(self.numeric) + len(self.ordinal or {}) + n_onehot + len(self.indicators_)
        self.scale_ = float(sum(self.weights_.values()))
        return self

    def _fit_missing_count(self, col: str, kind: str, n_missing: int, fill: object) -> None:
        """:meth:`_fit_missing` from a count of missing values."""
        self._fit_missing(col, kind, np.full(1, n_missing > 0), fill)

    def _fit_missing(self, col: str, kind: str, values: np.ndarray, fill: object) -> None:
        """Record the fill value of ``col`` and whether it gets an indicator (it had missing values)."""
        self.fill_[col] = fill
        missing = values if values.dtype == bool else np.isnan(values)
        if missing.any() and self.missing_[kind] in ("median+indicator", "level"):
            self.indicators_.append(col)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode ``df`` as a float32 ``(n, dim_)`` array (missing values as the fitted strategy says)."""
        if not hasattr(self, "scale_"):
            raise ValueError("MixedEncoder is not fitted yet: call fit(df) first")
        _check_columns(df, self.features)
        n = len(df)
        out = np.zeros((n, self.dim_), dtype=np.float32)
        j, flags = 0, {}
        for c in self.numeric:
            v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
            lo, r = self.mins_[c], self.ranges_[c]
            v = self._filled(c, "numeric", v, np.isnan(v), flags)
            out[:, j] = 0.0 if r == 0 else self.weights_[c] * (v - lo) / r
            j += 1
        for c, levels in (self.ordinal or {}).items():
            codes = _ordinal_codes(df[c], list(levels), c)
            codes = self._filled(c, "ordinal", codes, np.isnan(codes), flags)
            out[:, j] = 0.0 if len(levels) == 1 else self.weights_[c] * codes / (len(levels) - 1)
            j += 1
        for c in self.categorical:
            cats = self.categories_[c]
            s = df[c]
            s = pd.Series(self._filled(c, "categorical", s.to_numpy(dtype=object), s.isna().to_numpy(), flags),
                          index=s.index)
            codes = pd.Categorical(s, categories=cats).codes
            unknown_mask = (codes < 0) & s.notna().to_numpy()
            if unknown_mask.any():
                unknown = list(pd.unique(s[unknown_mask]))[:5]
                raise ValueError(f"categorical feature {c!r} has categories {unknown} not seen at fit "
                                 f"(known: {cats[:10]}); fit the encoder on data covering all categories")
            rows = np.flatnonzero(codes >= 0)
            out[rows, j + codes[rows]] = self.weights_[c] / 2.0
            j += len(cats)
        for c in self.indicators_:  # a missing value: half a feature weight (numeric/ordinal), or its own category
            out[:, j] = flags.get(c, np.zeros(n, dtype=bool)) * self.weights_[c] / 2.0
            j += 1
        return out

    def _filled(self, col: str, kind: str, values: np.ndarray, missing: np.ndarray, flags: dict) -> np.ndarray:
        """``values`` with the missing ones replaced by the fitted fill (``None`` for a "level" category)."""
        if not missing.any():
            return values
        strategy = self.missing_[kind]
        if strategy == "error":
            raise ValueError(f"feature {col!r} has {int(missing.sum())} missing values: the L1 encoding "
                             "cannot skip features pairwise as Gower does; choose a missing-value strategy, "
                             "or impute them before encoding (gower_distances handles NaN directly)")
        flags[col] = missing
        values = values.copy()
        values[missing] = None if strategy == "level" else self.fill_[col]
        return values

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """``fit(df).transform(df)``."""
        return self.fit(df).transform(df)


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
