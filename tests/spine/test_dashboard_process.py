"""The dashboard's server process: it stops with the CLI that started it (no browser needed)."""

import signal
import time
import urllib.request

import pytest

from tests.spine.test_dashboard import SCENARIO, serve, stop

pytestmark = pytest.mark.heavy  # starts a Solara server: ~15 s idle


def test_sigterm_to_the_cli_alone_stops_its_solara_server():
    """A service manager (or ``kill PID``) signals the syntwin process only, not its group: the Solara server
    it started must stop with it and free the port."""
    proc, url = serve(str(SCENARIO), "--warmup-min", "0")
    try:
        proc.send_signal(signal.SIGTERM)  # this process only
        proc.wait(timeout=30)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                time.sleep(0.5)
            except OSError:
                break
        else:
            pytest.fail("the Solara server still serves after the CLI was terminated")
    finally:
        stop(proc)  # whatever is left of the group
