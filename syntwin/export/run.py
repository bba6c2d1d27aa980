"""Exports: the twin table in each format, and the export of a finished run behind its privacy gate.

:func:`export_run` never recomputes the privacy figures: a run directory holds no training rows
(they never leave the run), so the gate cannot be re-run from it. Instead it refuses unless the
run's manifest records a gate in which every required check is present and passed, and unless
the twin table's SHA-256 still equals the one recorded when the gate passed — the file released
is the file that was tested. The export is built in a hidden temporary sibling, its manifest
(with every file's checksum) written last, and the folder renamed into place; on any failure
the temporary folder is removed, so an interrupted export leaves no manifest and no partial file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from syntwin.cohort.schema import CohortSchema
from syntwin.errors import OutputError, PrivacyGateError, StageError
from syntwin.export.aggregate import MIN_CELL, aggregate_counts, default_aggregates
from syntwin.export.fhir import write_fhir_ndjson
from syntwin.export.tables import ROWS_PER_FILE, read_table, releasable, write_csv, write_parquet
from syntwin.io import sha256_file, sha256_tree, write_json
from syntwin.privacy.gate import DEFAULT_CHECKS, enforce_table

FORMATS = ("parquet", "csv", "fhir", "aggregates")
TWINS = "export/twins.parquet"
#: Files that must never leave: pickled models, and SDV metadata (it records each column's real min and max).
_MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".sdv", ".cloudpickle")


def export_twins(
    twins: pd.DataFrame,
    schema: CohortSchema,
    folder: Path,
    formats: Sequence[str],
    *,
    release: Mapping[str, Any] | None = None,
    site: str | None = None,
    fhir_validate: int | None = 1_000,
    rows_per_file: int = ROWS_PER_FILE,
    min_cell: int = MIN_CELL,
    on_write: Callable[[Path], None] | None = None,
) -> dict[str, Path]:
    """Write the releasable twin table (:func:`releasable`) in each format to ``folder``.

    Formats: ``parquet`` (``twins.parquet``, a directory of parts beyond ``rows_per_file`` rows),
    ``csv`` (``twins.csv``), ``fhir`` (``fhir/*.ndjson``), ``aggregates`` (``aggregates/*.csv``,
    counts of each categorical/ordinal column by the event, cells below ``min_cell`` suppressed).

    Returns:
        format -> path written.

    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid: {', '.join(FORMATS)}")
    table = releasable(twins, schema, release)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in dict.fromkeys(formats):
        if fmt == "parquet":
            written[fmt] = write_parquet(
                table, folder / "twins.parquet", rows_per_file=rows_per_file, on_write=on_write
            )
        elif fmt == "csv":
            written[fmt] = write_csv(table, folder / "twins.csv", on_write=on_write)
        elif fmt == "fhir":
            write_fhir_ndjson(
                table,
                folder / "fhir",
                validate=fhir_validate,
                event=schema.event,
                site=site,
                on_write=on_write,
            )
            written[fmt] = folder / "fhir"
        else:
            cats = [*schema.ordinal, *schema.categorical]
            for by in default_aggregates(list(table.columns), schema.event, cats):
                write_csv(
                    aggregate_counts(table, by, min_cell=min_cell),
                    folder / "aggregates" / f"{'_by_'.join(by)}.csv",
                    on_write=on_write,
                )
            written[fmt] = folder / "aggregates"
    return written


def write_release_manifest(
    folder: Path, *, privacy: Mapping[str, Any], rows: int, rows_generated: int, columns: Sequence[str],
    dp: Mapping[str, Any] | None = None, min_cell: int = MIN_CELL,
) -> dict[str, Any]:
    """Write ``folder/manifest.json``: what was released, the gate's result, ε/δ, and every file's SHA-256.

    Only files under ``folder`` are listed; the manifest is written last, so a folder with a manifest
    is a complete release.
    """
    folder = Path(folder)
    check_no_models(folder)
    files = {str(p.relative_to(folder)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    manifest = {
        "format": "syntwin-release/1",
        "rows": int(rows),
        "rows_withheld": int(rows_generated - rows),
        "columns": list(columns),
        "gate": {"passed": bool(privacy.get("passed", False)), "checks": privacy.get("gate", {})},
        "differential_privacy": dict(dp) if dp else None,
        "min_cell": min_cell,
        "files": files,
    }
    write_json(folder / "manifest.json", manifest)
    return manifest


def check_no_models(folder: Path) -> None:
    """Refuse a folder holding a pickled model or SDV metadata (``METADATA_SPEC_VERSION``, ``sdtype``)."""
    for path in Path(folder).rglob("*"):
        if not path.is_file():
            continue
        bad = path.suffix.lower() in _MODEL_SUFFIXES
        if not bad and path.suffix.lower() == ".json" and path.stat().st_size < 50 * 2**20:
            text = path.read_text(errors="replace")
            bad = "METADATA_SPEC_VERSION" in text or '"sdtype"' in text
        if bad:
            raise OutputError(
                "an export may not contain fitted models or SDV metadata",
                file=str(path),
                hint="remove the file from the export; models stay inside the run",
            )


def _gate_of(manifest: dict, required: Sequence[str], source: Path) -> dict[str, Any]:
    privacy = manifest.get("metrics", {}).get("privacy") or {}
    gate = privacy.get("gate") or {}
    missing = [name for name in required if name not in gate]
    failures = [f"{name} was not checked" for name in missing]
    if failures:
        raise PrivacyGateError(
            failures,
            file=str(source),
            hint="re-run the scenario with a syntwin version that runs the full privacy gate",
        )
    enforce_table(gate)
    return privacy


def _fidelity(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Every stage's figures except privacy and timings (generator quality, prediction AUROC...)."""
    return {
        stage: {k: v for k, v in m.items() if k != "seconds"}
        for stage, m in metrics.items()
        if stage != "privacy" and isinstance(m, Mapping)
    }


def _clean_stale(out: Path) -> None:
    for old in out.parent.glob(f".{out.name}.*.partial"):
        shutil.rmtree(old, ignore_errors=True)


def export_run(
    run_dir: str | Path,
    formats: Sequence[str] = ("parquet", "csv"),
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    required: Sequence[str] = tuple(DEFAULT_CHECKS),
    fhir_validate: int | None = 1_000,
    on_write: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Export a finished run's twins through its recorded privacy gate; return the export manifest.

    Args:
        run_dir: a run directory (``manifest.json``, ``export/twins.parquet``, ``cohort/schema.json``).
        formats: any of :data:`FORMATS`.
        out: export folder (default ``RUN_DIR/release``).
        overwrite: replace an existing non-empty ``out``.
        required: gate checks that must have been recorded (and passed) by the run.
        fhir_validate: twins whose FHIR resources are validated (``None``: all).
        on_write: called with each file's temporary path once written.

    Raises:
        PrivacyGateError: the run's gate failed, lacks a required check, or the twin table changed since.
        OutputError: ``out`` exists and is not empty (without ``overwrite``), or a model file would leave.

    """
    run_dir = Path(run_dir)
    mpath = run_dir / "manifest.json"
    if not mpath.is_file():
        raise StageError(
            "not a run directory (no manifest.json)",
            file=str(run_dir),
            hint="pass the --out folder of a finished `syntwin run`",
        )
    run_manifest = json.loads(mpath.read_text())
    privacy = _gate_of(run_manifest, required, mpath)
    recorded = {e["path"]: e["sha256"] for e in run_manifest.get("outputs", {}).values()}
    twins_path = run_dir / TWINS
    if TWINS not in recorded or not twins_path.exists():
        raise StageError(f"the run has no {TWINS}", file=str(run_dir))
    if sha256_tree(twins_path) != recorded[TWINS]:
        raise PrivacyGateError(
            [f"{TWINS} changed after the privacy gate passed (checksum differs)"],
            file=str(twins_path),
            hint="re-run the scenario; never edit a run's outputs",
        )
    schema = CohortSchema.load(run_dir / "cohort" / "schema.json")
    scenario_path = run_dir / "scenario.json"
    scenario = json.loads(scenario_path.read_text()) if scenario_path.is_file() else {}
    site = ((scenario.get("cohort") or {}).get("simulate") or {}).get("site")
    twins = read_table(twins_path)

    out = Path(out) if out is not None else run_dir / "release"
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            "export folder exists and is not empty",
            file=str(out),
            hint="choose another --out or pass --overwrite",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        written = export_twins(
            twins,
            schema,
            work,
            formats,
            release=privacy.get("release"),
            site=site,
            fhir_validate=fhir_validate,
            on_write=on_write,
        )
        check_no_models(work)
        files = {
            str(p.relative_to(work)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(work.rglob("*"))
            if p.is_file()
        }
        released = releasable(twins, schema, privacy.get("release"))
        manifest = {
            "format": "syntwin-export/1",
            "run": {k: run_manifest.get(k) for k in ("scenario", "kind", "seed", "config_sha256", "versions")}
            | {"manifest_sha256": sha256_file(mpath), "twins_sha256": recorded[TWINS]},
            "formats": list(written),
            "rows": len(released),
            "rows_suppressed": len(twins) - len(released),
            "columns": list(released.columns),
            "privacy": {
                "gate": privacy["gate"],
                "figures": privacy.get(
                    "figures",
                    {k: v for k, v in privacy.items() if isinstance(v, (int, float)) and k != "seconds"},
                ),
                "release": privacy.get("release"),
            },
            "fidelity": _fidelity(run_manifest.get("metrics", {})),
            "min_cell": MIN_CELL,
            "files": files,
        }
        write_json(work / "manifest.json", manifest)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


__all__ = ["export_run", "export_twins", "check_no_models", "write_release_manifest", "FORMATS"]
