"""The export streamed per part of a twins dataset: the same release as :func:`~syntwin.export.run.export_twins`.

:func:`~syntwin.export.tables.releasable` has two steps that look at the whole table, done here in two passes of
one task per part file (on the Dask workers, or in this process without a client):

1. **Summaries.** Each part drops the twins that copy a training patient (``exclude_keys``), labels every row
   with its banded quasi-identifier class (:func:`~syntwin.privacy.kanon.generalise`) and returns, per class, its
   row count and, per float column, whether its values are present / missing / infinite / not whole / beyond
   2**53. The client sums those per class: a class is released when its total is at least ``k`` (the
   suppression of :func:`~syntwin.privacy.kanon.small_class_mask`, whose class sizes are these totals), and a
   float column becomes ``int64`` (``Int64`` when a released value is missing) exactly when
   :func:`~syntwin.export.tables.whole_numbers_as_int` would cast it on the whole released table.
   What travels is bounded by the number of classes, not of twins.
2. **Parts.** Each part applies the same row filter and casts and writes its piece of every format: Parquet
   ``part-<j>.parquet``, CSV rows without header, FHIR ``<Type>.<j>.ndjson`` (ids numbered across parts from
   the per-part released counts of pass 1, so twin ``i`` is ``twin-i`` as in the whole-table export), and the
   counts per combination of each aggregate table's columns.

The client then assembles: ``twins.parquet`` is one file with one row group per part when the release has at
most ``rows_per_file`` rows (read part by part with a ``ParquetWriter``), else a folder of the part files;
``twins.csv`` is the header and the parts' bytes appended in order; each ``fhir/<Type>.ndjson`` the parts'
bytes in order; the aggregates are suppressed (:func:`~syntwin.export.aggregate.aggregate_observed`) from the
summed counts. So CSV, FHIR and aggregates are the bytes the whole-table export writes, the Parquet holds the
same table, and the client holds at most one part's Arrow table at a time (Parquet ≤ ``rows_per_file`` only).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from syntwin.cohort.schema import CohortSchema
from syntwin.export.aggregate import MIN_CELL, default_aggregates, aggregate_observed
from syntwin.export.fhir import RESOURCE_TYPES, write_fhir_part
from syntwin.export.tables import ROWS_PER_FILE, write_csv
from syntwin.privacy.copies import row_keys
from syntwin.privacy.files import DIR_MODE, FILE_MODE
from syntwin.privacy.kanon import generalise

FLAGS = ("present", "missing", "inf", "fraction", "big")
_SEP = "\x1f"


def _columns(file: str, schema: CohortSchema) -> list[str]:
    names = pq.read_schema(file).names
    return [c for c in schema.modelled if c in names and c not in schema.identifiers]


def _filtered(file: str, cols: list[str], release: Mapping[str, Any] | None) -> tuple[pd.DataFrame, np.ndarray]:
    """A part's releasable columns without the copies of training patients, and each row's class key."""
    table = pd.read_parquet(file, columns=cols)
    if release and release.get("exclude_keys"):
        keys = np.asarray(release["exclude_keys"], dtype=np.uint64)
        table = table.loc[~np.isin(row_keys(table, list(release["key_columns"])), keys)]
    table = table.reset_index(drop=True)
    quasi = [c for c in (release or {}).get("quasi_identifiers", ()) if c in table.columns]
    if not quasi or not len(table):
        return table, np.full(len(table), "", dtype=object)
    g = generalise(table, quasi, (release or {}).get("bands") or {})
    key = g[quasi[0]].astype(str)
    for c in quasi[1:]:
        key = key + _SEP + g[c].astype(str)
    return table, key.to_numpy(dtype=object)


def _summary_task(file: str, cols: list[str], release: Mapping[str, Any] | None) -> pd.DataFrame:
    """Pass 1: per class of this part, its rows and, per float column, the flags of :data:`FLAGS`."""
    table, key = _filtered(file, cols, release)
    out = {"key": key, "n": np.ones(len(table), dtype=np.int64)}
    for c in cols:
        if pd.api.types.is_float_dtype(table[c].dtype):
            x = table[c].to_numpy(dtype=np.float64, na_value=np.nan)
            ok = np.isfinite(x)
            out |= {f"{c}|present": ok, f"{c}|missing": ~ok, f"{c}|inf": np.isinf(x),
                    f"{c}|fraction": ok & (x != np.round(x)), f"{c}|big": ok & (np.abs(np.where(ok, x, 0)) >= 2**53)}
    frame = pd.DataFrame(out)
    agg = {k: ("sum" if k == "n" else "any") for k in frame.columns if k != "key"}
    return frame.groupby("key", sort=False).agg(agg).reset_index()


def _casts(classes: pd.DataFrame, cols: list[str]) -> dict[str, str]:
    """The dtype each float column gets in the release (:func:`~syntwin.export.tables.whole_numbers_as_int`)."""
    out = {}
    for c in cols:
        if f"{c}|present" not in classes.columns:
            continue
        f = {flag: bool(classes[f"{c}|{flag}"].any()) for flag in FLAGS}
        if f["present"] and not f["inf"] and not f["fraction"] and not f["big"]:
            out[c] = "Int64" if f["missing"] else "int64"
    return out


def _part_task(file: str, j: int, cols: list[str], release: Mapping[str, Any] | None, kept: set | None,
               casts: dict[str, str], work: str, formats: Sequence[str], start: int, fhir: dict,
               aggregates: list[list[str]]) -> dict:
    """Pass 2: this part's released rows written in every format (see the module docstring)."""
    table, key = _filtered(file, cols, release)
    if kept is not None:
        table = table.loc[pd.Series(key).isin(kept).to_numpy()].reset_index(drop=True)
    table = table.astype(casts) if casts else table
    work = Path(work)
    out: dict[str, Any] = {"rows": len(table)}
    if "parquet" in formats:
        path = work / "parquet" / f"part-{j:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)
    if "csv" in formats:
        table.to_csv(work / "csv" / f"part-{j:05d}.csv", header=False, index=False, lineterminator="\n")
    if "fhir" in formats:
        out["fhir"] = write_fhir_part(table, work / "fhir", j, start=start, **fhir)
    if aggregates:
        out["aggregates"] = [table.groupby(by, dropna=False, observed=True).size().rename("_n").reset_index()
                             for by in aggregates]
    return out


