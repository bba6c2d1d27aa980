"""The cohort as a partitioned Parquet dataset in the run directory, written and summarised on the workers.

The cohort stage writes every partition of the cohort's dask DataFrame to ``part.<i>.parquet`` (``i`` the
partition's index: the partitioning is the cohort's own — the simulator's ``rows_per_partition`` blocks or a
reader's chunks — so file names and bytes never depend on the number of workers). Each write task also
returns a small per-partition summary (row and event counts, the outcome columns the split needs); the
client concatenates those, never the rows. Later stages read the dataset back as a dask DataFrame
(:func:`read_dataset`), one file per partition, through pandas so values and dtypes are those written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.errors import OutputError
from syntwin.pipeline.context import Artifact
from syntwin.privacy.files import write_private_parquet

PART = "part.{:05d}.parquet"


def _write_part(part: pd.DataFrame, path: str, summarise: Callable[[pd.DataFrame], dict] | None) -> dict:
    """Task: write one partition (index dropped) to ``path``; return its summary."""
    part = part.reset_index(drop=True)
    write_private_parquet(part, path)
    out = {"rows": len(part)}
    if summarise is not None:
        out.update(summarise(part))
    return out


def write_dataset(data: dd.DataFrame, folder: str | os.PathLike, *, client: Any = None,
                  summarise: Callable[[pd.DataFrame], dict] | None = None) -> list[dict]:
    """Write ``data`` as ``folder/part.<i>.parquet`` on the workers; return one summary per partition.

    ``summarise(partition) -> dict`` runs in the same task, after the write (keep its result small).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [dask.delayed(_write_part, pure=False)(part, str(folder / PART.format(i)), summarise)
             for i, part in enumerate(data.to_delayed())]
    parts = client.gather(client.compute(tasks)) if client is not None else list(
        dask.compute(*tasks, scheduler="sync"))
    unseen = [PART.format(i) for i in range(len(parts)) if not (folder / PART.format(i)).exists()]
    if unseen:
        raise OutputError(f"the Dask workers wrote {len(unseen)} cohort partitions this process cannot see "
                          f"(e.g. {unseen[0]})", file=str(folder),
                          hint="the workers must share the run directory's filesystem (cluster/README.md)")
    return parts


def dataset_files(folder: str | os.PathLike) -> list[Path]:
    """The dataset's part files in partition order."""
    files = sorted(Path(folder).glob("part.*.parquet"))
    if not files:
        raise FileNotFoundError(f"no part.*.parquet in {folder}: not a dataset written by write_dataset")
    return files


def read_dataset(folder: str | os.PathLike) -> dd.DataFrame:
    """The dataset as a dask DataFrame, one partition per part file, read with pandas on the workers."""
    files = dataset_files(folder)
    meta = pq.read_schema(files[0]).empty_table().to_pandas()
    with dask.config.set({"dataframe.convert-string": False}):  # values and dtypes exactly as written
        return dd.from_map(pd.read_parquet, [str(f) for f in files], meta=meta, enforce_metadata=False,
                           label="read-cohort")


def part_rows(files: list[Path]) -> np.ndarray:
    """Rows of each part file, from the Parquet footers (no row read)."""
    return np.array([pq.read_metadata(f).num_rows for f in files], dtype=np.int64)


def part_slices(files: list[Path], mask: np.ndarray) -> list[np.ndarray]:
    """A row mask (or any per-row array) over the whole dataset, cut per part file (row counts from the footers)."""
    ends = np.cumsum(part_rows(files))
    if ends[-1] != len(mask):
        raise ValueError(f"the dataset has {ends[-1]} rows but the row mask {len(mask)}")
    return np.split(np.asarray(mask), ends[:-1])


def _read_rows_task(path: str, keep: np.ndarray, columns: list[str] | None) -> pd.DataFrame:
    """Task: the rows of one part file where ``keep`` is true (index dropped)."""
    part = pd.read_parquet(path, columns=columns)
    return part.loc[keep].reset_index(drop=True)


def _apply_task(path: str, keep: np.ndarray, columns: list[str] | None, fn: Callable[[pd.DataFrame], Any]) -> Any:
    """Task: ``fn`` of the rows of one part file where ``keep`` is true."""
    return fn(_read_rows_task(path, keep, columns))


def _per_part(files: list[Path], mask: np.ndarray, task: Callable[..., Any], *args: Any, client: Any) -> list:
    """``task(path, keep, *args)`` for each part file with rows under ``mask``, on the workers, in order."""
    masks = [np.asarray(m, dtype=bool) for m in part_slices(files, mask)]
    picked = [(str(f), m) for f, m in zip(files, masks, strict=True) if m.any()]
    if client is not None:
        return client.gather([client.submit(task, f, m, *args, pure=False) for f, m in picked])
    return [task(f, m, *args) for f, m in picked]


def read_rows(files: list[Path], mask: np.ndarray, *, client: Any = None,
              columns: list[str] | None = None) -> pd.DataFrame:
    """The dataset's rows where ``mask`` is true, in dataset order, as one pandas frame on the client.

    Each part file is read and filtered on a worker; only the selected rows travel. This is how a stage takes
    a bounded subset (a training sample, the attack targets) without the whole cohort on the client.
    """
    parts = _per_part(files, mask, _read_rows_task, columns, client=client)
    if not parts:
        return pd.read_parquet(files[0], columns=columns).iloc[:0]
    return pd.concat(parts, ignore_index=True)


def apply_rows(files: list[Path], mask: np.ndarray, fn: Callable[[pd.DataFrame], np.ndarray], *, client: Any,
               columns: list[str] | None = None) -> np.ndarray:
    """``fn`` (row-wise: one output row per input row) of the dataset's rows under ``mask``, computed per part
    file on the workers, concatenated in dataset order; only the outputs travel."""
    parts = _per_part(files, mask, _apply_task, columns, fn, client=client)
    return np.concatenate(parts) if parts else fn(pd.read_parquet(files[0], columns=columns).iloc[:0])


def concat_summaries(parts: list[dict], key: str) -> np.ndarray:
    """Per-partition arrays ``key`` of :func:`write_dataset` summaries, concatenated in partition order."""
    return np.concatenate([np.asarray(p[key]) for p in parts]) if parts else np.zeros(0)


class outcome_columns:  # noqa: N801 - used like a function; a class so that it pickles to workers
    """Summary of one partition: its outcome columns (time float64, event int64), for the holdout split."""

    def __init__(self, schema: Any) -> None:
        self.time, self.event = schema.time, schema.event

    def __call__(self, part: pd.DataFrame) -> dict:
        return {"time": part[self.time].to_numpy(np.float64), "event": part[self.event].to_numpy(np.int64)}


def _keep_dataset(value: Any, path: Path) -> None:
    """Artifact save: a dataset already written at ``path`` is kept; a dask DataFrame is written there."""
    if isinstance(value, dd.DataFrame):
        write_dataset(value, path)
    elif Path(value).resolve() != path.resolve():
        raise ValueError(f"dataset artifact must be written at {path}, got {value}")
    dataset_files(path)


#: A partitioned cohort as a checkpointed stage artifact: the stage writes it in place (``ctx.scratch``).
DATASET = Artifact("", _keep_dataset, read_dataset)


__all__ = ["write_dataset", "read_dataset", "dataset_files", "part_rows", "part_slices", "read_rows", "apply_rows", "concat_summaries", "outcome_columns", "DATASET"]
