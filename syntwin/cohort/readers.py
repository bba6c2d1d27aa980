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

import codecs
import csv
import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.mapping import MONTHS_PER, SchemaMapping
from syntwin.cohort.presets import resolve_mapping
from syntwin.errors import CohortError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
STRING = pd.StringDtype("pyarrow")
CREATED_ID_RULE = "identifier {name!r} created from the data row number (absent in the source)"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)(?:\s*[A-Za-z][A-Za-z ]*)?$")
_OPEN = re.compile(r"^(\d+(?:\.\d+)?)\s*\+(?:\s*[A-Za-z][A-Za-z ]*)?$")
_BLANK = re.compile(rb"\n(?=\r?\n)")
_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s*[A-Za-z][A-Za-z ]*$")


@dataclass
class _Problem:
    """First occurrence and count of one kind of bad value in one column."""

    priority: int
    row: int
    value: object
    message: str
    field: str | None
    hint: str | None
    count: int = 0


@dataclass
class _Issues:
    """Problems collected over the whole file, keyed by (kind, column)."""

    file: str
    found: dict[tuple[str, str], _Problem] = field(default_factory=dict)

    def add(self, kind: str, column: str, rows: np.ndarray, values: pd.Series | list, **kw) -> None:
        if len(rows) == 0:
            return
        key = (kind, column)
        if key not in self.found:
            first = values.iloc[0] if isinstance(values, pd.Series) else values[0]
            first = first.item() if isinstance(first, np.generic) else first
            self.found[key] = _Problem(row=int(rows[0]), value=first, **kw)
        self.found[key].count += len(rows)

    def raise_first(self) -> None:
        if not self.found:
            return
        p = min(self.found.values(), key=lambda p: (p.priority, p.row))
        others = sum(q.count for q in self.found.values()) - p.count
        more = f"; {others} other bad value(s) in other columns or checks" if others else ""
        one = p.count == 1
        msg = p.message.format(value=p.value, count=p.count, rows="row" if one else "rows",
                               are="is" if one else "are", have="has" if one else "have")
        raise CohortError(msg + more, file=self.file, row=p.row, field=p.field, hint=p.hint)


# ---------------------------------------------------------------- sources


