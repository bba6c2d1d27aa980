"""Source files in blocks: encoding and blank-line scan, CSV (pyarrow fast path, strict ``csv`` re-read that
names the physical line of a structural problem) and Parquet chunks, and the problems collected over a file.

Each chunk is a frame of text with a ``_row`` column (1-based data row, header excluded); the cleaning of its
values is :mod:`syntwin.cohort.readers`'.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from syntwin.cohort.cohort import CleaningReport
from syntwin.errors import CohortError

_BLANK = re.compile(rb"\n(?=\r?\n)")


@dataclass
class Problem:
    """First occurrence and count of one kind of bad value in one column."""

    priority: int
    row: int
    value: object
    message: str
    field: str | None
    hint: str | None
    count: int = 0


@dataclass
class Issues:
    """Problems collected over the whole file, keyed by (kind, column)."""

    file: str
    found: dict[tuple[str, str], Problem] = field(default_factory=dict)

    def add(self, kind: str, column: str, rows: np.ndarray, values: pd.Series | list, *,
            count: int | None = None, **kw) -> None:
        """Record ``rows`` (file order) with ``values``; ``count`` overrides ``len(rows)`` (a merged first row)."""
        if len(rows) == 0:
            return
        key = (kind, column)
        if key not in self.found:
            first = values.iloc[0] if isinstance(values, pd.Series) else values[0]
            first = first.item() if isinstance(first, np.generic) else first
            self.found[key] = Problem(row=int(rows[0]), value=first, **kw)
        self.found[key].count += len(rows) if count is None else count

    def merge(self, found: dict[tuple[str, str], Problem]) -> None:
        """Add the problems of a later part of the file (its first rows come after all of ours)."""
        for key, p in found.items():
            if key in self.found:
                self.found[key].count += p.count
            else:
                self.found[key] = p

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


def sniff_delimiter(line: str) -> str:
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


def scan_encoding(path: Path, report: CleaningReport) -> str:
    """:func:`_scan` with its findings counted in ``report``; returns the encoding."""
    enc, blank = _scan(path)
    if enc != "utf-8-sig":
        report.count("file decoded as latin-1 (not valid UTF-8)", 1)
    report.count("blank lines skipped", blank)
    return enc


def _header_reader(fh, path: Path):
    """A strict ``csv.reader`` on ``fh`` (delimiter sniffed from line 1), the delimiter and the header record."""
    first = fh.readline()
    if not first.strip():
        raise CohortError("the file is empty (no header, no data rows)", file=str(path),
                          hint="export the cohort again with a header line")
    delim = sniff_delimiter(first)
    fh.seek(0)
    reader = csv.reader(fh, delimiter=delim, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CohortError(f"malformed CSV header line: {exc}", file=str(path),
                          hint="a quote character (\") in the header is not closed") from None
    return reader, delim, header


def csv_header(path: Path, enc: str, report: CleaningReport) -> tuple[list[str], str, int]:
    """The stripped header names, the delimiter and the number of physical lines the header takes."""
    with path.open(newline="", encoding=enc) as fh:
        reader, delim, header = _header_reader(fh, path)
        names = _stripped_header(header, str(path), report)
        return names, delim, reader.line_num


class Restart(Exception):
    """The fast CSV path met a structural problem; re-read exactly to locate it."""


def csv_chunks(path: Path, n: int, report: CleaningReport, issues: Issues,
                exact: bool = False) -> Iterator[pd.DataFrame]:
    """Yield frames of text (header stripped) with a ``_row`` column; checks the structure.

    The fast path reads whole chunks; on a wrong field count or a quoting error it raises
    :class:`Restart` and the caller re-reads with ``exact=True``, which tracks the physical
    line of every record to report where the problem is.
    """
    enc = scan_encoding(path, report)
    with path.open(newline="", encoding=enc) as fh:
        reader, delim, header = _header_reader(fh, path)
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
    """Fast path: pyarrow's CSV reader, ``n`` rows per frame; raises :class:`Restart` on any doubt.

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
                raise Restart
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
        raise Restart from None


def _frame(buf: list[list[str]], names: list[str], last_row: int) -> pd.DataFrame:
    """Records ending at data row ``last_row`` as a text frame with their ``_row`` numbers."""
    df = pd.DataFrame(buf, columns=names, dtype=object) if buf else pd.DataFrame(columns=names, dtype=object)
    df["_row"] = np.arange(last_row - len(buf) + 1, last_row + 1)
    return df


def _bad_width(rec: list[str], names: list[str], row: int, line: int, issues: Issues) -> list[str]:
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


def parquet_chunks(path: Path, n: int, report: CleaningReport) -> Iterator[pd.DataFrame]:
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
