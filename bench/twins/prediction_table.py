"""The README's prediction table from a run directory's manifest (AUROC, CI, paired difference, verdict).

    .venv/bin/syntwin run seer_breast_twins --out runs/demo
    .venv/bin/python bench/twins/prediction_table.py runs/demo
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    args = ap.parse_args()
    man = json.loads((args.run / "manifest.json").read_text())
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
