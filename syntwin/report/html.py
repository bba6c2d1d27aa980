"""HTML building blocks of the run report: escaped tables, figures, sections, the page shell.

The page is one file with inline CSS, inline images and one small inline script that checks, once
the page has loaded, that every figure decoded (non-zero natural size) and writes the result into
``#report-status`` (``data-state="ok"|"broken"``, ``data-figures``, ``data-rendered``,
``data-errors``) — visible to a reader and to a headless-browser test.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment():
    """The Jinja2 environment of the report templates (autoescaped; ``| safe`` only for built HTML)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render_template(name: str, **context) -> str:
    """Render ``templates/name`` with ``context``."""
    return environment().get_template(name).render(**context)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2327;
background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1.2rem 1.6rem 3rem}
h1{font-size:1.6rem;margin:.4rem 0}h2{font-size:1.25rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem;
margin-top:2.2rem}h3{font-size:1.02rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.86rem;background:#fff}
th,td{border:1px solid #d0d7de;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#11772d;font-weight:600}.fail{color:#b42318;font-weight:600}.warn{color:#9a6700;font-weight:600}
figure{margin:.6rem 0 1.2rem}figure img{max-width:100%;height:auto;border:1px solid #d0d7de;background:#fff}
figcaption{font-size:.82rem;color:#57606a;margin-top:.25rem}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem .8rem;font-size:.88rem}
.muted{color:#57606a;font-size:.85rem}nav a{margin-right:.8rem;font-size:.88rem}
#report-status{font-size:.8rem;color:#57606a}code{font-size:.85em}
.headline{display:grid;grid-template-columns:repeat(4,1fr);gap:.6rem;margin:.8rem 0 1.2rem;background:#fff;
border:2px solid #1f6feb;border-radius:8px;padding:.8rem}
.headline .label{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
.headline .value{font-size:1.15rem;font-weight:650;margin:.15rem 0}.headline .sub{font-size:.82rem;color:#57606a}
.headline .warnings{grid-column:1/-1;background:#fff8e1;border-left:4px solid #e0a800;padding:.4rem .7rem;
font-size:.85rem}.headline .warnings ul{margin:.2rem 0 0 1rem;padding:0}
"""

STATUS_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || (e.target && (e.target.alt || e.target.tagName)) || 'error');
  }, true);
  window.addEventListener('load', function () {
    var imgs = document.querySelectorAll('img.figure'), ok = 0, bad = [];
    for (var i = 0; i < imgs.length; i++) {
      var im = imgs[i];
      if (im.complete && im.naturalWidth > 0 && im.naturalHeight > 0) { ok++; } else { bad.push(im.alt); }
    }
    var s = document.getElementById('report-status');
    s.setAttribute('data-figures', String(imgs.length));
    s.setAttribute('data-rendered', String(ok));
    s.setAttribute('data-errors', String(errors.length));
    s.setAttribute('data-state', bad.length || errors.length ? 'broken' : 'ok');
    s.textContent = ok + ' of ' + imgs.length + ' figures rendered' +
      (bad.length ? '; broken: ' + bad.join(', ') : '') +
      (errors.length ? '; errors: ' + errors.join('; ') : '');
  });
})();
"""


def esc(value: object) -> str:
    """HTML-escape ``str(value)``."""
    return html.escape(str(value), quote=True)


def fmt(value: object, digits: int = 4) -> str:
    """Short display of a figure: integers with separators, floats with ``digits`` significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, raw: Sequence[bool] | None = None,
          cls: str = "") -> str:
    """Build an HTML table; numbers right-aligned; cells flagged in ``raw`` are inserted unescaped."""
    raw = raw or [False] * len(header)
    out = [f'<table class="{esc(cls)}"><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in header)
           + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for value, is_raw in zip(row, raw, strict=True):
            num = isinstance(value, (int, float)) and not isinstance(value, bool)
            text = str(value) if is_raw else esc(fmt(value))
            cells.append(f'<td class="num">{text}</td>' if num else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def figure(uri: str, alt: str, caption: str = "") -> str:
    """Build an inline image (``class="figure"``, counted by the status script) with a caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img class="figure" src="{uri}" alt="{esc(alt)}">{cap}</figure>'


@dataclass
class Section:
    """One report section: an anchor id, a title and its HTML body."""

    id: str
    title: str
    body: str
    figures: int = 0


@dataclass
class Page:
    """The whole report: header HTML, sections, and the sections that could not be drawn (with why)."""

    title: str
    header: str
    sections: list[Section] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    headline: dict | None = None

    def render(self) -> str:
        """Return the complete, self-contained HTML document (``templates/page.html.j2``)."""
        return render_template("page.html.j2", title=self.title, css=CSS, script=STATUS_SCRIPT, header=self.header,
                               headline=self.headline, sections=self.sections, missing=self.missing,
                               n_figures=sum(s.figures for s in self.sections))


__all__ = ["Section", "Page", "table", "figure", "esc", "fmt", "render_template", "CSS", "STATUS_SCRIPT"]
