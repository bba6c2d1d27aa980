"""Read a cohort from CSV/TSV or Parquet through a :class:`SchemaMapping`, validating every row.

Row numbers: every error's ``row`` is the **1-based data row, header excluded** (the first
patient is row 1; in a spreadsheet that shows the header on line 1 it is sheet row 2). Blank
lines are skipped and not numbered; CSV errors about the file's structure also give the
physical line.

CSV is parsed by pyarrow (fast path); if that meets a wrong field count, a quoting error or a
value running over lines, the file is re-read with Python's strict ``csv`` module, which knows
the physical line of every record and names the row, line and column of the problem.

The source is streamed once in the calling process, ``rows_per_partition`` rows at a time:
each chunk is stripped, recoded, converted and validated, and kept as a typed pandas frame
(floats, int 0/1, Arrow strings); the partitions then form the dask DataFrame. Value problems
are collected over the whole file and the first one (in file order) is raised with the number
of rows it affects; rows are never dropped.
"""

from __future__ import annotations

import difflib
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.mapping import MONTHS_PER, SchemaMapping
from syntwin.cohort.presets import resolve_mapping
from syntwin.cohort.blocks import (PART, Fallback, Source, check_folder, cohort_frame, csv_blocks, merge_sides,
                                   missing_counts, parquet_blocks, read_part, run_blocks, write_part)
from syntwin.cohort.sources import (Issues, Restart, _stripped_header, csv_chunks, csv_header, parquet_chunks,
                                    scan_encoding)
from syntwin.errors import CohortError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
STRING = pd.StringDtype("pyarrow")
CREATED_ID_RULE = "identifier {name!r} created from the data row number (absent in the source)"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)(?:\s*[A-Za-z][A-Za-z ]*)?$")
_OPEN = re.compile(r"^(\d+(?:\.\d+)?)\s*\+(?:\s*[A-Za-z][A-Za-z ]*)?$")
_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s*[A-Za-z][A-Za-z ]*$")


# ---------------------------------------------------------------- cleaning


