"""Ground truth of the simulator: every patient's potential outcomes under each treatment option.

The simulator's cause-specific hazard is Weibull proportional hazards (see
:mod:`syntwin.cohort.simulate`)::

    H_c(t | x, a) = (t / λ_stage) ** k_stage * exp(η0(x) + Σ_j a_j log HR_j(x))

with ``η0`` the untreated linear predictor and ``a_j`` the treatment indicators. Setting one
treatment column ``a`` to an option and keeping every other column as observed gives the
potential outcome of that option:

* ``css_<option>``: the net cancer-specific survival ``S_c(h) = exp(-H_c(h | x, a))`` at the
  horizon ``h`` (the quantity a Kaplan–Meier with other-cause deaths censored estimates), and
* ``death_<option>``: whether this patient would die of cancer by ``h`` under that option
  (the same exponential draw ``E`` as the observed outcome: ``t_c(a) = λ (E e^{-η(a)})^{1/k}``;
  other-cause death and censoring ignored, i.e. the net outcome).

Everything is recomputed from the seeded random stream of each partition, so the truth of a
cohort built by :func:`~syntwin.cohort.simulate.simulate_cohort` with the same
``(n, site, seed, rows_per_partition)`` lines up row for row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from syntwin.cohort import _sites as S
from syntwin.cohort import _treatment as T
from syntwin.errors import CohortError

OPTIONS = ("No", "Yes")


def _check_treatment(site: str, treatment: str) -> str:
    cols = T.treatment_columns(site)
    if treatment not in cols:
        raise CohortError(f"{treatment!r} is not a treatment column of the simulated {site} cohort",
                          field="treatment", hint=f"treatment columns: {', '.join(cols)}")
    return treatment


def true_log_hazard_ratios(site: str) -> dict[str, float]:
    """The simulator's log hazard ratios a Cox model can check (stage I-III treatment effects
    where they are constant over those stages, size per 10 mm, positive node per node)."""
    prog = T.PROGNOSTIC[site]
    out = {"tumor_size_per_10mm": float(np.log(prog.size_hr_per_10mm)),
           "nodes_positive": float(np.log(prog.node_hr_per_node))}
    for name, rule in T.TREATMENTS[site].items():
        if len(set(rule.hazard_ratio[:3])) == 1:
            out[name] = float(np.log(rule.hazard_ratio[0]))
    return out


def _partition_truth(n: int, site: str, seed: int, partition: int, id_offset: int, treatment: str,
                     horizons: tuple[float, ...]) -> pd.DataFrame:
    from syntwin.cohort.simulate import _check_seed, _draw
    from syntwin.seeding import seed_sequence

    rng = np.random.default_rng(seed_sequence(_check_seed(seed), "simulate", site, partition))
    _cols, lat, truth = _draw(n, site, rng)
    scale = np.asarray(S.SITE_PARAMS[site].weibull_scale, dtype=float)[lat["stage"]]
    k = truth["shape"]
    eta_other = truth["eta_untreated"] + sum(truth["effects"][t] * truth["treated"][t]
                                             for t in truth["treated"] if t != treatment)
    out = {"patient_id": np.arange(id_offset + 1, id_offset + n + 1, dtype=np.int64),
           "treated": truth["treated"][treatment].astype(np.int64),
           "log_hr": truth["effects"][treatment], "scale": scale, "shape": k}
    for option, a in zip(OPTIONS, (0.0, 1.0)):
        eta = eta_other + a * truth["effects"][treatment]
        t_cancer = scale * (truth["exp_draw"] * np.exp(-eta)) ** (1.0 / k)
        out[f"t_cancer_{option}"] = t_cancer
        out[f"eta_{option}"] = eta
        for h in horizons:
            tag = f"{option}" if len(horizons) == 1 else f"{option}_{h:g}"
            out[f"css_{tag}"] = np.exp(-((h / scale) ** k) * np.exp(eta))
            out[f"death_{tag}"] = (t_cancer <= h).astype(np.int64)
    return pd.DataFrame(out, index=pd.RangeIndex(id_offset, id_offset + n))


def potential_outcomes(n: int, site: str = "breast", seed: int = 0, *, treatment: str = "chemotherapy",
                       horizon_months: float | tuple[float, ...] = 60.0,
                       rows_per_partition: int = 250_000) -> pd.DataFrame:
    """Potential outcomes of every patient of ``simulate_cohort(n, site, seed, rows_per_partition)``.

    Returns one row per patient (same index and ``patient_id``) with ``treated`` (observed
    option, 1 = "Yes"), ``log_hr`` (the patient's true log hazard ratio of the treatment),
    ``t_cancer_No/Yes`` (months to cancer death under each option, net of other causes),
    ``css_No/Yes`` and ``death_No/Yes`` at the horizon (suffixed ``_<h>`` when several
    horizons are given). The true individual effect on survival is ``css_Yes - css_No``.
    """
    from syntwin.cohort.simulate import _check_positive, _check_site

    site = _check_site(site)
    n = _check_positive("n", n)
    rpp = _check_positive("rows_per_partition", rows_per_partition)
    treatment = _check_treatment(site, treatment)
    horizons = (float(horizon_months),) if np.isscalar(horizon_months) else tuple(map(float, horizon_months))
    parts = [_partition_truth(min(rpp, n - s), site, seed, i, s, treatment, horizons)
             for i, s in enumerate(range(0, n, rpp))]
    return pd.concat(parts)


def survival_curves(truth: pd.DataFrame, times: np.ndarray) -> dict[str, np.ndarray]:
    """True net cancer-specific survival ``exp(-(t/λ)^k e^{η(a)})`` of each row of ``truth`` (a
    :func:`potential_outcomes` frame) at ``times``: option -> array (rows, times)."""
    t = np.asarray(times, dtype=float)[None, :]
    lam, k = truth["scale"].to_numpy()[:, None], truth["shape"].to_numpy()[:, None]
    return {o: np.exp(-((t / lam) ** k) * np.exp(truth[f"eta_{o}"].to_numpy()[:, None])) for o in OPTIONS}


def control_arm_error(result: dict, truth: pd.DataFrame, arm: np.ndarray, pool: np.ndarray) -> dict[str, float]:
    """A virtual control arm's survival difference against the arm's own potential outcomes, split.

    ``result`` is :func:`synthesis.control_arm.virtual_control_arm`'s dict (with ``controls``), ``truth``
    a :func:`potential_outcomes` frame (one horizon, positional rows), ``arm``/``pool`` the row numbers of
    the arm and of the untreated pool. Returns ``true`` (mean ``css_Yes − css_No`` over the arm),
    ``error``, ``covers``, and the parts of the error: ``arm_censoring`` / ``control_censoring``
    (Kaplan–Meier minus the same patients' realised net survival, controls counted once per use),
    ``matching`` (controls' expected untreated survival + the bias correction − the arm's own) and
    ``noise`` (realised − expected outcomes: arm minus controls). ``error`` = arm_censoring −
    control_censoring − matching + noise.
    """
    css_yes, css_no = truth["css_Yes"].to_numpy(), truth["css_No"].to_numpy()
    real_yes, real_no = 1.0 - truth["death_Yes"].to_numpy(), 1.0 - truth["death_No"].to_numpy()
    ctl = np.asarray(pool)[np.asarray(result["controls"]).ravel()]
    shift = result["survival_bias_correction"]
    true = float(np.mean(css_yes[arm] - css_no[arm]))
    return {"true": true, "error": result["survival_difference"] - true,
            "covers": bool(result["survival_difference_lo"] <= true <= result["survival_difference_hi"]),
            "arm_censoring": result["survival_arm"] - real_yes[arm].mean(),
            "control_censoring": result["survival_controls"] - shift - real_no[ctl].mean(),
            "matching": css_no[ctl].mean() + shift - css_no[arm].mean(),
            "noise": (real_yes[arm].mean() - css_yes[arm].mean()) - (real_no[ctl].mean() - css_no[ctl].mean())}


__all__ = ["potential_outcomes", "true_log_hazard_ratios", "survival_curves", "control_arm_error", "OPTIONS"]
