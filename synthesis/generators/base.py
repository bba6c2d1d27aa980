"""The generator interface: ``fit(df, numeric=..., ..., seed=)`` then ``sample(n, seed=)``.

A generator is an sklearn-like estimator: the constructor only stores its parameters, ``fit``
validates the table, learns state (attributes ending in ``_``) and returns ``self``; ``sample``
returns a frame with the fitted columns, order and dtypes, with a coherent survival pair
(``time >= 0``, ``event`` in ``{0, 1}``). Same seed → identical frame; no global random state.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._table import ColumnSpec, TableCodec


class Generator(ABC):
    """Base class of synthetic-table generators.

    Subclasses implement ``_fit(codes, seed)`` on the encoded table (see ``TableCodec``) and
    ``_sample(n, seed) -> dict[column, array]`` in the same encoding; the base class does the
    validation, the encoding and the decoding back to the original dtypes.

    Attributes:
        spec_: Column roles learned at fit.
        codec_: The table encoding.
    """

    def get_params(self) -> dict:
        """Constructor parameters and their current values."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def set_params(self, **params) -> Generator:
        """Set constructor parameters (unknown names raise ``ValueError``)."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if sig.parameters[k].default is inspect.Parameter.empty or v != sig.parameters[k].default
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def fit(
        self,
        df: pd.DataFrame,
        *,
        numeric: Iterable[str] = (),
        ordinal: Mapping[str, Sequence] | None = None,
        categorical: Iterable[str] = (),
        time: str | None = None,
        event: str | None = None,
        seed: int = 0,
    ) -> Generator:
        """Learn the joint distribution of ``df``.

        Args:
            df: The training table; every column needs a role (or give no role lists at all, and
                numbers are numeric, anything else categorical).
            numeric: Continuous or count columns.
            ordinal: Ordered categorical columns, name -> levels in order.
            categorical: Unordered categorical columns (missing values are a level of their own).
            time: Survival/follow-up time column (numeric, >= 0).
            event: Event indicator column (0/1 or bool).
            seed: Seed of any randomness in fitting (initialisation, training).

        Returns:
            self
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        df = df.reset_index(drop=True)
        self.spec_ = ColumnSpec.build(df, numeric, ordinal, categorical, time, event)
        self.codec_ = TableCodec(df, self.spec_)
        self.n_train_ = len(df)
        self._fit(self.codec_.encode(df), df, int(seed))
        return self

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        """Draw ``n`` synthetic rows (same columns and dtypes as the fitted table)."""
        if not hasattr(self, "codec_"):
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(df, ...) first")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return self.codec_.decode({c: np.zeros(0) for c in self.codec_.columns})
        return self.codec_.decode(self._sample(n, int(seed)))

    @abstractmethod
    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        """Learn state from the encoded table (``df`` is the raw one, index reset)."""

    @abstractmethod
    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """Draw ``n`` rows in the codec's encoding."""


def seed_rng(seed: int, *keys: int) -> np.random.Generator:
    """A numpy Generator for the child ``keys`` of ``seed`` (stable across processes)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(keys)))