def _text(v: object) -> str:
    """Text form of one distinct source value (Parquet numbers print without a trailing ``.0``)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v.item() if isinstance(v, np.generic) else v)


def _canon_number(s: str) -> str:
    v = float(s)
    return str(int(v)) if v.is_integer() else repr(v)


def _midpoint(text: str) -> str | None:
    """``'60-64 years'`` -> ``'62'``, ``'85+ years'`` -> ``'87'``, ``'05 years'`` -> ``'5'``."""
    if m := _RANGE.match(text):
        return _canon_number(str((float(m[1]) + float(m[2])) / 2))
    if m := _OPEN.match(text):
        return _canon_number(str(float(m[1]) + 2))
    if m := _UNIT.match(text):
        return _canon_number(m[1])
    return None


@dataclass
class _Plan:
    mapping: SchemaMapping
    present: dict[str, str]  # cohort column -> source header, for columns in the source
    created_id: str | None
    file: str
    sources: dict[str, list[str]] = field(default_factory=dict)  # cohort column -> present headers, in order

    def role(self, col: str) -> str:
        m = self.mapping
        if col in m.numeric or col == m.time:
            return "numeric"
        if col in m.ordinal:
            return "ordinal"
        if m.event and col == m.event.column:
            return "event"
        return "text"


@dataclass
class _Column:
    """A chunk's column as distinct values plus codes: every rule runs once per distinct value.

    ``values[codes]`` gives the rows; the last entry of ``values`` is the missing slot that
    ``codes == -1`` points to.
    """

    codes: np.ndarray
    values: list
    counts: np.ndarray

    def rows_of(self, mask_u: list[bool] | np.ndarray) -> np.ndarray:
        """Row mask from a mask over ``values``."""
        return np.asarray(mask_u, dtype=bool)[self.codes]


def _clean_text(col: str, raw: pd.Series, plan: _Plan, report: CleaningReport) -> _Column:
    """Strip, apply missing tokens and recodes, per distinct value; counts go to ``report``."""
    m, numeric = plan.mapping, plan.role(col) == "numeric"
    codes, uniq = pd.factorize(raw, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniq))
    tokens = set(m.missing_values)
    rec = {}
    for k, v in m.recode.get(col, {}).items():
        key = k.strip()
        rec[_canon_number(key) if numeric and _NUMBER.match(key) else key] = (k, v)
    values: list = []
    for u, k in zip(uniq, counts, strict=True):
        u = _text(u)
        s = u.strip()
        if s != u:
            report.count(f"{col}: leading/trailing spaces stripped", k)
        if numeric and _NUMBER.match(s):
            c = _canon_number(s)
            if c != s.lstrip("+"):
                report.count(f"{col}: zero-padded or decimal numbers normalised (e.g. '0059' -> '59')", k)
            s = c
        if s in tokens:
            report.count(f"{col}: {s!r} -> missing", k)
            s = None
        elif s in rec:
            key, s = rec[s]
            report.count(f"{col}: {key!r} -> {'missing' if s is None else repr(s)}", k)
        values.append(s)
    values.append(None)
    n_null = int((codes < 0).sum())
    report.count(f"{col}: missing (null) in the source", n_null)
    if m.unknown_values and plan.role(col) == "text":
        unknown = set(m.unknown_values)
        for v, k in zip(values, counts, strict=False):
            if v in unknown:
                report.count(f"{col}: {v!r} kept as a category (means unknown)", k)
    return _Column(codes, values, np.append(counts, n_null))


def _convert(col: str, c: _Column, rows: np.ndarray, plan: _Plan, issues: Issues,
             report: CleaningReport) -> pd.Series | np.ndarray:
    """Turn cleaned distinct values into the column's dtype, recording bad values in ``issues``."""
    m, src = plan.mapping, plan.present.get(col, col)
    where = f"column {src!r} (cohort column {col!r})"
    role = plan.role(col)
    vals = c.values
    missing_u = [v is None for v in vals]
    outcome = col in (m.time, m.event and m.event.column)
    required = col in m.required or (outcome and m.missing_outcome == "error") or col in m.identifiers
    if required and (c.counts[missing_u] > 0).any():
        issues.add("missing", col, rows[c.rows_of(missing_u)], [""], priority=1, field=src,
                   message=f"{{count}} {{rows}} {{have}} no value in required {where}",
                   hint="fill the value, or (features only) remove the column from `required`")

    def flag(kind: str, bad_u: list[bool], message: str, hint: str) -> None:
        mask = c.rows_of(bad_u)
        issues.add(kind, col, rows[mask], np.asarray(vals, dtype=object)[c.codes[mask]], priority=1,
                   field=src, message=message, hint=hint)

    if role == "numeric":
        if col in m.range_midpoints:
            mids = [None if v is None else _midpoint(v) for v in vals]
            for i, (v, mid) in enumerate(zip(vals, mids, strict=True)):
                if mid is not None and mid != v:
                    report.count(f"{col}: {v!r} -> midpoint {mid}", c.counts[i])
            vals = [mid if mid is not None else v for v, mid in zip(vals, mids, strict=True)]
        num = pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce").to_numpy(dtype=float)
        flag("numeric", [v is not None and np.isnan(x) for v, x in zip(vals, num, strict=True)],
             f"{{count}} {{rows}} in {where} {{are}} not numbers; first: {{value!r}}",
             "add the code to `recode` (null = missing) or to `missing_values`")
        if col == m.time:
            flag("negative", list(num < 0),
                 f"{{count}} {{rows}} in {where} {{have}} a negative survival time; first: {{value}}",
                 "survival times must be >= 0")
            if m.time_unit != "months":
                num = num * MONTHS_PER[m.time_unit]
                report.count(f"{col}: converted from {m.time_unit} to months (x {MONTHS_PER[m.time_unit]:.6g})",
                             int(c.counts[~np.asarray(missing_u)].sum()))
        return num[c.codes]
    if role == "ordinal":
        levels = set(m.ordinal[col])
        flag("level", [v is not None and v not in levels for v in vals],
             f"{{count}} {{rows}} in {where} {{are}} not levels {m.ordinal[col]}; first: {{value!r}}",
             "add a `recode` entry for the value, or add the level to the mapping")
    elif role == "event":
        pos = {v.strip() for v in m.event.positive}
        neg = {v.strip() for v in m.event.negative}
        exc = {v.strip() for v in m.event.exclude}
        for v, k in zip(vals, c.counts, strict=False):
            if v in exc:
                report.count(f"{col}: {v!r} -> patient left out (event.exclude)", k)
        flag("event", [v is not None and v not in pos | neg | exc for v in vals],
             f"{{count}} {{rows}} in {where} {{are}} neither positive {sorted(pos)} nor "
             f"negative {sorted(neg)}; first: {{value!r}}",
             "list the value under event.positive or event.negative")
        for v, k in zip(vals, c.counts, strict=True):
            if v in pos or v in neg:
                report.count(f"{col}: {v!r} -> {1 if v in pos else 0}", k)
        return np.asarray([v in pos for v in vals], dtype="int64")[c.codes]
    return pd.array(np.asarray(vals, dtype=object)[c.codes], dtype=STRING)


