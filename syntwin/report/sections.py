"""The sections of a run report, each built from what the run directory holds.

A builder takes a :class:`RunDir` and returns a :class:`~syntwin.report.html.Section`, or raises
:class:`Missing` with the reason (file absent, stage not run) so the report lists it instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.report import figures as F
from syntwin.report.crowd import costs_and_benefits as crowd_costs_and_benefits
from syntwin.report.html import Section, esc, figure, fmt, table
from syntwin.report.outcomes import community_outcomes_html, privacy_checks_html


class Missing(Exception):
    """A section cannot be drawn from this run directory; the message says why."""


class NotRequested(Missing):
    """The scenario did not ask for what the section shows (e.g. no ``counterfactual:``): left out, not listed."""


@dataclass
class RunDir:
    """A run directory and its parsed ``manifest.json``."""

    path: Path
    manifest: dict[str, Any]
    used: set[str] = field(default_factory=set)

    @property
    def metrics(self) -> dict[str, Any]:
        """``manifest["metrics"]`` (empty when absent)."""
        return self.manifest.get("metrics") or {}

    def file(self, rel: str) -> Path:
        """``path/rel`` if it exists, else :class:`Missing`."""
        p = self.path / rel
        if not p.exists():
            raise Missing(f"{rel} is not in the run directory")
        return p

    def png(self, rel: str) -> str:
        """Return a PNG of the run directory as a data URI (and mark it embedded)."""
        p = self.file(rel)
        self.used.add(p.relative_to(self.path).as_posix())
        return F.file_data_uri(p.read_bytes())

    def schema(self) -> dict[str, Any]:
        """``cohort/schema.json`` as a dict (column kinds, time, event)."""
        return json.loads(self.file("cohort/schema.json").read_text())


def _stage(run: RunDir, name: str) -> dict[str, Any]:
    m = run.metrics.get(name)
    if not m:
        raise Missing(f"the manifest has no '{name}' metrics (stage not run)")
    return m


def _scalars(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        if k == "seconds":
            continue
        if isinstance(v, dict):
            rows += _scalars(v, f"{prefix}{k}.")
        elif v not in (None, {}, []):
            rows.append((f"{prefix}{k}", v))
    return rows


# ----------------------------------------------------------------------------- cohort
def cohort_summary(run: RunDir) -> Section:
    """Cohort figures from the manifest, the schema's columns, and a summary of the exported twins."""
    m = _stage(run, "cohort")
    body = ["<h3>Cohort</h3>", table(["figure", "value"], _scalars(m))]
    try:
        schema = run.schema()
        rows = [(kind, ", ".join(schema.get(kind) or []))
                for kind in ("numeric", "categorical", "identifiers", "quasi_identifiers", "extra")]
        rows.insert(1, ("ordinal", "; ".join(f"{k} ({' < '.join(map(str, v))})"
                                               for k, v in (schema.get("ordinal") or {}).items())))
        rows += [("time", schema.get("time") or "–"), ("event", schema.get("event") or "–")]
        body += ["<h3>Columns</h3>", table(["kind", "columns"], [r for r in rows if r[1]])]
    except Missing as exc:
        schema = None
        body.append(f'<p class="muted">{esc(exc)}: column kinds not shown.</p>')
    for p in sorted(run.path.glob("cohort/summary*.parquet")):
        df = pd.read_parquet(p)
        body += [f"<h3>{esc(p.stem.replace('_', ' '))}</h3>",
                 table(list(map(str, df.columns)), df.head(60).itertuples(index=False))]
    twins_path = run.path / "export/twins.parquet"
    if schema is not None and twins_path.exists():
        body += ["<h3>Synthetic twins (exported)</h3>", _twin_summary(pd.read_parquet(twins_path), schema)]
    return Section("cohort", "Cohort summary", "".join(body))


