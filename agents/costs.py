"""Costs beside benefits: each arm's price (people turned away, waiting outside) next to its health gain.

An intervention that lowers expected infections by keeping people out has a cost that belongs in the
same table: :func:`cost_benefit` takes a sweep summary (:func:`syntwin.agents.sweep.summarize`: per arm
and metric the mean, its 95 % t-interval over replicates and the paired difference to the reference arm
with its interval; common random numbers make these narrow) and lays out, per arm, the cost and benefit
metrics with a verdict that is only "better" or "worse" where the paired interval excludes 0.
"""

from __future__ import annotations

import pandas as pd

#: Cost metrics: what an arm asks of visitors (all "lower is better" except ``served``).
COSTS: dict[str, str] = {
    "served": "visitors served (seated)",
    "turned_away": "turned away (no seat, no slot, went away outside)",
    "turned_away_share": "share of arrivals turned away",
    "mean_outside_wait_s": "mean wait outside (s)",
    "p95_outside_wait_s": "95th percentile wait outside (s)",
    "max_outside_queue": "peak queue outside",
}
#: Benefit metrics: the health side (all "lower is better").
BENEFITS: dict[str, str] = {
    "expected_infections": "expected infections",
    "infection_risk_per_visitor": "infection risk per visitor",
    "infections_per_1000_visitors": "expected infections per 1,000 visitors",
    "contact_minutes_per_visitor": "contact minutes per visitor (< contact radius)",
    "close_contacts": "close contacts (pairs over the close-contact time)",
}
_HIGHER_IS_BETTER = {"served"}


def verdict(metric: str, low: float, high: float) -> str:
    """``better`` / ``worse`` than the reference where the paired 95 % interval excludes 0.

    Otherwise ``no clear difference``.
    """
    if low <= 0 <= high:
        return "no clear difference"
    up = low > 0
    return "better" if up == (metric in _HIGHER_IS_BETTER) else "worse"


def cost_benefit(summary: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """One row per arm and cost/benefit metric, paired with the reference arm.

    Args:
        summary: Output of :func:`~syntwin.agents.sweep.summarize` (columns ``arm, metric, mean, ci_low,
            ci_high, diff_mean, diff_low, diff_high, replicates``).
        reference: Name of the reference arm (default: the first arm of ``summary``, as in the sweep).

    Returns:
        Columns ``arm, side (cost|benefit), metric, label, mean, ci_low, ci_high, diff_mean, diff_low,
        diff_high, verdict, reference``.
    """
    arms = list(dict.fromkeys(summary["arm"]))
    reference = reference or arms[0]
    if reference not in arms:
        raise ValueError(f"reference arm {reference!r} is not in the summary (arms: {arms})")
    wanted = [("cost", k, v) for k, v in COSTS.items()] + [("benefit", k, v) for k, v in BENEFITS.items()]
    missing = sorted({k for _, k, _ in wanted} - set(summary["metric"]))
    if missing:
        raise ValueError(f"the summary lacks the metrics {missing} (run the sweep with this version)")
    idx = summary.set_index(["arm", "metric"])
    rows = []
    for arm in arms:
        for side, metric, label in wanted:
            r = idx.loc[(arm, metric)]
            v = "reference" if arm == reference else verdict(metric, r["diff_low"], r["diff_high"])
            rows.append((arm, side, metric, label, r["mean"], r["ci_low"], r["ci_high"], r["diff_mean"],
                         r["diff_low"], r["diff_high"], v, reference))
    return pd.DataFrame(rows, columns=["arm", "side", "metric", "label", "mean", "ci_low", "ci_high",
                                       "diff_mean", "diff_low", "diff_high", "verdict", "reference"])


__all__ = ["COSTS", "BENEFITS", "verdict", "cost_benefit"]
