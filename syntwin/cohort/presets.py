"""Built-in schema mappings for SEER exports, and the resolver from a name to a mapping.

Cohort column names are the simulator's (``age``, ``grade``, ``stage``, ``survival_months``...),
so a scenario written for the simulator runs on a real export and vice versa.

Choices (shared by both presets):
    * ``grade`` is ordinal ``I < II < III < IV`` (SEER grade codes 1-4 and their labels).
    * ``age`` is numeric. SEER*Stat age groups become the midpoint of their bounds:
      ``"60-64 years"`` -> 62, ``"01-04 years"`` -> 2.5, ``"85+ years"`` -> 87 (lower bound + 2,
      as for a 5-year band), ``"00 years"`` -> 0 (see ``range_midpoints``). Midpoints keep age
      numeric like the simulator's; the group is recoverable from the midpoint.
    * SEER size/node codes that are not a measurement become missing, each counted in the report:
      CS tumor size 990-999 (microscopic focus, "less than x cm", diffuse, unknown; 000 = no mass
      stays 0), nodes examined 95-99, nodes positive 95/97/98/99.
    * ``Unknown`` race, marital status and ER/PR values stay explicit categories (listed in
      ``unknown_values``, so the report counts them); unknown stage/grade/size become missing.
"""

from __future__ import annotations

from syntwin.cohort.mapping import EventSpec, SchemaMapping

GRADES = ["I", "II", "III", "IV"]
STAGE_GROUPS = ["0", "I", "II", "III", "IV"]


#: Public domains of the SEER breast CSV columns, from SEER's coding and the AJCC cut points (never from the
#: data): what a differentially private generator (mst) may assume. Women with breast cancer diagnosed
#: 2006-2010, followed up to at most 10 years; SEER codes tumour size 0-989 mm and node counts 0-90 (larger
#: codes mean "unknown" and are missing here); a tumour above 200 mm or an age outside 18-100 is clamped.
#: Cuts: age by decade, tumour size at the T1/T2/T3 limits (20, 50 mm), positive nodes at N1/N2/N3 (3, 9),
#: follow-up by year. Levels: SEER's recodes, "Unknown" included.
SEER_BREAST_DOMAINS: dict = {
    "age": {"min": 18, "max": 100, "cuts": [40, 50, 60, 70], "integer": True},
    "tumor_size_mm": {"min": 0, "max": 200, "cuts": [10, 20, 30, 50, 80], "integer": True},
    "nodes_examined": {"min": 0, "max": 90, "cuts": [5, 10, 15, 20, 30], "integer": True},
    "nodes_positive": {"min": 0, "max": 90, "cuts": [3, 9, 20], "integer": True},
    "survival_months": {"min": 0, "max": 120, "cuts": [12, 24, 36, 48, 60, 72, 84, 96, 108], "integer": True},
    "race": ["White", "Black", "Other", "Unknown"],
    "marital_status": ["Married", "Single", "Divorced", "Widowed", "Separated", "Unknown"],
    "summary_stage": ["Localized", "Regional", "Distant"],
    "er_status": ["Positive", "Negative", "Borderline/Unknown"],
    "pr_status": ["Positive", "Negative", "Borderline/Unknown"],
}


def _seer_breast_csv() -> SchemaMapping:
    """The public SEER breast CSV (IEEE Dataport, Nov 2017 release; 4,024 women, 2006-2010).

    ``Status`` (all-cause vital status) is the event, named ``death``; there is no patient id,
    so ``patient_id`` is created from the row number. ``differentiate`` restates ``Grade`` in
    words and is carried as the extra column ``differentiation``.
    """
    return SchemaMapping(
        columns={
            "Age": "age",
            "Race": "race",
            "Marital Status": "marital_status",
            "T Stage": "t_stage",
            "N Stage": "n_stage",
            "6th Stage": "stage",
            "differentiate": "differentiation",
            "Grade": "grade",
            "A Stage": "summary_stage",
            "Tumor Size": "tumor_size_mm",
            "Estrogen Status": "er_status",
            "Progesterone Status": "pr_status",
            "Regional Node Examined": "nodes_examined",
            "Reginol Node Positive": "nodes_positive",
            "Survival Months": "survival_months",
            "Status": "death",
        },
        numeric=["age", "tumor_size_mm", "nodes_examined", "nodes_positive"],
        ordinal={
            "t_stage": ["T1", "T2", "T3", "T4"],
            "n_stage": ["N1", "N2", "N3"],
            "stage": ["IIA", "IIB", "IIIA", "IIIB", "IIIC"],
            "grade": GRADES,
        },
        categorical=["race", "marital_status", "summary_stage", "er_status", "pr_status"],
        time="survival_months",
        event=EventSpec(column="death", positive=["Dead"], negative=["Alive"]),
        recode={"grade": {"1": "I", "2": "II", "3": "III", " anaplastic; Grade IV": "IV"}},
        identifiers=["patient_id"],
        quasi_identifiers=["age", "race", "marital_status"],
        extra=["differentiation"],
        required=["age"],
        constraints=[
            {"kind": "inequality", "low": "nodes_positive", "high": "nodes_examined"},
            *({"kind": "range", "column": c, "min": 0}
              for c in ("age", "tumor_size_mm", "nodes_examined", "nodes_positive", "survival_months")),
        ],
        domains=SEER_BREAST_DOMAINS,
    )