def _twin_summary(twins: pd.DataFrame, schema: dict[str, Any]) -> str:
    rows = []
    for col in schema.get("numeric") or []:
        if col in twins:
            x = twins[col].astype(float)
            q1, med, q3 = x.quantile([0.25, 0.5, 0.75])
            rows.append((col, "numeric", f"mean {x.mean():.4g}; median {med:.4g} (IQR {q1:.4g}–{q3:.4g})",
                         float(x.isna().mean())))
    levels = {**{c: None for c in schema.get("categorical") or []}, **(schema.get("ordinal") or {})}
    for col in [*(schema.get("ordinal") or {}), *(schema.get("categorical") or [])]:
        if col in twins:
            share = twins[col].astype(str).value_counts(normalize=True)
            if levels.get(col):
                share = share.reindex([str(v) for v in levels[col]]).dropna()
            top = "; ".join(f"{k} {v:.1%}" for k, v in share.head(5).items())
            kind = "ordinal" if col in (schema.get("ordinal") or {}) else "categorical"
            rows.append((col, kind, top, float(twins[col].isna().mean())))
    for col, what in ((schema.get("time"), "time"), (schema.get("event"), "event")):
        if col and col in twins:
            x = twins[col].astype(float)
            text = f"median {x.median():.4g}" if what == "time" else f"event share {x.mean():.1%}"
            rows.append((col, what, text, float(x.isna().mean())))
    head = f'<p class="muted">{len(twins):,} synthetic patients, {twins.shape[1]} columns.</p>'
    return head + table(["column", "kind", "distribution", "missing share"], rows)


def kaplan_meier(run: RunDir) -> Section:
    """Kaplan–Meier curves of the twins, and of the real cohort when ``cohort/km.parquet`` is present."""
    schema = run.schema()
    time, event = schema.get("time"), schema.get("event")
    if not time or not event:
        raise Missing("the cohort schema has no outcome (time and event columns)")
    curves: dict[str, pd.DataFrame] = {}
    twins_path = run.path / "export/twins.parquet"
    if twins_path.exists():
        twins = pd.read_parquet(twins_path, columns=[time, event])
        curves["synthetic twins"] = F.kaplan_meier(twins[time].to_numpy(), twins[event].to_numpy())
    km_path = run.path / "cohort/km.parquet"
    note = ""
    if km_path.exists():
        km = pd.read_parquet(km_path)
        for group, c in km.groupby("group", sort=False):
            curves[str(group)] = c.sort_values("time")[["time", "survival"]]
    else:
        note = ('<p class="muted">Real-cohort curves need <code>cohort/km.parquet</code> '
                "(columns group, time, survival), which this run did not write.</p>")
    if not curves:
        raise Missing("neither export/twins.parquet nor cohort/km.parquet is in the run directory")
    fig = F.km_figure(curves, title=f"Survival ({event} as event)", time_label=time.replace("_", " "))
    rows = []
    for name, c in curves.items():
        t = c["time"].to_numpy()
        s = c["survival"].to_numpy()
        at = [float(s[np.searchsorted(t, h, side="right") - 1]) if len(t) and h >= t[0] else 1.0
              for h in (12, 36, 60, 120)]
        rows.append((name, *at))
    body = (figure(F.png_data_uri(fig), "Kaplan-Meier curves",
                   "Product-limit estimates; steps at event times.")
            + note + table(["curve", "S(12)", "S(36)", "S(60)", "S(120)"], rows))
    return Section("km", "Kaplan–Meier curves", body, figures=1)


