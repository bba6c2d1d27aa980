"""Live crowd scenarios through the CLI: replay and scores, same bytes on 1 or 2 workers, --follow, UCI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from syntwin.sample_data import shared_data

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DATA = shared_data()
UCI = DATA / "room_occupancy_uci.csv"
EXE = Path(sys.executable).with_name("syntwin")


def stream(days: int, seed: int = 0) -> pd.DataFrame:
    """A lab-room count stream: arrivals 0.04/min 9:00-17:00, people stay ~40 min, CO2 left out."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-03-04", periods=days * 1440, freq="1min")
    n = np.zeros(len(idx))
    for t in range(1, len(idx)):
        lam = 0.04 if 9 <= idx[t].hour < 17 else 0.001
        n[t] = n[t - 1] - rng.binomial(int(n[t - 1]), 1 / 40) + rng.poisson(lam)
    return pd.DataFrame({"timestamp": (idx + pd.Timedelta(seconds=15)).astype(str), "zone": "room", "count": n})


def scenario(tmp_path: Path, stream_file: str, **live) -> Path:
    data = yaml.safe_load((SCENARIOS / "room_live.yaml").read_text())
    data["live"].update(stream=stream_file, replicas=6, every_min=90, holdout_days=1, spin_up_min=60, co2=None)
    data["live"].update(live)
    data["simulation"].update(duration_min=10, replicates=1)  # the what-if arms: kept short here
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def syntwin(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.heavy
def test_live_run_is_byte_identical_on_one_or_two_workers(tmp_path):
    (tmp_path / "data").mkdir()
    s = stream(2)
    s[s["timestamp"] < "2024-03-05 12:00"].to_csv(tmp_path / "data/occ.csv", index=False)
    path = scenario(tmp_path, "data/occ.csv")
    for workers in ("1", "2"):
        proc = syntwin("run", str(path), "--out", str(tmp_path / f"w{workers}"), "--workers", workers)
        assert proc.returncode == 0, proc.stderr
    for rel in ("live/forecasts.parquet", "live/scores.parquet", "live/now.parquet"):
        assert (tmp_path / "w1" / rel).read_bytes() == (tmp_path / "w2" / rel).read_bytes(), rel
    live = json.loads((tmp_path / "w1/manifest.json").read_text())["metrics"]["live"]
    assert live["held_out_days"] == ["2024-03-05"]
    assert {"twin", "persistence", "climatology", "blend"} <= set(live["h15_all"])
    scores = pd.read_parquet(tmp_path / "w1/live/scores.parquet")
    assert set(scores["horizon_min"]) == {15, 60}
    now = pd.read_parquet(tmp_path / "w1/live/now.parquet")
    assert set(now["quantity"]) >= {"occupancy", "quanta_per_m3", "infection_risk"}

    missing = syntwin("run", str(path), "--out", str(tmp_path / "m"), "--set", "live.stream=nowhere.csv")
    assert missing.returncode == 2 and "live stream not found" in missing.stderr
    assert "Traceback" not in missing.stderr and not (tmp_path / "m").exists()


def test_follow_tails_a_growing_file_and_stops_when_quiet(tmp_path):
    s = stream(1)
    s = s[(s["timestamp"] >= "2024-03-04 08:00") & (s["timestamp"] < "2024-03-04 11:00")]
    head, rest = s.iloc[:150], s.iloc[150:]
    file = tmp_path / "occ.jsonl"
    head.to_json(file, orient="records", lines=True)
    path = scenario(tmp_path, str(file))
    out = tmp_path / "follow"
    proc = subprocess.Popen([str(EXE), "run", str(path), "--follow", "--idle-stop", "6", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = out / "live" / "follow.jsonl"
        deadline = time.monotonic() + 240
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert log.exists(), "the follower never started"
        with open(file, "a") as fh:  # the sensor keeps writing, a minute at a time, a last line half-written
            for k, (_, row) in enumerate(rest.iterrows()):
                fh.write(json.dumps(row.to_dict()) + "\n")
                fh.flush()
                if k % 10 == 9:
                    time.sleep(0.2)
            fh.write('{"timestamp": "2024-03-04 10:59:59", "zo')
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    times = sorted({r["time"] for r in rows})
    assert times[-1] == "2024-03-04 10:59:00"  # every appended minute was assimilated and forecast
    assert len(times) >= 20 and {r["horizon_min"] for r in rows} == {15, 60}
    last = [r for r in rows if r["time"] == times[-1] and r["quantity"] == "occupancy"]
    assert all(r["lower"] <= r["median"] <= r["upper"] for r in last)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["mode"] == "follow" and manifest["minutes_assimilated"] == len(times)


@pytest.mark.heavy
@pytest.mark.skipif(not UCI.exists(), reason="the UCI room stream is not beside the repository")
def test_room_live_scenario_on_the_real_uci_stream(tmp_path):
    out = tmp_path / "room"
    proc = syntwin("run", str(SCENARIOS / "room_live.yaml"), "--out", str(out), "--set", f"live.stream={UCI}",
                   "--set", "live.replicas=8", "--set", "live.every_min=30", "--workers", "2", timeout=900)
    assert proc.returncode == 0, proc.stderr
    live = json.loads((out / "manifest.json").read_text())["metrics"]["live"]
    assert live["held_out_days"] == ["2018-01-10", "2018-01-11"]
    vent = live["ventilation"]
    assert 0.8 < vent["ach"] < 1.1 and vent["r2_min"] > 0.85  # DESIGN.md: 0.8-1.0 /h with 345 ppm
    assert vent["ach_lo"] <= vent["ach"] <= vent["ach_hi"]
    for key in ("h15_all", "h60_all"):
        assert live[key]["twin"]["crps"] < live[key]["persistence"]["crps"] * 1.5  # sane, not a claim
    now = pd.read_parquet(out / "live/now.parquet")
    co2 = now[now["quantity"] == "co2_ppm"]
    assert len(co2) == 2 and co2["mean"].between(300, 2000).all()
