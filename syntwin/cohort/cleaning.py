"""Cleaning of one chunk of source rows: strip, missing tokens, recodes, conversions and validation.

Every rule runs once per distinct value of a chunk's column (``pd.factorize``) and is counted in the
:class:`CleaningReport`; bad values go to :class:`Issues` with their 1-based data rows. The readers call
:func:`_clean_chunk` on every chunk or block, in the client or on the workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from syntwin.cohort.cohort import CleaningReport
from syntwin.cohort.mapping import MONTHS_PER, SchemaMapping
from syntwin.cohort.sources import Issues

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
