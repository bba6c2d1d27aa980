"""SDV 2.0 single-table synthesizers (GaussianCopula, CTGAN, TVAE) behind the generator interface.

SDV is BUSL-1.1 (not open source), so it is an optional dependency imported only inside ``fit``;
without it these generators raise ``SDVNotInstalledError`` (an ``ImportError``) and the
``latent_class`` generator remains available.

SDV 2.0 API used (checked against sdv 2.0.0): ``Metadata.load_from_dict({"tables": {"t": ...}})``
with sdtypes set from our column roles (never auto-detected), ``synth.fit({"t": df})``,
``synth.sample(n) -> {"t": df}``. Categorical and ordinal columns go to SDV as integer codes
(sdtype categorical), numbers as numbers (sdtype numerical). Determinism: SDV fits with numpy's and torch's *global* RNGs and
samples from a model random state (default: a fixed seed). ``fit`` and ``sample`` therefore run
inside a context that seeds both global RNGs from our seed and restores them afterwards (no state
leaks to the caller), and ``sample`` resets the transformers and seeds the model from ``seed``.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import numpy as np
import pandas as pd

from ._table import CATEGORICAL, EVENT, ORDINAL
from .base import Generator


class SDVNotInstalledError(ImportError):
    """SDV (optional, BUSL-1.1) is needed by this generator but is not installed."""


def _import_sdv():
    try:
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SDVNotInstalledError(
            "this generator needs SDV: install syntwin[sdv] (pip install 'syntwin[sdv]'); SDV is "
            "BUSL-1.1 licensed. The open-source 'latent_class' generator needs no SDV."
        ) from exc
    return Metadata, {"gaussian_copula": GaussianCopulaSynthesizer, "ctgan": CTGANSynthesizer,
                      "tvae": TVAESynthesizer}


@contextlib.contextmanager
def _seeded_global_rngs(seed: int):
    """Seed numpy's (and torch's, if loaded) global RNG for the block, then restore them."""
    seed32 = int(np.random.SeedSequence(int(seed)).generate_state(1, dtype=np.uint32)[0])
    np_state = np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.get_rng_state() if torch is not None else None
    np.random.seed(seed32)
    if torch is not None:
        torch.manual_seed(seed32)
    try:
        yield seed32
    finally:
        np.random.set_state(np_state)
        if torch is not None:
            torch.set_rng_state(torch_state)


class _SDVGenerator(Generator):
    """Shared SDV plumbing; subclasses name the synthesizer and its keyword arguments."""

    _sdv_name = ""

    def _synth_kwargs(self) -> dict:
        return {}

    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        Metadata, synths = _import_sdv()
        spec = self.codec_.spec
        self.names_ = {c: f"c{i}" for i, c in enumerate(self.codec_.columns)}
        table, columns = {}, {}
        for c, name in self.names_.items():
            kind = spec.kind(c)
            if kind in (CATEGORICAL, EVENT):
                table[name] = codes[c]
                columns[name] = {"sdtype": "categorical"}
            elif kind == ORDINAL:  # codes as categories; rows sorted below so that levels keep their order
                table[name] = codes[c]
                columns[name] = {"sdtype": "categorical"}
            else:  # numbers as given (SDV learns rounding and min/max from them); nullable -> float
                table[name] = df[c].to_numpy() if isinstance(df[c].dtype, np.dtype) else codes[c]
                columns[name] = {"sdtype": "numerical"}
        metadata = Metadata.load_from_dict({"tables": {"t": {"columns": columns}}})
        table = pd.DataFrame(table)
        ordinal = [self.names_[c] for c in self.codec_.columns if spec.kind(c) == ORDINAL]
        if ordinal:
            # SDV's categorical encoder lays levels out on [0, 1] in order of first appearance; a
            # lexicographic row order makes that the level order (exactly for the first ordinal
            # column, mostly for the others), so the copula sees ordered stages.
            table = table.iloc[np.lexsort([table[o].to_numpy() for o in reversed(ordinal)])]
            table = table.reset_index(drop=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synth = synths[self._sdv_name](metadata, **self._synth_kwargs())
            with _seeded_global_rngs(seed):
                synth.fit({"t": table})
        self.synthesizer_ = synth

    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        synth = self.synthesizer_
        with warnings.catch_warnings(), _seeded_global_rngs(seed) as seed32:
            warnings.simplefilter("ignore")
            synth.reset_sampling()
            synth._set_random_state(seed32)  # SDV has no public per-call seed in 2.0
            frame = synth.sample(n)["t"]
        return {c: frame[name].to_numpy() for c, name in self.names_.items()}


class GaussianCopulaGenerator(_SDVGenerator):
    """SDV ``GaussianCopulaSynthesizer`` (Patki et al., 2016): marginals + Gaussian copula.

    Args:
        default_distribution: Marginal family of numeric columns (SDV names: "beta", "norm",
            "truncnorm", "gamma", "uniform", "gaussian_kde").
        enforce_min_max_values: Keep numeric values within the training range.
    """

    _sdv_name = "gaussian_copula"

    def __init__(self, default_distribution: str = "beta", *, enforce_min_max_values: bool = True) -> None:
        self.default_distribution = default_distribution
        self.enforce_min_max_values = enforce_min_max_values

    def _synth_kwargs(self) -> dict:
        return {"default_distribution": self.default_distribution,
                "enforce_min_max_values": self.enforce_min_max_values}


class CTGANGenerator(_SDVGenerator):
    """SDV ``CTGANSynthesizer`` (Xu et al., NeurIPS 2019), on CPU.

    Args:
        epochs: Training epochs.
        batch_size: Rows per batch (a multiple of ``pac`` = 10).
    """

    _sdv_name = "ctgan"

    def __init__(self, epochs: int = 300, *, batch_size: int = 500) -> None:
        self.epochs = epochs
        self.batch_size = batch_size

    def _synth_kwargs(self) -> dict:
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size), "enable_gpu": False}


class TVAEGenerator(_SDVGenerator):
    """SDV ``TVAESynthesizer`` (Xu et al., NeurIPS 2019), on CPU.

    Args:
        epochs: Training epochs.
        batch_size: Rows per batch.
    """

    _sdv_name = "tvae"

    def __init__(self, epochs: int = 300, *, batch_size: int = 500) -> None:
        self.epochs = epochs
        self.batch_size = batch_size

    def _synth_kwargs(self) -> dict:
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size), "enable_gpu": False}