def _run(client: Any, fn: Callable, args: list[tuple], name: str) -> list:
    if client is None:
        return [fn(*a) for a in args]
    return client.gather([client.submit(fn, *a, key=f"syntwin-export-{name}-{os.getpid()}-{i}-{_token()}",
                                        pure=False) for i, a in enumerate(args)])


def _token() -> str:
    return os.urandom(4).hex()


def _append(paths: Sequence[Path], dest: Path, head: bytes = b"") -> None:
    with open(dest, "wb") as out:
        out.write(head)
        for p in paths:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)


def _parquet(parts: list[Path], dest: Path, rows: int, rows_per_file: int) -> None:
    """One file (a row group per non-empty part) up to ``rows_per_file`` rows, else a folder of the parts.

    Parts whose Arrow types differ (a column with no value in one part reads as ``null``) are cast to the
    unified schema, so every row group, or file, has the same one.
    """
    schemas = [pq.read_schema(p) for p in parts]
    unified = pa.unify_schemas([s.remove_metadata() for s in schemas]).with_metadata(
        next((s.metadata for p, s in zip(parts, schemas) if pq.read_metadata(p).num_rows), schemas[0].metadata))
    if rows <= rows_per_file:
        with pq.ParquetWriter(dest, unified) as writer:
            for p in parts:
                t = pq.read_table(p)
                if t.num_rows or p is parts[-1] and rows == 0:
                    writer.write_table(t.cast(unified) if not t.schema.equals(unified) else t)
        return
    dest.mkdir()
    for p, s in zip(parts, schemas):
        if s.remove_metadata().equals(unified.remove_metadata()):
            os.replace(p, dest / p.name)
        else:
            pq.write_table(pq.read_table(p).cast(unified), dest / p.name)


