"""The rows the prediction stage reads from the cohort and twin datasets: never the whole cohort on the client.

The methods fit on a training sample of at most ``prediction.max_train_rows`` patients
(:func:`~syntwin.pipeline.predict.training_sample`, drawn from the training patients' outcome columns alone) and
the same share of the twins (:func:`~syntwin.pipeline.predict.twin_sample`, counted from the twin files'
Parquet footers); every held-out patient is scored. :func:`prediction_rows` reads exactly those rows with
:func:`~syntwin.pipeline.dataset.read_rows` (filtered on the workers), in dataset order, so they are the rows
``train.iloc[sample]``, ``twins.iloc[twin_sample]`` of the whole frames, same values and dtypes.

The held-out patients stay on the workers: per part file, a task encodes them (the kNN searches, the GNN and
SynTwin's designs need ``x_hold`` on the client) and, for each fitted logistic / boosting model, another scores
them (:func:`holdout_scorer`; the model is fitted on the client and shipped to the tasks). Both are row-wise,
so the bytes are those of the whole held-out frame at once (for the BLAS product see :func:`_score_task`). On the client: ``n`` outcome pairs (16 bytes a
patient), at most ``max_train_rows`` training rows and ``ratio x max_train_rows`` twins, and for the held-out
patients (a ``cohort.holdout`` share ``h`` of the cohort) ``x_hold``, ``4 x dim`` bytes each, and a float64
score per method: about ``h x n x (4 dim + 8 methods)`` bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from syntwin.cohort import CohortSchema
from syntwin.pipeline.dataset import _read_rows_task, apply_rows, part_rows, part_slices, read_rows
from syntwin.pipeline.predict import training_sample, twin_sample
from syntwin.scenario.cohort import PredictionSection


def dataset_rows(files: list[Path]) -> int:
    """Rows of a partitioned dataset, from its part files' Parquet footers (no row read)."""
    return int(part_rows(files).sum())


def within(mask: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """The rows ``picked`` (indices among the rows where ``mask`` is true) as a mask over all rows.

    E.g. the training sample (indices among the training rows) as a mask over the cohort.
    """
    out = np.zeros(len(mask), dtype=bool)
    out[np.flatnonzero(mask)[picked]] = True
    return out


#: Rows a scoring task places before and after a part's held-out rows, modulo (see :func:`_score_task`).
ALIGN = 64


def _score_task(path: str, keep: np.ndarray, features: list[str], model: Any, offset: int,
                total: int) -> np.ndarray:
    """Task: ``model.predict`` of one part file's held-out rows, bit for bit as in one call on all of them.

    A BLAS matrix-vector product (the logistic's ``X w``) takes its rows in blocks counted from the matrix's
    first row (OpenBLAS's kernels: a few at a time, the last ``n mod block`` rows by another path), so a row's
    last bit depends on its position in the call (seen here: 2 of 750 held-out rows differ without this). The part's rows sit at ``offset`` of ``total`` held-out rows: they are predicted behind
    ``offset mod ALIGN`` copies of their first row, and followed by copies up to a multiple of ``ALIGN``
    unless they end the held-out rows, so that every row keeps its position modulo ``ALIGN`` and, at the end,
    its place in the final partial block (any block size dividing ``ALIGN``).
    """
    rows = _read_rows_task(path, keep, features)
    n, front = len(rows), offset % ALIGN
    back = 0 if offset + n == total else -(front + n) % ALIGN
    padded = rows.iloc[np.r_[np.zeros(front, int), np.arange(n), np.zeros(back, int)]]
    return np.asarray(model.predict(padded))[front:front + n]


def holdout_scorer(files: list[Path], hold: np.ndarray, features: list[str], client: Any):
    """``score(model)``: a fitted model's P(y = 1) of every held-out patient, per part file on the workers
    (:func:`_score_task`), in dataset order: the same bytes as ``model.predict`` of the whole held-out frame."""
    masks = [np.asarray(m, dtype=bool) for m in part_slices(files, hold)]
    offsets = np.r_[0, np.cumsum([m.sum() for m in masks])]
    total = int(offsets[-1])
    picked = [(str(f), m, int(o)) for f, m, o in zip(files, masks, offsets[:-1], strict=True) if m.any()]

    def score(model: Any) -> np.ndarray:
        if not picked:
            return np.zeros(0)
        args = [(f, m, list(features), model, o, total) for f, m, o in picked]
        if client is None:
            return np.concatenate([_score_task(*a) for a in args])
        # the model goes inside each task, not scattered: a lost worker's tasks rerun elsewhere from the files
        return np.concatenate(client.gather([client.submit(_score_task, *a, pure=False) for a in args]))
    return score


def prediction_rows(cohort_files: list[Path], twin_files: list[Path], hold: np.ndarray, schema: CohortSchema,
                    p: PredictionSection, seed: int, client: Any, encoder: Any) -> dict[str, Any]:
    """The training sample, its share of the twins and the held-out patients' outcomes and encoding.

    Returns ``rows`` (the sample, indices among the training patients), the frames ``train`` and ``twins``
    (index 0..n-1, dataset order), ``holdout`` (the held-out patients' outcome columns only), ``x_hold``
    (``encoder.transform`` of the held-out patients, per part on the workers), ``score_holdout``
    (:func:`holdout_scorer`) and ``figures`` for ``metrics.prediction.training_sample``.
    """
    hold = np.asarray(hold, dtype=bool)
    outcomes = [schema.time, schema.event]
    outcome = read_rows(cohort_files, ~hold, client=client, columns=outcomes)
    rows = training_sample(outcome, schema, p, seed)  # labels from the outcome columns only
    n_train, n_twins = len(outcome), dataset_rows(twin_files)
    del outcome
    tw = twin_sample(n_twins, n_train, len(rows), seed)
    twin_mask = np.zeros(n_twins, dtype=bool)
    twin_mask[tw] = True
    train = read_rows(cohort_files, within(~hold, rows), client=client)
    twins = read_rows(twin_files, twin_mask, client=client)
    holdout = read_rows(cohort_files, hold, client=client, columns=outcomes)
    x_hold = apply_rows(cohort_files, hold, encoder.transform, client=client, columns=list(encoder.features))
    figures = {"train": len(rows), "of_train": n_train, "twins": len(tw), "of_twins": n_twins,
               "sampled": bool(len(rows) < n_train)}
    return {"rows": rows, "train": train, "twins": twins, "holdout": holdout, "x_hold": x_hold,
            "score_holdout": holdout_scorer(cohort_files, hold, schema.features, client), "figures": figures}


__all__ = ["prediction_rows", "holdout_scorer", "apply_rows", "dataset_rows", "within"]
