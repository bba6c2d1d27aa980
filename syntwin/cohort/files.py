"""Cohorts on disk for the ``syntwin cohort`` commands: a plain Parquet dataset with its schema beside it.

``DIR`` holds only ``part.<i>.parquet`` files, so ``pandas.read_parquet(DIR)`` (or any Parquet reader)
reads it; ``DIR.schema.json`` (the :class:`CohortSchema`) and ``DIR.report.json`` (the cleaning report)
sit beside it. Everything is written to hidden temporary siblings and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import yaml

from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.presets import PRESETS
from syntwin.cohort.schema import CohortSchema
from syntwin.errors import CohortError, OutputError, ScenarioError
from syntwin.io import write_json


def sidecar(path: str | os.PathLike, kind: str) -> Path:
    """``DIR.schema.json`` / ``DIR.report.json`` beside the dataset ``DIR``."""
    path = Path(path)
    return path.with_name(f"{path.name}.{kind}.json")


def write_dataset(cohort: Cohort, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``cohort`` as a Parquet dataset at ``path`` with its schema and report beside it."""
    path = Path(path)
    if (path.exists() or sidecar(path, "schema").exists()) and not overwrite:
        raise OutputError("output exists", file=str(path), hint="choose another --out or pass --overwrite")
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cohort.data.to_parquet(tmp, write_index=False, write_metadata_file=False)
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
        write_json(sidecar(path, "schema"), cohort.schema.to_dict())
        write_json(sidecar(path, "report"), cohort.report.to_dict())
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write the cohort: {exc}", file=str(path),
                          hint="choose a writable directory with free space") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_dataset(path: str | os.PathLike) -> Cohort:
    """Inverse of :func:`write_dataset`."""
    import dask.dataframe as dd

    path = Path(path)
    schema_file = sidecar(path, "schema")
    if not schema_file.is_file():
        raise CohortError(f"no {schema_file.name} beside the dataset", file=str(path),
                          hint="write it with `syntwin cohort read` or `syntwin cohort simulate`")
    schema = CohortSchema.from_dict(json.loads(schema_file.read_text()))
    rep_file = sidecar(path, "report")
    rep = json.loads(rep_file.read_text()) if rep_file.is_file() else {}
    report = CleaningReport(source=rep.get("source", str(path)), rows_read=int(rep.get("rows_read", 0)),
                            rules=dict(rep.get("rules", {})), missing=dict(rep.get("missing", {})))
    files = sorted(path.glob("part.*.parquet"), key=lambda f: int(f.name.split(".")[1]))
    return Cohort(data=dd.read_parquet([str(f) for f in files]), schema=schema, report=report)


def is_dataset(path: str | os.PathLike) -> bool:
    """True for a dataset written by :func:`write_dataset`."""
    return Path(path).is_dir() and sidecar(path, "schema").is_file()


def load_mapping(value: str) -> SchemaMapping | str:
    """A ``--mapping`` option: a preset name, a YAML file (a mapping, or ``{mapping: ...}``), or inline YAML."""
    if value in PRESETS:
        return value
    path = Path(value)
    if value.lstrip().startswith("{"):
        text, source = value, "--mapping"
    elif path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        raise ScenarioError(f"--mapping {value!r} is neither a preset nor a file", field="--mapping",
                            hint=f"use one of {', '.join(sorted(PRESETS))}, or a YAML file "
                                 "(`syntwin cohort mappings NAME > mine.yaml` to start one)")
    try:
        root, data = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"malformed YAML: {getattr(exc, 'problem', exc)}", file=source,
                            row=mark.line + 1 if mark else None) from None
    if isinstance(data, dict) and set(data) == {"mapping"}:
        data, root = data["mapping"], root.value[0][1] if isinstance(root, yaml.MappingNode) else root
    from pydantic import ValidationError

    from syntwin.scenario.load import _problems

    try:
        return SchemaMapping.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc.errors(), SchemaMapping, root)
        text = "; ".join(str(ScenarioError(p["message"], row=p["row"], field=p["field"])) for p in problems)
        raise ScenarioError(f"bad mapping: {text}", file=source, hint="see `syntwin schema` (cohort.mapping)") from None


def mapping_yaml(name: str) -> str:
    """A preset as YAML (every field, defaults included), ready to edit into a scenario's ``cohort.mapping``."""
    if name not in PRESETS:
        raise ScenarioError(f"unknown mapping preset {name!r}", field="NAME",
                            hint=f"presets: {', '.join(sorted(PRESETS))}")
    body = yaml.safe_dump({"mapping": PRESETS[name].model_dump(mode="json")}, sort_keys=False, allow_unicode=True,
                          width=110)
    return f"# syntwin cohort mapping preset {name!r}; paste under `cohort:` in a scenario, or pass with --mapping\n" + body


__all__ = ["write_dataset", "read_dataset", "is_dataset", "sidecar", "load_mapping", "mapping_yaml"]
