"""Cohort files parsed and cleaned in blocks on the Dask workers; the client keeps only small side results.

Layout (client, bounded memory): a CSV block holds ``n`` data records (non-blank lines after the header) and
ends just after a newline, so block ``i`` starts at data row ``1 + i*n``; the client finds the byte offsets in
one streaming pass (16 MiB at a time) after the encoding scan of :mod:`syntwin.cohort.sources`. A Parquet
block is ``n`` rows of one file, read from the row groups that overlap it. The blocks are the file's, never
the cluster's, so the partitions and their bytes do not depend on the number of workers.

Task per block (worker): parse, check, clean (:func:`syntwin.cohort.cleaning._clean_chunk` with the global
row numbers), then either write the cleaned rows to a part file or return only side results: the problems
found (first row and count per kind and column), the cleaning counts, rows kept, missing counts, and the
identifiers split into ``B`` buckets by hash. Merging the side results in block order gives exactly the
sequential reader's first problem and counts: each block's rows come after all rows of earlier blocks.

Duplicate identifiers, hash-partitioned: equal ids hash to the same bucket, so a bucket task that scans its
ids in file order finds every row whose id an earlier row used; the first duplicate of the file is the
bucket firsts' minimum row and the count the sum.

A block whose parse disagrees with the layout (a line break inside a quoted value, a wrong field count, a
bare CR, ...) makes the whole file raise :class:`Fallback`: the caller re-reads it on the client chunk by
chunk (:func:`syntwin.cohort.readers._read`), whose strict path names row, line and column as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from syntwin.cohort.cohort import CleaningReport
from syntwin.cohort.sources import Issues
from syntwin.errors import CohortError

PART = "part.{:05d}.parquet"
_BUF = 1 << 24
MAX_BUCKETS = 64


class Fallback(Exception):
    """The file does not split into checked blocks: read it on the client (the sequential reader)."""


@dataclass(frozen=True)
class Source:
    """How the workers parse a block: ``kind`` ``"csv"`` or ``"parquet"``, encoding, delimiter, header."""

    kind: str
    names: tuple[str, ...]
    enc: str = "utf-8-sig"
    delim: str = ","


@dataclass(frozen=True)
class Block:
    """``[start, stop)`` of ``file`` (CSV bytes or Parquet rows), holding ``rows`` records from data row ``first_row``."""

    index: int
    file: str
    start: int
    stop: int
    first_row: int
    rows: int


# ------------------------------------------------------------------ layout (client)


def csv_blocks(path: Path, header_lines: int, n: int) -> list[Block]:
    """Blocks of ``n`` data records; raises :class:`Fallback` on a bare CR or no data record.

    A newline closing physical line ``L > header_lines`` closes a data record unless the line is blank
    (empty, or a lone CR before the newline); pyarrow skips blank lines the same way.
    """
    size = path.stat().st_size
    ends: list[int] = []  # byte offset just after every n-th data record
    pos, lines, prev_nl, last, rows, start, cr_open = 0, 0, -1, -1, 0, None, False
    with path.open("rb") as fh:
        while buf := fh.read(_BUF):
            a = np.frombuffer(buf, dtype=np.uint8)
            if cr_open and a[0] != 10:
                raise Fallback
            cr = np.flatnonzero(a == 13)
            inner = cr[cr + 1 < len(a)]
            if (a[inner + 1] != 10).any():
                raise Fallback
            cr_open = len(cr) > 0 and cr[-1] == len(a) - 1
            nl = np.flatnonzero(a == 10)
            if len(nl):
                g = nl + pos
                prev = np.concatenate(([prev_nl], g[:-1]))
                before = np.where(nl > 0, a[np.maximum(nl - 1, 0)], last)
                blank = (g - prev == 1) | ((g - prev == 2) & (before == 13))
                number = lines + 1 + np.arange(len(nl))
                if start is None and lines + len(nl) >= header_lines:
                    start = int(g[header_lines - lines - 1]) + 1
                closes = g[(number > header_lines) & ~blank]
                k = rows + 1 + np.arange(len(closes))
                ends.extend((closes[k % n == 0] + 1).tolist())
                rows += len(closes)
                prev_nl, lines = int(g[-1]), lines + len(nl)
            last, pos = int(a[-1]), pos + len(a)
    if cr_open:
        raise Fallback
    if size > prev_nl + 1 and lines + 1 > header_lines:
        rows += 1  # the last record has no final newline
    if start is None or rows == 0:
        raise Fallback  # the sequential reader words the empty-file errors
    starts, stops = [start, *ends], [*ends, size]
    counts = [n] * len(ends) + [rows - n * len(ends)]
    if counts[-1] == 0:
        starts, stops, counts = starts[:-1], stops[:-1], counts[:-1]
    return [Block(i, str(path), a, b, 1 + i * n, c) for i, (a, b, c) in enumerate(zip(starts, stops, counts))]


def parquet_blocks(files: list[Path], n: int) -> list[Block]:
    """Blocks of ``n`` rows of each file (row counts from the footers); :class:`Fallback` when there is no row."""
    out, row = [], 0
    for f in files:
        total = pq.read_metadata(f).num_rows
        for a in range(0, total, n):
            out.append(Block(len(out), str(f), a, min(a + n, total), row + 1, min(n, total - a)))
            row += out[-1].rows
    if not out:
        raise Fallback
    return out


# ------------------------------------------------------------------ tasks (workers)


def _parse(block: Block, source: Source) -> pd.DataFrame | None:
    """The block as a text frame with ``_row``; ``None`` when it disagrees with the layout."""
    if source.kind == "parquet":
        pf = pq.ParquetFile(block.file)
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
        lo = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        groups = [g for g in range(len(sizes)) if lo[g] < block.stop and lo[g] + sizes[g] > block.start]
        table = pf.read_row_groups(groups).slice(block.start - int(lo[groups[0]]), block.rows)
        df = table.to_pandas()
        df.columns = [c.strip() for c in df.columns]
    else:
        with open(block.file, "rb") as fh:
            fh.seek(block.start)
            data = fh.read(block.stop - block.start)
        cols = [f"c{i}" for i in range(len(source.names))]
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=cols, block_size=1 << 24,
                                               encoding="utf8" if source.enc == "utf-8-sig" else source.enc),
                parse_options=pacsv.ParseOptions(delimiter=source.delim),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in cols},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except pa.ArrowInvalid:
            return None
        if table.num_rows != block.rows:
            return None
        for c in table.columns:
            if pc.any(pc.match_substring_regex(c, "[\r\n]")).as_py():
                return None
        df = table.rename_columns(list(source.names)).to_pandas(types_mapper=pd.ArrowDtype)
    df["_row"] = np.arange(block.first_row, block.first_row + block.rows)
    return df


def _where() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "client"


def write_part(frame: pd.DataFrame, path: str) -> None:
    """Write cleaned rows (index dropped) owner-only, atomically (``.tmp`` then rename)."""
    from syntwin.privacy.files import write_private_parquet

    write_private_parquet(frame, path)


def _buckets(ids: list[pd.DataFrame], b: int) -> list[pd.DataFrame]:
    """The block's identifiers (``id``, ``row``, ``col``) split by ``hash(id) mod b``, file order kept."""
    out: list[list[pd.DataFrame]] = [[] for _ in range(b)]
    for frame in ids:
        h = pd.util.hash_pandas_object(frame["id"], index=False).to_numpy() % np.uint64(b)
        for k in range(b):
            out[k].append(frame[h == k])
    return [pd.concat(x, ignore_index=True) if x else pd.DataFrame(columns=["id", "row", "col"]) for x in out]


