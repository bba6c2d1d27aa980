"""Column roles and a reversible integer/float encoding of a mixed table, shared by all generators.

Every generator models the same *encoded* table: categorical and ordinal columns become integer
codes (missing values get their own code), numeric columns and the survival time stay floats and
the event indicator becomes 0/1. Decoding restores the original columns, order and dtypes, clips
the survival time to ``>= 0`` and forces the event into ``{0, 1}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NUMERIC, ORDINAL, CATEGORICAL, TIME, EVENT = "numeric", "ordinal", "categorical", "time", "event"


@dataclass(frozen=True)
class ColumnSpec:
    """Roles of the modelled columns (the generators' view of a cohort schema)."""

    numeric: tuple[str, ...] = ()
    ordinal: dict[str, tuple] = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    time: str | None = None
    event: str | None = None

    def kind(self, column: str) -> str:
        """The role of ``column``."""
        if column == self.time:
            return TIME
        if column == self.event:
            return EVENT
        if column in self.ordinal:
            return ORDINAL
        if column in self.categorical:
            return CATEGORICAL
        return NUMERIC

    @classmethod
    def build(
        cls,
        df: pd.DataFrame,
        numeric: Iterable[str] = (),
        ordinal: Mapping[str, Sequence] | None = None,
        categorical: Iterable[str] = (),
        time: str | None = None,
        event: str | None = None,
    ) -> ColumnSpec:
        """Validate the column lists against ``df``.

        With no list at all, roles are inferred from dtypes (numbers → numeric, anything else →
        categorical). Once any list is given, every column of ``df`` must have exactly one role.
        """
        numeric, categorical = tuple(numeric), tuple(categorical)
        ordinal = {str(k): tuple(v) for k, v in (ordinal or {}).items()}
        named = [*numeric, *ordinal, *categorical, *(c for c in (time, event) if c)]
        if not named:
            numeric = tuple(c for c in df.columns if _is_number(df[c]))
            categorical = tuple(c for c in df.columns if c not in numeric)
            named = [*numeric, *categorical]
        dupes = sorted({c for c in named if named.count(c) > 1})
        if dupes:
            raise ValueError(f"columns {dupes} are given more than one role")
        absent = [c for c in named if c not in df.columns]
        if absent:
            raise ValueError(f"columns {absent} are not in the table (it has {list(df.columns)})")
        unlisted = [c for c in df.columns if c not in named]
        if unlisted:
            raise ValueError(
                f"columns {unlisted} have no role: list them in numeric=, ordinal=, categorical=, "
                "time= or event=, or drop them before fitting"
            )
        return cls(numeric, ordinal, categorical, time, event)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


class TableCodec:
    """Reversible encoding of a mixed table (see the module docstring).

    Attributes:
        columns: Original column order.
        levels: Per categorical/ordinal column, the level values; code ``len(levels)`` means missing.
    """

    def __init__(self, df: pd.DataFrame, spec: ColumnSpec) -> None:
        if len(df) == 0:
            raise ValueError("cannot fit a generator on an empty table")
        self.spec = spec
        self.columns = list(df.columns)
        self.dtypes = df.dtypes.copy()
        self.levels: dict[str, np.ndarray] = {}
        self.has_missing: dict[str, bool] = {}
        for c in self.columns:
            kind, s = spec.kind(c), df[c]
            self.has_missing[c] = bool(s.isna().any())
            if kind == ORDINAL:
                levels = np.asarray(spec.ordinal[c], dtype=object)
                bad = sorted({str(v) for v in s.dropna().unique()} - {str(v) for v in levels})
                if bad:
                    raise ValueError(f"ordinal column {c!r} has values {bad} outside its levels "
                                     f"{list(levels)}")
                self.levels[c] = levels
            elif kind == CATEGORICAL:
                if isinstance(s.dtype, pd.CategoricalDtype):
                    self.levels[c] = np.asarray(s.cat.categories, dtype=object)
                else:
                    self.levels[c] = np.asarray(pd.unique(s.dropna()), dtype=object)
            elif kind in (NUMERIC, TIME):
                if not _is_number(s):
                    raise TypeError(f"{kind} column {c!r} must be numeric, got dtype {s.dtype}")
                if kind == TIME and (s.isna().any() or (s < 0).any()):
                    raise ValueError(f"time column {c!r} must be >= 0 without missing values")
            elif kind == EVENT:
                vals = set(pd.unique(s.astype("float64", errors="ignore")))
                if s.isna().any() or not vals <= {0, 1}:
                    raise ValueError(f"event column {c!r} must hold only 0/1 (or False/True), got {vals}")

    def encode(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Column → int64 codes (categorical, ordinal, event) or float64 values (numeric, time)."""
        return {c: self.encode_column(c, df[c]) for c in self.columns}

    def encode_column(self, c: str, s: pd.Series, *, unknown: int | None = None) -> np.ndarray:
        """Encode one column; values unseen at fit raise, or get code ``unknown`` when given."""
        kind = self.spec.kind(c)
        if kind in (ORDINAL, CATEGORICAL):
            lv = self.levels[c]
            lookup = {str(v): i for i, v in enumerate(lv)}
            present = s.notna().to_numpy()
            codes = np.full(len(s), len(lv), dtype=np.int64)
            mapped = s[present].astype(str).map(lookup)
            if mapped.isna().any():
                if unknown is None:
                    unseen = sorted(set(s[present][mapped.isna()]))
                    raise ValueError(f"column {c!r} has values not seen at fit: {unseen}")
                mapped = mapped.fillna(unknown)
            codes[present] = mapped.to_numpy(dtype=np.int64)
            return codes
        if kind == EVENT:
            return s.to_numpy().astype(np.int64)
        return s.to_numpy(dtype=np.float64, na_value=np.nan)

    def n_codes(self, column: str) -> int:
        """Number of codes of a categorical/ordinal column (levels plus one for missing)."""
        return len(self.levels[column]) + 1

    def decode(self, cols: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Rebuild a frame with the original columns, order and dtypes."""
        data = {}
        for c in self.columns:
            kind, dtype, v = self.spec.kind(c), self.dtypes[c], np.asarray(cols[c])
            if kind in (ORDINAL, CATEGORICAL):
                lv = self.levels[c]
                codes = np.clip(np.rint(v.astype(np.float64)), 0, len(lv)).astype(np.int64)
                if not self.has_missing[c]:
                    codes = np.minimum(codes, len(lv) - 1)
                values = np.append(lv, None)[codes]
                data[c] = _as_dtype(pd.Series(values, dtype=object), dtype)
            elif kind == EVENT:
                ev = (np.rint(v.astype(np.float64)) >= 1).astype(np.int64)
                data[c] = pd.Series(ev).astype(dtype)
            else:
                x = v.astype(np.float64)
                if kind == TIME:
                    x = np.maximum(np.nan_to_num(x, nan=0.0), 0.0)
                data[c] = _as_dtype(pd.Series(x), dtype)
        return pd.DataFrame(data, columns=self.columns)


def _as_dtype(s: pd.Series, dtype) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(s, dtype=dtype))
    if pd.api.types.is_integer_dtype(dtype):
        x = s.astype("float64").round()
        if x.isna().any() and isinstance(dtype, np.dtype):
            return x
        return x.astype(dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return s.astype(dtype)
    if pd.api.types.is_float_dtype(dtype):
        return s.astype(dtype)
    try:
        return s.astype(dtype)
    except (TypeError, ValueError):
        return s
