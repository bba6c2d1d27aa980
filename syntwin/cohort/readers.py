"""Read a cohort from CSV/TSV or Parquet through a :class:`SchemaMapping`, validating every row.

Row numbers: every error's ``row`` is the **1-based data row, header excluded** (the first
patient is row 1; in a spreadsheet that shows the header on line 1 it is sheet row 2). Blank
lines are skipped and not numbered; CSV errors about the file's structure also give the
physical line.

CSV is parsed by pyarrow (fast path); if that meets a wrong field count, a quoting error or a
value running over lines, the file is re-read with Python's strict ``csv`` module, which knows
the physical line of every record and names the row, line and column of the problem.

The source is read in blocks of ``rows_per_partition`` source rows (:mod:`syntwin.cohort.blocks`):
the client lays out the blocks and keeps only small side results; each block is parsed, stripped,
recoded, converted and validated by a task (on the Dask workers with ``client``) and becomes one
partition of typed values (floats, int 0/1, Arrow strings), written to a part file when a ``folder``
is given. A file that does not split into checked blocks is streamed here chunk by chunk instead
(spilled to the folder when given). Value problems are collected over the whole file and the first
one (in file order) is raised with the number of rows it affects; rows are never dropped silently.
"""

from __future__ import annotations

import difflib
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.cohort.blocks import (PART, Fallback, Source, check_folder, cohort_frame, csv_blocks, merge_sides,
                                   missing_counts, parquet_blocks, read_part, run_blocks, write_part)
from syntwin.cohort.sources import (Issues, Restart, _stripped_header, csv_chunks, csv_header, parquet_chunks,
                                    scan_encoding)
from syntwin.cohort.cleaning import _clean_chunk, _Plan
from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.presets import resolve_mapping
from syntwin.errors import CohortError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
CREATED_ID_RULE = "identifier {name!r} created from the data row number (absent in the source)"


def _check_ids(ids: list[pd.DataFrame], plan: _Plan, issues: Issues) -> None:
    if not ids:
        return
    allids = pd.concat(ids, ignore_index=True)
    for col, grp in allids.groupby("col", sort=False):
        dup = grp["id"].notna() & grp["id"].duplicated(keep="first")
        add_duplicates(issues, plan, col, grp["row"][dup].to_numpy(), grp["id"][dup])


def add_duplicates(issues: Issues, plan: _Plan, col: str, rows: np.ndarray, values, count: int | None = None) -> None:
    """Record the rows of ``col`` whose identifier an earlier row already used."""
    src = plan.present[col]
    issues.add("duplicate", col, rows, values, priority=1, field=src, count=count,
               message=f"{{count}} duplicate {{rows}}: identifier already used by an earlier row "
                       f"in column {src!r}; first: {{value!r}}",
               hint="identifiers must be unique; remove the duplicate rows or fix the ids")


def _plan(mapping: SchemaMapping, names: list[str], file: str, report: CleaningReport) -> _Plan:
    available = set(names)
    present, missing, sources = {}, [], {}
    for src, dst in mapping.columns.items():
        found = [h for h in mapping.sources_of(dst) if h in available]
        if found:
            present[dst], sources[dst] = found[0], found
        elif dst not in mapping.optional:
            missing.append(src)
    if missing:
        lower = {n.lower(): n for n in names}
        parts = []
        for name in missing:
            close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.75)
            alts = mapping.sources_of(mapping.columns[name])[1:]
            parts.append(f"{name!r}" + (f" (or any of {alts})" if alts else "")
                         + (f" (did you mean {lower[close[0]]!r}?)" if close else ""))
        raise CohortError(
            f"missing required column(s): {', '.join(parts)}; the file has {names}",
            file=file, field=", ".join(missing),
            hint="rename the headers or fix `columns` in the mapping (headers are compared after "
                 "stripping spaces)",
        )
    for dst in mapping.optional:
        if dst not in present and dst not in mapping.identifiers:
            report.count(f"optional column {mapping.source_of[dst]!r} absent: {dst!r} left out", 1)
    created = [c for c in mapping.identifiers if c not in present]
    if len(created) > 1:
        raise CohortError(f"identifiers {created} are all absent; only one can be created", file=file,
                          field=created[0], hint="map a source column to the other identifiers")
    used = {h for found in sources.values() for h in found}
    for n in names:
        if n not in used:
            report.count(f"source column {n!r} not in the mapping: ignored", 1)
    return _Plan(mapping, present, created[0] if created else None, file, sources)


