"""Privacy of synthetic twins: copies, DCR/NNDR, membership attacks, WP29 risks, k-anonymity, release gate.

:func:`evaluate_privacy` runs everything and returns the gate's verdict; :class:`ReleaseGate`
holds the thresholds; :func:`privacy_table` reads the figures of a finished run.
"""

from syntwin.privacy.anonymeter_risks import Risk, inference_risk, linkability_risk, singling_out_risk
from syntwin.privacy.copies import exact_copies
from syntwin.privacy.dcr import dcr_profile, distance_to_closest_record
from syntwin.privacy.evaluate import evaluate_privacy, privacy_table
from syntwin.privacy.gate import DEFAULT_CHECKS, THRESHOLD_FIELDS, ReleaseGate, enforce_table, failures
from syntwin.privacy.kanon import k_anonymity, l_diversity, small_class_mask
from syntwin.privacy.membership import membership_attacks

__all__ = [
    "evaluate_privacy",
    "privacy_table",
    "ReleaseGate",
    "DEFAULT_CHECKS",
    "THRESHOLD_FIELDS",
    "enforce_table",
    "failures",
    "exact_copies",
    "distance_to_closest_record",
    "dcr_profile",
    "membership_attacks",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "Risk",
    "k_anonymity",
    "l_diversity",
    "small_class_mask",
]
