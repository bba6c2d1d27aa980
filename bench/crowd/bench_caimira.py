"""syntwin's long-range exposure model against CERN's CAiMIRA, side by side, for three rooms.

CAiMIRA runs in its own venv (``/tmp/caimira-venv``; it is not a syntwin dependency) through
``caimira_side.py`` in a subprocess; syntwin's :class:`~syntwin.agents.exposure.WellsRileyRoom` is stepped
here (10 s steps) with the same room, ventilation, emission and presence. CAiMIRA counts virions and an
infectious dose; syntwin counts quanta, so the emission is converted once:
``q = E · f_dep · ln 2 / (ID50 · TF)`` quanta/h (a quantum is the dose with infection probability
``1 - 1/e``; ``f_dep`` = 0.6 of inhaled particles deposit) and the concentration back with the same factor.

Two syntwin rows per room: *matched* (deposition set to CAiMIRA's 0.45 /h, its settling velocity of a
2.5 µm particle over 1.5 m) and *defaults* (syntwin's 0.24 /h deposition, Buonanno et al. 2020); both use
syntwin's own implementation of the humidity-dependent inactivation.

    python bench/crowd/bench_caimira.py [--caimira-python /tmp/caimira-venv/bin/python]

Writes ``caimira_results.json`` beside this script.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from syntwin.agents.exposure import DEPOSITION_PER_H, WellsRileyRoom, inactivation_per_h, infection_probability

HERE = Path(__file__).resolve().parent
BASE = {"id50": 50.0, "transmissibility": 1.0}
SETTINGS = [
    {**BASE, "name": "UCI lab room (fitted 0.97 ACH, 75 m3)", "volume_m3": 75.0, "ach": 0.97, "humidity": 0.3,
     "temp_c": 21.0, "inhalation_m3_h": 0.51, "infected": 1, "infected_presence_h": [[9, 12.5], [13.5, 17]],
     "exposed": 3, "exposed_presence_h": [[9, 12.5], [13.5, 17]], "emission_virions_h": 1000.0},
    {**BASE, "name": "canteen lunch (3,299 m3, 3 ACH)", "volume_m3": 39.6 * 23.8 * 3.5, "ach": 3.0,
     "humidity": 0.5, "temp_c": 20.0, "inhalation_m3_h": 0.57, "infected": 2,
     "infected_presence_h": [[12.0, 12.75]], "exposed": 300, "exposed_presence_h": [[12.25, 13.25]],
     "emission_virions_h": 5000.0},
    {**BASE, "name": "lecture hall (1,440 m3, 1.5 ACH, humid)", "volume_m3": 16 * 18 * 5.0, "ach": 1.5,
     "humidity": 0.7, "temp_c": 24.0, "inhalation_m3_h": 0.51, "infected": 1,
     "infected_presence_h": [[10.0, 11.5]], "exposed": 200, "exposed_presence_h": [[10.0, 11.5]],
     "emission_virions_h": 20000.0},
]
F_DEP = 0.6


def present(t_h: float, intervals) -> bool:
    return any(a <= t_h < b for a, b in intervals)


def syntwin_run(s: dict, deposition_per_h: float, dt_s: float = 10.0) -> dict:
    """Step syntwin's well-mixed room over the day; concentration on the grid and the exposed's risk."""
    per_quantum = s["id50"] * s["transmissibility"] / np.log(2)  # virions deposited per quantum
    q = s["emission_virions_h"] * F_DEP / per_quantum
    loss = deposition_per_h + inactivation_per_h(s["humidity"], s["temp_c"])
    room = WellsRileyRoom(s["volume_m3"], s["ach"], loss)
    start = min(a for a, _ in s["infected_presence_h"] + s["exposed_presence_h"])
    stop = max(s["grid_h"][-1], max(b for _, b in s["exposed_presence_h"]))
    times = start + dt_s / 3600 * np.arange(int(round((stop - start) * 3600 / dt_s)) + 1)
    conc, dose = [room.concentration], 0.0
    for t in times[:-1]:
        mid = t + dt_s / 7200
        emitting = s["infected"] * present(mid, s["infected_presence_h"])
        integral = room.step(emitting * q, dt_s)
        if present(mid, s["exposed_presence_h"]):
            dose += s["inhalation_m3_h"] / 3600 * integral
        conc.append(room.concentration)
    grid = np.interp(s["grid_h"], times, np.asarray(conc)) * per_quantum / F_DEP
    return {"concentration": grid.tolist(), "infection_probability_pct": float(100 * infection_probability(dose)),
            "removal_per_h": s["ach"] + loss}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--caimira-python", default="/tmp/caimira-venv/bin/python")
    args = ap.parse_args()
    for s in SETTINGS:
        lo = min(a for a, _ in s["infected_presence_h"])
        hi = max(b for _, b in s["exposed_presence_h"])
        s["grid_h"] = np.round(np.arange(lo + 0.25, hi + 1e-9, 0.25), 4).tolist()
    proc = subprocess.run([args.caimira_python, str(HERE / "caimira_side.py")], input=json.dumps(SETTINGS),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode:
        sys.exit(f"CAiMIRA side failed: {proc.stderr[-2000:]}")
    version = subprocess.run([args.caimira_python, "-c", "import importlib.metadata as m; print(m.version('caimira'))"],
                             capture_output=True, text=True).stdout.strip()
    rows = []
    for s, ref in zip(SETTINGS, json.loads(proc.stdout)):
        c_ref = np.asarray(ref["concentration"])
        for label, dep in (("matched", ref["deposition_per_h"]), ("defaults", DEPOSITION_PER_H)):
            ours = syntwin_run(s, dep)
            c = np.asarray(ours["concentration"])
            ok = c_ref > 1e-3 * c_ref.max()
            rows.append({"room": s["name"], "syntwin": label, "deposition_per_h": round(dep, 4),
                         "inactivation_per_h_syntwin": round(inactivation_per_h(s["humidity"], s["temp_c"]), 4),
                         "inactivation_per_h_caimira": round(ref["inactivation_per_h"], 4),
                         "peak_conc_caimira": round(float(c_ref.max()), 4), "peak_conc_syntwin": round(float(c.max()), 4),
                         "max_conc_rel_diff": round(float(np.max(np.abs(c[ok] / c_ref[ok] - 1))), 5),
                         "p_caimira_pct": round(ref["infection_probability_pct"], 4),
                         "p_syntwin_pct": round(ours["infection_probability_pct"], 4),
                         "p_rel_diff": round(ours["infection_probability_pct"] / ref["infection_probability_pct"] - 1, 5)})
    print(f"caimira {version}")
    for r in rows:
        print(" | ".join(f"{k}={v}" for k, v in r.items()))
    (HERE / "caimira_results.json").write_text(json.dumps({"caimira": version, "command":
                                                           "python bench/crowd/bench_caimira.py",
                                                           "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
