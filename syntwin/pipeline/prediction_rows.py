"""The rows the prediction stage reads from the cohort and twin datasets: never the whole cohort on the client.

The methods fit on a training sample of at most ``prediction.max_train_rows`` patients
(:func:`~syntwin.pipeline.predict.training_sample`, drawn from the training patients' outcome columns alone) and
the same share of the twins (:func:`~syntwin.pipeline.predict.twin_sample`, counted from the twin files'
Parquet footers); every held-out patient is scored. :func:`prediction_rows` reads exactly those rows with
:func:`~syntwin.pipeline.dataset.read_rows` (filtered on the workers), in dataset order, so they are the rows
``train.iloc[sample]``, ``twins.iloc[twin_sample]`` and ``holdout`` of the whole frames, same values and dtypes.

On the client: ``n_train`` outcome pairs (16 bytes each), at most ``max_train_rows`` training rows and
``ratio x max_train_rows`` twins, and the held-out patients, a ``cohort.holdout`` share of the cohort.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.cohort import CohortSchema
from syntwin.pipeline.dataset import read_rows
from syntwin.pipeline.predict import training_sample, twin_sample
from syntwin.scenario.cohort import PredictionSection


def dataset_rows(files: list[Path]) -> int:
    """Rows of a partitioned dataset, from its part files' Parquet footers (no row read)."""
    return int(sum(pq.read_metadata(f).num_rows for f in files))


def within(mask: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """The rows ``picked`` (indices among the rows where ``mask`` is true) as a mask over all rows.

    E.g. the training sample (indices among the training rows) as a mask over the cohort.
    """
    out = np.zeros(len(mask), dtype=bool)
    out[np.flatnonzero(mask)[picked]] = True
    return out


def prediction_rows(cohort_files: list[Path], twin_files: list[Path], hold: np.ndarray, schema: CohortSchema,
                    p: PredictionSection, seed: int, client: Any) -> dict[str, Any]:
    """The training sample, its share of the twins and all held-out patients, read from the datasets.

    Returns ``rows`` (the sample, indices among the training patients), the frames ``train``, ``twins`` and
    ``holdout`` (index 0..n-1, dataset order) and ``figures`` for ``metrics.prediction.training_sample``.
    """
    hold = np.asarray(hold, dtype=bool)
    outcome = read_rows(cohort_files, ~hold, client=client, columns=[schema.time, schema.event])
    rows = training_sample(outcome, schema, p, seed)  # labels from the outcome columns only
    n_train, n_twins = len(outcome), dataset_rows(twin_files)
    del outcome
    tw = twin_sample(n_twins, n_train, len(rows), seed)
    twin_mask = np.zeros(n_twins, dtype=bool)
    twin_mask[tw] = True
    train = read_rows(cohort_files, within(~hold, rows), client=client)
    twins = read_rows(twin_files, twin_mask, client=client)
    holdout = read_rows(cohort_files, hold, client=client)
    figures = {"train": len(rows), "of_train": n_train, "twins": len(tw), "of_twins": n_twins,
               "sampled": bool(len(rows) < n_train)}
    return {"rows": rows, "train": train, "twins": twins, "holdout": holdout, "figures": figures}


__all__ = ["prediction_rows", "dataset_rows", "within"]
