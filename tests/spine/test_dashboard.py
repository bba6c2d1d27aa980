"""`syntwin dashboard` in headless Chromium (Playwright driving Debian's /usr/bin/chromium, never a download):
the page loads, the floor plan draws, a step advances the clock and the counts. Skipped without chromium."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "canteen_lunch.yaml"
COUNTS = re.compile(r"\d\d:\d\d:\d\d \(step \d+\)")

pytestmark = [
    pytest.mark.heavy,  # a server, a browser and 300 warm-up steps: ~30 s idle, minutes on a loaded machine
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str):
    pytest.importorskip("solara")
    pytest.importorskip("playwright")
    port = free_port()
    exe = Path(sys.executable).with_name("syntwin")
    # own process group: the CLI runs Solara as a child, which must stop with it (see stop())
    proc = subprocess.Popen([str(exe), "dashboard", *args, "--port", str(port)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited: {proc.stdout.read()[-2000:]}")
            time.sleep(0.5)
    else:
        stop(proc)
        pytest.fail("the dashboard did not start within 120 s")
    return proc, url


def stop(proc) -> None:
    """Terminate the dashboard and its Solara server (the whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server():
    proc, url = serve(str(SCENARIO), "--warmup-min", "10")
    yield url
    stop(proc)


def browse(url: str):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, timeout=120_000)
    page.get_by_text(COUNTS).wait_for(timeout=120_000)
    return pw, browser, page


def counts_text(page) -> str:
    return page.get_by_text(COUNTS).inner_text()


def test_page_loads_draws_the_plan_and_steps(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server, timeout=120_000)
            page.get_by_text(COUNTS).wait_for(timeout=120_000)
            before = counts_text(page)
            assert "(step 300)" in before and "11:40:00" in before  # 10 warm-up minutes of 2 s steps
            assert re.search(r"zone dining \d+", before) and re.search(r"entered \d+", before)
            plan = page.locator("img").first  # the floor plan, drawn by matplotlib
            plan.wait_for(timeout=60_000)
            assert plan.evaluate("img => img.naturalWidth") > 300
            step = page.get_by_role("button", name=re.compile("step", re.I))
            step.click()
            page.get_by_text(re.compile(r"\(step 301\)")).wait_for(timeout=60_000)
            assert "11:40:02" in counts_text(page)
            for n in range(302, 316):  # one click per rendered step: a click while rendering may be dropped
                step.click()
                page.get_by_text(re.compile(rf"\(step {n}\)")).wait_for(timeout=60_000)
            after = counts_text(page)
            figures = lambda t: re.sub(r"^.*?\(step \d+\)", "", t)  # noqa: E731
            assert figures(after) != figures(before), "15 steps changed none of the counts"
            page.get_by_text("intervention").first.wait_for()  # the arm switch is on the page
            # the offline Solara assets lack KaTeX (Markdown's math renderer, unused here)
            assert not [e for e in errors if "katex" not in e], errors
        finally:
            browser.close()


LIVE = re.compile(r"Live twin .* on (\d{4}-\d\d-\d\d) · now (\d\d:\d\d) · assimilated (\d+) min · "
                  r"observed (\d+) · twin before the reading ([\d.]+) \[([\d.]+), ([\d.]+)\]")
FORECAST = re.compile(r"forecast \+(\d+) min \((\d\d:\d\d)\): occupancy ([\d.]+) \[([\d.]+), ([\d.]+)\]")


def test_live_panel_shows_the_assimilated_twin_and_its_forecast_beside_the_stream():
    """The live panel is the LiveTwin, not the raw stream: it states the twin's clock (the page's), the reading
    it just assimilated (equal to the stream's count at that minute), its prediction of that reading and its
    15/60-minute forecasts with 90 % bands; one simulated minute later the twin has assimilated one more."""
    from syntwin.agents.live import minute_grid, read_occupancy_stream
    from syntwin.sample_data import shared_data

    stream = shared_data("room_occupancy_uci.csv")
    if not stream.exists():
        pytest.skip("the UCI room stream is absent")
    live = SCENARIO.with_name("room_live.yaml")
    proc, url = serve(str(live), "--warmup-min", "5", "--set", f"live.stream={stream}")
    try:
        pw, browser, page = browse(url)
        try:
            # floor plan, four time series and the live twin's figure: six figures
            page.wait_for_function("() => document.querySelectorAll('img').length >= 6", timeout=120_000)
            assert "zone room" in counts_text(page)
            panel = page.get_by_text(LIVE)
            panel.wait_for(timeout=120_000)
            text = panel.inner_text()
            day, now, done, observed, mean, lo, hi = LIVE.search(text).groups()
            assert now == "16:05"  # the scenario starts at 16:00; 5 warm-up minutes
            grid = minute_grid(read_occupancy_stream(stream), ["room"])
            assert int(observed) == grid.loc[f"{day} {now}", "room"]
            assert int(done) > 0 and float(lo) <= float(mean) <= float(hi)
            forecasts = {int(h): (at, float(m), float(a), float(b)) for h, at, m, a, b in FORECAST.findall(text)}
            assert sorted(forecasts) == [15, 60]
            assert forecasts[15][0] == "16:20" and forecasts[60][0] == "17:05"
            assert all(a <= m <= b for _, m, a, b in forecasts.values())
            step = page.get_by_role("button", name=re.compile("step", re.I))
            for n in range(61, 73):  # 12 steps of 5 s: one minute of the stream
                step.click()
                page.get_by_text(re.compile(rf"\(step {n}\)")).wait_for(timeout=60_000)
            page.get_by_text(re.compile(r"Live twin .* now 16:06 ")).wait_for(timeout=60_000)
            later = LIVE.search(page.get_by_text(LIVE).inner_text()).groups()
            assert int(later[2]) == int(done) + 1
            assert int(later[3]) == grid.loc[f"{day} 16:06", "room"]
        finally:
            browser.close()
            pw.stop()
    finally:
        stop(proc)