def _clean_chunk(raw: pd.DataFrame, plan: _Plan, issues: Issues, report: CleaningReport,
                 ids: list[pd.DataFrame]) -> pd.DataFrame:
    rows = raw["_row"].to_numpy()
    out = {}
    schema = plan.mapping.to_schema(absent=[c for c in plan.mapping.optional if c not in plan.present])
    drop = np.zeros(len(raw), dtype=bool)
    for col in schema.columns:
        if col == plan.created_id:
            out[col] = rows.astype("int64")
            continue
        cleaned = _clean_text(col, _coalesce(raw, plan, col, report), plan, report)
        out[col] = _convert(col, cleaned, rows, plan, issues, report)
        if col in schema.outcomes and plan.mapping.missing_outcome == "drop":
            drop |= cleaned.rows_of([v is None for v in cleaned.values])
        if col == schema.event and plan.mapping.event.exclude:
            excluded = {v.strip() for v in plan.mapping.event.exclude}
            drop |= cleaned.rows_of([v in excluded for v in cleaned.values])
        if col in schema.identifiers:
            ids.append(pd.DataFrame({"id": out[col], "row": rows, "col": col}))
    frame = pd.DataFrame(out, index=raw.index)
    if drop.any():
        report.count("rows left out (missing outcome with missing_outcome: drop, or event.exclude)", int(drop.sum()))
        report.rows_dropped += int(drop.sum())
        frame = frame[~drop]
    return frame


def _blank(s: pd.Series, tokens: set[str]) -> np.ndarray:
    """Rows of ``s`` that are missing or a missing-value token (after stripping)."""
    text = s.astype(object).where(s.notna(), None)
    return np.array([v is None or str(v).strip() in tokens for v in text], dtype=bool)


def _coalesce(raw: pd.DataFrame, plan: _Plan, col: str, report: CleaningReport) -> pd.Series:
    """The column's first present source, its blank values filled from the alternatives in order."""
    first, *alts = plan.sources.get(col, [plan.present[col]])
    out = raw[first]
    if not alts:
        return out
    tokens = set(plan.mapping.missing_values)
    out = out.astype(object)
    for alt in alts:
        take = _blank(out, tokens) & ~_blank(raw[alt], tokens)
        if take.any():
            out = out.where(~take, raw[alt].astype(object))
            report.count(f"{col}: value taken from {alt!r} where {first!r} is blank", int(take.sum()))
    return out


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
            return dd.from_map(read_part, [f for f, _, _ in self.parts], offsets, meta=self.meta,
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