def community_graph(run: RunDir) -> Section:
    """Draw the community-level similarity graph (communities as discs, aggregated links)."""
    from syntwin.graphs.store import SimilarityGraph

    g = SimilarityGraph.load(run.file("graph"))
    if g.membership is None:
        raise Missing("the saved graph has no community membership")
    nodes, links = F.community_graph(g.edges, g.membership, g.multiplicity)
    if nodes.empty:
        raise Missing(f"no community has {F.MIN_COMMUNITY} or more members")
    sizes = np.bincount(g.membership)
    gm = run.metrics.get("graph", {})
    rows = [("patients (nodes)", g.n_patients), ("edges", g.n_edges), ("communities", int(len(sizes))),
            (f"communities with >= {F.MIN_COMMUNITY} members", int((sizes >= F.MIN_COMMUNITY).sum())),
            ("coverage (patients in kept communities)", gm.get("coverage", "–")),
            ("communities drawn", len(nodes))]
    body = (figure(F.png_data_uri(F.community_figure(nodes, links)), "community graph",
                   "Each disc is a community (area ~ members); lines join communities whose patients are "
                   "similar, width ~ summed edge weight.")
            + table(["figure", "value"], rows)
            + "<h3>Largest communities</h3>"
            + table(["community", "members", "cohesion"],
                    [(int(r.community), int(r.size), round(float(r.cohesion), 3))
                     for r in nodes.head(15).itertuples()]))
    try:
        body += community_outcomes_html(pd.read_parquet(run.file("cohort/communities.parquet")))
    except Missing as exc:
        body += f'<p class="muted">{esc(exc)}: no outcome rates per community.</p>'
    return Section("graph", "Community graph", body, figures=1)


def synthesis(run: RunDir) -> Section:
    """Synthesis figures (generator, rows, groups, fidelity) and the export's."""
    m = _stage(run, "synthesis")
    body = table(["figure", "value"], _scalars(m))
    if run.metrics.get("export"):
        body += "<h3>Export</h3>" + table(["figure", "value"], _scalars(run.metrics["export"]))
    return Section("synthesis", "Synthesis", body)


def other_metrics(run: RunDir) -> Section:
    """Figures of stages no other section shows (new or optional stages)."""
    shown = {"cohort", "graph", "synthesis", "export", "prediction", "privacy", "crowd", "sweep", "live",
             "fidelity"}
    rows = [(stage, k, v) for stage, m in run.metrics.items() if stage not in shown and isinstance(m, dict)
            for k, v in _scalars(m)]
    if not rows:
        raise Missing("no other stage figures")
    return Section("metrics", "Other figures of the run", table(["stage", "figure", "value"], rows))


def privacy(run: RunDir) -> Section:
    """Privacy figures and the release gate's checks with their thresholds."""
    m = _stage(run, "privacy")
    gate = m.get("gate") or {}
    body = ""
    if gate:
        verdict = all(g.get("passed") for g in gate.values())
        body += (f'<p>Release gate: <span class="{"pass" if verdict else "fail"}">'
                 f'{"passed" if verdict else "refused"}</span> (a check passes when its 95 % upper bound is '
                 "within the threshold; inconclusive refuses too)</p>" + privacy_checks_html(gate))
    others = [(k, v) for k, v in _scalars({k: v for k, v in m.items() if k != "gate"})]
    body += "<h3>All privacy figures</h3>" + table(["figure", "value"], others)
    dp = run.metrics.get("synthesis", {}).get("dp")
    if dp:  # what ε covers, before the checks
        body = (f"<p>Differentially private twins ({esc(dp.get('mechanism', ''))}): ε = {fmt(dp.get('epsilon'))} "
                f"at δ = {fmt(dp.get('delta'))} (ρ = {fmt(dp.get('rho'))} zero-concentrated DP; OpenDP's accounting). "
                "ε bounds what the released twins reveal about any one patient; it does not cover the figures this "
                "report computes on real patients (prediction, fidelity, attacks).</p>") + body
    return Section("privacy", "Privacy", body)


# ----------------------------------------------------------------------------- crowd
def crowd_summary(run: RunDir) -> Section:
    """Per-arm means (95 % interval over replicates) of the crowd metrics."""
    s = pd.read_parquet(run.file("crowd/summary.parquet"))
    metrics = list(dict.fromkeys(s["metric"]))
    wide = {(a, k): (mean, lo, hi) for a, k, mean, lo, hi in
            zip(s["arm"], s["metric"], s["mean"], s["ci_low"], s["ci_high"], strict=True)}
    arms = list(dict.fromkeys(s["arm"]))
    rows = [(k, *[f"{fmt(float(wide[a, k][0]))} [{fmt(float(wide[a, k][1]))}, {fmt(float(wide[a, k][2]))}]"
                  if (a, k) in wide else "–" for a in arms]) for k in metrics]
    sweep = run.metrics.get("sweep") or {}
    head = (f'<p class="muted">{esc(fmt(sweep.get("arms", len(arms))))} arms × '
            f'{esc(fmt(sweep.get("replicates", "?")))} replicates; mean [95% interval].</p>')
    return Section("crowd", "Crowd scenario", head + table(["metric", *arms], rows))


