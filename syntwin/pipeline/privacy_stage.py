"""The privacy stage on the run's part files: the client holds keys, counts and the attacks' samples, never the cohort.

:func:`privacy_on_parts` gives the figures, gate and release of
:func:`~syntwin.privacy.evaluate.evaluate_privacy` on the whole frames (identical when no cap applies) from the
cohort dataset (``cohort/data/part.<i>.parquet``, ``hold`` its held-out mask) and the twins dataset:

1. **Twins, pass 1** (one task per twin part): the attack encoders' summaries
   (:meth:`~syntwin.graphs.encode.MixedEncoder.summarise`) and, for a DP generator, the band statistics.
2. **Cohort** (one task per cohort part): the 64-bit row keys (:func:`~syntwin.privacy.copies.row_keys`) of the
   training rows and of the held-out rows, the keys over each near-copy column set of the memorisation samples
   (:func:`~syntwin.privacy.memorisation.memorisation_sample`, drawn on the client from the row counts), the
   encoder summaries and band statistics of the training rows. The keys stay on the workers: one task merges
   them into unique reference sets (and counts the held-out patients equal to a training patient).
3. **Twins, pass 2**: every twin-part task receives those sets and tests its twins there (copies, exact and near
   copies of either memorisation sample) and counts the kept twins per banded quasi-identifier class and event
   value (:func:`~syntwin.privacy.kanon.class_counts`). Back come one byte per twin and test, the copies' keys
   and the class counts; the client merges them into the same figures (the counts add up).
4. **Attacks** (:func:`~syntwin.privacy.assess.assess`): training and held-out patients are :class:`PartRows`,
   read on the workers only where the seeded draws of the attacks fall (the same draws as on the frames: only
   ``len`` and the row indices enter them). The attacker's twins are all twins up to ``max_attacker_twins``,
   beyond it a seeded uniform sample; ``details.sizes`` says how many of how many.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.graphs.encode import MixedEncoder
from syntwin.pipeline.dataset import part_rows
from syntwin.privacy.assess import Laps, assess
from syntwin.privacy.copies import row_keys
from syntwin.privacy.evaluate import memorisation_figures
from syntwin.privacy.gate import THRESHOLD_FIELDS, ReleaseGate, failures
from syntwin.privacy.kanon import band_stats, bands_from_stats, class_counts
from syntwin.privacy.memorisation import memorisation_from_masks, memorisation_sample, near_copy_column_sets
from syntwin.seeding import int_seed, rng


def _run(client: Any, fn: Callable, args: Sequence[tuple]) -> list:
    """``fn(*a)`` for each ``a``, on the workers when there is a client, in order."""
    if client is None:
        return [fn(*a) for a in args]
    return client.gather([client.submit(fn, *a, pure=False) for a in args])


def _rows_task(path: str, local: np.ndarray, columns: list[str] | None, encoder: MixedEncoder | None) -> Any:
    """Task: rows ``local`` of one part file, as a frame or encoded."""
    part = pd.read_parquet(path, columns=columns).iloc[local].reset_index(drop=True)
    return encoder.transform(part) if encoder is not None else part


class PartRows:
    """Rows of a partitioned dataset under a mask, read on the workers when asked for.

    ``len(rows)`` is the number of rows under ``mask``; ``rows.iloc[idx]`` their rows ``idx`` (in that order)
    as a frame of ``columns``, ``rows[idx]`` the same rows encoded by ``encoder``. Only the rows asked for travel.
    """

    def __init__(self, files: Sequence[Path], mask: np.ndarray, *, client: Any, columns: list[str] | None = None,
                 encoder: MixedEncoder | None = None) -> None:
        self.files, self.client, self.columns, self.encoder = [str(f) for f in files], client, columns, encoder
        self.rows = np.flatnonzero(mask)
        self.starts = np.r_[0, np.cumsum(part_rows(files))]
        if self.starts[-1] != len(mask):
            raise ValueError(f"the dataset has {self.starts[-1]} rows but the row mask {len(mask)}")
        self.features = list(encoder.features) if encoder is not None else None
        self.iloc = _ILoc(self)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, idx: np.ndarray, encoded: bool) -> Any:
        """Rows ``idx`` (positions among the masked rows), encoded or as a frame."""
        idx = np.asarray(idx, dtype=np.int64)
        uniq, inverse = np.unique(idx, return_inverse=True)
        rows = self.rows[uniq]
        part = np.searchsorted(self.starts, rows, side="right") - 1
        args = [(self.files[p], rows[part == p] - self.starts[p], self.features if encoded else self.columns,
                 self.encoder if encoded else None) for p in np.unique(part)]
        got = _run(self.client, _rows_task, args)
        if encoded:
            x = np.vstack(got) if got else np.zeros((0, self.encoder.dim_), dtype=np.float32)
            return x[inverse]
        frame = pd.concat(got, ignore_index=True) if got else pd.read_parquet(self.files[0], columns=self.columns)[:0]
        return frame.iloc[inverse].reset_index(drop=True)

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self.take(idx, encoded=True)


class _ILoc:
    def __init__(self, rows: PartRows) -> None:
        self.rows = rows

    def __getitem__(self, idx: np.ndarray) -> pd.DataFrame:
        return self.rows.take(idx, encoded=False)


def _attack_encoder(columns: Sequence[str], numeric: set[str]) -> MixedEncoder:
    """The Gower encoder of the linkability/inference attacks over ``columns`` (as ``anonymeter_risks._encoder``)."""
    return MixedEncoder(numeric=[c for c in columns if c in numeric],
                        categorical=[c for c in columns if c not in numeric])


def _sub_summary(summary: Mapping, columns: Sequence[str]) -> dict:
    return {"rows": summary["rows"], "ordinal": {},
            **{kind: {c: v for c, v in summary[kind].items() if c in columns} for kind in ("numeric", "categorical")}}


def _twin_summary_task(path: str, columns: list[str], union: MixedEncoder, quasi: list[str], dp: bool) -> dict:
    """Twins, pass 1: rows, the attack encoders' summary, band statistics (DP: bands come from the twins)."""
    df = pd.read_parquet(path, columns=columns)
    return {"rows": len(df), "enc": union.summarise(df), "bands": band_stats(df, quasi) if dp else None}


