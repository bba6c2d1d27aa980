"""Forecasts measured honestly: the live twin against persistence, climatology and their tuned blend.

Leave-one-day-out on the real UCI room stream (scenarios/room_live.yaml): for each calendar day, the
twin's arrivals and stays, the climatology and the blend weight are all fitted on the other days; the
twin follows the held-out day (from 3 h before it) and forecasts 15 and 60 minutes ahead every
``--every`` observed minutes. CRPS, MAE and RMSE overall and on the forecasts whose outcome differs from
the count now, and the paired CRPS difference twin - best baseline with a 2-hour block bootstrap.

    python bench/crowd/bench_forecast.py [--stream PATH] [--replicas 16] [--every 15] [--workers 2]

Writes ``forecast_results.json`` beside this script.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd

from syntwin.agents.live import evaluate_days, minute_grid, read_occupancy_stream
from syntwin.agents.scores import summarize_scores
from syntwin.pipeline.live import twin_setup
from syntwin.runtime import dask_client
from syntwin.scenario.load import load_scenario, shipped_scenarios
from syntwin.seeding import seed_sequence
from syntwin.sample_data import shared_data

HERE = Path(__file__).resolve().parent
UCI = shared_data("room_occupancy_uci.csv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stream", default=str(UCI))
    ap.add_argument("--replicas", type=int, default=16)
    ap.add_argument("--every", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--days", nargs="*", default=None, help="held-out days (default: every day)")
    args = ap.parse_args()
    path = shipped_scenarios()["room_live"]
    scenario = load_scenario(path, [f"live.stream={args.stream}", f"live.replicas={args.replicas}"])
    stream = read_occupancy_stream(args.stream)
    grid = minute_grid(stream, ["room"])
    config, kw, vent = twin_setup(scenario, ["room"], grid, str(path))
    start = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        table, scores = evaluate_days(grid, config, ["room"], days=args.days, horizons=(15, 60),
                                      every_min=args.every, spin_up_min=180,
                                      seed=seed_sequence(scenario.seed, "live"), client=client, **kw)
    seconds = time.perf_counter() - start
    summary = summarize_scores(scores)
    pd.set_option("display.width", 200)
    print(summary.round(4).to_string(index=False))
    print(f"{len(table)} forecasts, {seconds:.0f} s, load {os.getloadavg()[0]:.1f}, ventilation {vent}")
    out = {"command": "python bench/crowd/bench_forecast.py " + " ".join(
               f"--{k} {v}" for k, v in (("replicas", args.replicas), ("every", args.every),
                                         ("workers", args.workers))),
           "seconds": round(seconds, 1), "load_average": round(os.getloadavg()[0], 1), "ventilation": vent,
           "days": sorted({str(d.date()) for d in table["day"]}),
           "summary": summary.round(5).to_dict("records")}
    (HERE / "forecast_results.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
