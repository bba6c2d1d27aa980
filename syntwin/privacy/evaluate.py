"""One call for the whole privacy evaluation of a twin set, and the privacy table of a run.

Every figure is computed against the training rows with the holdout as control, at equal sizes;
neighbour searches run on the Dask client when one is given, and the attacks are sized by
``n_attacks`` (2,000 per side puts each success rate's 95 % half-width below 0.022) and grown
when a risk's interval is still wider than half its threshold (a secret with a dominant value,
``r_control`` near 1, divides the error by ``1 - r_control``).
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
from syntwin.privacy.anonymeter_risks import inference_risk, linkability_risk, singling_out_risk
from syntwin.privacy.copies import copy_mask, exact_copies, row_keys
from syntwin.privacy.dcr import _sample, dcr_profile, distance_to_closest_record
from syntwin.privacy.gate import ReleaseGate
from syntwin.privacy.kanon import class_sizes, default_bands, l_diversity
from syntwin.privacy.membership import membership_attacks
from syntwin.seeding import rng


def _split_aux(features: list[str], quasi: list[str]) -> tuple[list[str], list[str]]:
    """Linkability column sets: the quasi-identifiers against the other features (or two halves)."""
    a = [c for c in features if c in quasi]
    b = [c for c in features if c not in quasi]
    if not a or not b:
        a, b = features[0::2], features[1::2]
    return a, b


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
    max_attacks: int = 10_000,
    max_rows: int = 10_000,
    client: Any = None,
    seed: int = 0,
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
        max_attacks: attacks per side at most: a risk whose 95 % interval is wider than the smallest
            risk threshold is measured again with ``n (half-width / (threshold / 2))**2`` attacks,
            up to this number and to the rows available.
        max_rows: rows per side at most for the singling-out sets, the membership candidates and the
            DCR queries (the DCR share uses up to ``5 max_rows`` holdout rows as reference).
        client: optional Dask client (neighbour searches).
        seed: seed; the figures depend on it only, not on the number of workers.
        on_part: called with each part's name when it finishes (copies, dcr, ..., k_anonymity).

    Returns:
        ``figures`` (flat numbers, the gate's input), ``gate`` (per check: value, threshold, op,
        passed), ``passed``, ``release`` (what the export needs to drop the same rows: the row
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
    details: dict[str, Any] = {}
    clock = _time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = _time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now
        if on_part:
            on_part(name)

    copies = copy_mask(twins, train, columns)
    exclude = np.unique(row_keys(twins.loc[copies], columns)) if copies.any() else np.zeros(0, np.uint64)
    kept = twins.loc[~copies]
    figures["exact_copies_found"] = int(copies.sum())
    figures["exact_copy_share"] = round(float(copies.mean()), 6)
    figures["holdout_copy_share"] = round(exact_copies(holdout, train, columns) / len(holdout), 6)
    figures["exact_copies"] = exact_copies(kept, train, columns)  # what the release still holds: 0
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
    figures.update(prof["figures"])
    details["dcr"] = {"quantiles": prof["quantiles"], "sizes": prof["sizes"]}
    lap("dcr")

    mia = membership_attacks(
        x_twins, x_train, x_holdout, rng=rng(seed, "privacy", "mia"), client=client, max_per_side=max_rows
    )
    figures.update({k_: v for k_, v in mia.items() if k_.endswith("auroc")})
    details["membership"] = mia
    lap("membership")

    risk_limits = [t for name, (op, t) in gate.checks.items() if name.endswith("_risk") and op == "<="]
    target = min(risk_limits, default=0.10) / 2
    available = min(len(train), len(holdout), max_attacks)

    def sized(attack: Callable[..., Any], *keys: str) -> Any:
        """Run ``attack(n_attacks, rng)``; again with more attacks if its interval is too wide."""
        n = min(n_attacks, available)
        risk = attack(n, rng(seed, "privacy", *keys))
        if risk.error > target and n < available:
            n = int(min(available, np.ceil(n * (risk.error / target) ** 2)))
            risk = attack(n, rng(seed, "privacy", *keys, "resized"))
        return risk

    so = sized(
        lambda n, g: singling_out_risk(
            twins, train, holdout, columns, numeric=num_attack, n_attacks=n, max_rows=max(max_rows, n), rng=g
        ),
        "singling_out",
    )
    lap("singling_out")
    aux_a, aux_b = _split_aux(features, quasi)
    li = sized(
        lambda n, g: linkability_risk(
            twins, train, holdout, aux_a, aux_b, numeric=num_attack, n_attacks=n, rng=g, client=client
        ),
        "linkability",
    )
    lap("linkability")
    secrets = list(secrets) if secrets is not None else (outcomes[::-1] or features[-1:])
    inf = {
        s: sized(
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
    worst = max(inf.values(), key=lambda r: r.risk) if inf else None
    figures["singling_out_risk"] = round(so.risk, 4)
    figures["linkability_risk"] = round(li.risk, 4)
    figures["inference_risk"] = round(worst.risk, 4) if worst else 0.0
    every = [so, li, *inf.values()]
    figures["risk_ci_high"] = round(max(r.ci_high for r in every), 4)
    figures["risk_ci_halfwidth"] = round(max(r.error for r in every), 4)
    details["singling_out"] = so.to_dict()
    details["linkability"] = {**li.to_dict(), "aux_a": aux_a, "aux_b": aux_b}
    details["inference"] = {s: r.to_dict() for s, r in inf.items()}

    bands = dict(bands) if bands is not None else default_bands(train, quasi)
    sizes = class_sizes(kept, quasi, bands)
    small = sizes < k
    released = kept.loc[~small]
    figures["k_anonymity_raw"] = int(sizes.min()) if len(sizes) else 0
    figures["k_anonymity"] = int(sizes[~small].min()) if (~small).any() else 0
    figures["k_suppressed_share"] = round(float(small.sum() / len(twins)), 4)
    if event:
        figures["l_diversity"] = l_diversity(released, quasi, event, bands) if len(released) else 0
    lap("k_anonymity")

    table = gate.evaluate(figures)
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
        "release": {
            "k": k,
            "bands": bands,
            "quasi_identifiers": quasi,
            "key_columns": columns,
            "exclude_keys": [int(x) for x in exclude],
        },
        "details": details,
    }


def privacy_table(run_dir: str | Path) -> pd.DataFrame:
    """Tabulate the privacy figures of a run (``manifest.json`` ``metrics.privacy``), one row per figure.

    Columns: ``metric``, ``value``, ``op``, ``threshold``, ``passed`` (the last three empty for
    figures that are reported but not gated).
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
    rows = [
        {
            "metric": name,
            "value": value,
            **{f: gate.get(name, {}).get(f) for f in ("op", "threshold", "passed")},
        }
        for name, value in figures.items()
    ]
    rows += [
        {
            "metric": name,
            "value": g["value"],
            "op": g["op"],
            "threshold": g["threshold"],
            "passed": g["passed"],
        }
        for name, g in gate.items()
        if name not in figures
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "op", "threshold", "passed"])


__all__ = ["evaluate_privacy", "privacy_table"]
