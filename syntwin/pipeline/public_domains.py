"""Public domains for a differentially private generator: from the cohort schema, never from the data.

A DP generator (``mst``) must know every column's possible values before it sees a patient: the
levels of categorical columns and the bounds (and bins) of numeric and time columns. They come from
the mapping's ``domains`` (the SEER presets declare SEER's coding) or from ``range`` constraints that
give both a minimum and a maximum; ordinal levels and the event's 0/1 are in the schema already.
A column without one stops the run before anything is fitted, with the fix.
"""

from __future__ import annotations

from typing import Any

from syntwin.cohort import CohortSchema
from syntwin.errors import StageError


def with_public_domains(generator: Any, schema: CohortSchema) -> Any:
    """``generator`` with ``domains`` set from ``schema``; a column without one raises :class:`StageError`."""
    domains = schema.public_domains()
    numeric = [*schema.numeric, *([schema.time] if schema.time else [])]
    lacking = [c for c in [*numeric, *schema.categorical] if c not in domains]
    if lacking:
        raise StageError(
            f"synthesis.generator {type(generator).__name__} is differentially private and needs public domains; "
            f"these columns have none: {', '.join(lacking)}",
            field="cohort.mapping.domains",
            hint="declare them in the mapping, e.g. domains: {race: [White, Black, Other], "
                 "age: {min: 18, max: 100, cuts: [40, 50, 60, 70]}} — from the coding, not from the data "
                 "(reading them from the data would leak outside the privacy budget)")
    return generator.set_params(domains=domains)


__all__ = ["with_public_domains"]
