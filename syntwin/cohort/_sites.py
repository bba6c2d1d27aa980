"""Per-site parameters of the SEER-like simulator: calibration targets, covariate laws, hazards.

Everything here is data (frozen dataclasses and dicts); the sampling code lives in
:mod:`syntwin.cohort.simulate`. Stage labels are AJCC stage groups ``"I"``..``"IV"``.
In this simulator AJCC stage IV means distant metastasis (M1) and nothing else, so
``stage == "IV"`` iff ``summary_stage == "Distant"`` (for prostate this folds the rare
N1 M0 stage IV cases into stage III).

Provenance of the targets (``CALIBRATION_TARGETS``): each site lists its sources. Figures
marked *read* were checked against the cited text while writing this module; figures marked
*approximate* are values within the published SEER range for that stage that could not be
checked against a table here — check them against SEER*Explorer
(https://seer.cancer.gov/statistics-network/explorer/) before quoting them as SEER figures.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES: tuple[str, ...] = ("I", "II", "III", "IV")
GRADES: tuple[str, ...] = ("I", "II", "III", "IV")
SUMMARY_STAGES: tuple[str, ...] = ("Localized", "Regional", "Distant")
RACES: tuple[str, ...] = ("White", "Black", "Other")
MARITAL: tuple[str, ...] = ("Married", "Single", "Divorced", "Widowed", "Separated")
GLEASON: tuple[str, ...] = ("6", "7", "8", "9-10")
HISTOLOGY_LUNG: tuple[str, ...] = ("Adenocarcinoma", "Squamous cell", "Small cell", "Other")

#: Published SEER figures the simulator is calibrated to. ``stage_distribution``: share of
#: AJCC stage groups among staged cases (sums to 1); ``css_5yr``: 5-year cause-specific
#: survival (%) by AJCC stage, i.e. Kaplan–Meier with deaths from other causes censored.
#: ``summary_stage_*`` entries are published shares the simulator is only checked against
#: (tests allow 4 points), not fitted to.
CALIBRATION_TARGETS: dict[str, dict] = {
    "breast": {
        "stage_distribution": {"I": 0.47, "II": 0.34, "III": 0.13, "IV": 0.06},
        "css_5yr": {"I": 98.0, "II": 92.0, "III": 76.0, "IV": 30.0},
        # cross-check (not fitted): SEER summary stage among staged cases, 61/31/6 of all
        "summary_stage_distribution": {"Localized": 0.622, "Regional": 0.316, "Distant": 0.061},
        "sources": (
            "approximate: AJCC-stage 5-yr breast-cancer-specific survival of SEER 18 cases "
            "diagnosed 2004-2015 (stage I ~98, II ~92, III ~75, IV ~30).",
            "read: SEER Stat Fact Sheets: Breast Cancer (SEER 18 2004-2010), "
            "https://seer.cancer.gov/statfacts/html/breast.html (2014 archive): 5-yr relative "
            "survival 89.2% overall.",
            "read (secondary, citing SEER 1995-2002): Localized 61%, Regional 31%, Distant 6%, "
            "unknown 2%; 5-yr relative survival 98.1 / 83.1 / 26.0%, "
            "http://breast-cancer.emedtv.com/breast-cancer/breast-cancer-statistics-p3.html "
            "(distant 6% of cases fixes stage IV at 0.06).",
        ),
    },
    "lung": {
        "stage_distribution": {"I": 0.21, "II": 0.07, "III": 0.19, "IV": 0.53},
        "css_5yr": {"I": 62.0, "II": 40.0, "III": 20.0, "IV": 5.0},
        # cross-check (not fitted): small cell lung cancer summary stage, 4/19/75 of all cases
        "summary_stage_small_cell": {"Localized": 0.041, "Regional": 0.194, "Distant": 0.765},
        "sources": (
            "read: SEER Cancer Statistics Review 1975-2012, Figure 15.9 (lung and bronchus, "
            "1998-2011): 5-yr relative survival at diagnosis Local 52.5%, Regional 24.9%, "
            "Distant 3.7%, https://seer.cancer.gov/archive/csr/1975_2012/ (section 15).",
            "read: SEER CSR 1975-2013 Table 15.14 (NSCLC, 2006-2012): Localized 19% of cases.",
            "read: SEER CSR 1975-2015 Table 15.13 (small cell, 2008-2014): Localized 4%, "
            "Regional 19%, Distant 75% of cases, https://seer.cancer.gov/csr/1975_2015/ (section 15).",
            "approximate: AJCC 7th stage distribution of SEER 18 lung cases, Chen VW et al., "
            "Cancer 2014;120 Suppl 23:3781-92 (about half stage IV); stage-specific CSS "
            "within the range of SEER AJCC-stage analyses (I ~60-70, IV ~5).",
        ),
    },
    "colorectal": {
        "stage_distribution": {"I": 0.22, "II": 0.29, "III": 0.28, "IV": 0.21},
        "css_5yr": {"I": 93.2, "II": 82.5, "III": 59.5, "IV": 8.1},
        "sources": (
            "read: O'Connell JB, Maggard MA, Ko CY. Colon cancer survival rates with the new "
            "AJCC sixth edition staging. J Natl Cancer Inst 2004;96(19):1420-5 (SEER 1991-2000, "
            "119,363 colon adenocarcinomas, Kaplan-Meier 5-yr stage-specific survival, AJCC 5th "
            "edition groups): I 93.2%, II 82.5%, III 59.5%, IV 8.1% (colon only; used for "
            "colorectal as the cause-specific target).",
            "approximate: AJCC stage shares consistent with SEER CSR 1975-2016 Table 6.12 "
            "(colon and rectum 2009-2015 summary stage: distant ~21% of cases), "
            "https://seer.cancer.gov/csr/1975_2016/ (section 6).",
        ),
    },
    "prostate": {
        "stage_distribution": {"I": 0.14, "II": 0.69, "III": 0.115, "IV": 0.055},
        "css_5yr": {"I": 99.5, "II": 99.0, "III": 96.0, "IV": 32.3},
        # cross-check (not fitted): summary stage among staged cases, 77/11/5 of all cases
        "summary_stage_distribution": {"Localized": 0.828, "Regional": 0.118, "Distant": 0.054},
        "sources": (
            "read: Siegel DA et al. Prostate Cancer Incidence and Survival, by Stage and "
            "Race/Ethnicity - United States, 2001-2017. MMWR 2020;69(41):1473-80, "
            "https://www.cdc.gov/mmwr/volumes/69/wr/mm6941a1.htm: localized 77%, regional 11%, "
            "distant 5%, unknown 7% of 2003-2017 cases in U.S. Cancer Statistics (SEER + NPCR), "
            "so distant = 0.054 of staged cases; 5-yr relative survival of distant stage 32.3% "
            "(2011-2016), used here as the stage IV cause-specific target.",
            "approximate: stage I-III 5-yr cause-specific survival 96-99.5% (SEER relative "
            "survival of localized/regional prostate cancer is ~100%); stage III (T3 N0 M0, "
            "the only 'Regional' stage here) share set to the regional share above.",
        ),
    },
}


@dataclass(frozen=True)
class SiteParams:
    """Covariate laws and hazards of one site (index 0..3 of a tuple = AJCC stage I..IV).

    Attributes:
        age_mean, age_sd: Normal law of age at diagnosis, truncated to [18, 100].
        age_shift: Added to ``age_mean`` per stage.
        male_share: P(sex == "Male").
        race: Base probabilities of ``RACES``; P(Black) is multiplied by
            ``1 + black_stage_gradient * stage`` and renormalised (later stage in Black patients).
        grade_stage: Shift per stage of the latent normal behind grade.
        grade_cuts: Three cut points of that latent normal (grades I|II|III|IV).
        size_median: Median tumour size (mm) per stage (log-normal, sd ``size_sigma``).
        node_involved: P(regional nodes involved) per stage.
        (treatment assignment and effects: :mod:`syntwin.cohort._treatment`)
        weibull_shape: Shape k of the cause-specific Weibull hazard per stage.
        weibull_scale: Fitted scale λ (months) per stage; see ``simulate.calibrate``.
        beta_age: Log hazard ratio per 10 years of age (centred at 65).
        beta_grade: Log hazard ratio per grade level.
        other_frailty: Multiplier of the life-table other-cause hazard (comorbidity).
    """

    age_mean: float
    age_sd: float
    age_shift: tuple[float, float, float, float]
    male_share: float
    race: tuple[float, float, float]
    black_stage_gradient: float
    grade_stage: float
    grade_cuts: tuple[float, float, float]
    size_median: tuple[float, float, float, float]
    size_sigma: float
    node_involved: tuple[float, float, float, float]
    weibull_shape: tuple[float, float, float, float]
    weibull_scale: tuple[float, float, float, float]
    beta_age: float
    beta_grade: float
    other_frailty: float


# Fitted scales: output of ``simulate.calibrate(site, n=400_000, seed=20240501)`` (KM of the
# simulated cohort at 60 months hits ``css_5yr``); tests re-check them on fresh cohorts.
SITE_PARAMS: dict[str, SiteParams] = {
    "breast": SiteParams(
        age_mean=61.0, age_sd=13.5, age_shift=(1.0, -1.5, -2.0, 2.0), male_share=0.01,
        race=(0.80, 0.11, 0.09), black_stage_gradient=0.15,
        grade_stage=0.25, grade_cuts=(-0.75, 0.7, 2.7),
        size_median=(12.0, 22.0, 32.0, 40.0), size_sigma=0.55,
        node_involved=(0.0, 0.45, 0.92, 0.70),
        weibull_shape=(1.3, 1.2, 1.1, 0.9),
        weibull_scale=(664.04, 284.52, 171.26, 71.279),
        beta_age=0.10, beta_grade=0.35, other_frailty=1.0,
    ),
    "lung": SiteParams(
        age_mean=70.0, age_sd=10.0, age_shift=(1.0, 0.5, -0.5, -0.5), male_share=0.53,
        race=(0.82, 0.11, 0.07), black_stage_gradient=0.05,
        grade_stage=0.25, grade_cuts=(-1.35, -0.1, 1.6),
        size_median=(20.0, 40.0, 48.0, 45.0), size_sigma=0.5,
        node_involved=(0.0, 0.50, 0.85, 0.80),
        weibull_shape=(1.0, 0.95, 0.8, 0.65),
        weibull_scale=(92.15, 70.367, 56.845, 19.083),
        beta_age=0.12, beta_grade=0.15, other_frailty=1.8,
    ),
    "colorectal": SiteParams(
        age_mean=67.0, age_sd=13.0, age_shift=(1.0, 2.0, -1.0, -1.5), male_share=0.53,
        race=(0.79, 0.12, 0.09), black_stage_gradient=0.08,
        grade_stage=0.30, grade_cuts=(-1.2, 1.0, 2.3),
        size_median=(20.0, 45.0, 45.0, 55.0), size_sigma=0.5,
        node_involved=(0.0, 0.0, 1.0, 0.75),
        weibull_shape=(1.1, 1.1, 1.0, 0.85),
        weibull_scale=(336.31, 139.83, 71.581, 20.394),
        beta_age=0.15, beta_grade=0.25, other_frailty=1.2,
    ),
    "prostate": SiteParams(
        age_mean=66.0, age_sd=8.5, age_shift=(2.0, -0.5, -2.0, 4.0), male_share=1.0,
        race=(0.78, 0.15, 0.07), black_stage_gradient=0.10,
        grade_stage=0.0, grade_cuts=(0.0, 0.0, 0.0),
        size_median=(0.0, 0.0, 0.0, 0.0), size_sigma=0.0,
        node_involved=(0.0, 0.0, 0.0, 0.50),
        weibull_shape=(1.5, 1.5, 1.3, 1.0),
        weibull_scale=(2398.0, 1633.3, 1159.1, 226.55),
        beta_age=0.20, beta_grade=0.0, other_frailty=0.9,
    ),
}

#: Other-cause mortality: :mod:`syntwin.cohort._lifetable` (US life table 2011) × ``other_frailty``.
#: Loss to follow-up (exponential), per month: about 1% of patients per year.
LOSS_RATE: float = 0.01 / 12
#: End of follow-up: 31 December 2020 (diagnosis years 2004-2015).
CUTOFF_YEAR: float = 2021.0
#: P(summary stage "Regional") for stage II without node involvement (direct extension:
#: colorectal T3/T4 through the bowel wall, lung T3 chest wall); involved nodes are always
#: "Regional", stage I "Localized", stage III "Regional", stage IV "Distant".
STAGE2_N0_REGIONAL: dict[str, float] = {"breast": 0.0, "lung": 0.5, "colorectal": 0.6, "prostate": 0.0}
#: P(four or more positive nodes | nodes involved) per stage (N2 and beyond).
N2_SHARE: dict[str, tuple[float, float, float, float]] = {
    "breast": (0.0, 0.0, 0.70, 0.50),
    "lung": (0.0, 0.0, 0.35, 0.40),
    "colorectal": (0.0, 0.0, 0.38, 0.50),
    "prostate": (0.0, 0.0, 0.0, 0.20),
}
YEARS: tuple[int, ...] = tuple(range(2004, 2016))

__all__ = ["CALIBRATION_TARGETS", "SITE_PARAMS", "SiteParams", "STAGES", "GRADES"]
