"""Check a schema mapping against a cohort file's header, without reading its rows (``syntwin validate``).

Every problem is collected (not only the first): a mapped source header the file lacks (with the closest
header as a did-you-mean), a role naming a column no header feeds, an outcome without a source. Headers
the mapping does not use are listed as notes (they are ignored when the cohort is read).
"""

from __future__ import annotations

import csv
import difflib
from pathlib import Path
from typing import Any

from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.presets import PRESETS


def file_header(path: Path) -> list[str]:
    """The column names of a CSV/TSV (first line, delimiter sniffed) or Parquet file, stripped."""
    import pyarrow.parquet as pq

    from syntwin.cohort.sources import sniff_delimiter

    if path.is_dir() or path.suffix.lower() == ".parquet":
        first = path if path.is_file() else next(iter(sorted(path.glob("*.parquet"))), None)
        return [] if first is None else [c.strip() for c in pq.ParquetFile(first).schema_arrow.names]
    raw = path.open("rb").readline()
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        line = raw.decode("latin-1")
    return [h.strip() for h in next(csv.reader([line.rstrip("\r\n")], delimiter=sniff_delimiter(line)), [])]


def _did_you_mean(name: str, header: list[str]) -> str:
    lower = {h.lower(): h for h in header}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f"; did you mean `{lower[close[0]]}`?" if close else ""


def mapping_problems(mapping: dict[str, Any] | str | SchemaMapping, header: list[str]) -> tuple[list[str], list[str]]:
    """Problems and notes of ``mapping`` (a preset name, a raw scenario dict or a model) over ``header``.

    Works on a raw dict too, so that header problems are reported beside the scenario's own validation
    problems even when the mapping itself does not validate.
    """
    if isinstance(mapping, str):
        if mapping not in PRESETS:
            return [], []  # the scenario validation names the unknown preset
        mapping = PRESETS[mapping]
    m = mapping.model_dump() if isinstance(mapping, SchemaMapping) else dict(mapping or {})
    columns = {str(k).strip(): v for k, v in (m.get("columns") or {}).items()}
    alternatives = m.get("alternatives") or {}
    optional = set(m.get("optional") or [])
    available = set(header)
    problems, notes, used = [], [], set()
    for src, dst in columns.items():
        found = [h for h in [src, *alternatives.get(dst, [])] if h in available]
        used.update(found)
        if found:
            continue
        text = f"`{src}` is not a source header{_did_you_mean(src, header)}"
        (notes if dst in optional else problems).append(text + (" (optional: left out)" if dst in optional else ""))
    fed = set(columns.values())
    event = (m.get("event") or {}).get("column") if isinstance(m.get("event"), dict) else None
    roles = [("numeric", c) for c in m.get("numeric") or []] + [("ordinal", c) for c in (m.get("ordinal") or {})]
    roles += [("categorical", c) for c in m.get("categorical") or []] + [("extra", c) for c in m.get("extra") or []]
    roles += [("time", m.get("time")), ("event", event)]
    for role, col in roles:
        if role in ("time", "event") and not col:
            problems.append(f"the mapping has no {role} column (time and event are required)")
        elif col and col not in fed:
            problems.append(f"{role} column `{col}` is not fed by any source header in `columns`"
                            + _did_you_mean(col, sorted(fed)))
    unmapped = [h for h in header if h not in used]
    if unmapped:
        notes.append(f"{len(unmapped)} header(s) not in the mapping (ignored): {', '.join(unmapped)}")
    return problems, notes


__all__ = ["file_header", "mapping_problems"]


def check_scenario(path: Path, overrides: list[str] | None = None) -> tuple[Any, list[str]]:
    """Validate a scenario file and, for a cohort file, its mapping against the file's header.

    Returns:
        ``(scenario, notes)``.

    Raises:
        ScenarioError: Listing every problem at once (scenario fields and header checks together).
    """
    import yaml

    from syntwin.errors import ScenarioError
    from syntwin.scenario.load import apply_overrides, load_scenario

    try:
        model, problems, first = load_scenario(path, overrides), [], None
    except ScenarioError as exc:
        model, problems, first = None, list(getattr(exc, "problems", None) or [exc.message]), exc
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        raw = apply_overrides(raw, overrides, source=str(path)) if overrides and isinstance(raw, dict) else raw
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ScenarioError):
        raw = None
    cohort = raw.get("cohort") if isinstance(raw, dict) and raw.get("kind") == "cohort" else None
    notes: list[str] = []
    header_problems: list[str] = []
    if isinstance(cohort, dict) and isinstance(cohort.get("file"), str):
        data = Path(cohort["file"])
        data = data if data.is_absolute() else Path(path).parent / data
        if not data.exists():
            header_problems.append(f"cohort.file: {data} not found")
        else:
            found, notes = mapping_problems(cohort.get("mapping", "seer_breast_csv"), file_header(data))
            if any("cohort.mapping" in p for p in problems):  # the mapping's own roles are reported already
                found = [p for p in found if "is not a source header" in p]
            header_problems += [f"cohort.mapping ({data.name}): {p}" for p in found]
    if first is not None and not header_problems:
        raise first
    problems += header_problems
    if problems:
        one = len(problems) == 1
        raise ScenarioError(("1 problem: " if one else f"{len(problems)} problems: ")
                            + "; ".join(f"({i}) {p}" for i, p in enumerate(problems, start=1)), file=str(path),
                            hint="fix each of them; `syntwin cohort mappings NAME` prints a preset to start from")
    return model, notes
