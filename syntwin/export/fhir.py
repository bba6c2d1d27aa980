"""FHIR R4 bulk NDJSON of twin tables: Patient, Condition and Observations, validated with ``fhir.resources``.

One file per resource type (``Patient.ndjson``, ``Condition.ndjson``, ``Observation.ndjson``), one
compact resource per line, as the FHIR Bulk Data Access specification lays out an export.
Resources are checked against the R4B models of ``fhir.resources`` (R4B changed none of
Patient, Condition, Observation from R4 4.0.1; the package no longer ships R4 itself).

Per twin ``i`` (ids ``twin-i``): a Patient (gender, birth year = year of diagnosis - age,
``deceasedBoolean`` true when the event column is 1 and the event is death — a cause-specific
event of 0 says nothing of other causes, so ``deceased`` is then omitted unless a vital-status
column says "Alive"/"Dead"), a Condition (the cancer, ICD-O-3 topography as body site and, when a
histology column holds an ICD-O-3 morphology code or a known label, its morphology code), and one
Observation per present value of stage, grade, tumour size, ER, PR and HER2 status. Every
resource carries the ``HTEST`` meta tag: these are test (synthetic) records.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.errors import StageError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
UCUM = "http://unitsofmeasure.org"
SYNTHETIC_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "code": "HTEST",
    "display": "test health data",
}
RESOURCE_TYPES = ("Patient", "Condition", "Observation")

#: Default column roles (the simulator's and the SEER presets' names).
COLUMNS: dict[str, str] = {
    "sex": "sex",
    "age": "age",
    "year": "year_of_diagnosis",
    "stage": "stage",
    "grade": "grade",
    "tumor_size_mm": "tumor_size_mm",
    "er": "er_status",
    "pr": "pr_status",
    "her2": "her2_status",
    "histology": "histology",
    "primary_site": "primary_site",
    "vital_status": "vital_status",
}

#: ICD-O-3 topography of the simulator's sites (colorectal spans C18-C20: text only).
SITES: dict[str, tuple[str | None, str]] = {
    "breast": ("C50.9", "Breast, NOS"),
    "lung": ("C34.9", "Lung, NOS"),
    "prostate": ("C61.9", "Prostate gland"),
    "colorectal": (None, "Colon and rectum"),
}
#: ICD-O-3 morphology of histology labels used by the simulator.
HISTOLOGY: dict[str, tuple[str, str]] = {
    "Adenocarcinoma": ("8140/3", "Adenocarcinoma, NOS"),
    "Squamous cell": ("8070/3", "Squamous cell carcinoma, NOS"),
    "Small cell": ("8041/3", "Small cell carcinoma, NOS"),
}
#: Observation codes (LOINC): role -> (code, display).
OBSERVATIONS: dict[str, tuple[str, str]] = {
    "stage": ("21908-9", "Stage group.clinical Cancer"),
    "grade": ("21858-6", "Grade Cancer"),
    "tumor_size_mm": ("21889-1", "Size Tumor"),
    "er": ("16112-5", "Estrogen receptor [Interpretation] in Tissue"),
    "pr": ("16113-3", "Progesterone receptor [Interpretation] in Tissue"),
    "her2": ("48676-1", "HER2 [Interpretation] in Tissue"),
}
RECEPTOR_VALUES = {"positive": ("10828004", "Positive"), "negative": ("260385009", "Negative")}
_TOPO = re.compile(r"^\s*(C\d{2})\.?(\d)")
_MORPH = re.compile(r"^\s*(\d{4}/\d)")


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA and str(v) != ""


def _number(v: Any) -> int | float:
    """A JSON number: an integer when the value is whole (``20``, not ``20.0``)."""
    x = float(v)
    return int(x) if x.is_integer() else x


def _cc(text: str, coding: list[dict] | None = None) -> dict:
    return {**({"coding": coding} if coding else {}), "text": text}


def _year(v: Any) -> str | None:
    return f"{int(v):04d}" if _present(v) and 1000 <= float(v) <= 9999 else None


def patient_resources(
    row: Mapping[str, Any],
    pid: str,
    *,
    cols: Mapping[str, str],
    event: str | None,
    event_is_death: bool,
    site: str | None,
) -> Iterator[dict]:
    """Yield the resources of one twin (see the module docstring)."""
    get = lambda role: row.get(cols.get(role, ""), None)  # noqa: E731
    meta = {"tag": [SYNTHETIC_TAG]}
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid, "meta": meta}
    sex = get("sex")
    if _present(sex):
        patient["gender"] = {"female": "female", "male": "male"}.get(str(sex).strip().lower(), "unknown")
    age, year = get("age"), get("year")
    if _present(age) and _present(year):
        if born := _year(float(year) - float(age)):
            patient["birthDate"] = born
    vital = get("vital_status")
    if _present(vital) and str(vital).strip().lower() in ("alive", "dead"):
        patient["deceasedBoolean"] = str(vital).strip().lower() == "dead"
    elif event and event_is_death and _present(row.get(event)) and int(row[event]) == 1:
        patient["deceasedBoolean"] = True
    yield patient

    subject = {"reference": f"Patient/{pid}"}
    cid = f"{pid}-cancer"
    onset = _year(year) if _present(year) else None
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "meta": meta,
        "subject": subject,
        "clinicalStatus": _cc(
            "Active",
            [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}],
        ),
        "verificationStatus": _cc(
            "Confirmed",
            [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}],
        ),
        "category": [
            _cc(
                "Problem list item",
                [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ],
            )
        ],
    }
    topo = None
    ps = get("primary_site")
    if _present(ps) and (m := _TOPO.match(str(ps))):
        topo = (f"{m.group(1)}.{m.group(2)}", str(ps).strip())
    elif site in SITES:
        topo = SITES[site]
    histo = get("histology")
    morph = None
    if _present(histo):
        h = str(histo).strip()
        morph = (m.group(1), h) if (m := _MORPH.match(h)) else HISTOLOGY.get(h)
    if morph:
        condition["code"] = _cc(morph[1], [{"system": ICDO3, "code": morph[0], "display": morph[1]}])
    else:
        name = topo[1] if topo else "unknown site"
        condition["code"] = _cc(
            f"Malignant neoplasm of {name}",
            [{"system": SNOMED, "code": "363346000", "display": "Malignant neoplastic disease"}],
        )
    if topo:
        condition["bodySite"] = [
            _cc(topo[1], [{"system": ICDO3, "code": topo[0], "display": topo[1]}] if topo[0] else None)
        ]
    if onset:
        condition["onsetDateTime"] = onset
    yield condition

    for role, (code, display) in OBSERVATIONS.items():
        v = get(role)
        if not _present(v):
            continue
        suffix = "tumor-size" if role == "tumor_size_mm" else role
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{pid}-{suffix}",
            "meta": meta,
            "status": "final",
            "code": _cc(display, [{"system": LOINC, "code": code, "display": display}]),
            "subject": subject,
            "focus": [{"reference": f"Condition/{cid}"}],
        }
        if onset:
            obs["effectiveDateTime"] = onset
        if role == "tumor_size_mm":
            obs["valueQuantity"] = {"value": _number(v), "unit": "mm", "system": UCUM, "code": "mm"}
        elif role in ("er", "pr", "her2") and str(v).strip().lower() in RECEPTOR_VALUES:
            sct, text = RECEPTOR_VALUES[str(v).strip().lower()]
            obs["valueCodeableConcept"] = _cc(text, [{"system": SNOMED, "code": sct, "display": text}])
        else:
            obs["valueCodeableConcept"] = _cc(str(v))
        yield obs


def fhir_resources(
    df: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    event: str | None = None,
    event_is_death: bool = True,
    site: str | None = None,
    start: int = 0,
) -> Iterator[dict]:
    """Every resource of every row of ``df`` (rows in order, ids ``twin-<start + 1>``, ``twin-<start + 2>``...)."""
    cols = {**COLUMNS, **(columns or {})}
    cols = {role: c for role, c in cols.items() if c in df.columns}
    keep = list(dict.fromkeys([*cols.values(), *([event] if event in df.columns else [])]))
    for i, row in enumerate(df[keep].itertuples(index=False, name=None)):
        yield from patient_resources(
            dict(zip(keep, row, strict=True)),
            f"twin-{start + i + 1}",
            cols=cols,
            event=event if event in df.columns else None,
            event_is_death=event_is_death,
            site=site,
        )


def _models() -> dict[str, Any]:
    from fhir.resources.R4B.condition import Condition
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.patient import Patient

    return {"Patient": Patient, "Condition": Condition, "Observation": Observation}


def validate_resource(resource: dict, models: dict[str, Any] | None = None) -> None:
    """Validate one resource against its ``fhir.resources`` R4B model (raises ``StageError``)."""
    models = models or _models()
    kind = resource.get("resourceType")
    if kind not in models:
        raise StageError(f"FHIR export produced an unexpected resource type {kind!r}")
    try:
        models[kind].model_validate(resource)
    except ValueError as exc:
        raise StageError(
            f"FHIR {kind}/{resource.get('id')} does not validate: {exc}".splitlines()[0] + " ...",
            hint="report this as a syntwin bug",
        ) from exc


def write_fhir_ndjson(
    df: pd.DataFrame,
    folder: Path,
    *,
    validate: int | None = 1_000,
    columns: Mapping[str, str] | None = None,
    event: str | None = None,
    event_is_death: bool = True,
    site: str | None = None,
    on_write=None,
) -> dict[str, Path]:
    """Write ``Patient.ndjson``, ``Condition.ndjson``, ``Observation.ndjson`` to ``folder``.

    Args:
        df: releasable twin table.
        folder: output folder (created).
        validate: validate the resources of the first ``validate`` twins against the FHIR models
            (``None``: all of them; 0: none).
        columns: column role overrides (see :data:`COLUMNS`).
        event: the event column (1 = event observed).
        event_is_death: whether the event is a death (then 1 sets ``deceasedBoolean``).
        site: cancer site of the cohort (``breast``...) when no primary-site column is present.
        on_write: called with each file's temporary path once written (tests inject failures here).

    Returns:
        resource type -> path (types with no resource are not written).

    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = {t: folder / f".{t}.ndjson.{os.getpid()}.tmp" for t in RESOURCE_TYPES}
    try:
        counts = _write_resources(df, tmp, validate=validate, columns=columns, event=event,
                                  event_is_death=event_is_death, site=site)
        written = {}
        for kind, path in tmp.items():
            if counts[kind] == 0:
                path.unlink()
                continue
            if on_write:
                on_write(path)
            written[kind] = folder / f"{kind}.ndjson"
        for kind, final in written.items():
            os.replace(tmp[kind], final)
    except BaseException:
        for path in tmp.values():
            path.unlink(missing_ok=True)
        raise
    return written