def _stage_groups() -> dict[str, str | None]:
    """AJCC 6th/7th/8th (and EOD 2018) stage groups, roman or arabic, collapsed to 0/I/II/III/IV."""
    out: dict[str, str | None] = {}
    for roman, arabic in (("I", "1"), ("II", "2"), ("III", "3"), ("IV", "4")):
        for sub in ("", "A", "B", "C", "D", "NOS", "S"):
            out[f"{roman}{sub}"] = roman
            out[f"{arabic}{sub}"] = roman
    out.update({"0is": "0", "0a": "0", "0A": "0", "0IS": "0", "IS": "0"})
    out.update({unknown: None for unknown in ("UNK Stage", "Unknown", "99", "88", "OCCULT", "Occult")})
    for level in STAGE_GROUPS:  # the levels themselves are not recoded
        out.pop(level, None)
    return out


#: "Grade Recode (thru 2017)" long and short labels, and the 2018+ grade codes (1-4, A-D, L/M/H; 9 unknown).
_GRADES: dict[str, str | None] = {
    "Well differentiated; Grade I": "I",
    "Moderately differentiated; Grade II": "II",
    "Poorly differentiated; Grade III": "III",
    "Undifferentiated; anaplastic; Grade IV": "IV",
    "Grade I": "I", "Grade II": "II", "Grade III": "III", "Grade IV": "IV",
    "1": "I", "2": "II", "3": "III", "4": "IV",
    "A": "I", "B": "II", "C": "III", "D": "IV", "L": "I", "M": "II", "H": "III",
    "9": None, "Unknown": None,
    # lymphoma cell types share the variable; they are not a differentiation grade
    "T-cell": None, "B-cell; pre-B; B-precursor": None, "Null cell; non T-non B": None,
    "NK cell; natural killer cell (1995+)": None,
}


