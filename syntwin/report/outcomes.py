"""Report tables of aggregates the run published: outcome rates per community, privacy checks with intervals.

Both read only what the run wrote: ``cohort/communities.parquet`` (already suppressed by the small-cell rule
at the fidelity stage — a community with a withheld cell shows neither size nor rate) and the manifest's
privacy gate rows (estimate, 95 % interval, threshold, verdict).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from syntwin.export.aggregate import MIN_CELL
from syntwin.report.html import esc, table

VERDICT_CLASS = {"pass": "pass", "fail": "fail", "inconclusive": "warn", "waived": "muted"}


def community_outcomes_html(frame: pd.DataFrame, *, shown: int = 20) -> str:
    """Table of the largest communities: size, event rate by the horizon and its 95 % interval."""
    horizon = frame["horizon"].dropna().iloc[0] if "horizon" in frame and frame["horizon"].notna().any() else None
    what = f"event by {horizon:g} months (Kaplan–Meier)" if horizon is not None else "event (share of patients)"
    pub = frame[~frame["suppressed"].astype(bool)].sort_values(["size", "community"], ascending=[False, True])
    rows = [(int(r.community), int(r.size), f"{r.rate:.1%}", f"{r.ci_low:.1%}–{r.ci_high:.1%}")
            for r in pub.head(shown).itertuples()]
    withheld = int(frame["suppressed"].astype(bool).sum())
    note = (f'<p class="muted">{withheld} communit{"y" if withheld == 1 else "ies"} withheld: a count of fewer '
            f"than {MIN_CELL} real patients (with or without the event), or one that would reveal such a count."
            "</p>") if withheld else ""
    if not rows:
        return "<h3>Outcome by community</h3>" + note
    return ("<h3>Outcome by community</h3>"
            + f'<p class="muted">Real training patients per community; rate = {esc(what)}, 95 % interval.</p>'
            + table(["community", "patients", "event rate", "95% interval"], rows) + note)


def _interval(g: dict[str, Any]) -> str:
    lo, hi = g.get("ci_low"), g.get("ci_high")
    if lo is None or hi is None:
        return "–"
    return f"{lo:.3g}–{hi:.3g}"


def privacy_checks_html(gate: dict[str, dict[str, Any]]) -> str:
    """One row per gated check: estimate, 95 % interval, threshold, verdict (pass / fail / inconclusive)."""
    rows = []
    for check, g in gate.items():
        status = g.get("status") or ("pass" if g.get("passed") else "fail")
        mark = f'<span class="{VERDICT_CLASS.get(status, "")}">{esc(status)}</span>'
        threshold = f"{g.get('op', '')} {g.get('threshold')}".strip() if g.get("threshold") is not None else "–"
        rows.append((check.replace("_", " "), g.get("value"), _interval(g), threshold,
                     g.get("n") if g.get("n") is not None else "–", mark))
    return table(["check", "estimate", "95% interval", "threshold", "attacks / patients", "verdict"], rows,
                 raw=[False, False, False, False, False, True])


__all__ = ["community_outcomes_html", "privacy_checks_html"]
