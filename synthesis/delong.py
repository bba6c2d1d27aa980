"""DeLong's asymptotic variance of AUROC and of a paired AUROC difference, in O(n log n).

DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44:837–845, with the midrank computation of Sun & Xu
(2014), *IEEE Signal Processing Letters* 21:1389–1393. For ``m`` positives ``X`` and ``n`` negatives ``Y`` of
a score, with ``ψ(x, y) = 1[x > y] + ½ 1[x = y]``:

.. math::
    \\hat\\theta = \\tfrac{1}{mn}\\sum_{i,j} ψ(X_i, Y_j), \\quad
    V_{10}(X_i) = \\tfrac1n \\sum_j ψ(X_i, Y_j), \\quad V_{01}(Y_j) = \\tfrac1m \\sum_i ψ(X_i, Y_j),

    \\operatorname{Var}(\\hat\\theta) = S_{10}/m + S_{01}/n

with ``S_10``, ``S_01`` the sample (co)variances of the components across scores, so the paired difference
``θ_a − θ_b`` has variance ``Var_a + Var_b − 2 Cov_ab``. With midranks ``T_Z`` over all ``m + n`` patients and
``T_X``, ``T_Y`` within each class, ``V_10(X_i) = (T_Z(X_i) − T_X(X_i)) / n`` and
``V_01(Y_j) = 1 − (T_Z(Y_j) − T_Y(Y_j)) / m`` (Sun & Xu's identity), so no ``m × n`` table is formed.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

__all__ = ["delong_components", "delong_interval", "delong_paired_interval"]


def delong_components(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUROC of each score and DeLong's structural components: ``(theta (k,), V10 (k, m), V01 (k, n))``."""
    y = np.asarray(y, dtype=bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        raise ValueError("DeLong's variance needs both classes")
    v10, v01 = np.empty((len(scores), m)), np.empty((len(scores), n))
    for r, s in enumerate(scores):
        s = np.asarray(s, dtype=np.float64)
        tz = rankdata(s, method="average")
        v10[r] = (tz[y] - rankdata(s[y], method="average")) / n
        v01[r] = 1.0 - (tz[~y] - rankdata(s[~y], method="average")) / m
    return v10.mean(axis=1), v10, v01


def _covariance(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    s10 = np.atleast_2d(np.cov(v10)) if v10.shape[1] > 1 else np.zeros((len(v10), len(v10)))
    s01 = np.atleast_2d(np.cov(v01)) if v01.shape[1] > 1 else np.zeros((len(v01), len(v01)))
    return s10 / v10.shape[1] + s01 / v01.shape[1]


def delong_interval(y: np.ndarray, s: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """``(AUROC, low, high)``: the normal interval ``θ ± z_{1-α/2} √Var(θ)`` clipped to [0, 1]."""
    theta, v10, v01 = delong_components(y, [s])
    half = norm.ppf(1 - alpha / 2) * float(np.sqrt(max(_covariance(v10, v01)[0, 0], 0.0)))
    return float(theta[0]), max(0.0, float(theta[0]) - half), min(1.0, float(theta[0]) + half)


def delong_paired_interval(y: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float = 0.05
                           ) -> tuple[float, float, float]:
    """``(θ_a − θ_b, low, high)`` with the variance ``Var_a + Var_b − 2 Cov_ab`` of the same patients."""
    theta, v10, v01 = delong_components(y, [a, b])
    cov = _covariance(v10, v01)
    half = norm.ppf(1 - alpha / 2) * float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    diff = float(theta[0] - theta[1])
    return diff, diff - half, diff + half
