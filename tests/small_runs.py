"""Scenario overrides shared by the full-pipeline tests: a small simulated cohort that runs in seconds.

The release thresholds are loosened on purpose: 750 control patients cannot bound the default attack risks
below 0.10 (the bounds-based gate would call every small run inconclusive), and a small cohort puts more
twins in groups smaller than k. The gate's own tests (tests/privacy) check the default thresholds.
"""

from __future__ import annotations

#: Privacy thresholds a 3,000-patient run can meet.
SMALL_PRIVACY = ["privacy.max_k_suppressed_share=0.25", "privacy.max_inference_risk=0.5",
                 "privacy.max_singling_out_risk=0.3", "privacy.max_linkability_risk=0.3", "privacy.max_mia_auroc=0.7"]
#: Every prediction method except the two costliest (GraphSAGE, SynTwin's all-pairs reference), which
#: tests/spine/test_prediction_stage.py and the byte-identity test run.
CHEAP_METHODS = "prediction.methods=[logistic,gradient_boosting,real_knn,twin_knn,logistic_twins,twin_knn_mix,twin_ensemble]"
#: A 3,000-patient simulated cohort with per-community groups of at least 300 patients.
SMALL = ["cohort.simulate.n=3000", "synthesis.min_group_size=300", *SMALL_PRIVACY]


def cli_sets(overrides: list[str]) -> list[str]:
    """``["a=1", "b=2"]`` as CLI arguments ``["--set", "a=1", "--set", "b=2"]``."""
    return [arg for o in overrides for arg in ("--set", o)]


def yaml_privacy(**changed: float) -> str:
    """:data:`SMALL_PRIVACY` (with ``changed`` thresholds) as a YAML flow mapping, for scenario files of tests."""
    pairs = dict(o.removeprefix("privacy.").split("=") for o in SMALL_PRIVACY) | {k: str(v) for k, v in changed.items()}
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs.items()) + "}"
