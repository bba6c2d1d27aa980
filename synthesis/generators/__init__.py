"""Synthetic-table generators behind one interface, resolved by name through a registry.

``make_generator("latent_class", n_components=30)`` equals ``make_generator(LatentClassGenerator(30))``;
``register_generator("mine", MyGenerator)`` adds a user generator.
"""

from __future__ import annotations

import copy
import inspect

from .base import Generator, TableGenerator
from .latent_class import LatentClassGenerator
from .missingness import MissingAware, with_missingness
from .mst import MSTGenerator, PublicDomainError
from .sdv import CTGANGenerator, GaussianCopulaGenerator, SDVNotInstalledError, TVAEGenerator


class IndependentGenerator(LatentClassGenerator):
    """Independent marginals (a one-class latent class model): the no-association baseline.

    Args:
        n_bins: Quantile bins per numeric column.
    """

    def __init__(self, *, n_bins: int = 10) -> None:
        super().__init__(1, n_bins=n_bins)

    def get_params(self) -> dict:
        """Constructor parameters."""
        return {"n_bins": self.n_bins}


GENERATORS: dict[str, type[Generator]] = {
    "latent_class": LatentClassGenerator,
    "independent": IndependentGenerator,
    "gaussian_copula": GaussianCopulaGenerator,
    "ctgan": CTGANGenerator,
    "tvae": TVAEGenerator,
    "mst": MSTGenerator,
}


def register_generator(name: str, cls: type[TableGenerator], *, overwrite: bool = False) -> None:
    """Register ``cls`` (a ``TableGenerator`` subclass, usually a ``Generator``) under ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, TableGenerator)):
        raise TypeError(f"register_generator expects a TableGenerator subclass, got {cls!r}")
    if name in GENERATORS and GENERATORS[name] is not cls and not overwrite:
        raise ValueError(f"generator name {name!r} is taken by {GENERATORS[name].__name__}; "
                         "pass overwrite=True")
    GENERATORS[name] = cls


def make_generator(name_or_obj: str | TableGenerator | type[TableGenerator], **params) -> TableGenerator:
    """Resolve a generator from a registry name, a class or an instance.

    Args:
        name_or_obj: Registry name (see ``GENERATORS``), a ``TableGenerator`` class or instance (e.g. a
            generator wrapped in ``MissingAware``).
        **params: Constructor parameters (for an instance: set on a copy of it).

    Raises:
        ValueError: Unknown name (the message lists the valid ones) or unknown parameter.
    """
    if isinstance(name_or_obj, TableGenerator):
        gen = copy.deepcopy(name_or_obj)
        return gen.set_params(**params) if params else gen
    if isinstance(name_or_obj, type) and issubclass(name_or_obj, TableGenerator):
        cls = name_or_obj
    elif isinstance(name_or_obj, str):
        if name_or_obj not in GENERATORS:
            raise ValueError(f"unknown generator {name_or_obj!r}; valid: {sorted(GENERATORS)}")
        cls = GENERATORS[name_or_obj]
    else:
        raise TypeError(f"generator must be a name, a Generator class or instance, got {name_or_obj!r}")
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameters {unknown} for {cls.__name__}; valid: {valid}")
    return cls(**params)

__all__ = [
    "GENERATORS",
    "CTGANGenerator",
    "GaussianCopulaGenerator",
    "Generator",
    "IndependentGenerator",
    "LatentClassGenerator",
    "MissingAware",
    "MSTGenerator",
    "PublicDomainError",
    "SDVNotInstalledError",
    "TVAEGenerator",
    "TableGenerator",
    "make_generator",
    "register_generator",
    "with_missingness",
]
