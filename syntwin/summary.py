"""The end-of-run summary: at most ten lines a person acts on, read from a run's manifest.

Cohort runs: the cohort, what was released (or why not), the best method and whether twins helped
(the paired interval of the best twin method against the best real-data baseline, when the
manifest has one), the fidelity and privacy verdicts, the wall time and where the report and the
export are. Crowd runs: arms, runs, the headline per arm, the forecast if live. The full figures
stay in ``manifest.json`` (``syntwin show RUN_DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_LINES = 10


def fmt(value: Any) -> str:
    """A figure for people: whole numbers without ``.0`` and with thousands separators, else 4 digits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{seconds:.1f} s"


def _wall(metrics: dict[str, Any]) -> float:
    return sum(float(m.get("seconds", 0.0)) for m in metrics.values() if isinstance(m, dict))


def _methods(prediction: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # SynTwin's designs are scored on a sample of their own: not comparable with the others
    return {k: v for k, v in prediction.items()
            if isinstance(v, dict) and "auroc" in v and "trained_on" in v and not k.startswith("syntwin_2024")}


def _ci(entry: dict[str, Any]) -> str:
    if "ci_low" in entry and "ci_high" in entry:
        return f" ({entry['ci_low']:.3f}–{entry['ci_high']:.3f})"
    return ""


def _prediction_lines(prediction: dict[str, Any]) -> list[str]:
    methods = _methods(prediction)
    if not methods:
        return ["prediction: no method was scored"]
    best = max(methods, key=lambda k: methods[k]["auroc"])
    lines = [f"highest AUROC: {best} (trained on {methods[best]['trained_on']}), "
             f"AUROC {methods[best]['auroc']:.3f}{_ci(methods[best])}"]
    twins = {k: v for k, v in methods.items() if v["trained_on"] != "real"}
    if not twins:
        return lines + ["twins helped: not tested (no method using twins was run)"]
    top = max(twins, key=lambda k: twins[k]["auroc"])
    paired = twins[top].get("vs_best_real")
    if isinstance(paired, dict) and "ci_low" in paired:
        verdict = paired.get("verdict") or ("better" if paired["ci_low"] > 0 else
                                            "worse" if paired["ci_high"] < 0 else "no difference")
        lines.append(f"twins helped: {'yes' if verdict == 'better' else 'no'} — best twin method {top} vs the "
                     f"best real baseline {paired.get('difference', float('nan')):+.3f} AUROC "
                     f"(paired 95 % CI {paired['ci_low']:+.3f} to {paired['ci_high']:+.3f}: {verdict})")
    else:
        lines.append(f"twins helped: not tested (no paired interval; best twin method {top} "
                     f"AUROC {twins[top]['auroc']:.3f})")
    return lines


def _fidelity_line(fidelity: dict[str, Any]) -> str:
    parts = []
    if "quality" in fidelity:
        parts.append(f"quality {fidelity['quality']:.3f}")
    km = {k: v for k, v in (fidelity.get("km_sup") or {}).items() if isinstance(v, (int, float))}
    if km:
        worst = max(km, key=km.get)
        parts.append(f"largest Kaplan–Meier gap {km[worst]:.3f} ({worst})")
    verdict = fidelity.get("verdict")
    if verdict is None and "passed" in fidelity:
        verdict = "passed" if fidelity["passed"] else "FAILED"
    if verdict is None and "warnings" in fidelity:
        warnings = fidelity["warnings"] or []
        verdict = "within its thresholds" if not warnings else f"{len(warnings)} warning(s), see the report"
    return f"fidelity: {verdict or 'no thresholds set'} ({', '.join(parts) or 'no figures'})"


def _privacy_lines(privacy: dict[str, Any], export: dict[str, Any] | None, metrics: dict[str, Any],
                   out: Path) -> tuple[str, str]:
    gate = privacy.get("gate") or {}
    failed = [f"{name} {fmt(c['value'])} (must be {c['op']} {fmt(c['threshold'])})"
              for name, c in gate.items() if not c.get("passed", True)]
    passed = privacy.get("passed", not failed)
    if passed:
        verdict = f"privacy: gate passed ({len(gate)} of {len(gate)} checks)"
    else:
        reasons = privacy.get("reasons") or failed or ["the privacy gate did not pass"]
        verdict = f"privacy: gate REFUSED the release — {'; '.join(map(str, reasons))}"
    if export and passed:
        rows, made = export.get("rows"), export.get("rows_generated", metrics.get("synthesis", {}).get("rows"))
        kept = f"{fmt(rows)} of {fmt(made)} twins" if made is not None else f"{fmt(rows)} twins"
        released = f"released: {kept} as {', '.join(export.get('formats', []))} -> {out / 'export'}"
    else:
        released = "released: nothing (the privacy gate refused; the report says why)" if not passed else \
            "released: nothing (no export stage ran)"
    return released, verdict


def cohort_summary(manifest: dict[str, Any], out: Path) -> list[str]:
    """The summary lines of a cohort run."""
    m = manifest["metrics"]
    c = m.get("cohort", {})
    lines = [f"cohort: {fmt(c.get('rows'))} patients ({fmt(c.get('train'))} train, {fmt(c.get('holdout'))} "
             f"held out), {fmt(c.get('features'))} features, {fmt(c.get('events'))} events"]
    released, privacy = _privacy_lines(m.get("privacy", {}), m.get("export"), m, out)
    lines.append(released)
    if "prediction" in m:
        lines += _prediction_lines(m["prediction"])
    if "fidelity" in m:
        lines.append(_fidelity_line(m["fidelity"]))
    lines.append(privacy)
    return lines


def crowd_summary(manifest: dict[str, Any], out: Path) -> list[str]:
    """The summary lines of a crowd run."""
    m = manifest["metrics"]
    sweep, crowd = m.get("sweep", {}), m.get("crowd", {})
    arms = [a for a, v in crowd.items() if isinstance(v, dict)]
    lines = [f"crowd: {fmt(sweep.get('arms', len(arms)))} arms × {fmt(sweep.get('replicates'))} replicates = "
             f"{fmt(sweep.get('runs'))} runs on {fmt(sweep.get('workers'))} workers"]
    for arm in arms[:4]:
        a = crowd[arm]
        lines.append(f"  {arm}: {fmt(a.get('entered'))} entered, peak {fmt(a.get('peak_occupancy'))}, "
                     f"close contacts {fmt(a.get('close_contacts'))}, expected infections "
                     f"{fmt(a.get('expected_infections'))}, gave up {fmt(a.get('gave_up'))}")
    if len(arms) > 4:
        lines.append(f"  … and {len(arms) - 4} more arms (syntwin show {out})")
    live = m.get("live")
    if live:
        shown = {k: v for k, v in live.items() if k != "seconds" and isinstance(v, (int, float))}
        lines.append("live forecast: " + ", ".join(f"{k} {fmt(v)}" for k, v in list(shown.items())[:4]))
    return lines


def run_summary(manifest: dict[str, Any], out: str | Path, wall_seconds: float | None = None) -> list[str]:
    """At most :data:`MAX_LINES` lines: the kind's summary, the wall time and the report's path.

    ``wall_seconds`` is the run's wall time as its caller measured it (Dask start-up included);
    without it, the sum of the stages' times.
    """
    out = Path(out)
    kind = manifest.get("kind")
    body = cohort_summary(manifest, out) if kind == "cohort" else crowd_summary(manifest, out)
    metrics = manifest.get("metrics", {})
    stages = {k: v.get("seconds", 0.0) for k, v in metrics.items() if isinstance(v, dict)}
    slowest = max(stages, key=stages.get) if stages else None
    wall = _wall(metrics) if wall_seconds is None else wall_seconds
    tail = [f"wall time: {_duration(wall)}"
            + (f" (longest stage: {slowest}, {_duration(stages[slowest])})" if slowest else ""),
            f"report: {out / 'report.html'}   (all figures: syntwin show {out})"]
    head = f"{manifest.get('scenario')} ({kind}, seed {manifest.get('seed')})"
    return ([head] + body)[: MAX_LINES - len(tail)] + tail


__all__ = ["MAX_LINES", "cohort_summary", "crowd_summary", "fmt", "run_summary"]
