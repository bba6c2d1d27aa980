"""AUROC intervals on a run's held-out scores: DeLong against the 1,000-resample percentile bootstrap.

    .venv/bin/python bench/scale/bench_pipeline.py --n 1000000 --workers 2 --keep /tmp/keep1m
    .venv/bin/python bench/scale/bench_auroc_interval.py /tmp/keep1m/w2/prediction/scores.parquet

For every method column of ``scores.parquet`` (the prediction stage's held-out patients with a label), the
AUROC interval and the paired difference from ``--reference`` (default: logistic) by both methods, their
seconds side by side, and how far the bounds lie apart. ``auroc_ci``'s ``interval="auto"`` takes DeLong above
``BOOTSTRAP_MAX_PATIENTS``; this is the measurement behind that threshold.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from syntwin.synthesis.evaluate import auroc_ci, paired_auroc_difference


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", help="a run's prediction/scores.parquet")
    parser.add_argument("--reference", default="logistic")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = pd.read_parquet(args.scores)
    y = table["label"].to_numpy()
    methods = [c for c in table.columns if c not in ("holdout_row", "label") and not c.startswith("syntwin_2024")]
    ref = table[args.reference].to_numpy()
    rows = []
    for name in methods:
        s = table[name].to_numpy()
        boot, t_boot = _timed(auroc_ci, y, s, seed=args.seed, interval="bootstrap")
        de, t_de = _timed(auroc_ci, y, s, interval="delong")
        row = {"method": name, "n": boot["n"], "auroc": round(boot["auroc"], 4),
               "bootstrap": [round(boot["ci_low"], 4), round(boot["ci_high"], 4)],
               "delong": [round(de["ci_low"], 4), round(de["ci_high"], 4)],
               "max_bound_gap": round(max(abs(boot["ci_low"] - de["ci_low"]),
                                          abs(boot["ci_high"] - de["ci_high"])), 5),
               "seconds_bootstrap": round(t_boot, 2), "seconds_delong": round(t_de, 3)}
        if name != args.reference:
            pb, tp_boot = _timed(paired_auroc_difference, y, s, ref, seed=args.seed, interval="bootstrap")
            pdl, tp_de = _timed(paired_auroc_difference, y, s, ref, interval="delong")
            row.update(paired_bootstrap=[round(pb["ci_low"], 4), round(pb["ci_high"], 4)],
                       paired_delong=[round(pdl["ci_low"], 4), round(pdl["ci_high"], 4)],
                       same_verdict=bool(pb["excludes_zero"] == pdl["excludes_zero"]
                                         and np.sign(pb["difference"]) == np.sign(pdl["difference"])),
                       seconds_paired_bootstrap=round(tp_boot, 2), seconds_paired_delong=round(tp_de, 3))
        rows.append(row)
        print(json.dumps(row), flush=True)
    boot_s = sum(r["seconds_bootstrap"] + r.get("seconds_paired_bootstrap", 0) for r in rows)
    de_s = sum(r["seconds_delong"] + r.get("seconds_paired_delong", 0) for r in rows)
    print(f"\nall intervals: bootstrap {boot_s:.1f} s, DeLong {de_s:.2f} s, ratio {boot_s / de_s:.0f}x; "
          f"largest bound gap {max(r['max_bound_gap'] for r in rows):.5f}; "
          f"same verdicts: {all(r.get('same_verdict', True) for r in rows)}")


if __name__ == "__main__":
    main()
