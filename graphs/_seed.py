"""Stable seeding for the graphs library (no global RNG, independent of the number of workers)."""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: str | int) -> int:
    return part if isinstance(part, int) else zlib.crc32(part.encode("utf-8"))


def rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator for the stable path ``keys`` under ``seed`` (same numbers in every process)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(_key(k) for k in keys)))


def int_seed(seed: int, *keys: str | int) -> int:
    """A 31-bit integer seed for libraries that take an int (faiss, igraph)."""
    ss = np.random.SeedSequence(seed, spawn_key=tuple(_key(k) for k in keys))
    return int(ss.generate_state(1, dtype=np.uint32)[0] >> 1)