def _cohort_task(path: str, hold: np.ndarray, memo_tr: np.ndarray, memo_ho: np.ndarray, columns: list[str],
                 sets: list[list[str]], union: MixedEncoder, quasi: list[str], dp: bool) -> dict:
    """Cohort part: the keys of its training and held-out rows and of its memorisation rows per column set."""
    df = pd.read_parquet(path, columns=columns)
    tr, ho = df.loc[~hold], df.loc[hold]

    def keys(rows: pd.DataFrame) -> np.ndarray:
        return np.stack([row_keys(rows, s) for s in sets], axis=1) if len(rows) else np.zeros((0, len(sets)),
                                                                                             np.uint64)
    return {"train": row_keys(tr, columns), "hold": row_keys(ho, columns), "memo_tr": keys(df.loc[memo_tr]),
            "memo_ho": keys(df.loc[memo_ho]), "enc_tr": union.summarise(tr), "enc_ho": union.summarise(ho),
            "bands": None if dp else band_stats(tr, quasi)}


def _twin_task(path: str, columns: list[str], sets: list[list[str]], refs: dict, quasi: list[str],
               bands: Mapping[str, float], event: str | None, dp: bool) -> dict:
    """Twins, pass 2: which twins copy a training patient, the memorisation masks, the kept twins' class counts."""
    df = pd.read_parquet(path, columns=columns)
    full = row_keys(df, columns)
    copies = np.isin(full, refs["train"])
    masks = {}
    for side in ("tr", "ho"):
        exact = np.isin(full, refs[side][0])
        near = exact.copy()
        for s, ref in zip(sets[1:], refs[side][1:], strict=True):
            near |= np.isin(row_keys(df, s), ref)
        masks[side] = (exact, near)
    kept = df.loc[~copies] if not dp else df
    return {"copies": int(copies.sum()), "copy_keys": np.unique(full[copies]), "masks": masks,
            "counts": class_counts(kept, quasi, bands, event)}


def _reference_keys(parts: list[dict]) -> dict:
    """Task: the unique keys of all training rows and of each memorisation sample per column set; the number of
    held-out patients equal to a training patient (``exact_copies(holdout, train)``)."""
    train = np.unique(np.concatenate([p["train"] for p in parts]))
    sides = {side: [np.unique(np.concatenate([p[f"memo_{side}"][:, j] for p in parts]))
                    for j in range(parts[0][f"memo_{side}"].shape[1])] for side in ("tr", "ho")}
    hold = sum(int(np.isin(p["hold"], train).sum()) for p in parts)
    return {"train": train, **sides, "hold_copies": hold}


def _summaries(part: dict) -> dict:
    """Task: a cohort part's encoder summaries and band statistics (what the client needs of it)."""
    return {k: part[k] for k in ("enc_tr", "enc_ho", "bands")}


def _hold_copies(refs: dict) -> int:
    return refs["hold_copies"]


def _submit(client: Any, fn: Callable, *args: Any) -> Any:
    """A future of ``fn(*args)`` on the workers (futures among ``args`` resolved there), or its value."""
    return client.submit(fn, *args, pure=False) if client is not None else fn(*args)


