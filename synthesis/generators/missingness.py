"""Missing values reproduced by any generator: indicators modelled jointly, NaN re-injected after sampling.

:class:`MissingAware` wraps a generator. At ``fit``, every feature column with missing values gets a
categorical indicator column (``"1"`` missing, ``"0"`` observed) and its missing entries are filled
(numeric: median; ordinal and categorical: the most frequent level), so the wrapped generator sees a
complete table and learns the indicators jointly with everything else: missingness that depends on
other columns (e.g. tumour size unknown more often in late stages) is kept, not only its rate. After
``sample``, a twin's value is set missing where its sampled indicator says ``"1"``, and the indicator
columns are dropped: the twins have the fitted columns, order and dtypes, and each column's share of
missing values matches the training table's up to sampling noise. Time and event are never missing.

A generator that models missing values itself (class attribute ``models_missing = True``, e.g. ``mst``,
whose domains hold a missing cell per column) is not wrapped: filling with the data's median or mode
would be a data-dependent step outside a differential-privacy guarantee.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from .base import Roles, TableGenerator

__all__ = ["MissingAware", "with_missingness"]


class MissingAware(TableGenerator):
    """Wrap ``generator`` so that its twins keep each feature column's missing values.

    Args:
        generator: Any :class:`TableGenerator` (a template; a fitted copy is kept in ``inner_``).

    Attributes:
        missing_: Column -> share of missing values in the training table (columns with any).
        indicators_: Column -> name of its indicator column in the table the inner generator saw.
        inner_: The fitted wrapped generator.
    """

    def __init__(self, generator: TableGenerator) -> None:
        self.generator = generator

    def use_constraints(self, constraints) -> MissingAware:
        """Passed on to the wrapped generator."""
        self.generator.use_constraints(constraints)
        return self

    def _fitted(self) -> bool:
        return hasattr(self, "inner_")

    def _fit_frame(self, df: pd.DataFrame, roles: Roles, seed: int) -> None:
        """Fit the wrapped generator on the filled table plus one indicator per column with missing values."""
        numeric, categorical, ordinal = roles.numeric, roles.categorical, roles.ordinal
        self.columns_, self.dtypes_ = list(df.columns), df.dtypes.copy()
        self.missing_, self.indicators_ = {}, {}
        filled = df.copy(deep=False)  # columns are replaced, never written into: df stays as it was
        for c in [*numeric, *ordinal, *categorical]:
            na = df[c].isna().to_numpy()
            if not na.any():
                continue
            self.missing_[c] = float(na.mean())
            name = _free_name(f"{c}__missing", set(filled.columns))
            self.indicators_[c] = name
            filled[name] = pd.Series(np.where(na, "1", "0"), dtype=object)
            if na.all():
                continue  # nothing to fill from: the column stays missing in every twin
            if c in numeric:
                filled[c] = df[c].fillna(float(df[c].median()))
            else:
                filled[c] = df[c].astype(object).where(~na, df[c].value_counts().index[0])
        keep = [c for c in self.columns_ if not (c in self.missing_ and self.missing_[c] == 1.0)]
        self.all_missing_ = [c for c in self.columns_ if c not in keep]
        filled = filled[keep + list(self.indicators_.values())]
        self.inner_ = copy.deepcopy(self.generator)
        self.inner_.fit(
            filled,
            numeric=[c for c in numeric if c in keep],
            ordinal={k: v for k, v in ordinal.items() if k in keep},
            categorical=[c for c in categorical if c in keep] + list(self.indicators_.values()),
            time=roles.time,
            event=roles.event,
            seed=seed,
        )
        self.n_train_ = len(df)

    def _sample_frame(self, n: int, seed: int | None) -> pd.DataFrame:
        """Draw ``n`` rows from the wrapped generator and re-inject missing values where indicated."""
        out = self.inner_.sample(n, seed=seed)
        for c, name in self.indicators_.items():
            if c in self.all_missing_:
                continue
            na = out[name].astype(str).to_numpy() == "1"
            if na.any():
                col = out[c]
                out[c] = col.astype("float64") if pd.api.types.is_integer_dtype(col) else col
                out.loc[na, c] = None
        for c in self.all_missing_:
            out[c] = pd.Series([None] * len(out), dtype=self.dtypes_[c] if self.dtypes_[c] != "int64" else "float64")
        return out[self.columns_].reset_index(drop=True)


def _free_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


def with_missingness(generator: TableGenerator) -> TableGenerator:
    """``generator`` wrapped in :class:`MissingAware` (unchanged if it already is, or models missing values)."""
    if isinstance(generator, MissingAware) or getattr(generator, "models_missing", False):
        return generator
    return MissingAware(generator)
