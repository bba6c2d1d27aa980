"""The generator interface: ``fit(df, numeric=..., ..., seed=)`` then ``sample(n, seed=)``; ``save``/``load``.

A generator is an sklearn-like estimator: the constructor only stores its parameters, ``fit``
validates the table, learns state (attributes ending in ``_``) and returns ``self``; ``sample``
returns a frame with the fitted columns, order and dtypes, with a coherent survival pair
(``time >= 0``, ``event`` in ``{0, 1}``). Same seed → identical frame; no global random state.
Without a seed, ``sample`` draws one from the generator's own random stream (seeded by ``fit``),
so successive calls differ and a fitted (or loaded) generator replays the same sequence.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _state
from ._table import ColumnSpec, TableCodec


class TableGenerator(ABC):
    """What every generator offers: ``fit(df, roles..., seed=)`` then ``sample(n, seed=)`` on pandas frames.

    The public methods validate their arguments and call the frame hooks ``_fit_frame`` and
    ``_sample_frame``. :class:`Generator` implements them through a table encoding; a wrapper such
    as :class:`~syntwin.synthesis.generators.missingness.MissingAware` implements them around another
    generator.
    """

    def get_params(self) -> dict:
        """Constructor parameters and their current values (none for a class without its own ``__init__``)."""
        return {p: getattr(self, p) for p in _init_parameters(type(self))}

    def set_params(self, **params) -> TableGenerator:
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
    ) -> TableGenerator:
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
        roles = Roles(list(numeric), dict(ordinal or {}), list(categorical), time, event)
        frame = df.copy(deep=False)  # a new frame of the same columns (reset_index would copy every column)
        frame.index = pd.RangeIndex(len(df))
        self._fit_frame(frame, roles, int(seed))
        return self

    def use_constraints(self, constraints: Sequence) -> TableGenerator:
        """Rules (``synthesis.constraints``) this generator may keep by construction when fitted next.

        The default keeps none; whatever a generator's rows break is rejected around ``sample`` and counted
        (``synthesis.constraints.sample_within``).
        """
        return self

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """Draw ``n`` synthetic rows (same columns and dtypes as the fitted table).

        Args:
            n: Number of rows.
            seed: Seed of the draw; ``None`` takes the next seed of the generator's own stream.
        """
        if not self._fitted():
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(df, ...) first")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self._sample_frame(n, seed)

    @abstractmethod
    def _fitted(self) -> bool:
        """Whether ``fit`` has run."""

    @abstractmethod
    def _fit_frame(self, df: pd.DataFrame, roles: Roles, seed: int) -> None:
        """Learn from ``df`` (index reset) with the column roles given to ``fit``."""

    @abstractmethod
    def _sample_frame(self, n: int, seed: int | None) -> pd.DataFrame:
        """Draw ``n >= 0`` rows; ``seed=None`` takes the next seed of the generator's own stream."""


def _init_parameters(cls: type) -> list[str]:
    """Named constructor parameters of ``cls`` (``self``, ``*args`` and ``**kwargs`` are not parameters)."""
    sig = inspect.signature(cls.__init__)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p, v in sig.parameters.items() if p != "self" and v.kind not in variadic]


@dataclass(frozen=True)
class Roles:
    """The column roles given to ``fit``."""

    numeric: list[str]
    ordinal: dict[str, Sequence]
    categorical: list[str]
    time: str | None
    event: str | None


class Generator(TableGenerator):
    """Base class of synthetic-table generators that work on an encoded table.

    Subclasses implement ``_fit(codes, seed)`` on the encoded table (see ``TableCodec``) and
    ``_sample(n, seed) -> dict[column, array]`` in the same encoding; the base class does the
    validation, the encoding and the decoding back to the original dtypes.

    Attributes:
        spec_: Column roles learned at fit.
        codec_: The table encoding.
    """

    def _fitted(self) -> bool:
        return hasattr(self, "codec_")

    def _fit_frame(self, df: pd.DataFrame, roles: Roles, seed: int) -> None:
        self.spec_ = ColumnSpec.build(df, roles.numeric, roles.ordinal, roles.categorical, roles.time, roles.event)
        self.codec_ = TableCodec(df, self.spec_)
        self.n_train_ = len(df)
        self._fit(self.codec_.encode(df), df, seed)
        self.sample_rng_ = seed_rng(seed, 3)  # seeds of sample() calls without one

    def _sample_frame(self, n: int, seed: int | None) -> pd.DataFrame:
        if seed is None:
            seed = int(self.sample_rng_.integers(2**32))
        if n == 0:
            return self.codec_.decode({c: np.zeros(0) for c in self.codec_.columns})
        return self.codec_.decode(self._sample(n, int(seed)))

    # -- persistence --------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The learned state (attributes ending in ``_``): arrays, numbers, strings, lists, dicts.

        Generators whose state is not of that kind override this and :meth:`set_state`.
        """
        skip = {"spec_", "codec_", "sample_rng_"}
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_") and k not in skip}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        for k, v in state.items():
            setattr(self, k, v)

    def save(self, path: str | Path) -> Path:
        """Write the fitted generator to one ``.npz`` file (arrays + a JSON header; no pickles).

        Returns:
            The path written (``.npz`` appended when missing).
        """
        if not hasattr(self, "codec_"):
            raise ValueError(f"{type(self).__name__} is not fitted: nothing to save")
        arrays: dict[str, np.ndarray] = {}
        codec = self.codec_
        header = {
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": _state.pack(self.get_params(), arrays),
            "codec": _state.pack({"spec": codec.spec, "columns": codec.columns, "levels": codec.levels,
                                  "has_missing": codec.has_missing}, arrays),
            "dtypes": [_state.dtype_state(codec.dtypes[c]) for c in codec.columns],
            "rng": self.sample_rng_.bit_generator.state,
            "state": _state.pack(self.get_state(), arrays),
        }
        return _state.write(Path(path), header, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Generator:
        """Read a generator written by :meth:`save`; it samples exactly as the saved one would."""
        header, arrays = _state.read(Path(path))
        from . import GENERATORS  # registered user generators may live in other modules

        klass = _state.resolve(header["class"], tuple(GENERATORS.values()))
        if not (isinstance(klass, type) and issubclass(klass, cls)):
            raise TypeError(f"{path} holds a {header['class']}, not a {cls.__name__}")
        gen = klass(**_state.unpack(header["params"], arrays))
        parts = _state.unpack(header["codec"], arrays)
        codec = TableCodec.__new__(TableCodec)
        codec.spec, codec.columns, codec.levels, codec.has_missing = (
            parts["spec"], parts["columns"], parts["levels"], parts["has_missing"])
        codec.dtypes = pd.Series([_state.dtype_from_state(d) for d in header["dtypes"]], index=codec.columns,
                                 dtype=object)
        gen.codec_, gen.spec_ = codec, codec.spec
        gen.sample_rng_ = np.random.default_rng()
        gen.sample_rng_.bit_generator.state = header["rng"]
        gen.set_state(_state.unpack(header["state"], arrays))
        return gen

    @abstractmethod
    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        """Learn state from the encoded table (``df`` is the raw one, index reset)."""

    @abstractmethod
    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """Draw ``n`` rows in the codec's encoding."""


def seed_rng(seed: int, *keys: int) -> np.random.Generator:
    """A numpy Generator for the child ``keys`` of ``seed`` (stable across processes)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(keys)))
