"""The release gate: a twin set leaves the run only if every check is decided in its favour.

A check backed by an attack or a comparison with held-out patients is decided on the **upper end of
its 95 % interval** (a lower-is-safer figure): it *passes* when that bound is within the threshold,
*fails* when the estimate itself is beyond it, and is *inconclusive* otherwise — the test was too weak
to bound the risk with the patients available. An inconclusive check refuses the release like a
failure, and its row says what would decide it (more control patients, a DP generator with
``privacy.accept_dp``, or a looser threshold chosen by the user). Deterministic figures (copies
counted, k-anonymity) are compared as they are.

With a differentially private generator and ``accept_dp=True`` the attack-based checks may pass on
ε alone: they are still measured and shown, marked ``waived (ε-DP)``; the release then rests on the
DP guarantee, not on the attacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from syntwin.errors import PrivacyGateError

#: Safe defaults:
#: - at most 1 % of the twins (as generated, before any drop) identical to a training patient;
#:   ``exact_copies`` (a count) is only gated when the scenario sets ``max_exact_copies``;
#: - near copies of training patients no more than 1.1x the rate of near copies of as many held-out
#:   patients (memorisation against chance, see :mod:`syntwin.privacy.memorisation`);
#: - membership attacks: upper 95 % bound of the AUROC <= 0.60; each WP29 risk's upper bound <= 0.10;
#: - k-anonymity >= 5 on the banded quasi-identifiers, with at most 10 % of the twins suppressed to
#:   reach it (suppression costs fidelity, not privacy);
#: - upper bound of the DCR share (twins closer to train than to an equal-size holdout) <= 0.60.
DEFAULT_CHECKS: dict[str, tuple[str, float]] = {
    "exact_copy_share": ("<=", 0.01),
    "memorisation_ratio": ("<=", 1.1),
    "mia_distance_auroc": ("<=", 0.60),
    "mia_density_auroc": ("<=", 0.60),
    "singling_out_risk": ("<=", 0.10),
    "linkability_risk": ("<=", 0.10),
    "inference_risk": ("<=", 0.10),
    "k_anonymity": (">=", 5),
    "k_suppressed_share": ("<=", 0.10),
    "dcr_train_share": ("<=", 0.60),
}

#: Checks a DP release may pass on ε alone (``accept_dp``): those that attack the twins.
DP_WAIVABLE = frozenset({
    "exact_copies", "exact_copy_share", "memorisation_ratio", "mia_distance_auroc", "mia_density_auroc",
    "singling_out_risk", "linkability_risk", "inference_risk", "dcr_train_share",
})

#: Scenario ``privacy`` field -> the check it sets (the lead maps scenario fields through this).
THRESHOLD_FIELDS: dict[str, str] = {
    "max_exact_copies": "exact_copies",
    "max_exact_copy_share": "exact_copy_share",
    "max_memorisation_ratio": "memorisation_ratio",
    "max_mia_auroc": "mia_distance_auroc mia_density_auroc",
    "max_singling_out_risk": "singling_out_risk",
    "max_linkability_risk": "linkability_risk",
    "max_inference_risk": "inference_risk",
    "min_k_anonymity": "k_anonymity",
    "max_k_suppressed_share": "k_suppressed_share",
    "max_dcr_train_share": "dcr_train_share",
}

PASS, FAIL, INCONCLUSIVE, WAIVED = "pass", "fail", "inconclusive", "waived (ε-DP)"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def decide(op: str, threshold: float, estimate: Any, upper: Any = None) -> str:
    """Status of one check: on ``upper`` (the 95 % bound) when given, else on the estimate."""
    if not _number(estimate):
        return FAIL
    if op == ">=":
        return PASS if estimate >= threshold else FAIL
    if upper is None:
        return PASS if estimate <= threshold else FAIL
    if not _number(upper) or estimate > threshold:
        return FAIL
    return PASS if upper <= threshold else INCONCLUSIVE


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
                op = checks[metric][0] if metric in checks else "<="
                checks[metric] = (op, value)
        return cls(checks)

    def evaluate(
        self,
        metrics: dict[str, float],
        bounds: dict[str, dict[str, Any]] | None = None,
        *,
        dp: dict[str, float] | None = None,
        accept_dp: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Per check: the figure, its threshold, its status and whether it passed.

        Args:
            metrics: flat figures (the estimates).
            bounds: per check, the evidence of an interval-backed figure: ``ci_low``, ``ci_high``
                and optionally ``n``, ``baseline``, ``detectable``, ``decide`` (copied into the row);
                a ``status`` entry, when present, is the check's own decision (memorisation).
            dp: ``{"epsilon", "delta"}`` of a differentially private generator.
            accept_dp: let a DP release pass the attack-based checks on ε alone.
        """
        bounds = bounds or {}
        table: dict[str, dict[str, Any]] = {}
        for name, (op, threshold) in self.checks.items():
            if op not in ("<=", ">="):
                raise ValueError(f"check {name!r} has comparison {op!r}; use '<=' or '>='")
            value, evidence = metrics.get(name), dict(bounds.get(name, {}))
            status = evidence.pop("status", None) or decide(op, threshold, value, evidence.get("ci_high"))
            row = {"value": value, "threshold": threshold, "op": op, "status": status, **evidence}
            if status != PASS and accept_dp and dp and name in DP_WAIVABLE:
                row["status"] = WAIVED
            row["passed"] = row["status"] in (PASS, WAIVED)
            table[name] = row
        if dp:
            table["differential_privacy"] = {
                "value": dp.get("epsilon"), "delta": dp.get("delta"), "threshold": None, "op": "ε-DP",
                "status": PASS if accept_dp else "reported", "passed": True,
            }
        return table

    def enforce(self, metrics: dict[str, float], bounds: dict[str, dict[str, Any]] | None = None) -> dict:
        """Like :meth:`evaluate`, but raise :class:`PrivacyGateError` naming every check that did not pass."""
        return enforce_table(self.evaluate(metrics, bounds))


def failures(table: dict[str, dict[str, Any]]) -> list[str]:
    """List the checks of a gate table that did not pass, each with its figure, bound and threshold."""
    out = []
    for k, v in table.items():
        if v["passed"]:
            continue
        bound = f", 95 % upper bound {v['ci_high']}" if "ci_high" in v else ""
        text = f"{k} = {v['value']}{bound} (must be {v['op']} {v['threshold']})"
        if v.get("status") == INCONCLUSIVE:
            text += " inconclusive: " + (v.get("decide") or "the test is too weak to bound it")
        out.append(text)
    return out


def enforce_table(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Raise :class:`PrivacyGateError` if any check of ``table`` did not pass (or the table is empty)."""
    failed = failures(table) if table else ["no privacy check was recorded"]
    if failed:
        inconclusive = any(v.get("status") == INCONCLUSIVE for v in table.values())
        hint = ("more control (held-out) patients, a differentially private generator (synthesis.generator: mst "
                "with privacy.accept_dp: true), or a threshold you choose to loosen" if inconclusive
                else "use another generator or settings, or review the thresholds")
        raise PrivacyGateError(failed, hint=hint)
    return table


__all__ = ["ReleaseGate", "DEFAULT_CHECKS", "DP_WAIVABLE", "THRESHOLD_FIELDS", "decide", "failures",
           "enforce_table", "PASS", "FAIL", "INCONCLUSIVE", "WAIVED"]
