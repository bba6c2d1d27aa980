"""Collapse duplicate feature profiles before building a graph.

Registry rows with coarse features repeat a lot (SynTwin's 314k SEER rows held 232k distinct profiles).
The graph is built over distinct encoded rows; ``inverse`` maps every patient to its profile (node) and
``counts`` is each node's multiplicity, so results expand back with ``per_node[inverse]``. Community
detection then treats a profile as one node (its copies would sit at distance 0 from each other), while
:func:`~syntwin.graphs.communities.community_stats` counts sizes and coverage in patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Profiles", "collapse_duplicates"]


@dataclass(frozen=True)
class Profiles:
    """Distinct rows of an encoded matrix.

    Attributes:
        unique: ``(p, d)`` distinct rows, in order of first appearance.
        inverse: ``(n,)`` int64, ``unique[inverse] == X``.
        counts: ``(p,)`` int64 multiplicity of each distinct row.
    """

    unique: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray

    @property
    def n_rows(self) -> int:
        """Rows before collapsing."""
        return len(self.inverse)

    @property
    def n_profiles(self) -> int:
        """Distinct rows."""
        return len(self.unique)

    @property
    def ratio(self) -> float:
        """``n_profiles / n_rows`` (1.0: no duplicates)."""
        return self.n_profiles / self.n_rows if self.n_rows else 1.0

    def expand(self, per_profile: np.ndarray) -> np.ndarray:
        """Per-row values from per-profile ones (e.g. community labels)."""
        per_profile = np.asarray(per_profile)
        if len(per_profile) != self.n_profiles:
            raise ValueError(f"expected {self.n_profiles} values (one per profile), got {len(per_profile)}")
        return per_profile[self.inverse]

    def __repr__(self) -> str:
        return f"Profiles(rows={self.n_rows}, profiles={self.n_profiles}, ratio={self.ratio:.3f})"


def _row_hash(X: np.ndarray) -> np.ndarray:
    """64-bit hash of each row's values (multiply-xorshift per 32-bit word), O(n) extra memory."""
    h = np.full(len(X), 0x9E3779B97F4A7C15, dtype=np.uint64)
    tmp = np.empty(len(X), dtype=np.uint64)
    floating = np.issubdtype(X.dtype, np.floating)
    for j in range(X.shape[1]):
        col = np.ascontiguousarray(X[:, j] + 0 if floating else X[:, j])  # -0.0 → +0.0
        words = col.view(np.uint8).reshape(len(X), -1)
        if words.shape[1] % 4 == 0:
            words = col.view(np.uint32).reshape(len(X), -1)
        for w in range(words.shape[1]):
            tmp[:] = words[:, w]
            tmp += np.uint64((j * 8 + w + 1) * 0x9E3779B1)
            h ^= tmp
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def collapse_duplicates(X: np.ndarray, block_rows: int = 65_536) -> Profiles:
    """Distinct rows of ``X`` with inverse map and multiplicities (exact equality; -0.0 equals 0.0).

    Rows are hashed (64-bit) and factorised in order of first appearance; the result is then verified
    value for value (blockwise), falling back to ``np.unique(axis=0)`` in the (astronomically unlikely)
    event of a hash collision.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    X = np.ascontiguousarray(X)
    inverse, uniq_hash = pd.factorize(_row_hash(X))
    first = np.full(len(uniq_hash), -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(X) - 1, -1, -1)
    unique = X[first]
    exact = all(np.array_equal(unique[inverse[s:s + block_rows]], X[s:s + block_rows])
                for s in range(0, len(X), block_rows))
    if not exact:
        _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        unique, inverse = X[first[order]], rank[inverse.reshape(-1)]
    inverse = inverse.astype(np.int64)
    return Profiles(unique=unique, inverse=inverse, counts=np.bincount(inverse).astype(np.int64))
