"""Crowd report content: each arm's costs beside its benefits, paired with the reference arm.

Kept apart from the generic sections (the report's layout may change) and hooked into the crowd
section list with one line; it reads ``crowd/cost_benefit.parquet`` and ``crowd/cost_benefit.png``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from syntwin.report.html import Section, esc, figure, fmt, table


def _cell(mean: float, low: float, high: float) -> str:
    return f"{fmt(float(mean))} [{fmt(float(low))}, {fmt(float(high))}]"


def costs_and_benefits(run: Any) -> Section:
    """Per arm: costs (served, turned away, waiting outside) and benefits (infection risk, contacts).

    Each cell: the arm's mean [95 % interval]; below it the paired difference to the reference arm
    [95 % interval] and whether it is better, worse or not clearly different.
    """
    cb = pd.read_parquet(run.file("crowd/cost_benefit.parquet"))
    ref = str(cb["reference"].iloc[0])
    arms = list(dict.fromkeys(cb["arm"]))
    rows, raw = [], [False] + [True] * len(arms)
    for (side, metric, label), block in cb.groupby(["side", "metric", "label"], sort=False):
        cells = []
        for arm in arms:
            r = block[block["arm"] == arm].iloc[0]
            cell = esc(_cell(r["mean"], r["ci_low"], r["ci_high"]))
            if arm != ref:
                cls = {"better": "pass", "worse": "fail"}.get(r["verdict"], "muted")
                diff = esc(_cell(r["diff_mean"], r["diff_low"], r["diff_high"]))
                cell += f'<br><span class="{cls}">{diff} {esc(r["verdict"])}</span>'
            cells.append(cell)
        rows.append((f"{side}: {label}", *cells))
    head = (f'<p class="muted">Mean [95% interval over replicates]; coloured: the paired difference to '
            f"{esc(ref)!s} (same seeds: common random numbers). An arm's cost is what it asks of visitors "
            "(turned away, waiting outside); its benefit is the health side.</p>")
    body = head + table(["", *arms], rows, raw=raw)
    n = 0
    if (run.path / "crowd/cost_benefit.png").exists():
        body += figure(run.png("crowd/cost_benefit.png"), "costs and benefits",
                       "Paired difference to the reference arm with its 95 % interval.")
        n = 1
    return Section("costs", "Costs and benefits of each arm", body, figures=n)


__all__ = ["costs_and_benefits"]
