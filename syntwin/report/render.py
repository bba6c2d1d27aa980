"""Render a run directory into one self-contained ``report.html``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from syntwin.errors import OutputError, SyntwinError
from syntwin.io import atomic_write
from syntwin.report.counterfactual import counterfactual
from syntwin.report.html import Page, esc, fmt, table
from syntwin.report.sections import SECTIONS, Missing, NotRequested, RunDir, other_figures, other_metrics

SECTIONS["cohort"].append(("What if: treatment counterfactuals", counterfactual))  # issue 13 hook


def load_run(run_dir: str | os.PathLike) -> RunDir:
    """Open a run directory (it must hold ``manifest.json``)."""
    path = Path(run_dir)
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise SyntwinError("not a run directory (no manifest.json)", file=str(path),
                           hint="give the --out directory of a finished `syntwin run`")
    try:
        data = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise SyntwinError(f"manifest.json is not valid JSON: {exc}", file=str(manifest)) from None
    return RunDir(path=path, manifest=data)


def build_page(run: RunDir) -> Page:
    """Assemble the report page: header, the kind's sections, other PNGs, and what is missing."""
    man = run.manifest
    kind = man.get("kind", "cohort")
    page = Page(title=f"syntwin report: {man.get('scenario', run.path.name)}", header=_header(run))
    if kind == "cohort":
        from syntwin.report.clinical import headline

        page.headline = headline(run)
    for title, build in SECTIONS.get(kind, []):
        try:
            page.sections.append(build(run))
        except NotRequested:
            continue
        except Missing as exc:
            page.missing.append((title, str(exc)))
    for extra in (other_metrics, other_figures):
        try:
            page.sections.append(extra(run))
        except Missing:
            pass
    page.sections.append(_outputs(run))
    return page


def render_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` (default ``run_dir/report.html``) and return its path.

    The file is self-contained: inline CSS, figures as inline base64 PNG, no external script, font
    or image, so it opens offline and can be mailed as one attachment. Sections whose inputs are
    absent from the run directory are skipped and listed at the top with the reason.

    Args:
        run_dir: A run directory (``manifest.json`` plus the stages' artifacts).
        out: Output file; default ``run_dir/report.html``.

    """
    run = load_run(run_dir)
    html = build_page(run).render()
    target = Path(out) if out is not None else run.path / "report.html"
    try:
        return atomic_write(target, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write the report: {exc.strerror or exc}", file=str(target),
                          hint="choose a writable location") from None


def _header(run: RunDir) -> str:
    man = run.manifest
    versions = man.get("versions") or {}
    rows = [("scenario", man.get("scenario", "–")), ("kind", man.get("kind", "–")),
            ("seed", str(man.get("seed", "–"))),
            ("syntwin", versions.get("syntwin", "–")), ("run directory", str(run.path.resolve()))]
    seconds = [(stage, m["seconds"]) for stage, m in run.metrics.items()
               if isinstance(m, dict) and "seconds" in m]
    out = table(["run", ""], rows)
    if seconds:
        total = sum(float(s) for _, s in seconds)
        out += table(["stage", "seconds"], [*seconds, ("total", round(total, 3))])
    out += ("<details><summary class=\"muted\">configuration checksum</summary><code>"
            + esc(str(man.get("config_sha256", "–"))) + "</code></details>")
    if versions:
        out += ("<details><summary class=\"muted\">package versions</summary>"
                + table(["package", "version"], sorted(versions.items())) + "</details>")
    return out


def _outputs(run: RunDir):
    from syntwin.report.html import Section

    rows = []
    for name, entry in sorted((run.manifest.get("outputs") or {}).items()):
        p = run.path / entry.get("path", "")
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (
            p.stat().st_size if p.exists() else None)
        rows.append((name, entry.get("path", ""), str(entry.get("sha256", ""))[:16],
                     fmt(size) + " B" if size is not None else "missing"))
    body = table(["output", "path", "sha256 (first 16)", "size"], rows) if rows else (
        '<p class="muted">The manifest lists no outputs.</p>')
    return Section("outputs", "Outputs", body + '<p class="muted">Checksums from manifest.json.</p>')


__all__ = ["render_report", "load_run", "build_page"]
