"""Ventilation from CO2 on the real UCI room: fixed vs free background, and the decay-window length.

    python bench/crowd/bench_ventilation.py [--stream PATH]

Fits :func:`syntwin.agents.co2.fit_ventilation` (decays after the room empties, median over windows,
bootstrap 95 % intervals, mass-balance volume with 5.0e-6 m³/s per person) with the background fixed at
345 ppm (the stream's empty-room floor) and free, for windows cut at 30, 60, 120 and 240 minutes.
Writes ``ventilation_results.json`` beside this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from syntwin.agents.co2 import fit_ventilation, window_sensitivity
from syntwin.agents.live import read_occupancy_stream
from syntwin.sample_data import shared_data

HERE = Path(__file__).resolve().parent
UCI = shared_data("room_occupancy_uci.csv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stream", default=str(UCI))
    stream = read_occupancy_stream(ap.parse_args().stream)
    out = {}
    pd.set_option("display.width", 200)
    for label, background in (("fixed_345", 345.0), ("free", None)):
        fit = fit_ventilation(stream, outdoor_ppm=background)
        sens = window_sensitivity(stream, outdoor_ppm=background)
        print(f"== background {label}: {fit.summary()}")
        print(fit.windows.round(3).to_string(index=False))
        print(sens[["max_minutes", "ach", "ach_lo", "ach_hi", "ach_min", "ach_max", "outdoor_ppm", "volume_m3",
                    "r2_min", "r2_max"]].round(3).to_string(index=False))
        out[label] = {"fit": fit.summary(), "windows": fit.windows.astype({"start": str}).round(4).to_dict("records"),
                      "sensitivity": sens.round(4).to_dict("records")}
    (HERE / "ventilation_results.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