def _seer_stat() -> SchemaMapping:
    """A SEER*Stat case listing export (CSV or tab-delimited text, labels not codes).

    Variables SEER*Stat names differently by release are accepted under each name (``alternatives``:
    the first non-blank of a row is used): age (``Age recode with <1 year olds`` or single ages), race
    (``Race recode (W, B, AI, API)`` or ``Race recode (White, Black, Other)``), grade (``Grade Recode (thru
    2017)`` long or short labels, then the 2018+ grade variables), summary stage (``Combined Summary Stage
    (2004+)`` or the 2000-based ones), AJCC stage group (7th, 6th, then 8th / EOD 2018) and tumour size
    (CS 2004-2015, then the 2016+ summary).

    Levels follow the simulator: AJCC groups are collapsed to ``0 < I < II < III < IV`` (``IIA``/``2B``/
    ``IINOS`` -> ``II``...; ``UNK Stage`` and ``Blank(s)`` -> missing), race to White/Black/Other (AI/AN and
    API -> Other, as in the public SEER CSV) plus Unknown, and marital labels to Married/Single/...

    The event is cause-specific death (``cancer_death``) from "SEER cause-specific death classification":
    1 = "Dead (attributable to this cancer dx)", 0 = "Alive or dead of other cause". As in SEER*Stat's
    cause-specific survival, "Dead (missing/unknown COD)" (a death that is neither the event nor censored)
    and "N/A not first tumor" (no cause-specific status) leave the cohort, each counted in the report;
    ``vital_status`` keeps the all-cause status of the others. Only age, survival months and the
    cause-specific status are needed; every other column is optional. Survival months ``9999`` (unknown)
    stops the read with its first row and count: select cases with known survival in SEER*Stat.
    """
    size_codes: dict[str, str | None] = {str(c): None for c in range(990, 1000)}
    return SchemaMapping(
        columns={
            "Patient ID": "patient_id",
            "Age recode with <1 year olds": "age",
            "Sex": "sex",
            "Race recode (W, B, AI, API)": "race",
            "Year of diagnosis": "year_of_diagnosis",
            "Primary Site - labeled": "primary_site",
            "Grade Recode (thru 2017)": "grade",
            "Combined Summary Stage (2004+)": "summary_stage",
            "Derived AJCC Stage Group, 7th ed (2010-2015)": "stage",
            "Sequence number": "sequence_number",
            "Survival months": "survival_months",
            "Vital status recode (study cutoff used)": "vital_status",
            "SEER cause-specific death classification": "cancer_death",
            "Marital status at diagnosis": "marital_status",
            "ER Status Recode Breast Cancer (1990+)": "er_status",
            "PR Status Recode Breast Cancer (1990+)": "pr_status",
            "CS tumor size (2004-2015)": "tumor_size_mm",
            "Regional nodes examined (1988+)": "nodes_examined",
            "Regional nodes positive (1988+)": "nodes_positive",
        },
        alternatives={
            "age": ["Age recode with single ages and 85+", "Age recode with single ages and 100+",
                    "Age at diagnosis"],
            "race": ["Race recode (White, Black, Other)"],
            "grade": ["Grade Pathological (2018+)", "Grade Clinical (2018+)", "Derived Summary Grade 2018 (2018+)"],
            "summary_stage": ["SEER Combined Summary Stage 2000 (2004-2017)", "Summary stage 2000 (1998-2017)",
                              "Combined Summary Stage with Expanded Regional Codes (2004+)"],
            "stage": ["Derived AJCC Stage Group, 6th ed (2004-2015)", "Derived AJCC Stage Group, 8th ed (2018+)",
                      "Derived EOD 2018 Stage Group Recode (2018+)", "Derived SEER Combined Stg Grp (2016-2017)"],
            "tumor_size_mm": ["Tumor Size Summary (2016+)"],
        },
        numeric=["age", "year_of_diagnosis", "tumor_size_mm", "nodes_examined", "nodes_positive"],
        ordinal={"grade": GRADES, "stage": STAGE_GROUPS},
        categorical=["sex", "race", "summary_stage", "er_status", "pr_status", "marital_status"],
        time="survival_months",
        event=EventSpec(
            column="cancer_death",
            positive=["Dead (attributable to this cancer dx)"],
            negative=["Alive or dead of other cause"],
            exclude=["Dead (missing/unknown COD)", "N/A not first tumor"],
        ),
        recode={
            "grade": dict(_GRADES),
            "stage": _stage_groups(),
            "race": {
                "American Indian/Alaska Native": "Other",
                "Asian or Pacific Islander": "Other",
                "Other (American Indian/AK Native, Asian/Pacific Islander)": "Other",
            },
            "marital_status": {
                "Married (including common law)": "Married",
                "Single (never married)": "Single",
            },
            "summary_stage": {"Unknown/unstaged": None, "Unknown/unstaged/unspecified/DCO": None},
            "survival_months": {"9999": None},  # unknown survival: fails as a missing time, by row
            "tumor_size_mm": size_codes,
            "nodes_examined": {"95": None, "96": None, "97": None, "98": None, "99": None},
            "nodes_positive": {"95": None, "97": None, "98": None, "99": None},
        },
        range_midpoints=["age"],
        identifiers=["patient_id"],
        quasi_identifiers=["age", "sex", "race", "year_of_diagnosis", "marital_status"],
        extra=["primary_site", "sequence_number", "vital_status"],
        required=["age"],
        optional=["patient_id", "sex", "race", "year_of_diagnosis", "primary_site", "grade", "summary_stage", "stage",
                  "sequence_number", "vital_status", "marital_status", "er_status", "pr_status", "tumor_size_mm",
                  "nodes_examined", "nodes_positive"],
        unknown_values=["Unknown", "Borderline/Unknown", "Recode not available"],
        missing_values=["", "Blank(s)", "NA"],
        constraints=[  # the follow-up cutoff depends on the SEER release: declare it in the scenario
            {"kind": "inequality", "low": "nodes_positive", "high": "nodes_examined"},
            *({"kind": "range", "column": c, "min": 0}
              for c in ("tumor_size_mm", "nodes_examined", "nodes_positive", "survival_months")),
        ],
    )


PRESETS: dict[str, SchemaMapping] = {"seer_breast_csv": _seer_breast_csv(), "seer_stat": _seer_stat()}


def register_preset(name: str, mapping: SchemaMapping, *, overwrite: bool = False) -> None:
    """Make ``mapping`` available by ``name`` to :func:`resolve_mapping` and scenario files."""
    if not isinstance(mapping, SchemaMapping):
        raise TypeError(f"expected a SchemaMapping, got {type(mapping).__name__}")
    if name in PRESETS and not overwrite:
        raise ValueError(f"preset {name!r} exists; pass overwrite=True to replace it")
    PRESETS[name] = mapping


def resolve_mapping(mapping: SchemaMapping | str) -> SchemaMapping:
    """Return ``mapping`` itself, or a copy of the preset it names.

    Raises:
        ValueError: ``mapping`` is an unknown preset name (the message lists the presets).
        TypeError: ``mapping`` is neither a name nor a :class:`SchemaMapping`.
    """
    if isinstance(mapping, SchemaMapping):
        return mapping
    if isinstance(mapping, str):
        if mapping not in PRESETS:
            names = ", ".join(sorted(PRESETS))
            raise ValueError(f"unknown cohort mapping preset {mapping!r}; presets: {names}")
        return PRESETS[mapping].model_copy(deep=True)
    raise TypeError(f"mapping must be a preset name or a SchemaMapping, got {type(mapping).__name__}")


__all__ = ["PRESETS", "register_preset", "resolve_mapping", "GRADES", "STAGE_GROUPS"]