def _read(p: Path, file: str, mapping: SchemaMapping, n: int, *, exact: bool,
          sink: Callable[[pd.DataFrame], object] | None = None):
    """Stream, clean and validate the source here; returns (partitions, plan, report).

    With ``sink`` every cleaned chunk goes to ``sink(frame)`` at once and the partitions are what it returns.
    """
    report = CleaningReport(source=file)
    issues = Issues(file)
    if p.is_dir() or p.suffix.lower() == ".parquet":
        chunks = parquet_chunks(p, n, report)
    else:
        chunks = csv_chunks(p, n, report, issues, exact=exact)
    parts, ids, plan = [], [], None
    for raw in chunks:
        if plan is None:
            plan = _plan(mapping, [c for c in raw.columns if c != "_row"], file, report)
        if len(raw):
            frame = _clean_chunk(raw, plan, issues, report, ids)
            parts.append(frame if sink is None else sink(frame))
    issues.raise_first()
    if not parts:
        raise CohortError("no data rows: the file has a header but no patients (empty cohort)", file=file,
                          hint="export the cohort again; check the selection in the export session")
    _check_ids(ids, plan, issues)
    issues.raise_first()
    return parts, plan, report


def read_cohort(
    path: str | Path, mapping: SchemaMapping | str, *, rows_per_partition: int = 250_000,
    client: Any = None, folder: str | Path | None = None,
) -> Cohort:
    """Read, clean and validate a cohort file, in blocks of ``rows_per_partition`` source rows.

    Args:
        path: A ``.csv``/``.txt``/``.tsv`` file (comma, tab or semicolon separated, detected from
            the header line), a ``.parquet`` file, or a directory of ``.parquet`` files.
        mapping: A :class:`SchemaMapping` or a preset name (``"seer_breast_csv"``, ``"seer_stat"``).
        rows_per_partition: Source rows per block (one dask partition per block that keeps rows).
        client: Dask client whose workers parse and clean the blocks; ``None``: here, one block at a time.
        folder: New or empty folder for the cleaned part files (``part.<block>.parquet``): the returned
            data then reads them. Without it the partitions parse their block again when computed. On
            any error the folder is removed.

    Returns:
        ``Cohort(data, schema, report)``: ``data`` has the schema's columns in order (numeric and
        time float64, event int64, other columns Arrow strings, a created id int64); ``report``
        counts every cleaning rule and ``report.rows_read == len(data)``.

    Raises:
        CohortError: With ``file``, ``row`` (1-based data row, header excluded) and ``field``.
    """
    mapping = resolve_mapping(mapping)
    if rows_per_partition < 1:
        raise ValueError(f"rows_per_partition must be >= 1, got {rows_per_partition}")
    p = Path(path)
    file = str(path)
    if not p.exists():
        raise CohortError("cohort file not found", file=file,
                          hint=f"check the path (relative paths start from {Path.cwd()})")
    suffix = p.suffix.lower()
    if not (p.is_dir() or suffix == ".parquet" or suffix in CSV_SUFFIXES):
        raise CohortError(f"unsupported file type {suffix!r}", file=file,
                          hint="use .csv, .txt or .tsv (delimited text) or .parquet / a parquet directory")
    parts = None if folder is None else Path(folder)
    if parts is not None:
        check_folder(parts)
    try:
        try:
            data, plan, report, n, missing = _read_blocks(p, file, mapping, rows_per_partition, client, parts)
        except Fallback:
            if parts is not None:
                _empty(parts)
            data, plan, report, n, missing = _read_streamed(p, file, mapping, rows_per_partition, parts)
        report.rows_read = n
        if plan.created_id:
            report.count(CREATED_ID_RULE.format(name=plan.created_id), n)
        absent = [c for c in mapping.optional if c not in plan.present and c != plan.created_id]
        schema = mapping.to_schema(absent=absent)
        if n == 0:
            raise CohortError("no patient left: every row lacks a follow-up time or event", file=file,
                              hint="map the outcome columns, or set missing_outcome: error to see the first row")
        report.missing = {c: int(k) for c in schema.features if (k := missing.get(c, 0))}
        for c, k in report.missing.items():
            report.count(f"{c}: {k} missing value(s) kept as missing (twins reproduce the share)", k)
        return Cohort(data=data(), schema=schema, report=report)
    except BaseException:
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
        raise


