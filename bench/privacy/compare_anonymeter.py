"""Our WP29 attack risks against the ``anonymeter`` package's, on the same data.

anonymeter 1.1 pins numpy < 1.27, so it runs in its own virtual environment (``--anon-python``):
this script writes the tables to CSV, runs anonymeter there in a subprocess, and runs our
implementation here. Data: simulated SEER-like breast patients — train, control (holdout) and
twins that are either an independent same-distribution sample (honest) or jittered copies of
the training rows (leaky), all of size ``--n``.

Usage:
  python -m venv /tmp/anon && /tmp/anon/bin/pip install anonymeter
  python bench/privacy/compare_anonymeter.py --anon-python /tmp/anon/bin/python --n 2000 --attacks 500
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ANON_SCRIPT = r"""
import json, sys, warnings
import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
warnings.filterwarnings("ignore")
folder, n_attacks, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
train, control = pd.read_csv(f"{folder}/train.csv"), pd.read_csv(f"{folder}/control.csv")
out = {}
for kind in ("honest", "leaky"):
    syn = pd.read_csv(f"{folder}/{kind}.csv")
    so = SinglingOutEvaluator(ori=train, syn=syn, control=control, n_attacks=n_attacks, n_cols=spec["n_cols"])
    so.evaluate(mode="multivariate")
    li = LinkabilityEvaluator(ori=train, syn=syn, control=control, n_attacks=n_attacks,
                              aux_cols=(spec["aux_a"], spec["aux_b"]), n_neighbors=10)
    li.evaluate(n_jobs=1)
    res = {"singling_out": so.risk(), "linkability": li.risk()}
    for secret in spec["secrets"]:
        inf = InferenceEvaluator(ori=train, syn=syn, control=control, n_attacks=n_attacks,
                                 aux_cols=[c for c in train.columns if c != secret], secret=secret)
        inf.evaluate(n_jobs=1)
        res[f"inference:{secret}"] = inf.risk()
    out[kind] = {k: {"risk": round(float(r.value), 4), "ci": [round(float(x), 4) for x in r.ci]}
                 for k, r in res.items()}
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anon-python", required=True, help="python of a venv where anonymeter is installed")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--attacks", type=int, default=500)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()

    import numpy as np

    from syntwin.cohort.simulate import simulate_cohort
    from syntwin.privacy.anonymeter_risks import inference_risk, linkability_risk, singling_out_risk
    from syntwin.privacy.evaluate import _split_aux

    c = simulate_cohort(3 * a.n, site="breast", seed=a.seed)
    s = c.schema
    df = c.data.compute().reset_index(drop=True)[s.modelled]
    train, control, honest = (df.iloc[i * a.n : (i + 1) * a.n].reset_index(drop=True) for i in range(3))
    g = np.random.default_rng(a.seed)
    leaky = train.copy()
    for col in s.numeric:
        leaky[col] = leaky[col] + g.integers(-1, 2, len(leaky))
    aux_a, aux_b = _split_aux(s.features, list(s.quasi_identifiers))
    secrets = [s.event, s.time]
    num = [*s.numeric, s.time]
    spec = {"n_cols": 3, "aux_a": aux_a, "aux_b": aux_b, "secrets": secrets}
    with tempfile.TemporaryDirectory() as tmp:
        for name, t in (("train", train), ("control", control), ("honest", honest), ("leaky", leaky)):
            t.to_csv(Path(tmp) / f"{name}.csv", index=False)
        proc = subprocess.run(
            [a.anon_python, "-c", ANON_SCRIPT, tmp, str(a.attacks), json.dumps(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"n={a.n} per set, {a.attacks} attacks; risk [95% CI]")
    print(f"{'twins':7} {'attack':28} {'syntwin':>22} {'anonymeter':>22}")
    for kind, syn in (("honest", honest), ("leaky", leaky)):
        ours = {
            "singling_out": singling_out_risk(
                syn,
                train,
                control,
                s.modelled,
                numeric=num,
                rng=np.random.default_rng(1),
                n_attacks=a.attacks,
                n_cols=3,
            ),
            "linkability": linkability_risk(
                syn,
                train,
                control,
                aux_a,
                aux_b,
                numeric=num,
                rng=np.random.default_rng(2),
                n_attacks=a.attacks,
                n_neighbors=10,
            ),
        }
        for sec in secrets:
            ours[f"inference:{sec}"] = inference_risk(
                syn,
                train,
                control,
                [x for x in s.modelled if x != sec],
                sec,
                numeric=num,
                rng=np.random.default_rng(3),
                n_attacks=a.attacks,
            )
        for name, r in ours.items():
            t = theirs[kind][name]
            print(
                f"{kind:7} {name:28} {r.risk:6.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
                f"   {t['risk']:6.3f} [{t['ci'][0]:.3f}, {t['ci'][1]:.3f}]"
            )


if __name__ == "__main__":
    main()
