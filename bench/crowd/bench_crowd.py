"""Crowd-twin benchmark: steps/s of CrowdModel vs a plain Mesa ContinuousSpace model, and sweep scaling.

Run: /work/main/.venv/bin/python bench/crowd/bench_crowd.py [--sizes 1000 10000 100000] [--steps 40]

Both models hold N people walking in the same hall (big_hall_plan(N): N seats at 4-seat tables) and find
every pair closer than 1.5 m at every step:
- syntwin: CrowdModel.populate(N) (people at uniform random places walking to random seats), one step =
  vectorised movement + KD-tree pairs + per-pair contact bookkeeping + Wells–Riley update
  (+ per-minute sensors).
- plain Mesa: mesa.space.ContinuousSpace, each agent moves by a random step (move_agent) and calls
  get_neighbors(pos, 1.5) in a Python loop. Where a full step would take minutes (100k), the loop is timed on
  a prefix of the agents and scaled up (reported as extrapolated).
Sweep: canteen_lunch-like arms x replicates via run_sweep on a 2-worker LocalCluster, restricted to 1 worker
and then on both.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

import mesa
from mesa.space import ContinuousSpace

from syntwin.agents import (ArrivalProfile, CrowdConfig, CrowdModel, Interventions, Masks, TimeSlots,
                            big_hall_plan, canteen_plan, run_sweep)


def bench_syntwin(n: int, steps: int, seed: int = 0) -> dict:
    plan = big_hall_plan(n)
    cfg = CrowdConfig(plan, ArrivalProfile((0, 1), (0, 0)), duration_s=1e6, dt_s=1.0)
    model = CrowdModel(cfg, seed=seed)
    model.populate(n)
    model.step()  # warm-up
    before = model.contacts.contact_s.sum()
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    dt = time.perf_counter() - t
    return {"steps_per_s": steps / dt, "ms_per_step": 1000 * dt / steps,
            "close_pairs_per_step": float((model.contacts.contact_s.sum() - before) / 2 / cfg.dt_s / steps),
            "walking": int((model.state == 3).sum())}


class Walker(mesa.Agent):
    def step(self) -> None:
        m = self.model
        x, y = self.pos
        dx, dy = m.rng.normal(0.0, 1.2, 2)
        m.space.move_agent(self, (min(max(x + dx, 0.0), m.w - 1e-6), min(max(y + dy, 0.0), m.h - 1e-6)))
        self.contacts += len(m.space.get_neighbors(self.pos, 1.5, include_center=False))


class PlainMesa(mesa.Model):
    def __init__(self, n: int, w: float, h: float, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.w, self.h = w, h
        self.space = ContinuousSpace(w, h, torus=False)
        for _ in range(n):
            a = Walker(self)
            a.contacts = 0
            self.space.place_agent(a, (self.rng.uniform(0, w - 1e-6), self.rng.uniform(0, h - 1e-6)))

    def step(self) -> None:
        self.agents.do("step")


def bench_mesa(n: int, steps: int, prefix: int | None = None) -> dict:
    plan = big_hall_plan(n)
    model = PlainMesa(n, plan.width, plan.depth)
    if prefix is not None and prefix < n:
        agents = list(model.agents)[:prefix]
        t = time.perf_counter()
        for a in agents:
            a.step()
        dt = (time.perf_counter() - t) * n / prefix
        return {"steps_per_s": 1 / dt, "ms_per_step": 1000 * dt, "extrapolated_from": prefix}
    model.step()
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    dt = time.perf_counter() - t
    return {"steps_per_s": steps / dt, "ms_per_step": 1000 * dt / steps}


def bench_sweep(replicates: int) -> dict:
    from distributed import Client, LocalCluster, get_task_stream

    lunch = ArrivalProfile((0, 1800, 2700, 4500, 6300, 8100, 9000), (1, 6, 9, 8, 4, 1, 0))
    cfg = CrowdConfig(canteen_plan(), lunch, dt_s=2.0)
    arms = {"baseline": Interventions(), "capacity": Interventions(capacity_limit=150),
            "spacing": Interventions(seat_spacing_m=1.6),
            "slots": Interventions(time_slots=TimeSlots(30, 180)), "one_way": Interventions(one_way=True),
            "ach6": Interventions(ach=6.0), "masks": Interventions(masks=Masks())}
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        workers = sorted(client.nthreads())
        run_sweep(cfg, {"baseline": arms["baseline"]}, replicates=2, client=client)  # warm both workers
        out = {"loadavg_before": os.getloadavg()[0]}
        for label, ws in (("1_worker", workers[:1]), ("2_workers", workers)):
            with get_task_stream(client) as stream:
                t = time.perf_counter()
                res = run_sweep(cfg, arms, replicates=replicates, seed=1, client=client, workers=ws,
                                keep_series=False)
                out[label] = time.perf_counter() - t
            # mean compute seconds per run: if it grows with 2 workers, the cores were not free (other load)
            comp = [sum(s["stop"] - s["start"] for s in d["startstops"] if s["action"] == "compute")
                    for d in stream.data if str(d["key"]).startswith("_run_one")]
            out[f"{label}_task_s"] = sum(comp) / max(len(comp), 1)
            out[f"{label}_runs_digest"] = float(res.runs["value"].sum())
        out["speedup"] = out["1_worker"] / out["2_workers"]
        out["loadavg_after"] = os.getloadavg()[0]
        out["runs"] = len(arms) * replicates
        return out
    finally:
        client.close()
        cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    ap.add_argument("--skip-sweep", action="store_true", help="only the steps/s comparison")
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        ours = bench_syntwin(n, args.steps if n <= 10000 else max(5, args.steps // 4))
        plain = bench_mesa(n, 3 if n <= 1000 else 1, prefix=None if n <= 10000 else 2000)
        ratio = ours["steps_per_s"] / plain["steps_per_s"]
        row = {"n": n, "syntwin": ours, "mesa_plain": plain, "ratio": ratio}
        rows.append(row)
        extra = ", extrapolated" if "extrapolated_from" in plain else ""
        print(f"N={n:>7}: syntwin {ours['steps_per_s']:8.1f} steps/s ({ours['ms_per_step']:.2f} ms) | "
              f"plain Mesa {plain['steps_per_s']:8.3f} steps/s ({plain['ms_per_step']:.0f} ms{extra}) | "
              f"x{ratio:.0f}", flush=True)
    report = {"machine": platform.platform(), "loadavg": os.getloadavg()[0], "rows": rows}
    if args.skip_sweep:
        Path(args.out).write_text(json.dumps(report, indent=2))
        return
    sweep = bench_sweep(args.replicates)
    print(f"sweep {sweep['runs']} runs: 1 worker {sweep['1_worker']:.1f} s, "
          f"2 workers {sweep['2_workers']:.1f} s, "
          f"speed-up x{sweep['speedup']:.2f} (mean run {sweep['1_worker_task_s']:.2f} s vs "
          f"{sweep['2_workers_task_s']:.2f} s; load average {sweep['loadavg_before']:.1f}); "
          "identical results: "
          f"{sweep['1_worker_runs_digest'] == sweep['2_workers_runs_digest']}")
    report["sweep"] = sweep
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