def _sniff_delimiter(line: str) -> str:
    """Tab or semicolon if the header line has more of them than commas, else comma."""
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _scan(path: Path) -> tuple[str, int]:
    """One binary pass: the encoding (``utf-8-sig`` if all of it is UTF-8, else ``latin-1``)
    and the number of blank lines (which are skipped and not numbered)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    enc, blank, last = "utf-8-sig", 0, b""
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            # a newline followed by an (optionally CR) newline ends a blank line; matches wholly
            # inside the previous block's tail were counted with that block
            blank += len(_BLANK.findall(last + block)) - len(_BLANK.findall(last))
            last = block[-2:]
            if enc == "utf-8-sig":
                try:
                    dec.decode(block)
                except UnicodeDecodeError:
                    enc = "latin-1"
    if enc == "utf-8-sig":
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            enc = "latin-1"
    return enc, blank


class _Restart(Exception):
    """The fast CSV path met a structural problem; re-read exactly to locate it."""


def _csv_chunks(path: Path, n: int, report: CleaningReport, issues: _Issues,
                exact: bool = False) -> Iterator[pd.DataFrame]:
    """Yield frames of text (header stripped) with a ``_row`` column; checks the structure.

    The fast path reads whole chunks; on a wrong field count or a quoting error it raises
    :class:`_Restart` and the caller re-reads with ``exact=True``, which tracks the physical
    line of every record to report where the problem is.
    """
    enc, blank = _scan(path)
    if enc != "utf-8-sig":
        report.count("file decoded as latin-1 (not valid UTF-8)", 1)
    report.count("blank lines skipped", blank)
    with path.open(newline="", encoding=enc) as fh:
        first = fh.readline()
        if not first.strip():
            raise CohortError("the file is empty (no header, no data rows)", file=str(path),
                              hint="export the cohort again with a header line")
        delim = _sniff_delimiter(first)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delim, strict=True)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise CohortError(f"malformed CSV header line: {exc}", file=str(path),
                              hint="a quote character (\") in the header is not closed") from None
        names = _stripped_header(header, str(path), report)
        width, buf, row, end = len(names), [], 0, reader.line_num
        if not exact:
            yield from _arrow_chunks(path, enc, delim, names, reader.line_num, n)
            return
        while True:
            start = end + 1
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise CohortError(
                    f"malformed CSV in data row {row + 1} starting on line {start}: {exc}",
                    file=str(path), row=row + 1, field=_quote_field(path, enc, start, delim, names),
                    hint="a quote character (\") is not closed or is followed by text; fix or remove it",
                ) from None
            end = reader.line_num
            if not rec:
                continue
            row += 1
            if len(rec) != width:
                rec = _bad_width(rec, names, row, start, issues)
            buf.append(rec)
            if len(buf) == n:
                yield _frame(buf, names, row)
                buf = []
        if buf or row == 0:
            yield _frame(buf, names, row)


def _arrow_chunks(path: Path, enc: str, delim: str, names: list[str], skip: int,
                  n: int) -> Iterator[pd.DataFrame]:
    """Fast path: pyarrow's CSV reader, ``n`` rows per frame; raises :class:`_Restart` on any doubt.

    pyarrow accepts some inputs the exact path rejects (a quoted value running over lines),
    so a value holding a line break also triggers the exact re-read.
    """
    cols = [f"c{i}" for i in range(len(names))]
    opts = {
        "read_options": pacsv.ReadOptions(column_names=cols, skip_rows=skip, block_size=1 << 24,
                                          encoding="utf8" if enc == "utf-8-sig" else enc),
        "parse_options": pacsv.ParseOptions(delimiter=delim),
        "convert_options": pacsv.ConvertOptions(column_types={c: pa.string() for c in cols},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
    }
    pending: list[pa.RecordBatch] = []
    have, row = 0, 0

    def emit(table: pa.Table) -> pd.DataFrame:
        for c in table.columns:
            if pc.any(pc.match_substring_regex(c, "[\r\n]")).as_py():
                raise _Restart
        df = table.rename_columns(names).to_pandas(types_mapper=pd.ArrowDtype)
        df["_row"] = np.arange(row - len(df) + 1, row + 1)
        return df

    try:
        for batch in pacsv.open_csv(path, **opts):
            pending.append(batch)
            have += batch.num_rows
            while have >= n:
                table = pa.Table.from_batches(pending)
                row += n
                yield emit(table.slice(0, n))
                rest = table.slice(n)
                pending, have = rest.to_batches(), rest.num_rows
        if have or row == 0:
            row += have
            yield emit(pa.Table.from_batches(pending, schema=pa.schema([(c, pa.string()) for c in cols])))
    except pa.ArrowInvalid:
        raise _Restart from None


def _frame(buf: list[list[str]], names: list[str], last_row: int) -> pd.DataFrame:
    """Records ending at data row ``last_row`` as a text frame with their ``_row`` numbers."""
    df = pd.DataFrame(buf, columns=names, dtype=object) if buf else pd.DataFrame(columns=names, dtype=object)
    df["_row"] = np.arange(last_row - len(buf) + 1, last_row + 1)
    return df


def _bad_width(rec: list[str], names: list[str], row: int, line: int, issues: _Issues) -> list[str]:
    """Record a wrong field count (or a quote swallowing lines) and pad/cut the record."""
    multi = [i for i, v in enumerate(rec) if "\n" in v]
    if multi:
        col = names[min(multi[0], len(names) - 1)]
        msg = f"unterminated quote: the value starting on line {line} runs over several lines " \
              f"({{count}} malformed {{rows}})"
        issues.add("quote", "", np.array([row]), [rec[multi[0]][:30]], priority=0, message=msg, field=col,
                   hint="close the quote character (\") or remove it")
    else:
        col = names[len(rec)] if len(rec) < len(names) else None
        msg = f"line {line} has {len(rec)} fields but the header has {len(names)} " \
              f"({{count}} malformed {{rows}})"
        issues.add("width", "", np.array([row]), [len(rec)], priority=0, message=msg, field=col,
                   hint="every line needs one value per header column; check for stray delimiters")
    return (rec + [""] * len(names))[: len(names)]


def _quote_field(path: Path, enc: str, line: int, delim: str, names: list[str]) -> str | None:
    """Name the column where an unclosed quote starts on physical ``line``."""
    with path.open(newline="", encoding=enc) as f2:
        for i, text in enumerate(f2, start=1):
            if i == line:
                fields = next(csv.reader([text.rstrip("\r\n")], delimiter=delim), [])
                return names[min(max(len(fields) - 1, 0), len(names) - 1)]
    return None


def _stripped_header(header: list[str], file: str, report: CleaningReport) -> list[str]:
    names = [h.strip() for h in header]
    for raw, name in zip(header, names, strict=True):
        if raw != name:
            report.count(f"header {raw!r} matched as {name!r} (whitespace stripped)", 1)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CohortError(f"header names {dup} appear more than once (after stripping spaces)", file=file,
                          field=dup[0], hint="rename the duplicated columns")
    return names


def _parquet_chunks(path: Path, n: int, report: CleaningReport) -> Iterator[pd.DataFrame]:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise CohortError("the directory holds no .parquet files", file=str(path),
                          hint="point to a .parquet file or a directory of them")
    row, names = 0, None
    for f in files:
        pf = pq.ParquetFile(f)
        these = [c.strip() for c in pf.schema_arrow.names]
        if names is None:
            names = _stripped_header(list(pf.schema_arrow.names), str(path), report)
        elif these != names:
            raise CohortError(f"columns differ from those of {files[0].name}: {these} vs {names}",
                              file=str(f), hint="every parquet file of a directory needs the same columns")
        for batch in pf.iter_batches(batch_size=n):
            df = batch.to_pandas()
            df.columns = [c.strip() for c in df.columns]
            df["_row"] = np.arange(row + 1, row + len(df) + 1)
            row += len(df)
            yield df
    if row == 0:
        yield pd.DataFrame(columns=[*(names or []), "_row"])


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


def _convert(col: str, c: _Column, rows: np.ndarray, plan: _Plan, issues: _Issues,
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


def _clean_chunk(raw: pd.DataFrame, plan: _Plan, issues: _Issues, report: CleaningReport,
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


def _check_ids(ids: list[pd.DataFrame], plan: _Plan, issues: _Issues) -> None:
    if not ids:
        return
    allids = pd.concat(ids, ignore_index=True)
    for col, grp in allids.groupby("col", sort=False):
        dup = grp["id"].notna() & grp["id"].duplicated(keep="first")
        src = plan.present[col]
        issues.add("duplicate", col, grp["row"][dup].to_numpy(), grp["id"][dup], priority=1, field=src,
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


def _read(p: Path, file: str, mapping: SchemaMapping, n: int, *, exact: bool):
    """Stream, clean and validate the source; returns (partitions, plan, report)."""
    report = CleaningReport(source=file)
    issues = _Issues(file)
    if p.is_dir() or p.suffix.lower() == ".parquet":
        chunks = _parquet_chunks(p, n, report)
    else:
        chunks = _csv_chunks(p, n, report, issues, exact=exact)
    parts, ids, plan = [], [], None
    for raw in chunks:
        if plan is None:
            plan = _plan(mapping, [c for c in raw.columns if c != "_row"], file, report)
        if len(raw):
            parts.append(_clean_chunk(raw, plan, issues, report, ids))
    issues.raise_first()
    if not parts:
        raise CohortError("no data rows: the file has a header but no patients (empty cohort)", file=file,
                          hint="export the cohort again; check the selection in the export session")
    _check_ids(ids, plan, issues)
    issues.raise_first()
    return parts, plan, report


def read_cohort(
    path: str | Path, mapping: SchemaMapping | str, *, rows_per_partition: int = 250_000
) -> Cohort:
    """Read, clean and validate a cohort file.

    Args:
        path: A ``.csv``/``.txt``/``.tsv`` file (comma, tab or semicolon separated, detected from
            the header line), a ``.parquet`` file, or a directory of ``.parquet`` files.
        mapping: A :class:`SchemaMapping` or a preset name (``"seer_breast_csv"``, ``"seer_stat"``).
        rows_per_partition: Rows per dask partition (and per reading chunk).

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
    try:
        parts, plan, report = _read(p, file, mapping, rows_per_partition, exact=False)
    except _Restart:
        parts, plan, report = _read(p, file, mapping, rows_per_partition, exact=True)
    n = sum(len(x) for x in parts)
    report.rows_read = n
    if plan.created_id:
        report.count(CREATED_ID_RULE.format(name=plan.created_id), n)
    absent = [c for c in mapping.optional if c not in plan.present and c != plan.created_id]
    schema = mapping.to_schema(absent=absent)
    df = pd.concat(parts, ignore_index=True)
    if df.empty:
        raise CohortError("no patient left: every row lacks a follow-up time or event", file=file,
                          hint="map the outcome columns, or set missing_outcome: error to see the first row")
    report.rows_read = n = len(df)
    report.missing = {c: int(k) for c in schema.features if (k := df[c].isna().sum())}
    for c, k in report.missing.items():
        report.count(f"{c}: {k} missing value(s) kept as missing (twins reproduce the share)", k)
    data = dd.from_pandas(df, npartitions=max(1, math.ceil(n / rows_per_partition)), sort=True)
    return Cohort(data=data, schema=schema, report=report)


__all__ = ["read_cohort", "CSV_SUFFIXES", "CREATED_ID_RULE"]