def _empty_raw(names: list[str]) -> pd.DataFrame:
    raw = pd.DataFrame({c: pd.Series([], dtype=object) for c in names})
    raw["_row"] = np.zeros(0, dtype="int64")
    return raw


def _read_blocks(p: Path, file: str, mapping: SchemaMapping, n: int, client: Any, folder: Path | None):
    """The blockwise read (:mod:`syntwin.cohort.blocks`); raises :class:`Fallback` where it cannot apply.

    Any problem of the header or the layout falls back too, so that the sequential reader raises the
    error it always raised first.
    """
    report = CleaningReport(source=file)
    try:
        if p.is_dir() or p.suffix.lower() == ".parquet":
            files = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
            schemas = [[c.strip() for c in pq.read_schema(f).names] for f in files]
            if not files or any(s != schemas[0] for s in schemas):
                raise Fallback
            names = _stripped_header(list(pq.read_schema(files[0]).names), file, report)
            source, blocks = Source("parquet", tuple(names)), parquet_blocks(files, n)
        else:
            enc = scan_encoding(p, report)
            names, delim, lines = csv_header(p, enc, report)
            source, blocks = Source("csv", tuple(names), enc, delim), csv_blocks(p, lines, n)
        plan = _plan(mapping, names, file, report)
    except CohortError:
        raise Fallback from None
    meta = _clean_chunk(_empty_raw(names), plan, Issues(file), CleaningReport(source=file), [])
    sides, dups = run_blocks(blocks, source, plan, _clean_chunk, client=client, folder=folder)
    issues = Issues(file)
    merge_sides(sides, issues, report)
    issues.raise_first()
    for col in meta.columns:
        if col in dups:
            row, value, count = dups[col]
            add_duplicates(issues, plan, col, np.array([row]), [value], count=count)
    issues.raise_first()
    n_kept = sum(s["kept"] for s in sides)
    return (lambda: cohort_frame(blocks, sides, source, plan, _clean_chunk, meta, folder),
            plan, report, n_kept, missing_counts(sides))


class _Spill:
    """Sink of the sequential reader with a folder: each cleaned chunk becomes a part file at once."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.parts, self.meta = folder, [], None

    def __call__(self, frame: pd.DataFrame) -> int:
        if self.meta is None:
            self.meta = frame.iloc[:0]
        if len(frame):
            path = str(self.folder / PART.format(len(self.parts)))
            write_part(frame, path)
            self.parts.append((path, len(frame), frame.isna().sum().to_dict()))
        return len(frame)

    def data(self) -> dd.DataFrame:
        kept = [k for _, k, _ in self.parts]
        offsets = np.concatenate(([0], np.cumsum(kept)[:-1])).astype(int).tolist()
        with dask.config.set({"dataframe.convert-string": False}):
            return dd.from_map(read_part, [f for f, _, _ in self.parts], offsets,
                               [self.meta.dtypes.to_dict()] * len(offsets), meta=self.meta,
                               divisions=(*offsets, offsets[-1] + kept[-1] - 1), enforce_metadata=False,
                               label="read-cohort")


def _read_streamed(p: Path, file: str, mapping: SchemaMapping, n: int, folder: Path | None):
    """The sequential reader (pyarrow, then the strict path on a structural problem), spilling to ``folder``."""
    sink = None if folder is None else _Spill(folder)
    try:
        parts, plan, report = _read(p, file, mapping, n, exact=False, sink=sink)
    except Restart:
        if folder is not None:
            _empty(folder)
            sink = _Spill(folder)
        parts, plan, report = _read(p, file, mapping, n, exact=True, sink=sink)
    if sink is not None:
        missing: dict[str, int] = {}
        for _, _, m in sink.parts:
            for c, k in m.items():
                missing[c] = missing.get(c, 0) + int(k)
        return sink.data, plan, report, sum(parts), missing
    df = pd.concat(parts, ignore_index=True)
    n_kept = len(df)
    return (lambda: dd.from_pandas(df, npartitions=max(1, math.ceil(n_kept / n)), sort=True),
            plan, report, n_kept, df.isna().sum().to_dict())


def _empty(folder: Path) -> None:
    for f in folder.iterdir():
        f.unlink()


__all__ = ["read_cohort", "CSV_SUFFIXES", "CREATED_ID_RULE"]