def _gather(client: Any, x: Any) -> Any:
    return client.gather(x) if client is not None else x


def privacy_on_parts(
    cohort_files: Sequence[Path], hold: np.ndarray, twin_files: Sequence[Path], *, numeric: Sequence[str] = (),
    ordinal: Mapping[str, Sequence[str]] | None = None, categorical: Sequence[str] = (), time: str | None = None,
    event: str | None = None, quasi_identifiers: Sequence[str] = (), secrets: Sequence[str] | None = None,
    encoder: MixedEncoder, gate: ReleaseGate | None = None, k: int | None = None,
    bands: Mapping[str, float] | None = None, n_attacks: int = 2_000, max_attacks: int = 100_000,
    max_rows: int = 10_000, max_attacker_twins: int = 1_000_000, client: Any = None, seed: int = 0,
    dp: Mapping[str, float] | None = None, accept_dp: bool = False, on_part: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """:func:`~syntwin.privacy.evaluate.evaluate_privacy` from part files (see the module docstring).

    ``encoder`` is the run's fitted encoder (the DCR and membership encodings, as ``encoded`` there); the other
    arguments are those of ``evaluate_privacy``, plus ``max_attacker_twins``. The result has the same keys;
    ``details.sizes`` adds ``attacker_twins`` (of ``twins``) and ``attacker_sampled``.
    """
    ordinal = {c: list(v) for c, v in (ordinal or {}).items()}
    features = [*numeric, *ordinal, *categorical]
    outcomes = [c for c in (time, event) if c]
    columns = features + outcomes
    cohort_files, twin_files = [Path(f) for f in cohort_files], [Path(f) for f in twin_files]
    hold = np.asarray(hold, dtype=bool)
    for name, files in (("twins", twin_files), ("cohort", cohort_files)):
        have = set(pq.read_schema(files[0]).names)
        missing = [c for c in columns if c not in have]
        if missing:
            raise ValueError(f"{name} dataset {files[0].parent} lacks columns {missing}")
    n_twins, n_train, n_hold = int(part_rows(twin_files).sum()), int((~hold).sum()), int(hold.sum())
    for name, n in (("twins", n_twins), ("train", n_train), ("holdout", n_hold)):
        if n < 10:
            raise ValueError(f"{name} has {n} rows; the privacy evaluation needs at least 10")
    gate = gate or ReleaseGate.default()
    if k is None:
        k = int(gate.checks.get("k_anonymity", (">=", 5))[1])
    twin_columns = set(pq.read_schema(twin_files[0]).names)
    quasi = [c for c in quasi_identifiers if c in twin_columns]
    num_attack = [*numeric, *([time] if time else [])]
    read = list(dict.fromkeys([*columns, *quasi, *(secrets or ())]))
    figures: dict[str, Any] = {}
    bounds: dict[str, dict[str, Any]] = {}
    details: dict[str, Any] = {}
    laps = Laps(on_part)
    union = _attack_encoder(columns, set(num_attack))
    sets = near_copy_column_sets(columns, quasi)

    first = _run(client, _twin_summary_task, [(str(f), read, union, quasi, bool(dp)) for f in twin_files])
    tr_idx, ho_idx = memorisation_sample(n_train, n_hold, rng(seed, "privacy", "memorisation"))
    flat_tr, flat_ho = np.zeros(len(hold), bool), np.zeros(len(hold), bool)
    flat_tr[np.flatnonzero(~hold)[tr_idx]] = True
    flat_ho[np.flatnonzero(hold)[ho_idx]] = True
    ends = np.cumsum(part_rows(cohort_files))[:-1]
    # the keys stay on the workers: one task merges them into the reference sets the twin-part tasks test against
    cohort = [_submit(client, _cohort_task, str(f), h, t, o, read, sets, union, quasi, bool(dp))
              for f, h, t, o in zip(cohort_files, np.split(hold, ends), np.split(flat_tr, ends),
                                    np.split(flat_ho, ends), strict=True)]
    del flat_tr, flat_ho
    refs = _submit(client, _reference_keys, cohort)
    small = _gather(client, [_submit(client, _summaries, c) for c in cohort])
    if bands is None:
        bands = bands_from_stats([p["bands"] for p in (first if dp else small)])
    bands = dict(bands)
    second = _gather(client, [_submit(client, _twin_task, str(f), read, sets, refs, quasi, bands, event, bool(dp))
                              for f in twin_files])
    hold_copies = _gather(client, _submit(client, _hold_copies, refs))
    del cohort, refs

    copies = sum(p["copies"] for p in second)
    exclude = np.unique(np.concatenate([p["copy_keys"] for p in second])) if not dp else np.zeros(0, np.uint64)
    figures["exact_copies"] = int(copies)
    figures["exact_copy_share"] = round(float(copies / n_twins), 6)
    figures["holdout_copy_share"] = round(hold_copies / n_hold, 6)
    figures["exact_copies_released"] = int(copies) if dp else 0  # the release drops them, unless DP
    cat = {side: [np.concatenate([p["masks"][side][i] for p in second]) for i in (0, 1)] for side in ("tr", "ho")}
    memo = memorisation_from_masks(*cat["tr"], *cat["ho"], len(tr_idx),
                                   max_ratio=float(gate.checks.get("memorisation_ratio", ("<=", 1.1))[1]))
    memorisation_figures(figures, bounds, details, memo)
    del cat
    counts = pd.concat([p["counts"] for p in second], ignore_index=True)
    by = ["key", "value"] if event else ["key"]
    counts = counts.groupby(by, sort=False)["n"].sum().reset_index()
    laps("copies")

    summaries = [p["enc"] for p in first] + [c["enc_tr"] for c in small] + [c["enc_ho"] for c in small]
    merged = MixedEncoder.merge_summaries(summaries)
    del first, small, second, summaries
    fitted: dict[tuple[str, ...], MixedEncoder] = {}

    def attack_encoder(cols: Sequence[str]) -> MixedEncoder:
        """The attack encoder of ``cols`` fitted on all twins, training and held-out rows (from the summaries)."""
        key = tuple(cols)
        if key not in fitted:
            fitted[key] = _attack_encoder(cols, set(num_attack)).fit_summary(_sub_summary(merged, cols))
        return fitted[key]

    all_twins = PartRows(twin_files, np.ones(n_twins, bool), client=client, columns=read, encoder=encoder)
    sampled = n_twins > max_attacker_twins
    pick = (np.sort(rng(seed, "privacy", "attacker").choice(n_twins, max_attacker_twins, replace=False))
            if sampled else np.arange(n_twins))
    attacker = all_twins.iloc[pick]
    x_attacker = all_twins[pick]
    laps("encode")

    train = PartRows(cohort_files, ~hold, client=client, columns=read, encoder=encoder)
    holdout = PartRows(cohort_files, hold, client=client, columns=read, encoder=encoder)
    return assess(
        figures=figures, bounds=bounds, details=details, features=features, columns=columns, outcomes=outcomes,
        num_attack=num_attack, event=event, quasi=quasi, secrets=secrets, x_twins=all_twins, x_train=train,
        x_holdout=holdout, attacker=attacker, x_attacker=x_attacker, train=train, holdout=holdout,
        encoder=attack_encoder, class_counts=lambda: counts, n_twins=n_twins, exclude=exclude, bands=bands,
        gate=gate, k=k, dp=dp, accept_dp=accept_dp, n_attacks=n_attacks, max_attacks=max_attacks,
        max_rows=max_rows, client=client, seed=seed, laps=laps,
        sizes={"twins": n_twins, "train": n_train, "holdout": n_hold, "n_attacks": n_attacks,
               "attacker_twins": int(len(pick)), "attacker_sampled": bool(sampled)})


def privacy_stage(scenario: Any, ctx: Any, files: Sequence[Path], hold: np.ndarray, twin_files: Sequence[Path],
                  schema: Any, encoder: MixedEncoder, m: dict) -> dict:
    """The pipeline's privacy stage: :func:`privacy_on_parts` with the scenario's thresholds, figures into ``m``."""
    pv = scenario.privacy
    gate = ReleaseGate.default(**{f: getattr(pv, f) for f in THRESHOLD_FIELDS})
    ctx.step("attacks and checks")
    result = privacy_on_parts(
        files, hold, twin_files, numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
        categorical=list(schema.categorical), time=schema.time, event=schema.event,
        quasi_identifiers=list(schema.quasi_identifiers), secrets=pv.secrets, encoder=encoder, gate=gate,
        n_attacks=pv.n_attacks, max_attacker_twins=pv.max_attacker_twins, client=ctx.client,
        seed=int_seed(ctx.seed, "privacy"), on_part=lambda part: ctx.advance(),
        dp=ctx.metrics.get("synthesis", {}).get("dp"), accept_dp=pv.accept_dp)
    m.update(figures=result["figures"], gate=result["gate"], release=result["release"], passed=result["passed"],
             sizes=result["details"]["sizes"])
    if not result["passed"]:  # a refusal is published with its reasons, and nothing is exported
        m["reasons"] = failures(result["gate"]) or ["the privacy gate did not pass"]
    return {"release": result["release"], "passed": bool(result["passed"])}


__all__ = ["PartRows", "privacy_on_parts", "privacy_stage"]
