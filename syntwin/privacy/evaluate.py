"""One call for the whole privacy evaluation of a twin set, and the privacy table of a run.

Every figure is computed against the training rows with the holdout as control, at equal sizes;
neighbour searches run on the Dask client when one is given. Copies are counted on the twins as
generated (the export drops them afterwards). Each attack-based figure carries its 95 % interval and
the gate decides on its upper end (:mod:`syntwin.privacy.gate`); the attacks start with
``n_attacks`` per side and are grown to what the bound needs, up to the patients available (a
secret with a dominant value, ``r_control`` near 1, divides the error by ``1 - r_control``, so
small cohorts cannot bound it: the check is then inconclusive and says what would decide it).
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.graphs.encode import MixedEncoder
from syntwin.privacy.anonymeter_risks import Z80, Z95, Risk, inference_risk, linkability_risk, singling_out_risk
from syntwin.privacy.copies import copy_mask, exact_copies, row_keys
from syntwin.privacy.dcr import _sample, dcr_profile, distance_to_closest_record
from syntwin.privacy.gate import ReleaseGate
from syntwin.privacy.kanon import class_sizes, default_bands, l_diversity
from syntwin.privacy.membership import membership_attacks
from syntwin.privacy.memorisation import memorisation
from syntwin.seeding import rng


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


def evaluate_privacy(
    twins: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    numeric: Sequence[str] = (),
    ordinal: Mapping[str, Sequence[str]] | None = None,
    categorical: Sequence[str] = (),
    time: str | None = None,
    event: str | None = None,
    quasi_identifiers: Sequence[str] = (),
    secrets: Sequence[str] | None = None,
    encode: Callable[[pd.DataFrame], np.ndarray] | None = None,
    encoded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    gate: ReleaseGate | None = None,
    k: int | None = None,
    bands: Mapping[str, float] | None = None,
    n_attacks: int = 2_000,
    max_attacks: int = 100_000,
    max_rows: int = 10_000,
    client: Any = None,
    seed: int = 0,
    dp: Mapping[str, float] | None = None,
    accept_dp: bool = False,
    on_part: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure copies, DCR/NNDR, membership attacks, WP29 risks, k-anonymity of ``twins``; judge them.

    Args:
        twins: twin rows.
        train: the rows the generator was fitted on.
        holdout: real rows the generator never saw (same columns).
        numeric: numeric feature columns.
        ordinal: ordinal feature columns -> levels in order.
        categorical: categorical feature columns.
        time: follow-up time column (an outcome).
        event: event indicator column (an outcome).
        quasi_identifiers: columns an attacker may know; k-anonymity is measured on them.
        secrets: columns the inference attack targets (default: ``event`` and ``time``).
        encode: maps a frame to Gower vectors (e.g. a fitted ``MixedEncoder().transform``); by
            default a ``MixedEncoder`` is fitted on the three tables.
        encoded: ``(x_twins, x_train, x_holdout)`` already encoded (overrides ``encode``).
        gate: thresholds (default :meth:`ReleaseGate.default`).
        k: k-anonymity level of the release (default: the gate's ``k_anonymity`` threshold, else 5).
        bands: numeric quasi-identifier band widths (default: at most 10 "nice" bands over ``train``).
        n_attacks: attacks per side for each WP29 risk in the first round.
        max_attacks: attacks per side at most: a risk whose 95 % upper bound exceeds its threshold
            (while its estimate does not) is measured again with the attacks the bound needs, up to
            this number and the patients available; ``details.attack_sizing`` records what was
            needed and whether it was capped (the gate then reports the check inconclusive).
        max_rows: rows per side at most for the singling-out sets, the membership candidates and the
            DCR queries (the DCR share uses up to ``5 max_rows`` holdout rows as reference).
        client: optional Dask client (neighbour searches).
        seed: seed; the figures depend on it only, not on the number of workers.
        dp: ``{"epsilon", "delta"}`` when the twins come from a differentially private generator; the
            release then keeps the twins equal to a training patient (counted, not dropped) and bands the
            quasi-identifiers on the twins, so that what leaves depends on the real rows only through ε.
        accept_dp: let the gate pass the attack-based checks on ε alone (needs ``dp``).
        on_part: called with each part's name when it finishes (copies, dcr, ..., k_anonymity).

    Returns:
        ``figures`` (flat numbers, the gate's input), ``gate`` (per check: value, threshold, op,
        status — pass, fail, inconclusive or waived (ε-DP) —, passed, and for interval-backed checks
        ci_low, ci_high, n, baseline, detectable, decide), ``passed``, ``bounds``, ``release`` (what the export needs to drop the same rows: the row
        keys of twins identical to a training patient — ``exact_copies_found`` of them, dropped so
        that ``exact_copies`` left in the release is 0 — and ``k``, ``bands``,
        ``quasi_identifiers`` of the k-anonymity suppression) and ``details`` (intervals,
        quantiles, sizes, seconds). The attacks run on all twins, copies included.

    """
    ordinal = {c: list(v) for c, v in (ordinal or {}).items()}
    features = [*numeric, *ordinal, *categorical]
    outcomes = [c for c in (time, event) if c]
    columns = features + outcomes
    for name, df in (("twins", twins), ("train", train), ("holdout", holdout)):
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
        if len(df) < 10:
            raise ValueError(f"{name} has {len(df)} rows; the privacy evaluation needs at least 10")
    gate = gate or ReleaseGate.default()
    if k is None:
        k = int(gate.checks.get("k_anonymity", (">=", 5))[1])
    quasi = [c for c in quasi_identifiers if c in twins.columns]
    num_attack = [*numeric, *([time] if time else [])]
    seconds: dict[str, float] = {}
    figures: dict[str, Any] = {}
    bounds: dict[str, dict[str, Any]] = {}
    details: dict[str, Any] = {}
    clock = _time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = _time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now
        if on_part:
            on_part(name)

    # copies are counted on the twins as generated: the gate judges these, the export then drops them
    copies = copy_mask(twins, train, columns)
    exclude = np.unique(row_keys(twins.loc[copies], columns)) if copies.any() else np.zeros(0, np.uint64)
    # a DP release is not filtered against the real rows: dropping the twins that equal a training patient
    # (or banding on the training rows) would be a data-dependent step outside the ε guarantee
    kept = twins.loc[~copies] if not dp else twins
    if dp:
        exclude = np.zeros(0, np.uint64)
    figures["exact_copies"] = int(copies.sum())
    figures["exact_copy_share"] = round(float(copies.mean()), 6)
    figures["holdout_copy_share"] = round(exact_copies(holdout, train, columns) / len(holdout), 6)
    figures["exact_copies_released"] = exact_copies(kept, train, columns)  # 0: what the release holds
    memo = memorisation(twins, train, holdout, columns, quasi=quasi, rng=rng(seed, "privacy", "memorisation"),
                        max_ratio=float(gate.checks.get("memorisation_ratio", ("<=", 1.1))[1]))
    figures["memorisation_ratio"] = float(memo["ratio"])
    figures["exact_copy_ratio"] = float(memo["exact_ratio"])
    details["memorisation"] = memo
    bounds["memorisation_ratio"] = {
        "status": memo["status"], "excess": memo["excess"], "excess_ci": [memo["ci_low"], memo["ci_high"]],
        "n": memo["n"], "baseline": memo["near_rate_holdout"], "decide": memo["decide"]}
    lap("copies")

    if encoded is not None:
        x_twins, x_train, x_holdout = encoded
    else:
        if encode is None:
            enc = MixedEncoder(numeric=list(numeric), ordinal=ordinal, categorical=list(categorical))
            encode = enc.fit(
                pd.concat([d[features] for d in (train, holdout, twins)], ignore_index=True)
            ).transform
        x_twins, x_train, x_holdout = encode(twins), encode(train), encode(holdout)
    lap("encode")

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
    prof = dcr_profile(
        x_twins,
        x_train,
        x_holdout,
        rng=rng(seed, "privacy", "nndr"),
        client=client,
        max_reference=max(max_rows, 2),
        max_query=max_rows,
    )
    share, n_dcr = figures["dcr_train_share"], min(len(x_twins), max_rows)
    half = Z95 * float(np.sqrt(max(share * (1 - share), 0.25 / n_dcr) / n_dcr))
    bounds["dcr_train_share"] = _interval(share, half, n_dcr, 0.5, "more held-out patients or twins")
    figures.update(prof["figures"])
    details["dcr"] = {"quantiles": prof["quantiles"], "sizes": prof["sizes"]}
    lap("dcr")

    mia = membership_attacks(
        x_twins, x_train, x_holdout, rng=rng(seed, "privacy", "mia"), client=client, max_per_side=max_rows
    )
    figures.update({k_: v for k_, v in mia.items() if k_.endswith("auroc")})
    for name in ("mia_distance_auroc", "mia_density_auroc"):
        se = mia[f"{name}_se"]
        bounds[name] = _interval(mia[name], Z95 * se, mia["mia_candidates"], 0.5,
                                 "more held-out patients (half of them are the attack's non-members)",
                                 detectable=round(0.5 + (Z95 + Z80) * se, 4))
    details["membership"] = mia
    lap("membership")

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

    so = sized(
        "singling_out_risk",
        lambda n, g: singling_out_risk(
            twins, train, holdout, columns, numeric=num_attack, n_attacks=n, max_rows=max(max_rows, n), rng=g
        ),
        "singling_out",
    )
    lap("singling_out")
    aux_a, aux_b = _split_aux(features, quasi)
    li = sized(
        "linkability_risk",
        lambda n, g: linkability_risk(
            twins, train, holdout, aux_a, aux_b, numeric=num_attack, n_attacks=n, rng=g, client=client
        ),
        "linkability",
    )
    lap("linkability")
    secrets = list(secrets) if secrets is not None else (outcomes[::-1] or features[-1:])
    inf = {
        s: sized(
            "inference_risk",
            lambda n, g, s=s: inference_risk(
                twins,
                train,
                holdout,
                [c for c in columns if c != s],
                s,
                numeric=num_attack,
                n_attacks=n,
                rng=g,
                client=client,
            ),
            "inference",
            s,
        )
        for s in secrets
    }
    lap("inference")
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

    bands = dict(bands) if bands is not None else default_bands(twins if dp else train, quasi)
    sizes = class_sizes(kept, quasi, bands)
    small = sizes < k
    released = kept.loc[~small]
    figures["k_anonymity_raw"] = int(sizes.min()) if len(sizes) else 0
    figures["k_anonymity"] = int(sizes[~small].min()) if (~small).any() else 0
    figures["k_suppressed_share"] = round(float(small.sum() / len(twins)), 4)
    if event:
        figures["l_diversity"] = l_diversity(released, quasi, event, bands) if len(released) else 0
    lap("k_anonymity")

    table = gate.evaluate(figures, bounds, dp=dp, accept_dp=accept_dp)
    details["sizes"] = {
        "twins": len(twins),
        "train": len(train),
        "holdout": len(holdout),
        "n_attacks": n_attacks,
    }
    details["seconds"] = seconds
    return {
        "figures": figures,
        "gate": table,
        "passed": all(v["passed"] for v in table.values()),
        "bounds": bounds,
        "release": {
            "k": k,
            "bands": bands,
            "quasi_identifiers": quasi,
            "key_columns": columns,
            "exclude_keys": [int(x) for x in exclude],
        },
        "details": details,
    }


