"""SEER coding of simulated patients: the columns a SEER case listing carries beside the measurements.

Derived deterministically from what :func:`syntwin.cohort.simulate._draw` already drew (no random
numbers: the calibration and every other column stay as they were). The columns are the schema's
``extra`` columns: carried with the cohort and never modelled or exported unless a scenario's schema
makes them features. Coded like SEER so that a simulated listing shows what a real one shows,
duplicate profiles included: many patients share one (age group, sex, race, year, stage group) row.

* ``age_group`` — SEER*Stat "Age recode with <1 year olds": 5-year groups ``"15-19 years"`` ...
  ``"80-84 years"``, ``"85+ years"`` (SEER variable definitions, https://seer.cancer.gov/seerstat/
  variables/seer/age-recode; the same labels ``syntwin.cohort.presets`` reads as midpoints).
* ``cs_tumor_size`` — "CS tumor size (2004-2015)": the size in whole millimetres as a three-digit
  code ``"001"``–``"989"`` (Collaborative Stage Data Collection System, coding instructions v02.05,
  Part I §2 "CS Tumor Size": 000 no mass, 001-988 exact mm, 989 = 989 mm or larger, 990-999 special /
  unknown; the simulator never produces the special codes). Prostate has no size: absent.
* breast only, AJCC *Cancer Staging Manual*, 6th ed. (Greene FL et al., Springer 2002), breast chapter
  (SEER "Derived AJCC T/N, 6th ed" and "Derived AJCC Stage Group, 6th ed (2004-2015)"):
  ``t_stage`` T1 ≤ 20 mm, T2 > 20-50 mm, T3 > 50 mm, T4 direct extension (here: the stage III
  tumours without node involvement, the only way AJCC places an N0 tumour in stage III);
  ``n_stage`` N0 no node, N1 1-3, N2 4-9, N3 ≥ 10 involved nodes; ``stage_6th``: I = T1 N0;
  IIA = T1 N1, T2 N0; IIB = T2 N1, T3 N0; IIIA = T1-3 N2, T3 N1; IIIB = T4 N0-2; IIIC = any T N3;
  IV = M1. The real SEER breast subset (``seer_breast_csv`` preset) carries the same three columns
  with the same labels; ``tests/cohort`` compares their shares.

Nodes: the AJCC N category counts the *involved* nodes (clinical or pathological); the simulator's
latent count is used, so a patient without surgery (``nodes_positive`` recorded as 0) keeps its N.
"""

from __future__ import annotations

import numpy as np

AGE_GROUPS: tuple[str, ...] = tuple(f"{lo:02d}-{lo + 4:02d} years" for lo in range(15, 85, 5)) + ("85+ years",)
T_STAGES: tuple[str, ...] = ("T1", "T2", "T3", "T4")
N_STAGES: tuple[str, ...] = ("N0", "N1", "N2", "N3")
STAGE_6TH: tuple[str, ...] = ("I", "IIA", "IIB", "IIIA", "IIIB", "IIIC", "IV")


def age_group(age: np.ndarray) -> np.ndarray:
    """SEER 5-year age group label of each whole-year ``age`` (>= 15)."""
    idx = np.clip((np.asarray(age, float) - 15.0) // 5.0, 0, len(AGE_GROUPS) - 1).astype(int)
    return np.array(AGE_GROUPS, dtype=object)[idx]


def cs_tumor_size(size_mm: np.ndarray) -> np.ndarray:
    """"CS tumor size" code: whole millimetres as three digits, 989 for 989 mm or more."""
    mm = np.clip(np.asarray(size_mm, float), 0, 989).astype(int)
    return np.array([f"{v:03d}" for v in mm], dtype=object)


def breast_tnm_6th(stage: np.ndarray, size_mm: np.ndarray, involved_nodes: np.ndarray) -> dict[str, np.ndarray]:
    """AJCC 6th-edition T, N and stage group of breast tumours (module docstring).

    ``stage`` is the AJCC group index 0..3 (I..IV) the simulator drew, ``size_mm`` the tumour size and
    ``involved_nodes`` the latent count of involved regional nodes.
    """
    stage = np.asarray(stage)
    size = np.asarray(size_mm, float)
    nodes = np.asarray(involved_nodes)
    t = np.searchsorted([20.0, 50.0], size, side="left")  # T1 <= 20 < T2 <= 50 < T3
    t = np.where((stage == 2) & (nodes == 0), 3, t)  # stage III without nodes: T4 N0
    n = np.searchsorted([0, 3, 9], nodes, side="left")  # 0 | 1-3 | 4-9 | >= 10
    group = np.select(
        [stage == 3, n == 3, t == 3, (n == 2) | ((t == 2) & (n == 1)),
         ((t == 1) & (n == 1)) | ((t == 2) & (n == 0)), ((t == 0) & (n == 1)) | ((t == 1) & (n == 0))],
        [6, 5, 4, 3, 2, 1], default=0)
    return {"t_stage": np.array(T_STAGES, dtype=object)[t], "n_stage": np.array(N_STAGES, dtype=object)[n],
            "stage_6th": np.array(STAGE_6TH, dtype=object)[group]}


def seer_columns(site: str) -> tuple[str, ...]:
    """Names of the SEER-coded extra columns of ``site``, in schema order."""
    size = () if site == "prostate" else ("cs_tumor_size",)
    return ("age_group", *size, *(("t_stage", "n_stage", "stage_6th") if site == "breast" else ()))


__all__ = ["AGE_GROUPS", "STAGE_6TH", "age_group", "cs_tumor_size", "breast_tnm_6th", "seer_columns"]
