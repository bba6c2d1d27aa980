"""Cohort layer: schema, readers and the calibrated SEER-like simulator."""

from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.schema import CohortSchema

__all__ = ["Cohort", "CohortSchema", "CleaningReport"]
