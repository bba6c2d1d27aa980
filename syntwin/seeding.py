"""Seeds: one scenario seed, split by stable keys so results never depend on worker count."""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: str | int) -> int:
    if isinstance(part, int):
        return part
    return zlib.crc32(part.encode("utf-8"))


def seed_sequence(seed: int, *keys: str | int) -> np.random.SeedSequence:
    """Return the child ``SeedSequence`` of ``seed`` at the stable path ``keys``.

    ``seed_sequence(7, "simulate", 3)`` is the same on every machine and in every process,
    so partition 3 of a simulation gets the same numbers whoever computes it.
    """
    return np.random.SeedSequence(seed, spawn_key=tuple(_key(k) for k in keys))


def rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A ``numpy.random.Generator`` for the stable path ``keys`` under ``seed``."""
    return np.random.default_rng(seed_sequence(seed, *keys))


def int_seed(seed: int, *keys: str | int) -> int:
    """A 32-bit integer seed for libraries that take an int (faiss, igraph, torch, SDV)."""
    return int(seed_sequence(seed, *keys).generate_state(1, dtype=np.uint32)[0])


def stratified_mask(labels: np.ndarray, share: float, seed: int, *keys: str | int) -> np.ndarray:
    """Boolean mask of ``round(share * n)`` rows of every label value, drawn from ``rng(seed, *keys)``."""
    gen = rng(seed, *keys)
    mask = np.zeros(len(labels), dtype=bool)
    for value in np.unique(labels):
        idx = np.flatnonzero(labels == value)
        mask[gen.choice(idx, size=int(round(share * len(idx))), replace=False)] = True
    return mask


__all__ = ["seed_sequence", "rng", "int_seed", "stratified_mask"]
