"""A cohort: a dask DataFrame of patients plus its schema and a record of how it was cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field

import dask.dataframe as dd

from syntwin.cohort.schema import CohortSchema


@dataclass
class CleaningReport:
    """What a reader changed, counted per rule, so that no row is altered silently.

    ``rules`` maps a rule name (``"Grade: ' anaplastic; Grade IV' -> 'IV'"``) to the number of
    rows it touched. ``rows_read`` counts the cohort's rows; readers drop rows only where the mapping
    says so (``rows_dropped``, each reason counted in ``rules``).
    """

    source: str
    rows_read: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    #: Feature column -> number of missing values in the cohort (kept as data, never imputed here).
    missing: dict[str, int] = field(default_factory=dict)
    #: Rows left out (only where the mapping says so, e.g. ``missing_outcome: drop``), counted in ``rules``.
    rows_dropped: int = 0

    def count(self, rule: str, n: int) -> None:
        """Add ``n`` rows to ``rule`` (ignored when zero)."""
        if n:
            self.rules[rule] = self.rules.get(rule, 0) + int(n)

    def to_dict(self) -> dict:
        """JSON-able form for the manifest."""
        return {"source": self.source, "rows_read": self.rows_read, "rules": dict(self.rules),
                "missing": dict(self.missing), "rows_dropped": self.rows_dropped}


@dataclass
class Cohort:
    """A patient table (dask DataFrame) with its :class:`CohortSchema`.

    Attributes:
        data: One row per patient; columns as named by ``schema``.
        schema: Column roles.
        report: How the source was cleaned (readers) or generated (simulator).
    """

    data: dd.DataFrame
    schema: CohortSchema
    report: CleaningReport

    def __repr__(self) -> str:
        return f"Cohort(source={self.report.source!r}, npartitions={self.data.npartitions}, {self.schema!r})"


__all__ = ["Cohort", "CleaningReport"]
