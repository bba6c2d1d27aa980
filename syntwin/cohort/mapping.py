"""Schema mappings: how the columns of a source table become the columns of a cohort.

A :class:`SchemaMapping` is written by users inside scenario files (``cohort.mapping``); the
SEER formats are built-in presets of it (:mod:`syntwin.cohort.presets`). It says which source
header feeds which cohort column, the role of every cohort column (numeric, ordinal,
categorical, time, event, identifier, extra), which tokens mean "missing", and which value
recodes to apply. :func:`syntwin.cohort.readers.read_cohort` applies it and counts every action.

Matching rules, applied in this order to every value of a text column:

1. leading/trailing whitespace is stripped (``"Single "`` -> ``"Single"``);
2. a value equal to one of ``missing_values`` becomes missing;
3. ``recode`` replaces whole values (keys are compared after stripping, so ``" anaplastic;
   Grade IV"`` and ``"anaplastic; Grade IV"`` are the same key; a ``null`` target means missing);
4. the value is converted for its role (number, ordinal level, category, event 0/1);
   text values listed in ``unknown_values`` stay categories but are counted in the report.

Source headers are matched after stripping whitespace, so ``"T Stage "`` in a file matches
``"T Stage"`` in a mapping and vice versa.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from syntwin.cohort.schema import CohortSchema

DEFAULT_MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]
#: Months per unit of follow-up time (a month is 365.25 / 12 = 30.4375 days).
MONTHS_PER = {"days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "months": 1.0, "years": 12.0}


def _to_text(value: object) -> object:
    """Accept YAML scalars as text: ``1`` -> ``"1"``, ``2.0`` -> ``"2"``; refuse booleans."""
    if isinstance(value, bool):
        raise ValueError(
            f"got the boolean {value!r}; YAML reads unquoted yes/no/true/false as booleans, quote the value"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


#: A value written in a mapping: text, or a YAML number read as text (``1`` -> ``"1"``); the JSON Schema says so.
Text = Annotated[str, BeforeValidator(_to_text),
                 WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]})]


class EventSpec(BaseModel):
    """Which values of a cohort column mean that the event happened (1) or not (0)."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(
        description="Cohort column (a target of `columns`) holding the event; becomes int 0/1."
    )
    positive: list[Text] = Field(
        default_factory=lambda: ["1"], description="Values meaning the event was observed (-> 1)."
    )
    negative: list[Text] = Field(
        default_factory=lambda: ["0"], description="Values meaning censored / no event (-> 0)."
    )
    exclude: list[Text] = Field(
        default_factory=list,
        description="Values whose patients are left out of the cohort, each counted in the report (e.g. SEER's "
        "'Dead (missing/unknown COD)': neither the event nor censored in a cause-specific analysis).",
    )

    @model_validator(mode="after")
    def _disjoint(self) -> EventSpec:
        pos = {v.strip() for v in self.positive}
        neg = {v.strip() for v in self.negative}
        exc = {v.strip() for v in self.exclude}
        if not pos or not neg:
            raise ValueError("event.positive and event.negative must each list at least one value")
        if pos & neg:
            raise ValueError(f"values {sorted(pos & neg)} are both positive and negative")
        if exc & (pos | neg):
            raise ValueError(f"values {sorted(exc & (pos | neg))} are both excluded and positive/negative")
        return self


