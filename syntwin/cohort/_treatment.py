"""Causal structure of the simulator: who is treated (by indication) and what treatment does.

Data only (frozen dataclasses); the sampling lives in :mod:`syntwin.cohort.simulate` and the
potential outcomes in :mod:`syntwin.cohort.truth`.

**Assignment** (confounding by indication). For treatment ``t`` and patient ``i``::

    logit P(t_i = Yes) = logit(share[stage_i]) - age_slope (age_i - 65) + year_slope (year_i - 2010)
                         + sum_m modifiers[m] * indicator_m(i) + per_node * positive_nodes_i

``share`` is P(Yes) for a reference patient (65, diagnosed 2010, all indicators 0, no nodes).
The indicators (grade III/IV, ER negative, ...) also raise the cancer hazard, so the naive
treated-vs-untreated comparison is confounded; given the recorded features it is not
(no unmeasured confounding holds by construction, except the node count of patients
without surgery, which SEER records as 0: condition on ``surgery`` when nodes matter).

**Effect.** Treatment multiplies the cause-specific hazard by ``hazard_ratio[stage]`` where
``applies_if`` holds (everywhere when None), i.e. adds ``log hazard_ratio`` to η.

Provenance: *read* figures were checked against the cited text; *approximate* figures are
taken as recalled from the cited source (trial or meta-analysis) or are plausible values in
the published range — check them before quoting them as published figures. Treatment shares
(``share``) are approximate stage-specific patterns of SEER / NCDB treatment reports (Miller KD
et al., Cancer treatment and survivorship statistics 2019, CA Cancer J Clin 2019;69:363-385,
NCDB 2016 figures); the modifiers give the usual direction of indication (chemotherapy for
younger, ER-negative, HER2-positive, high-grade, node-positive disease).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Indicator names usable in ``modifiers`` and ``applies_if`` (computed in simulate._draw).
INDICATORS: tuple[str, ...] = ("operated", "not_operated", "grade_high", "er_positive", "er_negative",
                               "her2_positive", "small_cell")


@dataclass(frozen=True)
class TreatmentRule:
    """Assignment model and hazard ratio of one treatment column (tuples: AJCC stage I..IV)."""

    share: tuple[float, float, float, float]
    hazard_ratio: tuple[float, float, float, float]
    source: str
    age_slope: float = 0.035
    year_slope: float = 0.0
    modifiers: dict[str, float] = field(default_factory=dict)
    per_node: float = 0.0
    applies_if: str | None = None


#: Tumour size (per 10 mm) and positive nodes (per node) in the cancer hazard, as hazard ratios.
@dataclass(frozen=True)
class PrognosticRule:
    size_hr_per_10mm: float
    node_hr_per_node: float
    source: str


_EBCTCG_CHEMO = ("approximate: EBCTCG, Lancet 2012;379:432-44 (polychemotherapy vs none, breast "
                 "cancer mortality RR ~0.64-0.80 by regimen, proportional effect similar by age, ER, "
                 "nodes); stage IV palliative chemotherapy HR 0.85 is a plausible value, not a trial figure.")
_EBCTCG_ENDO = ("approximate: EBCTCG, Lancet 2011;378:771-84 (about 5 years of tamoxifen in ER-positive "
                "disease: breast cancer mortality RR ~0.70; no effect in ER-poor disease).")
_EBCTCG_RT = ("approximate: EBCTCG, Lancet 2011;378:1707-16 (radiotherapy after breast-conserving "
              "surgery: 15-year breast cancer death 21.4% vs 25.2%, RR ~0.82); EBCTCG, Lancet "
              "2014;383:2127-35 (after mastectomy in node-positive disease RR ~0.80). Here: operated "
              "patients only; no effect of radiation without surgery.")
_BADWE = ("approximate: surgery in stage I-III vs primary endocrine therapy/none (older women), "
          "plausible HR 0.6; stage IV locoregional surgery: Badwe R et al., Lancet Oncol 2015;16:1380-8 "
          "(randomised, OS HR ~1.04), so HR 1.0.")

TREATMENTS: dict[str, dict[str, TreatmentRule]] = {
    "breast": {
        "surgery": TreatmentRule(share=(0.97, 0.95, 0.90, 0.35), hazard_ratio=(0.6, 0.6, 0.6, 1.0),
                                 source=_BADWE),
        "radiation": TreatmentRule(share=(0.62, 0.52, 0.62, 0.30), hazard_ratio=(0.82, 0.82, 0.82, 0.82),
                                   modifiers={"not_operated": -1.5}, applies_if="operated", source=_EBCTCG_RT),
        "chemotherapy": TreatmentRule(share=(0.12, 0.40, 0.70, 0.60), hazard_ratio=(0.75, 0.75, 0.75, 0.85),
                                      age_slope=0.05, year_slope=-0.04, per_node=0.08,
                                      modifiers={"er_negative": 1.4, "her2_positive": 0.9, "grade_high": 0.6},
                                      source=_EBCTCG_CHEMO),
        "endocrine_therapy": TreatmentRule(share=(0.82, 0.84, 0.84, 0.78), hazard_ratio=(0.70, 0.70, 0.70, 0.70),
                                           age_slope=0.01, year_slope=0.03, modifiers={"er_negative": -6.0},
                                           applies_if="er_positive", source=_EBCTCG_ENDO),
    },
    "lung": {
        "surgery": TreatmentRule(share=(0.70, 0.55, 0.15, 0.03), hazard_ratio=(0.45, 0.55, 0.75, 1.0),
                                 age_slope=0.04,
                                 source="approximate: resection vs none in SEER stage I-III NSCLC "
                                        "(observational, HR ~0.4-0.7); no effect assumed in stage IV."),
        "radiation": TreatmentRule(share=(0.25, 0.30, 0.60, 0.45), hazard_ratio=(0.90, 0.90, 0.85, 0.90),
                                   age_slope=0.04,
                                   source="approximate: thoracic radiotherapy in stage III, plausible HR "
                                          "0.85 (no randomised no-RT arm in modern trials)."),
        "chemotherapy": TreatmentRule(share=(0.08, 0.45, 0.65, 0.55), hazard_ratio=(1.0, 0.89, 0.89, 0.77),
                                      age_slope=0.05, modifiers={"small_cell": 1.5},
                                      source="approximate: LACE pooled analysis, Pignon JP et al., J Clin "
                                             "Oncol 2008;26:3552-9 (adjuvant cisplatin, OS HR 0.89; none in "
                                             "stage IA); NSCLC Meta-Analyses Collaborative Group, J Clin Oncol "
                                             "2008;26:4617-25 (chemotherapy + supportive care vs supportive "
                                             "care in advanced NSCLC, HR 0.77)."),
    },
    "colorectal": {
        "surgery": TreatmentRule(share=(0.96, 0.96, 0.95, 0.60), hazard_ratio=(0.40, 0.40, 0.50, 1.0),
                                 age_slope=0.04,
                                 source="approximate: resection vs none in stage I-III (observational, "
                                        "large effect); stage IV primary resection HR 1.0 (no benefit "
                                        "in randomised trials, e.g. SYNCHRONOUS)."),
        "radiation": TreatmentRule(share=(0.08, 0.15, 0.20, 0.10), hazard_ratio=(1.0, 0.95, 0.90, 1.0),
                                   age_slope=0.04,
                                   source="approximate: Swedish Rectal Cancer Trial, N Engl J Med "
                                          "1997;336:980-7 (preoperative RT, rectal cancer; diluted here "
                                          "over colon + rectum)."),
        "chemotherapy": TreatmentRule(share=(0.04, 0.22, 0.62, 0.62), hazard_ratio=(1.0, 0.82, 0.70, 0.65),
                                      age_slope=0.05, modifiers={"grade_high": 0.4},
                                      source="approximate: QUASAR, Lancet 2007;370:2020-9 (stage II, RR of "
                                             "death 0.82); Moertel CG et al., N Engl J Med 1990;322:352-8 "
                                             "(stage III, fluorouracil + levamisole, death rate -33%); "
                                             "Colorectal Cancer Collaborative Group, BMJ 2000;321:531-5 "
                                             "(advanced disease, chemotherapy vs supportive care HR ~0.65)."),
    },
    "prostate": {
        "surgery": TreatmentRule(share=(0.30, 0.40, 0.55, 0.05), hazard_ratio=(0.56, 0.56, 0.70, 1.0),
                                 age_slope=0.09,
                                 source="approximate: SPCG-4, Bill-Axelson A et al., N Engl J Med "
                                        "2014;370:932-42 (radical prostatectomy vs watchful waiting, "
                                        "prostate cancer mortality RR 0.56)."),
        "radiation": TreatmentRule(share=(0.30, 0.35, 0.40, 0.25), hazard_ratio=(0.60, 0.60, 0.60, 1.0),
                                   age_slope=0.09, modifiers={"operated": -1.0},
                                   source="approximate: SPCG-7, Widmark A et al., Lancet 2009;373:301-8 "
                                          "(RT added to endocrine therapy, 10-year prostate cancer "
                                          "mortality RR ~0.44); HR 0.6 used vs no RT."),
        "chemotherapy": TreatmentRule(share=(0.0, 0.005, 0.01, 0.15), hazard_ratio=(1.0, 1.0, 1.0, 0.76),
                                      age_slope=0.05,
                                      source="approximate: TAX 327, Tannock IF et al., N Engl J Med "
                                             "2004;351:1502-12 (docetaxel in metastatic disease, HR 0.76)."),
    },
}

PROGNOSTIC: dict[str, PrognosticRule] = {
    "breast": PrognosticRule(1.10, 1.05, "approximate: Carter CL, Allen C, Henson DE, Cancer 1989;63:181-7 "
                                         "(24,740 SEER cases: survival falls with size within every node "
                                         "group and with the number of positive nodes); HR 1.10 per cm and "
                                         "1.05 per positive node are values in the range of SEER Cox models."),
    "lung": PrognosticRule(1.07, 1.04, "approximate: size and nodal burden within stage (IASLC staging "
                                       "project, Rami-Porta R et al., J Thorac Oncol 2007;2:593-602)."),
    "colorectal": PrognosticRule(1.02, 1.05, "approximate: number of positive nodes within stage III (N1 vs "
                                             "N2; AJCC 7th ed.); size nearly uninformative."),
    "prostate": PrognosticRule(1.0, 1.10, "approximate: pelvic node involvement (no tumour size in SEER "
                                          "prostate)."),
}


def treatment_columns(site: str) -> tuple[str, ...]:
    """Treatment columns of ``site`` in draw order (surgery first: nodes are recorded only if operated)."""
    return tuple(TREATMENTS[site])


__all__ = ["TREATMENTS", "PROGNOSTIC", "TreatmentRule", "PrognosticRule", "INDICATORS", "treatment_columns"]