def _write_resources(df: pd.DataFrame, paths: Mapping[str, Path], *, validate: int | None, start: int = 0,
                     **kw: Any) -> dict[str, int]:
    """Write the resources of ``df`` (ids from ``twin-<start + 1>``) to one file per type; count them.

    Twins whose number is at most ``validate`` are validated (``None``: all; 0: none).
    """
    models = _models() if validate != 0 else {}
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    with contextlib.ExitStack() as stack:
        fh = {t: stack.enter_context(open(p, "w", encoding="utf-8", newline="\n")) for t, p in paths.items()}
        for res in fhir_resources(df, start=start, **kw):
            if models and (validate is None or int(res["id"].split("-")[1]) <= validate):
                validate_resource(res, models)
            kind = res["resourceType"]
            fh[kind].write(json.dumps(res, separators=(",", ":"), ensure_ascii=False) + "\n")
            counts[kind] += 1
    return counts


def write_fhir_part(df: pd.DataFrame, folder: Path, part: int, *, start: int, validate: int | None = 1_000,
                    **kw: Any) -> dict[str, int]:
    """One part of a streamed export: ``folder/<Type>.<part>.ndjson`` for the twins ``start + 1 ...``.

    Concatenated in part order, the parts are the bytes :func:`write_fhir_ndjson` writes for the whole table
    (the ids and the validated twins are numbered across parts). Returns the resources per type.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return _write_resources(df, {t: folder / f"{t}.{part:05d}.ndjson" for t in RESOURCE_TYPES},
                            validate=validate, start=start, **kw)


__all__ = [
    "fhir_resources",
    "patient_resources",
    "write_fhir_ndjson",
    "write_fhir_part",
    "validate_resource",
    "COLUMNS",
    "SITES",
    "OBSERVATIONS",
    "RESOURCE_TYPES",
]
