"""The report in headless Chromium (Debian's ``chromium``): every figure decodes, no script error, and a
screenshot that is not blank. Skipped where /usr/bin/chromium is absent (CI installs it)."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from syntwin.report import render_report

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="chromium is not installed (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def status(dom: str) -> dict[str, str]:
    tag = re.search(r'<p id="report-status"([^>]*)>', dom)
    assert tag, "no #report-status element in the DOM dump"
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag.group(1)))


@pytest.mark.parametrize("run", ["hand_run", "real_run", "crowd_run"])
def test_every_figure_renders(run, request, tmp_path):
    report = render_report(request.getfixturevalue(run), tmp_path / "report.html")
    proc = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = status(proc.stdout)
    assert s["state"] == "ok", s
    assert int(s["expected"]) > 0
    assert s["figures"] == s["rendered"] == s["expected"] and s["errors"] == "0"


def test_status_flags_a_broken_figure(hand_run, tmp_path):
    html = render_report(hand_run, tmp_path / "ok.html").read_text()
    broken = re.sub(r'(<img class="figure" src="data:image/png;base64,)[^"]{40}', r"\1AAAA", html, count=1)
    assert broken != html
    (tmp_path / "broken.html").write_text(broken)
    s = status(chromium(tmp_path, "--dump-dom", (tmp_path / "broken.html").as_uri()).stdout)
    assert s["state"] == "broken" and int(s["rendered"]) == int(s["figures"]) - 1


def test_screenshot_is_not_blank(real_run, tmp_path):
    report = render_report(real_run, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape == (4000, 1280)
    # text, tables and plots: many dark pixels spread down the page, not a white (or black) sheet
    dark = img < 128
    assert 0.005 < dark.mean() < 0.5
    bands = dark.reshape(8, 500, 1280).mean(axis=(1, 2))
    assert (bands > 0.002).sum() >= 6, bands


def test_headline_box_is_on_screen_first(hand_run, tmp_path):
    """The headline box is drawn at the top of the first screen: its blue frame is there, above the fold."""
    report = render_report(hand_run, tmp_path / "report.html")
    shot = tmp_path / "top.png"
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,800", report.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    frame = (abs(rgb[..., 0] - 0x1F) < 30) & (abs(rgb[..., 1] - 0x6F) < 30) & (abs(rgb[..., 2] - 0xEB) < 30)
    rows = np.flatnonzero(frame.sum(axis=1) > 400)  # the box's top and bottom borders span the page width
    assert len(rows) >= 2 and rows.min() < 300, rows
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert dom.count('class="cell"') == 4 and "release refused" in dom
