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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.graphs.encode import MixedEncoder
from syntwin.privacy.assess import Laps, _interval, _risk_bounds, _split_aux, assess  # noqa: F401 (re-exported)
from syntwin.privacy.copies import copy_mask, exact_copies, row_keys
from syntwin.privacy.gate import ReleaseGate
from syntwin.privacy.kanon import class_counts, default_bands
from syntwin.privacy.memorisation import memorisation
from syntwin.seeding import rng


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
    figures: dict[str, Any] = {}
    bounds: dict[str, dict[str, Any]] = {}
    details: dict[str, Any] = {}
    laps = Laps(on_part)

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
    memorisation_figures(figures, bounds, details, memo)
    laps("copies")

    if encoded is not None:
        x_twins, x_train, x_holdout = encoded
    else:
        if encode is None:
            enc = MixedEncoder(numeric=list(numeric), ordinal=ordinal, categorical=list(categorical))
            encode = enc.fit(
                pd.concat([d[features] for d in (train, holdout, twins)], ignore_index=True)
            ).transform
        x_twins, x_train, x_holdout = encode(twins), encode(train), encode(holdout)
    laps("encode")

    bands = dict(bands) if bands is not None else default_bands(twins if dp else train, quasi)
    return assess(
        figures=figures, bounds=bounds, details=details, features=features, columns=columns, outcomes=outcomes,
        num_attack=num_attack, event=event, quasi=quasi, secrets=secrets, x_twins=x_twins, x_train=x_train,
        x_holdout=x_holdout, attacker=twins, x_attacker=x_twins, train=train, holdout=holdout, encoder=None,
        class_counts=lambda: class_counts(kept, quasi, bands, event), n_twins=len(twins), exclude=exclude,
        bands=bands, gate=gate, k=k, dp=dp, accept_dp=accept_dp, n_attacks=n_attacks, max_attacks=max_attacks,
        max_rows=max_rows, client=client, seed=seed, laps=laps,
        sizes={"twins": len(twins), "train": len(train), "holdout": len(holdout), "n_attacks": n_attacks,
               "attacker_twins": len(twins), "attacker_sampled": False})


def memorisation_figures(figures: dict, bounds: dict, details: dict, memo: Mapping[str, Any]) -> None:
    """The memorisation test's figures, evidence row and details (:func:`~syntwin.privacy.memorisation.memorisation`)."""
    figures["memorisation_ratio"] = float(memo["ratio"])
    figures["exact_copy_ratio"] = float(memo["exact_ratio"])
    details["memorisation"] = memo
    bounds["memorisation_ratio"] = {
        "status": memo["status"], "excess": memo["excess"], "excess_ci": [memo["ci_low"], memo["ci_high"]],
        "n": memo["n"], "baseline": memo["near_rate_holdout"], "decide": memo["decide"]}


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


__all__ = ["evaluate_privacy", "privacy_table", "memorisation_figures"]
