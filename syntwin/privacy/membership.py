"""Membership-inference attacks on synthetic twins, scored by attack AUROC.

The attacker holds candidate records, half of them training patients (members) and half unseen
holdout patients (non-members), and scores each one from the twins alone:

* **distance attack**: ``s(x) = -d(x, nearest twin)`` (members of a memorising generator have a
  twin nearby).
* **density-ratio attack** in the manner of DOMIAS (van Breugel et al., AISTATS 2023):
  ``s(x) = log p_twins(x) - log p_ref(x)``, where ``p_ref`` is the density of real patients from
  the population (a holdout half that is not among the candidates). Both densities are k-NN
  estimates ``p(x) = k / (n V_d r_k(x)^d)``, so ``s(x) = d (log r_k,ref(x) - log r_k,twins(x)) +
  const``; the AUROC only depends on the ranking, hence on ``log r_ref - log r_twins``. With the
  default ``k = 1`` a twin copying a member makes ``r_twins = 0``; larger ``k`` smooths the
  densities but lets a single copied record go unnoticed.

AUROC 0.5 means the twins tell nothing about membership; 1.0 means every member is recognised.
Its standard error follows Hanley & McNeil (1982).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from syntwin.graphs.knn import nearest

_EPS = 1e-6


def auroc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley-McNeil standard error of an AUROC with ``n_pos`` positives and ``n_neg`` negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def membership_attacks(
    twins_x: np.ndarray,
    train_x: np.ndarray,
    holdout_x: np.ndarray,
    *,
    rng: np.random.Generator,
    client: Any = None,
    max_per_side: int = 5_000,
    k_density: int = 1,
) -> dict[str, Any]:
    """Run the distance and the density-ratio membership attacks.

    The holdout is split in two random halves: the first is the DOMIAS reference population,
    the second gives the non-member candidates; as many training rows are drawn as members.

    Args:
        twins_x: encoded twins.
        train_x: encoded training rows (same encoding).
        holdout_x: encoded holdout rows (same encoding).
        rng: random generator for the splits.
        client: optional Dask client for the neighbour searches.
        max_per_side: members (and non-members) attacked at most.
        k_density: neighbours of the k-NN density estimates.

    Returns:
        ``mia_distance_auroc``, ``mia_density_auroc``, their standard errors, and ``mia_candidates``
        (per side).

    """
    if len(holdout_x) < 4 or len(train_x) < 2 or len(twins_x) < 2:
        raise ValueError("membership attacks need >= 4 holdout rows, >= 2 training rows and >= 2 twins")
    perm = rng.permutation(len(holdout_x))
    ref_idx, non_idx = perm[: len(perm) // 2], perm[len(perm) // 2 :]
    n = min(len(non_idx), len(train_x), max_per_side)
    non = holdout_x[np.sort(non_idx[:n])]
    mem = train_x[np.sort(rng.choice(len(train_x), size=n, replace=False))]
    ref = holdout_x[np.sort(ref_idx)]
    cand = np.vstack([mem, non])
    y = np.r_[np.ones(n), np.zeros(n)]
    k_syn, k_ref = min(k_density, len(twins_x)), min(k_density, len(ref))
    _, d_syn = nearest(twins_x, cand, k_syn, client=client)
    _, d_ref = nearest(ref, cand, k_ref, client=client)
    dist_score = -d_syn[:, 0].astype(float)
    dens_score = np.log(d_ref[:, -1].astype(float) + _EPS) - np.log(d_syn[:, -1].astype(float) + _EPS)
    out: dict[str, Any] = {}
    for name, score in (("distance", dist_score), ("density", dens_score)):
        auc = float(roc_auc_score(y, score))
        out[f"mia_{name}_auroc"] = round(auc, 4)
        out[f"mia_{name}_auroc_se"] = round(auroc_se(auc, n, n), 4)
    out["mia_candidates"] = int(n)
    return out


__all__ = ["membership_attacks", "auroc_se"]
