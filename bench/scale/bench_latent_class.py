"""The latent class generator at scale: choosing K on all rows vs on a sample, and the E-step's cost.

    .venv/bin/python bench/scale/bench_latent_class.py --n 750000

On the training rows of a simulated SEER-like breast cohort (the default scenario's columns and generator:
``latent_class`` with ``survival_given: stage`` and missing values kept), fitted in this process:

1. ``"auto"`` with ``select_rows=None`` (every candidate fitted on 80 % of all rows) and with the default
   ``select_rows`` (a seeded sample): seconds, the chosen K, the held-out log-likelihood of each candidate and
   the mean log-likelihood of the final fit, so the two choices can be compared;
2. one EM E-step at K=30 on all rows, ``scipy.special.logsumexp`` (the code before) vs the in-place
   max-shifted sum (:meth:`LatentClassGenerator._e_step`): seconds per step (median of 5) and the largest
   difference of the per-row log-likelihoods.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.special import logsumexp


def _training_frame(n: int):
    from syntwin.cohort.simulate import simulate_cohort

    cohort = simulate_cohort(n, seed=1)
    df = cohort.data.compute().reset_index(drop=True)
    return df[list(cohort.schema.modelled)], cohort.schema


def _generator(schema, n: int, **params):
    from syntwin.pipeline.cohort import _scenario_generator
    from syntwin.scenario.cohort import CohortScenario

    scenario = CohortScenario.model_validate({"kind": "cohort", "name": "bench-latent-class", "seed": 1,
                                              "cohort": {"simulate": {"n": n}},
                                              "synthesis": {"generator": "latent_class", "strata": "stage",
                                                            "params": params}})
    return _scenario_generator(scenario, schema, n)[0]


def _roles(schema) -> dict:
    return dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                categorical=list(schema.categorical), time=schema.time, event=schema.event)


def _fit(df, schema, select_rows="default") -> dict:
    gen = _generator(schema, len(df))
    if select_rows != "default":
        gen.generator.select_rows = select_rows  # the template MissingAware wraps (None: no scenario value)
    start = time.perf_counter()
    gen.fit(df, seed=7, **_roles(schema))
    inner = gen.inner_
    return {"select_rows": inner.select_rows, "seconds": round(time.perf_counter() - start, 1),
            "k": int(inner.n_components_), "em_iterations": int(inner.n_iter_),
            "final_mean_log_likelihood": round(float(inner.log_likelihood_), 5),
            "held_out_by_k": inner.selection_}


def _e_step(df, schema) -> dict:
    from syntwin.synthesis.generators.latent_class import LatentClassGenerator

    seen = {}
    em = LatentClassGenerator._em

    def keep_design(self, H, *args):  # the one-hot design matrix the fit builds, kept for the timing
        seen["H"] = H
        return em(self, H, *args)

    gen = _generator(schema, len(df), n_components=30, max_iter=1)
    LatentClassGenerator._em = keep_design
    try:
        gen.fit(df, seed=7, **_roles(schema))
    finally:
        LatentClassGenerator._em = em
    inner, H = gen.inner_, seen["H"]
    log_w = np.log(inner.weights_)
    log_theta = np.log(np.maximum(np.hstack(inner.probs_), 1e-300))

    def scipy_step():
        L = H @ log_theta.T + log_w
        norm = logsumexp(L, axis=1, keepdims=True)
        return norm.ravel(), np.exp(L - norm)

    out = {}
    for name, step in (("scipy_logsumexp", scipy_step), ("in_place", lambda: LatentClassGenerator._e_step(
            H, log_theta, log_w))):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            ll, _ = step()
            times.append(time.perf_counter() - t)
        out[name] = {"seconds_per_step": round(float(np.median(times)), 4), "ll": ll}
    diff = float(np.max(np.abs(out["scipy_logsumexp"].pop("ll") - out["in_place"].pop("ll"))))
    return {"rows": H.shape[0], **out, "ratio": round(out["scipy_logsumexp"]["seconds_per_step"]
                                                      / out["in_place"]["seconds_per_step"], 2),
            "max_abs_log_likelihood_difference": diff}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=750_000, help="training rows (the default run's at 1M)")
    parser.add_argument("--skip-all-rows", action="store_true", help="only the sampled selection")
    args = parser.parse_args()
    df, schema = _training_frame(args.n)
    print(json.dumps({"e_step": _e_step(df, schema)}), flush=True)
    print(json.dumps({"fit": _fit(df, schema)}), flush=True)
    if not args.skip_all_rows:
        print(json.dumps({"fit": _fit(df, schema, select_rows=None)}), flush=True)


if __name__ == "__main__":
    main()