class NumericDomain(BaseModel):
    """Public bounds of a numeric or time column (what the coding allows, not what the data shows)."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(description="Smallest possible value (smaller values are clamped to it).")
    max: float = Field(description="Largest possible value (larger values are clamped to it).")
    cuts: list[float] | None = Field(
        default=None, description="Interior bin edges, increasing, within (min, max); bins are (a, b], the first "
        "[min, b]. Default: equal-width bins (the generator's n_bins).")
    integer: bool = Field(default=False, description="Values are whole numbers (counts, years, months).")

    @model_validator(mode="after")
    def _ordered(self) -> NumericDomain:
        cuts = self.cuts or []
        if not self.min < self.max or any(b <= a for a, b in zip(cuts, cuts[1:])) or (
                cuts and not (self.min <= cuts[0] and cuts[-1] < self.max)):
            raise ValueError(f"need min < increasing cuts < max, got min={self.min}, cuts={cuts}, max={self.max}")
        return self


class SchemaMapping(BaseModel):
    """Source table -> cohort: column names, roles, missing tokens and value recodes.

    Every cohort column that comes from the source must be a target of ``columns`` and have
    exactly one role. An identifier that no source column feeds is created as the 1-based data
    row number (int), which is stable for a given file; the report says so.
    """

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(
        description="Source header -> cohort column. Headers are matched after stripping whitespace."
    )
    alternatives: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Cohort column -> further source headers feeding it, in order after its header in `columns` "
        "(e.g. a grade recoded until 2017 and one from 2018 on): the first present, non-missing value of each "
        "row is used, counted in the report. Any one of them present is enough.",
    )
    numeric: list[str] = Field(default_factory=list, description="Continuous or count features (float).")
    ordinal: dict[str, list[Text]] = Field(
        default_factory=dict, description="Ordered features: column -> levels, lowest first."
    )
    categorical: list[str] = Field(default_factory=list, description="Unordered features (text).")
    time: str | None = Field(default=None, description="Follow-up time (float, >= 0, required), in `time_unit`.")
    time_unit: Literal["days", "weeks", "months", "years"] = Field(
        default="months",
        description="Unit of the source's follow-up time; converted once to months when read "
        "(1 month = 30.4375 days = 365.25/12; the report says so). Horizons are always in months.",
    )
    missing_outcome: Literal["error", "drop"] = Field(
        default="error",
        description="Rows without a follow-up time or event: `error` stops the read naming the first row and "
        "the count; `drop` leaves them out and counts them in the report.",
    )
    event: EventSpec | None = Field(
        default=None, description="Event column and its positive/negative values."
    )
    recode: dict[str, dict[Text, Text | None]] = Field(
        default_factory=dict,
        description="Column -> {source value: new value}; null means missing. Counted in the report.",
    )
    range_midpoints: list[str] = Field(
        default_factory=list,
        description=(
            "Numeric columns whose values may be ranges such as '60-64 years' (-> midpoint 62), "
            "'85+ years' (-> 87, lower bound + 2 as for a 5-year band) or '05 years' (-> 5)."
        ),
    )
    identifiers: list[str] = Field(
        default_factory=list,
        description="Direct identifiers; one absent from the source is created as the data row number.",
    )
    quasi_identifiers: list[str] = Field(
        default_factory=list, description="Columns an attacker may know (used by privacy checks)."
    )
    extra: list[str] = Field(default_factory=list, description="Columns carried along as text, not modelled.")
    required: list[str] = Field(
        default_factory=list, description="Features that must not be missing (time and event always must)."
    )
    optional: list[str] = Field(
        default_factory=list,
        description="Cohort columns whose source header may be absent; they are then left out of the schema.",
    )
    unknown_values: list[Text] = Field(
        default_factory=list,
        description="Values that mean 'unknown' but are kept as a category (e.g. race 'Unknown'); "
        "counted in the report per column.",
    )
    missing_values: list[Text] = Field(
        default_factory=lambda: list(DEFAULT_MISSING),
        description="Tokens (compared after stripping) that mean missing in every column.",
    )
    constraints: list[dict[str, str | float | int]] = Field(
        default_factory=list,
        description="Rules every row keeps (inequality / range / follow_up, see synthesis.constraints); "
        "twins are generated to keep them.",
    )

    domains: dict[str, list[Text] | NumericDomain] = Field(
        default_factory=dict,
        description="Public value domains, as the coding defines them (never read from the data): categorical "
        "column -> its possible levels; numeric or time column -> {min, max, cuts, integer}. A differentially "
        "private generator (mst) needs one for every categorical, numeric and time column.",
    )

    @field_validator("columns")
    @classmethod
    def _strip_headers(cls, v: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for src, dst in v.items():
            key = str(src).strip()
            if key in out:
                raise ValueError(f"source header {key!r} is listed twice (headers are compared stripped)")
            out[key] = dst
        return out

    @model_validator(mode="after")
    def _check_roles(self) -> SchemaMapping:
        targets = list(self.columns.values())
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            raise ValueError(f"cohort columns {dup} are fed by more than one source header")
        schema = self.to_schema()  # raises if a column has two roles or a quasi-identifier is unknown
        mapped = set(targets)
        without_source = [c for c in schema.columns if c not in mapped and c not in self.identifiers]
        if without_source:
            raise ValueError(f"columns {without_source} have a role but no source header in `columns`")
        created = [c for c in self.identifiers if c not in mapped]
        if len(created) > 1:
            raise ValueError(
                f"identifiers {created} have no source; at most one row-number id can be created"
            )
        unfed = sorted(set(self.alternatives) - mapped)
        if unfed:
            raise ValueError(f"alternatives name {unfed}, which are not targets of `columns`")
        roleless = [t for t in targets if t not in schema.columns]
        if roleless:
            raise ValueError(
                f"mapped columns {roleless} have no role: list them under numeric, ordinal, categorical, "
                "time, event, identifiers or extra (or remove them from `columns`)"
            )
        for name, levels in self.ordinal.items():
            if not levels or len(set(levels)) != len(levels):
                raise ValueError(f"ordinal {name!r} needs at least one level and no repeated level")
        checks = [
            ("recode", list(self.recode), mapped),
            ("range_midpoints", self.range_midpoints, set(self.numeric)),
            ("required", self.required, set(schema.features) | set(self.identifiers)),
            ("optional", self.optional, mapped - {self.time, self.event and self.event.column}),
        ]
        kinds = {**{c: "levels" for c in self.categorical},
                 **{c: "bounds" for c in [*self.numeric, *([self.time] if self.time else [])]}}
        for name, dom in self.domains.items():
            want = kinds.get(name)
            if want is None:
                raise ValueError(f"domains names {name!r}, which is not a categorical, numeric or time column")
            if (want == "levels") != isinstance(dom, list):
                raise ValueError(f"domains[{name!r}] must be " + ("a list of levels" if want == "levels"
                                                                  else "{min, max} bounds"))
        for name, cols, allowed in checks:
            bad = [c for c in cols if c not in allowed]
            if bad:
                raise ValueError(f"{name} names {bad}, which are not among {sorted(c for c in allowed if c)}")
        return self

    @property
    def source_of(self) -> dict[str, str]:
        """Cohort column -> source header (stripped)."""
        return {dst: src for src, dst in self.columns.items()}

    def sources_of(self, column: str) -> list[str]:
        """Every source header that may feed ``column``: its `columns` header, then its alternatives."""
        return [self.source_of[column], *(a.strip() for a in self.alternatives.get(column, []))]

    def to_schema(self, *, absent: tuple[str, ...] | list[str] = ()) -> CohortSchema:
        """The :class:`CohortSchema` of the cohort this mapping produces.

        Args:
            absent: Optional cohort columns missing from the source; left out of the schema.
        """
        gone = set(absent)
        keep = [c for c in self.numeric if c not in gone]
        return CohortSchema(
            numeric=keep,
            ordinal={k: v for k, v in self.ordinal.items() if k not in gone},
            categorical=[c for c in self.categorical if c not in gone],
            time=self.time,
            event=self.event.column if self.event else None,
            identifiers=self.identifiers,
            quasi_identifiers=[c for c in self.quasi_identifiers if c not in gone],
            extra=[c for c in self.extra if c not in gone],
            constraints=[c for c in self.constraints if not set(c.values()) & gone],
            domains={k: (list(v) if isinstance(v, list) else v.model_dump(exclude_none=True))
                     for k, v in self.domains.items() if k not in gone},
        )

    def __repr__(self) -> str:
        return (
            f"SchemaMapping(columns={len(self.columns)}, time={self.time!r}, "
            f"event={self.event.column if self.event else None!r}, recodes={len(self.recode)})"
        )


__all__ = ["SchemaMapping", "EventSpec", "NumericDomain", "DEFAULT_MISSING", "MONTHS_PER"]