def occupancy(run: RunDir) -> Section:
    """Occupancy heat maps written by the crowd runner."""
    pngs = sorted(run.path.glob("crowd/*heatmap*.png"))
    if not pngs:
        raise Missing("crowd/occupancy_heatmap.png is not in the run directory (export.plots off?)")
    body = "".join(figure(run.png(p.relative_to(run.path).as_posix()), p.stem.replace("_", " "),
                          "Person-minutes per floor cell, one panel per arm.") for p in pngs)
    return Section("occupancy", "Occupancy heat maps", body, figures=len(pngs))


def time_series(run: RunDir) -> Section:
    """Metric time series: the runner's PNG, else drawn from ``crowd/minutes.parquet``."""
    pngs = sorted(run.path.glob("crowd/*series*.png"))
    if pngs:
        body = "".join(figure(run.png(p.relative_to(run.path).as_posix()), p.stem.replace("_", " "),
                              "Mean over replicates per minute.") for p in pngs)
        return Section("series", "Metric time series", body, figures=len(pngs))
    minutes = pd.read_parquet(run.file("crowd/minutes.parquet"))
    metrics = [c for c in ("occupancy", "queue_length", "close_pairs", "expected_infections") if c in minutes]
    if not metrics:
        raise Missing("crowd/minutes.parquet has none of the usual metric columns")
    return Section("series", "Metric time series",
                   figure(F.png_data_uri(F.series_figure(minutes, metrics)), "metric time series",
                          "Mean over replicates per minute."), figures=1)


def live(run: RunDir) -> Section:
    """Live-data forecast: figures and its plot."""
    m = _stage(run, "live")
    body = table(["figure", "value"], _scalars(m))
    n = 0
    if (run.path / "live/forecast.png").exists():
        body += figure(run.png("live/forecast.png"), "live forecast",
                       "Observed occupancy against the forecast.")
        n = 1
    return Section("live", "Live-data forecast", body, figures=n)


def other_figures(run: RunDir) -> Section:
    """Any PNG in the run directory not embedded by another section."""
    pngs = [p for p in sorted(run.path.rglob("*.png")) if p.relative_to(run.path).as_posix() not in run.used]
    if not pngs:
        raise Missing("no other PNG files")
    body = "".join(figure(run.png(p.relative_to(run.path).as_posix()), p.stem,
                          p.relative_to(run.path).as_posix()) for p in pngs)
    return Section("other", "Other figures", body, figures=len(pngs))


def _clinical():
    from syntwin.report import clinical

    return clinical


#: Sections per scenario kind, in page order: (title, builder).
SECTIONS: dict[str, list[tuple[str, Any]]] = {
    "cohort": [("Outcome prediction", lambda run: _clinical().prediction(run)),
               ("Twins against real patients", lambda run: _clinical().twins_vs_real(run)),
               ("Privacy", privacy), ("Cohort summary", cohort_summary), ("Kaplan–Meier curves", kaplan_meier),
               ("Community graph", community_graph), ("Synthesis", synthesis)],
    "crowd": [("Crowd scenario", crowd_summary), ("Costs and benefits", crowd_costs_and_benefits),
              ("Occupancy heat maps", occupancy),
              ("Metric time series", time_series), ("Live-data forecast", live)],
}

__all__ = ["RunDir", "Missing", "NotRequested", "SECTIONS", "cohort_summary", "kaplan_meier", "community_graph",
           "privacy", "crowd_summary", "occupancy", "time_series", "live", "other_figures", "synthesis",
           "other_metrics"]
