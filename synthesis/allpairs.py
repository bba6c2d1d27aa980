"""All-pairs distances for SynTwin, in row blocks: never an n×n matrix in memory.

SynTwin (Moore et al., PSB 2024) needs, among the graph's real patients, the cumulative pair count at every
distance (its percolation threshold), the pairs at or below the threshold (its graph), and distances from a few
real patients to the synthetic ones (community twins, closest twins). A *distance source* gives exactly these:

* ``n``, ``m`` — real and synthetic patients;
* ``pair_counts()`` — ``(values, counts)``: every distinct distance among pairs ``i < j`` and how many pairs have
  it (their ``groupby('Dist').count()``);
* ``edges(threshold)`` — ``(src, dst, dist)`` of the pairs ``i < j`` with ``d_ij <= threshold``
  (``int32``, ``int32``, ``float64``);
* ``real(rows, cols)`` and ``synthetic(rows, cols)`` — small distance blocks (``float64``).

:class:`GowerCodes` computes Gower distance over integer-coded features (their label-encoded data) with one
matrix product per block. Per feature ``f`` Gower's term is a mismatch (categorical) or ``|a − b| / range_f``
(ordered codes); both are a weighted Hamming distance between binary codings — one-hot for categorical, and
the thermometer coding ``t_l(a) = [a > l]`` for ordered codes, since ``|a − b| = Σ_l |t_l(a) − t_l(b)|``. With
integer weights ``w`` (one-hot ``R``, thermometer ``2R / range_f``, ``R`` the least common multiple of the
ranges) the Hamming distance of binary rows ``u, v`` is ``Σ w u + Σ w v − 2 (u ∘ w) · v`` — a BLAS product whose
values are integers (exact in float32 below 2²⁴), and ``Gower = H / (2 p R)`` exactly, ``p`` features.
:class:`DenseDistances` wraps ready matrices (small cohorts, continuous features).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["DenseDistances", "GowerCodes"]

BLOCK_ROWS = 2048


class GowerCodes:
    """Gower distances over integer codes, streamed in row blocks (see the module docstring).

    Args:
        real: (n, p) non-negative integer codes of the graph's real patients.
        synthetic: (m, p) codes of the synthetic patients (same coding).
        ordered: (p,) True where a feature's codes are ordered (numeric bins, grade), False for categorical.
        levels: (p,) number of codes per feature (default: largest code seen + 1); an ordered feature's range is
            ``levels − 1``.
        block_rows: rows per block (memory ≈ 4 · block_rows · max(n, m) bytes per block).
    """

    def __init__(self, real: np.ndarray, synthetic: np.ndarray, *, ordered: Sequence[bool],
                 levels: Sequence[int] | None = None, block_rows: int = BLOCK_ROWS):
        real, synthetic = np.asarray(real), np.asarray(synthetic)
        if real.ndim != 2 or synthetic.ndim != 2 or real.shape[1] != synthetic.shape[1]:
            raise ValueError(f"codes must be 2-d with the same columns, got {real.shape} and {synthetic.shape}")
        if (real < 0).any() or (synthetic < 0).any():
            raise ValueError("codes must be non-negative integers")
        p = real.shape[1]
        ordered = np.asarray(ordered, bool)
        if ordered.shape != (p,):
            raise ValueError(f"ordered needs one flag per feature ({p}), got {ordered.shape}")
        seen = np.maximum(real.max(0, initial=0), synthetic.max(0, initial=0)) + 1
        levels = seen if levels is None else np.asarray(levels, np.int64)
        if levels.shape != (p,) or (levels < seen).any():
            raise ValueError(f"levels must give, per feature, more codes than the largest seen ({seen.tolist()})")
        ranges = [max(int(lv) - 1, 1) for lv, o in zip(levels, ordered) if o]
        big_r = math.lcm(*ranges) if ranges else 1
        self.denominator = 2 * p * big_r
        if self.denominator >= 2**24:
            raise ValueError("too many or too finely coded features for exact float32 products")
        self.n, self.m, self.block_rows = len(real), len(synthetic), int(block_rows)
        self._columns = []  # (feature, code threshold or level, is_thermometer, weight)
        for f in range(p):
            if ordered[f]:
                r = max(int(levels[f]) - 1, 1)
                self._columns += [(f, lv, True, 2 * big_r // r) for lv in range(r)]
            else:
                self._columns += [(f, lv, False, big_r) for lv in range(int(levels[f]))]
        self._real, self._real_norm = self._binary(real)
        self._syn, self._syn_norm = self._binary(synthetic)
        self._weights = np.array([c[3] for c in self._columns], np.float32)

    def _binary(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.empty((len(codes), len(self._columns)), np.float32)
        for c, (f, lv, thermometer, _) in enumerate(self._columns):
            u[:, c] = codes[:, f] > lv if thermometer else codes[:, f] == lv
        return u, u @ np.array([c[3] for c in self._columns], np.float32)

    def _numerators(self, a: np.ndarray, a_norm: np.ndarray, b: np.ndarray, b_norm: np.ndarray) -> np.ndarray:
        h = a_norm[:, None] + b_norm[None, :] - 2.0 * ((a * self._weights) @ b.T)
        return np.rint(h).astype(np.int32)

    def _upper_blocks(self):
        """Yield ``(start, numerators)`` of rows ``start..start+b`` against columns ``start..n`` (``j >= i``)."""
        for s in range(0, self.n, self.block_rows):
            e = min(s + self.block_rows, self.n)
            yield s, self._numerators(self._real[s:e], self._real_norm[s:e], self._real[s:], self._real_norm[s:])

    def pair_counts(self) -> tuple[np.ndarray, np.ndarray]:
        counts = np.zeros(self.denominator + 1, np.int64)
        for s, num in self._upper_blocks():
            above = np.arange(num.shape[1])[None, :] > np.arange(len(num))[:, None]  # j > i
            counts += np.bincount(num[above], minlength=len(counts))
        present = np.flatnonzero(counts)
        return present / self.denominator, counts[present]

    def edges(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cut = math.floor(float(threshold) * self.denominator + 1e-9)  # d <= t  ⇔  numerator <= t · denominator
        parts = []
        for s, num in self._upper_blocks():
            i, j = np.nonzero(num <= cut)
            keep = j > i
            i, j = i[keep], j[keep]
            parts.append(((i + s).astype(np.int32), (j + s).astype(np.int32), num[i, j]))
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        src, dst, num = (np.concatenate(p) for p in zip(*parts))
        return src, dst, num / self.denominator

    def real(self, rows, cols) -> np.ndarray:
        rows, cols = np.atleast_1d(rows), np.atleast_1d(cols)
        num = self._numerators(self._real[rows], self._real_norm[rows], self._real[cols], self._real_norm[cols])
        return num / self.denominator

    def synthetic(self, rows, cols=None) -> np.ndarray:
        rows = np.atleast_1d(rows)
        b, b_norm = (self._syn, self._syn_norm) if cols is None else (self._syn[cols], self._syn_norm[cols])
        return self._numerators(self._real[rows], self._real_norm[rows], b, b_norm) / self.denominator

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """The full matrices (tests and small cohorts only)."""
        return self.real(np.arange(self.n), np.arange(self.n)), self.synthetic(np.arange(self.n))


class DenseDistances:
    """A distance source over ready matrices: ``d_real`` (n, n) and ``d_real_syn`` (n, m)."""

    def __init__(self, d_real: np.ndarray, d_real_syn: np.ndarray):
        self._d = np.asarray(d_real, dtype=np.float64)
        self._ds = np.asarray(d_real_syn, dtype=np.float64)
        self.n = len(self._d)
        if self._d.shape != (self.n, self.n) or self._ds.ndim != 2 or self._ds.shape[0] != self.n:
            raise ValueError(f"shapes disagree: d_real {self._d.shape}, d_real_syn {self._ds.shape}")
        self.m = self._ds.shape[1]

    def pair_counts(self) -> tuple[np.ndarray, np.ndarray]:
        values, counts = np.unique(self._d[np.triu_indices(self.n, 1)], return_counts=True)
        return values, counts.astype(np.int64)

    def edges(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i, j = np.nonzero(np.triu(self._d <= threshold, 1))
        return i.astype(np.int32), j.astype(np.int32), self._d[i, j]

    def real(self, rows, cols) -> np.ndarray:
        return self._d[np.ix_(np.atleast_1d(rows), np.atleast_1d(cols))]

    def synthetic(self, rows, cols=None) -> np.ndarray:
        rows = np.atleast_1d(rows)
        return self._ds[rows] if cols is None else self._ds[np.ix_(rows, np.atleast_1d(cols))]
