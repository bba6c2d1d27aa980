"""What a clinician reads first: the headline box, prediction with paired verdicts, twins against real patients.

Every figure comes from the manifest or the run's aggregate artifacts (``cohort/km.parquet``,
``cohort/distributions.parquet``, ``prediction/scores.parquet``); nothing here re-reads patient rows. A run the
privacy gate refused has no ``export/``: the headline says so and the sections still render.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from syntwin.report import figures as F
from syntwin.report.html import Section, esc, figure, fmt, render_template, table
from syntwin.report.sections import Missing, RunDir, _stage

NAMES = {
    "logistic": "logistic regression (real)",
    "gradient_boosting": "gradient boosting (real)",
    "real_knn": "kNN over real patients",
    "twin_knn": "kNN over twins",
    "logistic_twins": "logistic regression trained on twins",
    "twin_knn_mix": "kNN over real + twins",
    "twin_ensemble": "logistic + twin-kNN blend",
    "gnn": "graph neural network",
    **{f"syntwin_2024_{d}": f"SynTwin {d}" for d in "ABCDEF"},
}
PROBABILITY_METHODS = ("logistic", "gradient_boosting", "real_knn", "twin_knn", "logistic_twins", "twin_knn_mix",
                       "gnn")


def _name(method: str) -> str:
    return NAMES.get(method, method.replace("_", " "))


def _ci(entry: dict, lo: str = "ci_low", hi: str = "ci_high") -> str:
    if entry.get(lo) is None or entry.get(hi) is None:
        return "–"
    return f"{entry[lo]:.3f} to {entry[hi]:.3f}"


def _methods(m: dict) -> list[str]:
    return [k for k, v in m.items() if isinstance(v, dict) and v.get("auroc") is not None]


def headline(run: RunDir) -> dict[str, Any]:
    """The four facts of the headline box (each falls back to a plain 'not run' when its stage is absent)."""
    mt = run.metrics
    c, p, pv, ex = (mt.get(k) or {} for k in ("cohort", "prediction", "privacy", "export"))
    out: dict[str, Any] = {"warnings": list((mt.get("fidelity") or {}).get("warnings", []))}
    out["cohort"] = f"{fmt(c['rows'])} patients" if "rows" in c else "–"
    out["cohort_detail"] = (f"{fmt(c.get('events', 0))} events; {fmt(c.get('train', 0))} for training, "
                            f"{fmt(c.get('holdout', 0))} held out" if c else "cohort stage not run")
    if ex.get("rows") is not None:
        out.update(released=f"{fmt(ex['rows'])} twins", released_ok=True,
                   released_detail="as " + ", ".join(ex.get("formats", [])))
    else:
        refused = pv and not pv.get("passed", True)
        out.update(released="nothing", released_ok=False,
                   released_detail="the privacy gate refused the release" if refused else "export not run")
    methods = _methods(p)
    if methods:
        best = max(methods, key=lambda k: p[k]["auroc"])
        out["best"] = f"{_name(best)}: AUROC {p[best]['auroc']:.3f}"
        helped = p.get("twins_help") or []
        ref = _name(p.get("best_real_baseline") or "the best real-data model")
        out["twins_verdict"] = (f"twins helped: {', '.join(_name(h) for h in helped)} beat {ref} (paired 95% "
                                f"interval above 0)" if helped else
                                f"twins did not beat {ref}: no paired interval lies above 0")
    else:
        out.update(best="–", twins_verdict="prediction stage not run")
    if pv:
        gate = pv.get("gate") or {}
        passed = sum(bool(g.get("passed")) for g in gate.values())
        out.update(privacy="release allowed" if pv.get("passed") else "release refused",
                   privacy_ok=bool(pv.get("passed")), privacy_detail=f"{passed} of {len(gate)} checks passed")
    else:
        out.update(privacy="not checked", privacy_ok=False, privacy_detail="privacy stage not run")
    return out


def prediction(run: RunDir) -> Section:
    """Methods with AUROC, its CI (bootstrap or DeLong) and the paired difference from the best real baseline; ROC,
    calibration."""
    m = _stage(run, "prediction")
    methods = sorted(_methods(m), key=lambda k: -m[k]["auroc"])
    rows = []
    for k in methods:
        e = m[k]
        d = e.get("vs_best_real") or {}
        verdict = d.get("verdict", "reference" if k == m.get("best_real_baseline") else "–")
        rows.append({"method": _name(k), "trained_on": e.get("trained_on", "–"), "auroc": f"{e['auroc']:.3f}",
                     "ci": _ci(e), "diff": f"{d['difference']:+.3f} ({_ci(d)})" if d else "–", "verdict": verdict,
                     "verdict_class": {"better": "pass", "worse": "fail"}.get(verdict, ""),
                     "n": fmt(e.get("n", "–")), "coverage": f"{e.get('coverage', 1.0):.0%}",
                     "c_index": f"{e['c_index']:.3f}" if isinstance(e.get("c_index"), float) else "–"})
    gap = m.get("train_on_twins_gap")
    gap_text = (f"{gap['difference']:+.3f} ({_ci(gap)}), {'within' if gap.get('within_0_02') else 'not within'} "
                "0.02" if gap else "")
    body = render_template("prediction.html.j2", rows=rows, protocol=m.get("protocol", ""),
                           best_real=_name(m.get("best_real_baseline") or "best real"), gap=gap_text)
    figures = 0
    try:
        scores = pd.read_parquet(run.file("prediction/scores.parquet"))
        shown = [c for c in methods if c in scores and scores[c].notna().all()][:6]
        if scores["label"].nunique() == 2 and shown:
            body += figure(F.png_data_uri(F.roc_figure(scores, shown)), "ROC curves",
                           "ROC curves on the held-out patients (label: the event before the horizon).")
            calibrated = [c for c in shown if c in PROBABILITY_METHODS]
            if calibrated:
                body += figure(F.png_data_uri(F.calibration_figure(scores, calibrated)), "calibration",
                               "Calibration: observed event share per decile of predicted probability.")
                figures += 1
            figures += 1
    except Missing as exc:
        body += f'<p class="muted">{esc(exc)}: no ROC curves.</p>'
    return Section("prediction", "Outcome prediction", body, figures=figures)


def twins_vs_real(run: RunDir) -> Section:
    """Kaplan–Meier real vs twins per stratum, distributions per column, the data's rules, fidelity figures."""
    f = _stage(run, "fidelity")
    body, n = [], 0
    km_path = run.path / "cohort/km.parquet"
    if km_path.exists():
        km = pd.read_parquet(km_path)
        if {"stratum", "side", "ci_low"} <= set(km.columns):
            body.append(figure(F.png_data_uri(F.km_pairs_figure(km)), "Kaplan-Meier real vs twins",
                               "Kaplan–Meier per stratum: real patients solid, their twins dashed in the same "
                               "colour, shaded 95% pointwise bands; numbers at risk under each panel."))
            n += 1
    rows = [(("all patients" if k == "all" else f"{f.get('strata')} {k}"), v["sup"], _ci(v), fmt(v["n_real"]),
             fmt(v["n_twins"]), ("within" if v["sup"] <= f.get("max_km_sup", 0.05) else "MISSED")
             if v.get("judged") else "too few patients to judge") for k, v in (f.get("km") or {}).items()]
    if rows:
        body.append(table(["group", "KM sup distance", "95% CI", "real", "twins",
                           f"threshold {f.get('max_km_sup', 0.05)}"], rows))
    cons = f.get("constraints") or {}
    if cons:
        body.append("<h3>Rules of the data</h3>" + table(
            ["rule", "real patients breaking it", "twins breaking it"],
            [(name, f"{r['real']:.2%}", f"{r['twins']:.2%}") for name, r in cons.items()]))
    dist_path = run.path / "cohort/distributions.parquet"
    if dist_path.exists():
        dist = pd.read_parquet(dist_path)
        if not dist.empty:
            body.append("<h3>Distributions per column</h3>" + figure(
                F.png_data_uri(F.distributions_figure(dist)), "distributions real vs twins",
                "Share of patients per level (numeric: per decile of the real values), real vs twins; levels "
                "with fewer than 11 real patients are suppressed."))
            n += 1
    quality = f.get("quality_columns") or {}
    if quality:
        body.append(f"<p>Overall quality {f.get('quality', 0):.3f} (column shapes {f.get('column_shapes', 0):.3f}, "
                    f"pair trends {f.get('column_pair_trends', 0):.3f}).</p>" + table(
                        ["column", "shape quality (1 − KS or 1 − TVD)"], sorted(quality.items(), key=lambda kv: kv[1])))
    return Section("fidelity", "Twins against real patients", "".join(body), figures=n)


__all__ = ["headline", "prediction", "twins_vs_real"]
