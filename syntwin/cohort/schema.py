"""The cohort schema: which columns are features (and of which kind), outcomes and identifiers.

Nothing outside the SEER readers and the simulator knows SEER column names; every stage
asks the schema instead, so any tabular cohort works.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CohortSchema:
    """Column roles of a cohort table.

    Attributes:
        numeric: Continuous or count features (float columns).
        ordinal: Ordered categorical features, name -> levels in order (string columns).
        categorical: Unordered categorical features (string columns).
        time: Follow-up time in months (float, >= 0).
        event: Event indicator (int 0/1; 1 = the event, e.g. cause-specific death, was observed).
        identifiers: Direct identifiers; never used as features, never exported.
        quasi_identifiers: Columns an attacker may know (age, race, year...); used by privacy checks.
        extra: Other columns carried along but not modelled (e.g. vital status beside a
            cause-specific event).
        constraints: Rules every row keeps (``synthesis.constraints`` dicts: inequality, range,
            follow_up); twins are generated to keep them.
        domains: Public value domains, known without looking at the data (a differentially private
            generator needs them): categorical column -> its levels; numeric or time column ->
            ``{"min", "max"}`` and optionally ``"cuts"`` (bin edges) and ``"integer"``.
    """

    numeric: tuple[str, ...] = ()
    ordinal: dict[str, tuple[str, ...]] = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    time: str | None = None
    event: str | None = None
    identifiers: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    constraints: tuple[dict, ...] = ()
    domains: dict[str, list | dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "numeric", tuple(self.numeric))
        object.__setattr__(self, "categorical", tuple(self.categorical))
        object.__setattr__(self, "ordinal", {k: tuple(v) for k, v in dict(self.ordinal).items()})
        object.__setattr__(self, "identifiers", tuple(self.identifiers))
        object.__setattr__(self, "quasi_identifiers", tuple(self.quasi_identifiers))
        object.__setattr__(self, "extra", tuple(self.extra))
        object.__setattr__(self, "constraints", tuple(dict(c) for c in self.constraints))
        object.__setattr__(self, "domains", {k: (list(v) if isinstance(v, (list, tuple)) else dict(v))
                                             for k, v in dict(self.domains).items()})
        seen: set[str] = set()
        for name in self.columns:
            if name in seen:
                raise ValueError(f"column {name!r} has two roles in the cohort schema")
            seen.add(name)
        missing = [q for q in self.quasi_identifiers if q not in seen]
        if missing:
            raise ValueError(f"quasi-identifiers {missing} are not columns of the schema")

    @property
    def features(self) -> list[str]:
        """Feature columns in a stable order: numeric, ordinal, categorical."""
        return [*self.numeric, *self.ordinal, *self.categorical]

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns present (time, event)."""
        return [c for c in (self.time, self.event) if c]

    @property
    def columns(self) -> list[str]:
        """Every column the schema names (identifiers first)."""
        return [*self.identifiers, *self.features, *self.outcomes, *self.extra]

    @property
    def modelled(self) -> list[str]:
        """Columns a generator models: features then outcomes."""
        return [*self.features, *self.outcomes]

    def public_domains(self) -> dict[str, list | dict]:
        """The declared ``domains``, plus ``{min, max}`` of every ``range`` constraint that gives both bounds."""
        out: dict[str, list | dict] = {}
        for c in self.constraints:
            if c.get("kind") == "range" and c.get("min") is not None and c.get("max") is not None:
                out[str(c["column"])] = {"min": c["min"], "max": c["max"]}
        out.update({k: (list(v) if isinstance(v, list) else dict(v)) for k, v in self.domains.items()})
        return out

    def to_dict(self) -> dict:
        """Plain, JSON-able form."""
        d = asdict(self)
        d["ordinal"] = {k: list(v) for k, v in self.ordinal.items()}
        d["constraints"] = [dict(c) for c in self.constraints]
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> CohortSchema:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)

    def save(self, path: str | Path) -> None:
        """Write the schema as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> CohortSchema:
        """Read a schema written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        return (
            f"CohortSchema(features={len(self.features)}, time={self.time!r}, event={self.event!r}, "
            f"identifiers={len(self.identifiers)}, quasi_identifiers={len(self.quasi_identifiers)})"
        )


__all__ = ["CohortSchema"]
