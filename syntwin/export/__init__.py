"""Exports of twin tables (Parquet, CSV, FHIR R4 bulk NDJSON, suppressed aggregates) behind the privacy gate.

Identifiers never leave, fitted models and SDV metadata never leave, and every export ends with a
``manifest.json`` (run seed, versions, config hash, privacy and fidelity figures with thresholds,
file checksums) written last.
"""

from syntwin.export.aggregate import MIN_CELL, aggregate_counts
from syntwin.export.fhir import fhir_resources, validate_resource, write_fhir_ndjson
from syntwin.export.run import FORMATS, check_no_models, export_run, export_twins
from syntwin.export.tables import ROWS_PER_FILE, read_table, releasable, write_csv, write_parquet

__all__ = [
    "export_twins",
    "export_run",
    "releasable",
    "FORMATS",
    "aggregate_counts",
    "MIN_CELL",
    "write_fhir_ndjson",
    "fhir_resources",
    "validate_resource",
    "write_parquet",
    "write_csv",
    "read_table",
    "check_no_models",
    "ROWS_PER_FILE",
]