GATE_COLUMNS = ("op", "threshold", "status", "passed", "ci_low", "ci_high", "n", "baseline", "detectable")


def privacy_table(run_dir: str | Path) -> pd.DataFrame:
    """Tabulate the privacy figures of a run (``manifest.json`` ``metrics.privacy``), one row per figure.

    Columns: ``metric``, ``value`` and, for gated figures, ``op``, ``threshold``, ``status`` (pass,
    fail, inconclusive, waived (ε-DP)), ``passed``, and for interval-backed ones the 95 % interval
    ``ci_low``/``ci_high``, the attacks or candidates ``n``, the ``baseline`` (control success, or 0.5
    for an AUROC) and the smallest ``detectable`` risk; empty for figures reported but not gated.
    """
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: not a run directory")
    privacy = json.loads(path.read_text()).get("metrics", {}).get("privacy")
    if not privacy:
        raise ValueError(f"{path} records no privacy figures (the run stopped before the privacy stage?)")
    gate = privacy.get("gate", {})
    figures = privacy.get(
        "figures",
        {
            k: v
            for k, v in privacy.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seconds"
        },
    )
    rows = [{"metric": name, "value": value, **{f: gate.get(name, {}).get(f) for f in GATE_COLUMNS}}
            for name, value in figures.items()]
    rows += [{"metric": name, "value": g["value"], **{f: g.get(f) for f in GATE_COLUMNS}}
             for name, g in gate.items() if name not in figures]
    return pd.DataFrame(rows, columns=["metric", "value", *GATE_COLUMNS])


__all__ = ["evaluate_privacy", "privacy_table"]