def block_task(block: Block, source: Source, plan: Any, clean: Callable, n_buckets: int,
               out: str | None) -> tuple[dict, list[pd.DataFrame]]:
    """Parse + clean one block; write its rows to ``out`` (if given); return (side results, id buckets)."""
    raw = _parse(block, source)
    if raw is None:
        return {"restart": True}, []
    issues, report, ids = Issues(plan.file), CleaningReport(source=plan.file), []
    frame = clean(raw, plan, issues, report, ids)
    if out is not None and len(frame):
        write_part(frame, out)
    side = {"restart": False, "kept": len(frame), "found": issues.found, "rules": report.rules,
            "dropped": report.rows_dropped, "missing": frame.isna().sum().to_dict(), "where": _where()}
    return side, _buckets(ids, n_buckets)


def block_frame(block: Block, source: Source, plan: Any, clean: Callable, offset: int) -> pd.DataFrame:
    """Task: the block's cleaned rows, indexed from ``offset`` (its first kept row in the cohort)."""
    frame = clean(_parse(block, source), plan, Issues(plan.file), CleaningReport(source=plan.file), [])
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def read_part(path: str, offset: int, dtypes: dict[str, Any]) -> pd.DataFrame:
    """Task: a written part file with the cleaned ``dtypes`` (Arrow strings stay Arrow), indexed from ``offset``."""
    frame = pd.read_parquet(path).astype(dtypes)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def _side(result: tuple[dict, list]) -> dict:
    return result[0]


def _bucket(result: tuple[dict, list], k: int) -> pd.DataFrame:
    return result[1][k]


def bucket_duplicates(parts: list[pd.DataFrame]) -> dict[str, tuple[int, Any, int]]:
    """Task: per id column, (first row, its id, count) of rows whose id an earlier row of the bucket used."""
    ids = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    out: dict[str, tuple[int, Any, int]] = {}
    if ids is None:
        return out
    for col, grp in ids.groupby("col", sort=False):
        dup = (grp["id"].notna() & grp["id"].duplicated(keep="first")).to_numpy()
        if dup.any():
            rows, vals = grp["row"].to_numpy()[dup], grp["id"][dup]
            first = int(np.argmin(rows))
            value = vals.iloc[first]
            out[col] = (int(rows[first]), value.item() if isinstance(value, np.generic) else value, int(dup.sum()))
    return out


