"""The release gate: thresholds a twin set must meet before anything leaves the run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from syntwin.errors import PrivacyGateError

#: Safe defaults:
#: - no exact copy of a training patient in the release: copies an honest generator makes by chance
#:   in a discrete space are dropped, and at most 1 % of the twins may be such copies (the holdout's
#:   chance rate on 100k simulated patients was 0.06 %);
#: - membership attacks no better than AUROC 0.60; each WP29 risk at most 0.10;
#: - k-anonymity >= 5 on the banded quasi-identifiers, with at most 10 % of the twins suppressed to
#:   reach it (suppression costs fidelity, not privacy);
#: - a DCR share (twins closer to train than to an equal-size holdout) <= 0.60.
DEFAULT_CHECKS: dict[str, tuple[str, float]] = {
    "exact_copies": ("<=", 0),
    "exact_copy_share": ("<=", 0.01),
    "mia_distance_auroc": ("<=", 0.60),
    "mia_density_auroc": ("<=", 0.60),
    "singling_out_risk": ("<=", 0.10),
    "linkability_risk": ("<=", 0.10),
    "inference_risk": ("<=", 0.10),
    "k_anonymity": (">=", 5),
    "k_suppressed_share": ("<=", 0.10),
    "dcr_train_share": ("<=", 0.60),
}

#: Scenario ``privacy`` field -> the check it sets (the lead maps scenario fields through this).
THRESHOLD_FIELDS: dict[str, str] = {
    "max_exact_copies": "exact_copies",
    "max_exact_copy_share": "exact_copy_share",
    "max_mia_auroc": "mia_distance_auroc mia_density_auroc",
    "max_singling_out_risk": "singling_out_risk",
    "max_linkability_risk": "linkability_risk",
    "max_inference_risk": "inference_risk",
    "min_k_anonymity": "k_anonymity",
    "max_k_suppressed_share": "k_suppressed_share",
    "max_dcr_train_share": "dcr_train_share",
}


@dataclass
class ReleaseGate:
    """Thresholds a twin set must meet before it may leave the run.

    Each entry of ``checks`` is ``metric -> (comparison, threshold)`` with comparison ``"<="``
    or ``">="``. A metric that is missing or not a finite number fails its check.
    """

    checks: dict[str, tuple[str, float]] = field(default_factory=dict)

    @classmethod
    def default(cls, **fields: float | None) -> ReleaseGate:
        """Build the default checks, thresholds overridden by scenario field name (``max_mia_auroc=0.55``)."""
        checks = dict(DEFAULT_CHECKS)
        for name, value in fields.items():
            if name not in THRESHOLD_FIELDS:
                raise ValueError(f"unknown privacy threshold {name!r}; known: {', '.join(THRESHOLD_FIELDS)}")
            if value is None:
                continue
            for metric in THRESHOLD_FIELDS[name].split():
                checks[metric] = (checks[metric][0], value)
        return cls(checks)

    def evaluate(self, metrics: dict[str, float]) -> dict[str, dict[str, Any]]:
        """Per check: the figure, its threshold and whether it passed."""
        table = {}
        for name, (op, threshold) in self.checks.items():
            if op not in ("<=", ">="):
                raise ValueError(f"check {name!r} has comparison {op!r}; use '<=' or '>='")
            value = metrics.get(name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            ok = number and (value <= threshold if op == "<=" else value >= threshold)
            table[name] = {"value": value, "threshold": threshold, "op": op, "passed": bool(ok)}
        return table

    def enforce(self, metrics: dict[str, float]) -> dict[str, dict[str, Any]]:
        """Like :meth:`evaluate`, but raise :class:`PrivacyGateError` naming every failed check."""
        return enforce_table(self.evaluate(metrics))


def failures(table: dict[str, dict[str, Any]]) -> list[str]:
    """List the failed checks of a gate table, as ``"name = value (must be op threshold)"``."""
    return [
        f"{k} = {v['value']} (must be {v['op']} {v['threshold']})"
        for k, v in table.items()
        if not v["passed"]
    ]


def enforce_table(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Raise :class:`PrivacyGateError` if any check of ``table`` failed (or the table is empty)."""
    failed = failures(table) if table else ["no privacy check was recorded"]
    if failed:
        raise PrivacyGateError(failed, hint="use another generator or settings, or review the thresholds")
    return table


__all__ = ["ReleaseGate", "DEFAULT_CHECKS", "THRESHOLD_FIELDS", "failures", "enforce_table"]
