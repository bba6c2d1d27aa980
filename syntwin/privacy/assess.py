"""The attacks and the verdict shared by the whole-frame and the per-part privacy evaluations.

:func:`~syntwin.privacy.evaluate.evaluate_privacy` (pandas frames in memory) and
:func:`~syntwin.pipeline.privacy_stage.privacy_on_parts` (the run's part files) measure copies, memorisation
and the class counts each in its own way, then call :func:`assess` with what the attacks read. The attacks
only take ``len()`` and row subsets of the training and held-out patients (``x[idx]`` for encodings,
``frame.iloc[idx]`` for rows), so the same seeded draws pick the same patients whether the rows are in memory
or read on demand from part files; the attacker's twins (``attacker``, ``x_attacker``) are one table.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from syntwin.graphs.encode import MixedEncoder
from syntwin.privacy.anonymeter_risks import Z80, Z95, Risk, inference_risk, linkability_risk, singling_out_risk
from syntwin.privacy.dcr import _sample, dcr_profile, distance_to_closest_record
from syntwin.privacy.gate import ReleaseGate
from syntwin.privacy.kanon import k_figures
from syntwin.privacy.membership import membership_attacks
from syntwin.seeding import rng


class Laps:
    """Seconds per part of an evaluation (``seconds``); calls ``on_part(name)`` as each one finishes."""

    def __init__(self, on_part: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.on_part = on_part
        self._clock = _time.perf_counter()

    def __call__(self, name: str) -> None:
        now = _time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._clock, 3)
        self._clock = now
        if self.on_part:
            self.on_part(name)


def _split_aux(features: list[str], quasi: list[str]) -> tuple[list[str], list[str]]:
    """Linkability column sets: the quasi-identifiers against the other features (or two halves)."""
    a = [c for c in features if c in quasi]
    b = [c for c in features if c not in quasi]
    if not a or not b:
        a, b = features[0::2], features[1::2]
    return a, b


def _interval(estimate: float, half: float, n: int, baseline: float, more: str, **extra: Any) -> dict[str, Any]:
    """Evidence row of an interval-backed check (95 % normal interval around ``estimate``)."""
    return {"ci_low": round(estimate - half, 4), "ci_high": round(estimate + half, 4), "n": int(n),
            "baseline": baseline, "decide": more, **extra}


def _risk_bounds(r: Risk, sizing: Mapping[str, Any], secret: str | None = None) -> dict[str, Any]:
    """Evidence row of a WP29 risk: interval, attacks, control success, smallest detectable risk, sizing."""
    limit = sizing["limit"]
    if r.risk < limit:
        need = int(np.ceil(r.n_control * (r.error / (limit - r.risk)) ** 2))
        more = f"about {need} control patients (attacks per side; {sizing['available']} available)"
    else:
        more = "no attack size: the estimate itself exceeds the threshold"
    decide = (f"{more}, or a differentially private generator with privacy.accept_dp: true, or a threshold "
              f">= {r.ci_high:.3f} set by the user")
    row = {"ci_low": round(r.ci_low, 4), "ci_high": round(r.ci_high, 4), "n": r.n_main, "n_control": r.n_control,
           "baseline": round(r.control_rate, 4), "detectable": round(r.detectable, 4),
           "attacks_needed": sizing["needed"], "capped": sizing["capped"], "decide": decide}
    return row | ({"secret": secret} if secret else {})


def assess(
    *,
    figures: dict[str, Any],
    bounds: dict[str, dict[str, Any]],
    details: dict[str, Any],
    features: list[str],
    columns: list[str],
    outcomes: list[str],
    num_attack: list[str],
    event: str | None,
    quasi: list[str],
    secrets: Sequence[str] | None,
    x_twins: Any,
    x_train: Any,
    x_holdout: Any,
    attacker: pd.DataFrame,
    x_attacker: np.ndarray,
    train: Any,
    holdout: Any,
    encoder: Callable[[Sequence[str]], MixedEncoder] | None,
    class_counts: Callable[[], pd.DataFrame],
    n_twins: int,
    exclude: np.ndarray,
    bands: Mapping[str, float],
    gate: ReleaseGate,
    k: int,
    dp: Mapping[str, float] | None,
    accept_dp: bool,
    n_attacks: int,
    max_attacks: int,
    max_rows: int,
    client: Any,
    seed: int,
    laps: Laps,
    sizes: Mapping[str, Any],
) -> dict[str, Any]:
    """DCR/NNDR, membership, WP29 risks and k-anonymity added to ``figures``; the gate's verdict and release.

    ``x_twins`` are all twins' encodings (DCR, NNDR queries), ``x_train``/``x_holdout`` and ``train``/``holdout``
    the patients' encodings and rows (``len`` and subsets only); ``attacker``/``x_attacker`` the twins the
    membership, singling-out, linkability and inference attacks search; ``encoder(columns)`` the Gower encoder of
    the linkability and inference attacks (None: fitted on ``attacker``, ``train`` and ``holdout``);
    ``class_counts()`` the :func:`~syntwin.privacy.kanon.class_counts` of the twins kept (with ``event``).
    """
    g_dcr = rng(seed, "privacy", "dcr")
    figures.update(
        distance_to_closest_record(
            x_twins[_sample(len(x_twins), max_rows, g_dcr)],
            x_train,
            x_holdout[_sample(len(x_holdout), 5 * max_rows, g_dcr)],
            rng=g_dcr,
            client=client,
        )
    )
    prof = dcr_profile(x_twins, x_train, x_holdout, rng=rng(seed, "privacy", "nndr"), client=client,
                       max_reference=max(max_rows, 2), max_query=max_rows)
    share, n_dcr = figures["dcr_train_share"], min(len(x_twins), max_rows)
    half = Z95 * float(np.sqrt(max(share * (1 - share), 0.25 / n_dcr) / n_dcr))
    bounds["dcr_train_share"] = _interval(share, half, n_dcr, 0.5, "more held-out patients or twins")
    figures.update(prof["figures"])
    details["dcr"] = {"quantiles": prof["quantiles"], "sizes": prof["sizes"]}
    laps("dcr")

    mia = membership_attacks(x_attacker, x_train, x_holdout, rng=rng(seed, "privacy", "mia"), client=client,
                             max_per_side=max_rows)
    figures.update({k_: v for k_, v in mia.items() if k_.endswith("auroc")})
    for name in ("mia_distance_auroc", "mia_density_auroc"):
        se = mia[f"{name}_se"]
        bounds[name] = _interval(mia[name], Z95 * se, mia["mia_candidates"], 0.5,
                                 "more held-out patients (half of them are the attack's non-members)",
                                 detectable=round(0.5 + (Z95 + Z80) * se, 4))
    details["membership"] = mia
    laps("membership")

    available = min(len(train), len(holdout), max_attacks)
    sizing: dict[str, dict[str, Any]] = {}

    def sized(check: str, attack: Callable[..., Any], *keys: str) -> Any:
        """Run ``attack(n, rng)``; again with as many attacks as the bound needs, if the rows allow.

        With half-width ``e`` at ``n`` attacks and estimate ``r`` under the threshold ``t``, the
        bound reaches ``t`` at about ``n (e / (t - r))**2`` attacks per side. When that exceeds the
        patients available the test stays as precise as the rows allow and the sizing says so.
        """
        limit = float(gate.checks.get(check, ("<=", 0.10))[1])
        n = min(n_attacks, available)
        risk = attack(n, rng(seed, "privacy", *keys))
        needed = n
        if risk.ci_high > limit and risk.risk < limit:
            needed = int(np.ceil(1.1 * n * (risk.error / (limit - risk.risk)) ** 2))
            if needed > n and n < available:
                n = min(needed, available)
                risk = attack(n, rng(seed, "privacy", *keys, "resized"))
        sizing[".".join(keys)] = {"n": n, "needed": max(needed, n), "available": available,
                                  "capped": needed > n, "limit": limit}
        return risk

    so = sized("singling_out_risk", lambda n, g: singling_out_risk(
        attacker, train, holdout, columns, numeric=num_attack, n_attacks=n, max_rows=max(max_rows, n), rng=g),
        "singling_out")
    laps("singling_out")
    aux_a, aux_b = _split_aux(features, quasi)
    li = sized("linkability_risk", lambda n, g: linkability_risk(
        attacker, train, holdout, aux_a, aux_b, numeric=num_attack, n_attacks=n, rng=g, client=client,
        encoder=encoder), "linkability")
    laps("linkability")
    secrets = list(secrets) if secrets is not None else (outcomes[::-1] or features[-1:])
    inf = {
        s: sized("inference_risk", lambda n, g, s=s: inference_risk(
            attacker, train, holdout, [c for c in columns if c != s], s, numeric=num_attack, n_attacks=n, rng=g,
            client=client, encoder=encoder), "inference", s)
        for s in secrets
    }
    laps("inference")
    worst_secret = max(inf, key=lambda s_: inf[s_].ci_high) if inf else None
    worst = inf[worst_secret] if inf else None
    figures["singling_out_risk"] = round(so.risk, 4)
    figures["linkability_risk"] = round(li.risk, 4)
    figures["inference_risk"] = round(worst.risk, 4) if worst else 0.0
    for check, r, key in (("singling_out_risk", so, "singling_out"), ("linkability_risk", li, "linkability"),
                          ("inference_risk", worst, f"inference.{worst_secret}")):
        if r is not None:
            bounds[check] = _risk_bounds(r, sizing[key], secret=worst_secret if check == "inference_risk" else None)
    for s_, r in inf.items():
        figures[f"inference_risk[{s_}]"] = round(r.risk, 4)
    every = [so, li, *inf.values()]
    figures["risk_ci_high"] = round(max(r.ci_high for r in every), 4)
    figures["risk_ci_halfwidth"] = round(max(r.error for r in every), 4)
    details["singling_out"] = so.to_dict()
    details["linkability"] = {**li.to_dict(), "aux_a": aux_a, "aux_b": aux_b}
    details["inference"] = {s: r.to_dict() for s, r in inf.items()}
    details["attack_sizing"] = sizing

    kf = k_figures(class_counts(), k, n_twins, sensitive=bool(event))
    figures.update({name: kf[name] for name in ("k_anonymity_raw", "k_anonymity", "k_suppressed_share")})
    if event:
        figures["l_diversity"] = kf["l_diversity"]
    laps("k_anonymity")

    table = gate.evaluate(figures, bounds, dp=dp, accept_dp=accept_dp)
    details["sizes"] = dict(sizes)
    details["seconds"] = laps.seconds
    return {
        "figures": figures,
        "gate": table,
        "passed": all(v["passed"] for v in table.values()),
        "bounds": bounds,
        "release": {
            "k": k,
            "bands": dict(bands),
            "quasi_identifiers": quasi,
            "key_columns": columns,
            "exclude_keys": [int(x) for x in exclude],
        },
        "details": details,
    }


__all__ = ["assess", "Laps"]