def export_parts(
    files: Sequence[str | os.PathLike],
    schema: CohortSchema,
    folder: Path,
    formats: Sequence[str],
    *,
    release: Mapping[str, Any] | None = None,
    site: str | None = None,
    client: Any = None,
    fhir_validate: int | None = 1_000,
    rows_per_file: int = ROWS_PER_FILE,
    min_cell: int = MIN_CELL,
    on_write: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Export the twins of the part files ``files`` (in order) as :func:`~syntwin.export.run.export_twins` would.

    Returns:
        ``{"written": {format: path}, "rows": released, "rows_generated": twins read, "columns": [...]}``.
    """
    from syntwin.export.run import FORMATS  # run.py imports this module

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid: {', '.join(FORMATS)}")
    files = [str(f) for f in files]
    if not files:
        raise ValueError("no twins part file to export")
    formats = list(dict.fromkeys(formats))
    cols = _columns(files[0], schema)
    release = dict(release) if release else None
    if release and release.get("exclude_keys") is not None:  # as a plain list once (it goes to every task)
        release["exclude_keys"] = [int(k) for k in release["exclude_keys"]]
    summaries = _run(client, _summary_task, [(f, cols, release) for f in files], "summary")
    classes = pd.concat([s.assign(part=j) for j, s in enumerate(summaries)], ignore_index=True)
    totals = classes.groupby("key", sort=False)["n"].sum()
    rows_generated = sum(pq.read_metadata(f).num_rows for f in files)
    kept: set | None = None
    if release:
        kept = set(totals.index[totals >= int(release["k"])])
        classes = classes[classes["key"].isin(kept)]
    per_part = classes.groupby("part")["n"].sum().reindex(range(len(files)), fill_value=0).to_numpy()
    starts = np.concatenate([[0], np.cumsum(per_part)[:-1]]).astype(int)
    casts = _casts(classes, cols)
    rows = int(per_part.sum())
    cats = [*schema.ordinal, *schema.categorical]
    aggregates = default_aggregates(cols, schema.event, cats) if "aggregates" in formats else []

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-parts.", dir=folder))
    try:
        for sub in ("parquet", "csv", "fhir"):
            (work / sub).mkdir()
        fhir = {"validate": fhir_validate, "event": schema.event, "site": site}
        done = _run(client, _part_task, [(f, j, cols, release, kept, casts, str(work), formats, int(starts[j]),
                                          fhir, aggregates) for j, f in enumerate(files)], "part")
        assert sum(d["rows"] for d in done) == rows, "the parts released other rows than their summaries said"
        written: dict[str, Path] = {}
        for fmt in formats:
            if fmt == "parquet":
                dest = work / "twins.parquet"
                _parquet(sorted((work / "parquet").glob("part-*.parquet")), dest, rows, rows_per_file)
                written[fmt] = _publish(dest, folder / "twins.parquet", on_write)
            elif fmt == "csv":
                dest = work / "twins.csv"
                head = pd.DataFrame(columns=cols).to_csv(index=False, lineterminator="\n").encode("utf-8")
                _append(sorted((work / "csv").glob("part-*.csv")), dest, head)
                written[fmt] = _publish(dest, folder / "twins.csv", on_write)
            elif fmt == "fhir":
                (folder / "fhir").mkdir(exist_ok=True)
                for kind in RESOURCE_TYPES:
                    if sum(d["fhir"][kind] for d in done) == 0:
                        continue
                    dest = work / f"{kind}.ndjson"
                    _append(sorted((work / "fhir").glob(f"{kind}.*.ndjson")), dest)
                    _publish(dest, folder / "fhir" / f"{kind}.ndjson", on_write)
                written[fmt] = folder / "fhir"
            else:
                for i, by in enumerate(aggregates):
                    merged = pd.concat([d["aggregates"][i] for d in done], ignore_index=True)
                    observed = merged.groupby(by, dropna=False, observed=True)["_n"].sum()
                    write_csv(aggregate_observed(observed, by, min_cell=min_cell),
                              folder / "aggregates" / f"{'_by_'.join(by)}.csv", on_write=on_write)
                written[fmt] = folder / "aggregates"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"written": written, "rows": rows, "rows_generated": int(rows_generated), "columns": cols}


def _publish(tmp: Path, final: Path, on_write: Callable[[Path], None] | None) -> Path:
    """Move an assembled file (or Parquet folder) into place, owner-only, after ``on_write`` saw it."""
    if on_write:
        on_write(tmp)
    for p in [tmp, *tmp.rglob("*")] if tmp.is_dir() else [tmp]:
        os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)
    if final.exists():
        shutil.rmtree(final) if final.is_dir() else final.unlink()
    os.replace(tmp, final)
    return final


__all__ = ["export_parts"]
