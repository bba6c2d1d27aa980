"""The run report: one self-contained HTML page per run directory (``render_report``)."""

from syntwin.report.render import build_page, load_run, render_report

__all__ = ["render_report", "load_run", "build_page"]
