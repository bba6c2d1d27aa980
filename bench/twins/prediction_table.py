"""The README's prediction tables from run directories' manifests (AUROC, CI, paired difference, verdict).

One run, every method:

    .venv/bin/syntwin run seer_breast_twins --out runs/demo
    .venv/bin/python bench/twins/prediction_table.py runs/demo

Several runs (one row per cohort: the best real baseline, the twin methods against it, release):

    .venv/bin/python bench/twins/prediction_table.py --cohorts runs/lung_ncctg runs/gbsg2_breast ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def rows(pred: dict) -> list[str]:
    methods = sorted((k for k, v in pred.items() if isinstance(v, dict) and v.get("auroc") is not None),
                     key=lambda k: -pred[k]["auroc"])
    out = ["| method | trained on | AUROC (95% CI) | vs best real, paired 95% CI | verdict | coverage | C-index |",
           "|---|---|---|---|---|---|---|"]
    for k in methods:
        e = pred[k]
        d = e.get("vs_best_real")
        diff = f"{d['difference']:+.3f} ({d['ci_low']:+.3f} to {d['ci_high']:+.3f})" if d else "reference"
        verdict = d["verdict"] if d else "best real baseline"
        c = f"{e['c_index']:.3f}" if isinstance(e.get("c_index"), float) else ""
        tuned = ", ".join(f"{p}={e[p]}" for p in ("k", "alpha", "C", "logistic_share") if p in e)
        out.append(f"| {k}{f' ({tuned})' if tuned else ''} | {e.get('trained_on', '')} | {e['auroc']:.3f} "
                   f"({e['ci_low']:.3f}–{e['ci_high']:.3f}) | {diff} | {verdict} | {e.get('coverage', 1):.2f} | {c} |")
    return out


def _vs(e: dict | None) -> str:
    if not e or e.get("auroc") is None:
        return "—"
    d = e.get("vs_best_real")
    paired = f" [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]" if d else ""
    return f"{e['auroc']:.3f}{paired}"


def cohort_rows(runs: list[Path]) -> list[str]:
    """One row per run: events, best real baseline with its CI, twin methods with paired intervals, release."""
    out = ["| cohort | patients | evaluable held-out (events/none) | best real baseline AUROC (95% CI) | "
           "real kNN [paired vs best] | twin kNN [paired] | logistic on twins [paired] | train-on-twins − real "
           "logistic (95% CI) | fidelity quality / KM sup, all patients | release |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        man = json.loads((run / "manifest.json").read_text())
        met = man["metrics"]
        pred, coh = met.get("prediction", {}), met.get("cohort", {})
        held = coh.get("outcome", {}).get("counts", {}).get("holdout", {})
        best = pred.get("best_real_baseline")
        b = pred.get(best, {}) if best else {}
        gap = pred.get("train_on_twins_gap") or {}
        gap_s = (f"{gap['difference']:+.3f} ({gap['ci_low']:+.3f} to {gap['ci_high']:+.3f})"
                 f"{'' if gap.get('within_0_02') else ' — not within 0.02'}") if gap else "—"
        fid = met.get("fidelity", {})
        gate = met.get("privacy", {}).get("gate", {})
        status = {k: v.get("status", "fail") for k, v in gate.items() if isinstance(v, dict) and not v.get("passed", True)}
        why = "; ".join(f"{s}: {', '.join(sorted(k for k in status if status[k] == s))}"
                        for s in sorted(set(status.values())))
        release = "released" if met.get("privacy", {}).get("passed") else f"refused ({why})"
        out.append(
            f"| `{man.get('scenario', run.name)}` | {coh.get('rows', '')} | {held.get('events', '?')}/"
            f"{held.get('no_events', '?')} | {best} {b.get('auroc', float('nan')):.3f} "
            f"({b.get('ci_low', float('nan')):.3f}–{b.get('ci_high', float('nan')):.3f}) | "
            f"{_vs(pred.get('real_knn')) if best != 'real_knn' else 'best'} | {_vs(pred.get('twin_knn'))} | "
            f"{_vs(pred.get('logistic_twins'))} | {gap_s} | {fid.get('quality', float('nan')):.3f} / "
            f"{fid.get('km_sup', {}).get('all', float('nan')):.3f} | {release} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, nargs="+")
    ap.add_argument("--cohorts", action="store_true", help="one row per run directory")
    args = ap.parse_args()
    if args.cohorts:
        print("\n".join(cohort_rows(args.run)))
        return
    man = json.loads((args.run[0] / "manifest.json").read_text())
    pred = man["metrics"]["prediction"]
    print("\n".join(rows(pred)))
    gap = pred.get("train_on_twins_gap")
    if gap:
        print(f"\ntrain-on-twins − same model on real rows: {gap['difference']:+.3f} "
              f"({gap['ci_low']:+.3f} to {gap['ci_high']:+.3f}); within 0.02: {gap['within_0_02']}")
    print(f"best real baseline: {pred.get('best_real_baseline')}; twins help: {pred.get('twins_help') or 'none'}")
    st = pred.get("syntwin_2024")
    if st:
        print(f"SynTwin: {st.get('patients')} held-out + {st.get('reference_patients')} reference patients, "
              f"threshold {st.get('threshold')}, resolution {st.get('resolution')}, coverage {st.get('coverage')}")


if __name__ == "__main__":
    main()