# ------------------------------------------------------------------ running


def run_blocks(blocks: list[Block], source: Source, plan: Any, clean: Callable, *, client: Any,
               folder: Path | None) -> tuple[list[dict], dict[str, tuple[int, Any, int]]]:
    """Run every block task (on the workers when ``client`` is given, else here in order).

    Returns the side results in block order and the merged duplicates per id column; raises
    :class:`Fallback` when a block disagrees with the layout.
    """
    nb = max(1, min(len(blocks), MAX_BUCKETS))
    outs = [None if folder is None else str(folder / PART.format(b.index)) for b in blocks]
    if client is None:
        results = [block_task(b, source, plan, clean, nb, o) for b, o in zip(blocks, outs)]
        sides = [r[0] for r in results]
        if any(s["restart"] for s in sides):
            raise Fallback
        dups = [bucket_duplicates([r[1][k] for r in results]) for k in range(nb)]
    else:
        token = uuid.uuid4().hex[:8]
        futs = client.map(block_task, blocks, [source] * len(blocks), [plan] * len(blocks),
                          [clean] * len(blocks), [nb] * len(blocks), outs,
                          key=[f"read-block-{token}-{b.index}" for b in blocks])
        sides = client.gather(client.map(_side, futs, key=[f"read-side-{token}-{b.index}" for b in blocks]))
        if any(s["restart"] for s in sides):
            raise Fallback
        picked = [[client.submit(_bucket, f, k, key=f"read-bucket-{token}-{i}-{k}") for i, f in enumerate(futs)]
                  for k in range(nb)]
        dups = client.gather([client.submit(bucket_duplicates, p, key=f"read-dups-{token}-{k}")
                              for k, p in enumerate(picked)])
        del futs, picked
    merged: dict[str, tuple[int, Any, int]] = {}
    for d in dups:
        for col, (row, value, count) in d.items():
            if col in merged:
                r0, v0, c0 = merged[col]
                merged[col] = (row, value, c0 + count) if row < r0 else (r0, v0, c0 + count)
            else:
                merged[col] = (row, value, count)
    return sides, merged


def merge_sides(sides: list[dict], issues: Issues, report: CleaningReport) -> None:
    """Fold the blocks' problems and cleaning counts into ``issues`` and ``report``, in block order."""
    for s in sides:
        issues.merge(s["found"])
        for rule, k in s["rules"].items():
            report.count(rule, k)
        report.rows_dropped += s["dropped"]


def cohort_frame(blocks: list[Block], sides: list[dict], source: Source, plan: Any, clean: Callable,
                 meta: pd.DataFrame, folder: Path | None) -> dd.DataFrame:
    """The cleaned cohort as a dask DataFrame, one partition per block that kept rows, global index.

    With ``folder`` the partitions read the part files the block tasks wrote; without, they parse and
    clean their block again when computed (on whichever scheduler computes them).
    """
    kept = [s["kept"] for s in sides]
    offsets = np.concatenate(([0], np.cumsum(kept)[:-1])).astype(int).tolist()
    live = [i for i, k in enumerate(kept) if k]
    divisions = (*[offsets[i] for i in live], offsets[live[-1]] + kept[live[-1]] - 1)
    with dask.config.set({"dataframe.convert-string": False}):  # dtypes exactly as cleaned
        if folder is not None:
            return dd.from_map(read_part, [str(folder / PART.format(blocks[i].index)) for i in live],
                               [offsets[i] for i in live], [meta.dtypes.to_dict()] * len(live), meta=meta, divisions=divisions,
                               enforce_metadata=False, label="read-cohort")
        return dd.from_map(block_frame, [blocks[i] for i in live], [source] * len(live), [plan] * len(live),
                           [clean] * len(live), [offsets[i] for i in live], meta=meta, divisions=divisions,
                           enforce_metadata=False, label="read-cohort")


def missing_counts(sides: list[dict]) -> dict[str, int]:
    """Missing values per column over all blocks."""
    out: dict[str, int] = {}
    for s in sides:
        for c, k in s["missing"].items():
            out[c] = out.get(c, 0) + int(k)
    return out


def check_folder(folder: Path) -> None:
    """The parts folder must be new or empty (it is removed whole if the read fails)."""
    if folder.exists() and any(folder.iterdir()):
        raise CohortError("the folder for the cohort's part files is not empty", file=str(folder),
                          hint="give a new or empty folder (it is removed if the read fails)")
    folder.mkdir(parents=True, exist_ok=True)


__all__ = ["Fallback", "Source", "Block", "csv_blocks", "parquet_blocks", "run_blocks", "merge_sides",
           "cohort_frame", "missing_counts", "write_part", "check_folder", "PART"]
