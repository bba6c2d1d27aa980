"""Report section of the counterfactual stage: survival under each option, per patient and per subgroup."""

from __future__ import annotations

import json

import pandas as pd

from syntwin.report import figures as F
from syntwin.report.html import Section, esc, figure, table
from syntwin.report.sections import NotRequested, RunDir


def counterfactual(run: RunDir) -> Section:
    """Effect table (each estimator beside the naive difference), the assumption, and the twins'
    Kaplan–Meier curves under each option for the chosen patients and per subgroup."""
    if "counterfactual" not in run.metrics:
        raise NotRequested("the scenario has no counterfactual section")
    info = json.loads(run.file("counterfactual/effects.json").read_text())
    eff = pd.DataFrame(info["effects"])
    rows = [(r.estimator, r.scope, int(r.n), float(r.effect), float(r.lo), float(r.hi)) for r in eff.itertuples()]
    opt0, opt1 = info["options"]
    body = (f"<p>Effect = {esc(info['effect'])} of <code>{esc(info['treatment'])}</code>, for the held-out "
            f"patients (models and twins from the training patients). <b>naive</b> is the confounded "
            "treated-minus-untreated Kaplan–Meier difference.</p>"
            f'<p class="note">{esc(info["assumption"])}</p>'
            + table(["estimator", "scope", "patients", "effect", "95% low", "95% high"], rows))
    figures = 0
    curves_path = run.path / "counterfactual/curves.parquet"
    if curves_path.exists():
        curves = pd.read_parquet(curves_path)
        for group, part in curves.groupby("group", sort=False):
            lines = {f"{info['treatment']} = {o}": c.sort_values("time")[["time", "survival"]]
                     for o, c in part.groupby("option", sort=False)}
            fig = F.km_figure(lines, title=f"{group}: survival of its twins under {opt0} / {opt1}")
            body += figure(F.png_data_uri(fig), f"what if: {group}",
                           "Kaplan–Meier of the matched twins under each option (before the bias correction "
                           "applied to the horizon estimate).")
            figures += 1
    arm = info.get("control_arm")
    if arm:
        keys = [("hazard_ratio", "hazard ratio (matched, adjusted)"), ("hazard_ratio_matched", "hazard ratio (matched)"),
                ("naive_hazard_ratio", "hazard ratio (naive: all untreated)"),
                ("survival_difference", f"survival difference at {arm['horizon']:g} months"),
                ("naive_survival_difference", "survival difference (naive)")]
        arm_rows = [(label, arm[k], arm[f"{k}_lo"], arm[f"{k}_hi"]) for k, label in keys if k in arm]
        body += (f"<h3>Virtual control arm</h3><p>Arm: <code>{esc(arm['arm'])}</code> — {arm['n_arm']} treated "
                 f"patients, {arm['n_controls']} distinct matched untreated controls ({arm['m']} per patient); "
                 f"largest standardised mean difference {arm['max_smd_before']:.2f} before, "
                 f"{arm['max_smd_after']:.2f} after matching.</p>"
                 + table(["figure", "estimate", "95% low", "95% high"], arm_rows))
    return Section("counterfactual", "What if: treatment counterfactuals", body, figures=figures)


__all__ = ["counterfactual"]
