"""Calibrated SEER-like registry cohorts (breast, lung, colorectal, prostate) on Dask.

Generative model, per patient (parameters in :mod:`syntwin.cohort._sites`):

1. AJCC stage ~ the site's published stage distribution; age | stage ~ truncated normal
   (whole years, 18-100); sex, race (P(Black) rises with stage), year of diagnosis
   2004-2015 (rising incidence), marital status | age, sex.
2. Grade ~ ordinal cut of a latent normal shifted by stage; site extras: breast ER/PR/HER2
   (| grade), lung histology (| stage), prostate Gleason (| stage), PSA (| stage).
3. Treatment by indication (:mod:`syntwin.cohort._treatment`): surgery ~ logistic in stage
   and age; then radiation, chemotherapy (and, for breast, endocrine therapy) ~ logistic in
   stage, age, year, recorded positive nodes, grade, receptor status, surgery. Nodes involved
   (| stage) and tumour size (| stage, nodes) follow AJCC rules, so stage I has no positive
   nodes, breast stage I is <= 20 mm, etc.; nodes are counted only if operated.
4. Cause-specific death: Weibull proportional hazards
   ``H_c(t | x, a) = (t / λ_stage) ** k_stage * exp(η(x) + Σ_j a_j log HR_j(x))`` with
   ``η = β_age (age - 65) / 10 + β_grade (grade - II) + log HR_size (size - 20) / 10
   + log HR_node × involved nodes + site terms`` and published treatment hazard ratios
   ``HR_j`` (sources in ``_treatment``); potential outcomes under each option come from
   :mod:`syntwin.cohort.truth`. λ_stage fitted by
   :func:`calibrate` so that the Kaplan–Meier 5-year cause-specific survival of each stage
   equals ``CALIBRATION_TARGETS``. Competing other-cause death: the US period life table 2011
   by sex and attained age (:mod:`syntwin.cohort._lifetable`, NVSR 64(11)) × site comorbidity frailty.
5. Follow-up ends at the first of both deaths, loss to follow-up (1%/year) and the study
   cutoff 31 Dec 2020; ``survival_months`` is the floor of that time in months (as SEER).
6. SEER coding (:mod:`syntwin.cohort._seer_codes`, extra columns derived from the above without
   random numbers): 5-year age group, CS tumour size code, and for breast AJCC 6th-ed T, N and
   stage group (IIA ... IIIC).

Column dtypes: every numeric column (age and year_of_diagnosis included) is float64 holding
whole numbers except ``psa_ng_ml``; ordinal and categorical columns hold Python ``str``
(object dtype); ``cancer_death`` is int64 0/1; ``patient_id`` is int64 (1..n).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtr, ndtri

from syntwin.cohort import _lifetable as L
from syntwin.cohort import _seer_codes as C
from syntwin.cohort import _sites as S
from syntwin.cohort import _treatment as T
from syntwin.cohort.cohort import CleaningReport, Cohort
from syntwin.cohort.schema import CohortSchema
from syntwin.errors import CohortError, OutputError
from syntwin.seeding import seed_sequence

SITES: tuple[str, ...] = ("breast", "lung", "colorectal", "prostate")
CALIBRATION_TARGETS = S.CALIBRATION_TARGETS
_CALIBRATION_SEED = 20240501


def _check_site(site: object) -> str:
    if site not in SITES:
        raise CohortError(
            f"unknown cancer site {site!r}; valid sites: {', '.join(SITES)}",
            field="site", hint=f"use one of {', '.join(SITES)}",
        )
    return str(site)


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise CohortError(f"{name} must be an integer >= 1, got {value!r}", field=name)
    return int(value)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CohortError(f"seed must be an integer >= 0, got {seed!r}", field="seed")
    return int(seed)


def site_schema(site: str) -> CohortSchema:
    """Column roles of a simulated cohort of ``site`` (one of :data:`SITES`)."""
    site = _check_site(site)
    numeric = ["age", "year_of_diagnosis"]
    numeric += ["psa_ng_ml"] if site == "prostate" else ["tumor_size_mm"]
    numeric += ["nodes_examined", "nodes_positive"]
    ordinal = {"grade": S.GRADES, "stage": S.STAGES}
    categorical = ["sex", "race", "marital_status", "summary_stage", *T.treatment_columns(site)]
    if site == "breast":
        categorical += ["er_status", "pr_status", "her2_status"]
    elif site == "lung":
        categorical += ["histology"]
    elif site == "prostate":
        ordinal["gleason_score"] = S.GLEASON
    return CohortSchema(
        numeric=tuple(numeric), ordinal=ordinal, categorical=tuple(categorical),
        time="survival_months", event="cancer_death", identifiers=("patient_id",),
        quasi_identifiers=("age", "sex", "race", "year_of_diagnosis", "marital_status"),
        extra=("vital_status", *C.seer_columns(site)), constraints=_site_constraints(site),
    )


def _site_constraints(site: str) -> tuple[dict, ...]:
    """Rules the simulator keeps (step 3 and 5 of the module docstring); twins must keep them too."""
    size = "psa_ng_ml" if site == "prostate" else "tumor_size_mm"
    return (
        {"kind": "inequality", "low": "nodes_positive", "high": "nodes_examined"},
        {"kind": "range", "column": "age", "min": 18, "max": 100},
        {"kind": "range", "column": "year_of_diagnosis", "min": min(S.YEARS), "max": max(S.YEARS)},
        {"kind": "range", "column": size, "min": 0},
        {"kind": "range", "column": "nodes_examined", "min": 0},
        {"kind": "range", "column": "nodes_positive", "min": 0},
        {"kind": "range", "column": "survival_months", "min": 0},
        {"kind": "follow_up", "time": "survival_months", "diagnosis_year": "year_of_diagnosis",
         "cutoff": f"{int(S.CUTOFF_YEAR) - 1}-12-31"},
    )


# --------------------------------------------------------------------------- sampling helpers
def _pick(rng: np.random.Generator, probs: np.ndarray, n: int | None = None) -> np.ndarray:
    """Index drawn from each row of ``probs`` (n, k), or ``n`` draws from one vector (k,)."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        cum = np.cumsum(probs)
        return np.searchsorted(cum[:-1], rng.random(n) * cum[-1], side="right")
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return (u[:, None] >= cum[:, :-1]).sum(axis=1)


def _trunc_normal(rng, mean, sd, lo, hi, n):
    """Normal(mean, sd) truncated to [lo, hi] by inverse CDF (mean, lo, hi broadcast)."""
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    return mean + sd * ndtri(np.clip(rng.uniform(a, b, size=n), 1e-15, 1 - 1e-15))


def _labels(levels: tuple[str, ...], idx: np.ndarray) -> np.ndarray:
    return np.array(levels, dtype=object)[idx]


def _yes(flag: np.ndarray) -> np.ndarray:
    return np.where(flag, "Yes", "No").astype(object)


def _posneg(flag: np.ndarray) -> np.ndarray:
    return np.where(flag, "Positive", "Negative").astype(object)


def _assign(rng, rule: T.TreatmentRule, stage, age, year, nodes, indicators: dict) -> np.ndarray:
    """Treatment by indication: the logistic model of :mod:`syntwin.cohort._treatment`."""
    p = np.clip(np.asarray(rule.share, dtype=float)[stage], 1e-6, 1 - 1e-6)
    z = logit(p) - rule.age_slope * (age - 65.0) + rule.year_slope * (year - 2010.0) + rule.per_node * nodes
    for name, coef in rule.modifiers.items():
        z = z + coef * indicators[name]
    return rng.random(stage.size) < expit(z)


def _effects(site: str, stage: np.ndarray, indicators: dict) -> dict[str, np.ndarray]:
    """Per patient and treatment column: the log hazard ratio the patient would get if treated."""
    out = {}
    for name, rule in T.TREATMENTS[site].items():
        lhr = np.log(np.asarray(rule.hazard_ratio, dtype=float))[stage]
        out[name] = lhr * indicators[rule.applies_if] if rule.applies_if else lhr
    return out


def _marital(rng, age, male):
    """SEER-style marital status: widowhood rises with age (more for women)."""
    widowed = np.clip(0.006 * (age - 45.0), 0.0, 0.55) * np.where(male, 0.45, 1.0)
    single = 0.06 + 0.30 * np.exp(-(age - 18.0) / 20.0)
    divorced = np.full(age.size, 0.12)
    separated = np.full(age.size, 0.015)
    married = np.clip(1.0 - widowed - single - divorced - separated, 0.05, None)
    return _labels(S.MARITAL, _pick(rng, np.column_stack([married, single, divorced, widowed, separated])))


def _nodes_and_size(site, p, rng, stage, operated, n):
    """Latent node involvement, recorded node counts and tumour size (mm), AJCC-coherent."""
    involved = rng.random(n) < np.asarray(p.node_involved)[stage]
    n2 = involved & (rng.random(n) < np.asarray(S.N2_SHARE[site])[stage])
    u = rng.random(n)
    n1_count = 1 + (u > 0.5) + (u > 0.8)  # 1, 2, 3 positive nodes with P 0.5, 0.3, 0.2
    count = np.where(n2, 3 + rng.geometric(0.15, n), n1_count) * involved
    if site == "prostate":
        operated = operated & (rng.random(n) < 0.5)  # pelvic lymph node dissection
    extra = {"breast": np.where(involved, rng.poisson(10.0, n), 1 + rng.poisson(1.5, n)),
             "lung": 2 + rng.poisson(7.0, n), "colorectal": 8 + rng.poisson(10.0, n),
             "prostate": 1 + rng.poisson(6.0, n)}[site]
    positive = np.where(operated, count, 0)
    examined = np.where(operated, count + extra, 0)
    if site == "prostate":
        return involved, count, positive, examined, None
    lo, hi = np.zeros(n), np.full(n, 250.0)
    if site == "breast":  # T1 <= 20 mm, T2 <= 50 mm; stage III with 1-3 nodes needs T3 > 50 mm
        hi[stage == 0] = 20.0
        hi[stage == 1] = 50.0
        lo[(stage == 1) & ~involved] = 20.0
        lo[(stage == 2) & involved & ~n2] = 50.0
    elif site == "lung":  # 7th ed.: stage I <= 50 mm, II N0 50-70 mm, III N0 > 70 mm
        hi[stage == 0] = 50.0
        hi[stage == 1] = 70.0
        lo[(stage == 1) & ~involved] = 50.0
        lo[(stage == 2) & ~involved] = 70.0
    mu, sd = np.log(np.asarray(p.size_median)[stage]), p.size_sigma
    z = _trunc_normal(rng, mu, sd, np.log(np.maximum(lo, 1e-9)), np.log(hi), n)
    size = np.clip(np.ceil(np.exp(z)), 1.0, 250.0)
    return involved, count, positive, examined, size


def _site_extras(site, rng, stage, grade, n):
    """Site-specific columns and their log-hazard contribution."""
    cols: dict[str, np.ndarray] = {}
    eta = np.zeros(n)
    if site == "breast":
        er = rng.random(n) < np.array([0.96, 0.92, 0.64, 0.55])[grade]
        pr = rng.random(n) < np.where(er, 0.85, 0.07)
        her2 = rng.random(n) < np.array([0.06, 0.11, 0.22, 0.20])[grade]
        cols = {"er_status": _posneg(er), "pr_status": _posneg(pr), "her2_status": _posneg(her2)}
        eta += 0.45 * ~er + 0.15 * her2 + 0.25 * (~er & ~pr & ~her2)
    elif site == "lung":
        probs = np.array([[0.63, 0.29, 0.02, 0.06], [0.51, 0.36, 0.05, 0.08],
                          [0.42, 0.34, 0.14, 0.10], [0.51, 0.17, 0.20, 0.12]])
        h = _pick(rng, probs[stage])
        cols = {"histology": _labels(S.HISTOLOGY_LUNG, h)}
        eta += np.array([0.0, 0.05, 0.35, 0.15])[h]
    elif site == "prostate":
        probs = np.array([[0.62, 0.30, 0.05, 0.03], [0.38, 0.45, 0.10, 0.07],
                          [0.12, 0.52, 0.14, 0.22], [0.05, 0.25, 0.20, 0.50]])
        g = _pick(rng, probs[stage])
        med = np.array([6.0, 7.0, 9.5, 45.0])[stage]
        sd = np.array([0.6, 0.65, 0.8, 1.3])[stage]
        psa = np.clip(np.round(np.exp(np.log(med) + sd * rng.standard_normal(n)), 1), 0.1, 98.0)
        cols = {"gleason_score": _labels(S.GLEASON, g), "psa_ng_ml": psa}
        eta += 0.55 * g + 0.1 * (psa > 20)
    return cols, eta


def _draw(n: int, site: str, rng: np.random.Generator) -> tuple[dict, dict]:
    """Covariates (columns) and the latent quantities the outcome needs."""
    p = S.SITE_PARAMS[site]
    tgt = CALIBRATION_TARGETS[site]["stage_distribution"]
    stage = _pick(rng, [tgt[s] for s in S.STAGES], n)
    age = _trunc_normal(rng, p.age_mean + np.asarray(p.age_shift)[stage], p.age_sd, 17.5, 100.5, n)
    age = np.clip(np.floor(age + 0.5), 18.0, 100.0)
    male = rng.random(n) < p.male_share
    race_p = np.tile(p.race, (n, 1))
    race_p[:, 1] *= 1.0 + p.black_stage_gradient * stage
    race = _pick(rng, race_p / race_p.sum(axis=1, keepdims=True))
    w = np.linspace(1.0, 1.25, len(S.YEARS))
    year = np.asarray(S.YEARS, dtype=float)[_pick(rng, w / w.sum(), n)]
    dx_time = year + rng.random(n)  # decimal date of diagnosis
    marital = _marital(rng, age, male)
    if site == "prostate":
        grade = None
    else:
        latent = rng.standard_normal(n) + p.grade_stage * stage
        grade = np.searchsorted(np.asarray(p.grade_cuts), latent)
    rules = T.TREATMENTS[site]
    none = np.zeros(n)
    surgery = _assign(rng, rules["surgery"], stage, age, year, none, {})
    involved, count, positive, examined, size = _nodes_and_size(site, p, rng, stage, surgery, n)
    extras, eta = _site_extras(site, rng, stage, grade, n)
    if grade is None:  # SEER prostate grade: Gleason 5-6 -> II, 7-10 -> III
        grade = np.where(extras["gleason_score"] == "6", 1, 2)
    er = extras["er_status"] == "Positive" if site == "breast" else np.zeros(n, bool)
    indicators = {"operated": surgery, "not_operated": ~surgery, "grade_high": grade >= 2,
                  "er_positive": er, "er_negative": (~er) if site == "breast" else np.zeros(n, bool),
                  "her2_positive": extras.get("her2_status", np.array(["Negative"] * n)) == "Positive",
                  "small_cell": extras.get("histology", np.array([""] * n)) == "Small cell"}
    indicators = {k: np.asarray(v, dtype=float) for k, v in indicators.items()}
    treated = {"surgery": surgery}
    for name, rule in list(rules.items())[1:]:
        treated[name] = _assign(rng, rule, stage, age, year, positive, indicators)
    effects = _effects(site, stage, indicators)
    to_regional = rng.random(n) < S.STAGE2_N0_REGIONAL[site]
    summary = np.where(stage == 3, 2, np.where((stage == 2) | involved | ((stage == 1) & to_regional), 1, 0))
    cols = {
        "age": age, "year_of_diagnosis": year,
        "tumor_size_mm": size, "nodes_examined": examined.astype(float),
        "nodes_positive": positive.astype(float),
        "grade": _labels(S.GRADES, grade), "stage": _labels(S.STAGES, stage),
        "sex": np.where(male, "Male", "Female").astype(object), "race": _labels(S.RACES, race),
        "marital_status": marital, "summary_stage": _labels(S.SUMMARY_STAGES, summary),
        **{name: _yes(flag) for name, flag in treated.items()}, **extras,
        "age_group": C.age_group(age),
    }
    if size is not None:
        cols["cs_tumor_size"] = C.cs_tumor_size(size)
    if site == "breast":
        cols.update(C.breast_tnm_6th(stage, size, count))
    # outcome latents: cancer time = λ_stage * base; other-cause time; censoring time
    prog = T.PROGNOSTIC[site]
    eta = eta + p.beta_age * (age - 65.0) / 10.0 + p.beta_grade * (grade - 1) + math.log(prog.node_hr_per_node) * count
    if size is not None:
        eta = eta + math.log(prog.size_hr_per_10mm) * (size - 20.0) / 10.0
    eta_untreated = eta.copy()
    for name, flag in treated.items():
        eta = eta + effects[name] * flag
    k = np.asarray(p.weibull_shape)[stage]
    exp_draw = rng.standard_exponential(n)
    base = (exp_draw * np.exp(-eta)) ** (1.0 / k)
    t_other = 12.0 * L.other_cause_years(age, male, rng.standard_exponential(n), p.other_frailty)
    censor = np.minimum(12.0 * (S.CUTOFF_YEAR - dx_time), rng.exponential(1.0 / S.LOSS_RATE, n))
    lat = {"stage": stage, "base": base, "t_other": t_other, "censor": censor}
    truth = {"eta_untreated": eta_untreated, "exp_draw": exp_draw, "shape": k, "treated": treated,
             "effects": effects}
    return cols, lat, truth


def _outcome(lat: dict, scales) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(survival_months, cancer_death, dead) for per-stage Weibull scales ``scales``."""
    t_cancer = np.asarray(scales, dtype=float)[lat["stage"]] * lat["base"]
    t_death = np.minimum(t_cancer, lat["t_other"])
    t_obs = np.minimum(t_death, lat["censor"])
    return np.floor(t_obs), (t_cancer <= np.minimum(lat["t_other"], lat["censor"])), t_death <= lat["censor"]


def simulate_partition(n: int, site: str, seed: int, partition: int, id_offset: int) -> pd.DataFrame:
    """One partition (``n`` patients) of a simulated cohort, as a pandas DataFrame.

    The random stream is ``seed_sequence(seed, "simulate", site, partition)``, so a partition
    is the same whichever process computes it. ``patient_id`` runs from ``id_offset + 1``;
    the index from ``id_offset``.
    """
    site = _check_site(site)
    n = _check_positive("n", n)
    rng = np.random.default_rng(seed_sequence(_check_seed(seed), "simulate", site, partition))
    cols, lat, _truth = _draw(n, site, rng)
    months, cancer_death, dead = _outcome(lat, S.SITE_PARAMS[site].weibull_scale)
    cols.update(
        patient_id=np.arange(id_offset + 1, id_offset + n + 1, dtype=np.int64),
        survival_months=months, cancer_death=cancer_death.astype(np.int64),
        vital_status=np.where(dead, "Dead", "Alive").astype(object),
    )
    order = site_schema(site).columns
    return pd.DataFrame({c: cols[c] for c in order}, index=pd.RangeIndex(id_offset, id_offset + n))


def simulate_cohort(n: int, site: str = "breast", seed: int = 0, rows_per_partition: int = 250_000) -> Cohort:
    """A lazy simulated cohort of ``n`` patients of ``site``.

    Partitions are ``ceil(n / rows_per_partition)`` blocks of ``rows_per_partition`` rows (the
    last one shorter), each from :func:`simulate_partition` with its own stable seed: the data
    depend on ``(n, site, seed, rows_per_partition)`` only, never on the Dask workers.
    """
    site = _check_site(site)
    n = _check_positive("n", n)
    rpp = _check_positive("rows_per_partition", rows_per_partition)
    seed = _check_seed(seed)
    starts = list(range(0, n, rpp))
    args = [(min(rpp, n - s), site, seed, i, s) for i, s in enumerate(starts)]
    meta = simulate_partition(1, site, seed, 0, 0).iloc[:0]
    with dask.config.set({"dataframe.convert-string": False}):  # keep plain str (object) columns
        data = dd.from_map(_partition_from_args, args, meta=meta, divisions=(*starts, n - 1),
                           label=f"simulate-{site}", enforce_metadata=False)
    report = CleaningReport(source=f"simulated:{site}", rows_read=n)
    return Cohort(data=data, schema=site_schema(site), report=report)


def _partition_from_args(args: tuple) -> pd.DataFrame:
    return simulate_partition(*args)


# --------------------------------------------------------------------------- Parquet I/O
def write_cohort(cohort: Cohort, path: str | os.PathLike) -> None:
    """Write ``cohort`` atomically as a Parquet directory.

    The directory holds ``part.<i>.parquet`` (one file per partition, index included),
    ``schema.json`` (:meth:`CohortSchema.save`) and ``report.json``. It is written to a hidden
    temporary sibling and renamed into place, so a failure leaves nothing behind; an existing
    ``path`` is replaced.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cohort.data.to_parquet(tmp, write_index=True, write_metadata_file=False)
        cohort.schema.save(tmp / "schema.json")
        (tmp / "report.json").write_text(json.dumps(cohort.report.to_dict(), indent=2))
        if path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write cohort: {exc}", file=str(path),
                          hint="choose a writable directory with free space") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_simulated(path: str | os.PathLike) -> Cohort:
    """Inverse of :func:`write_cohort` (string columns come back as Python ``str``)."""
    path = Path(path)
    if not (path / "schema.json").is_file():
        raise CohortError("not a cohort directory written by write_cohort (no schema.json)", file=str(path))
    schema = CohortSchema.load(path / "schema.json")
    rep = json.loads((path / "report.json").read_text()) if (path / "report.json").is_file() else {}
    report = CleaningReport(source=rep.get("source", str(path)), rows_read=int(rep.get("rows_read", 0)),
                            rules=dict(rep.get("rules", {})))
    files = sorted(path.glob("part.*.parquet"), key=lambda f: int(f.name.split(".")[1]))
    with dask.config.set({"dataframe.convert-string": False}):
        data = dd.read_parquet([str(f) for f in files], calculate_divisions=True)
    return Cohort(data=data, schema=schema, report=report)


# --------------------------------------------------------------------------- calibration
def km_survival(time: np.ndarray, event: np.ndarray, at: float) -> float:
    """Kaplan–Meier ``S(at) = Π_{t_i <= at} (1 - d_i / n_i)`` (censored ties stay at risk)."""
    times, inv = np.unique(np.asarray(time, dtype=float), return_inverse=True)
    d = np.bincount(inv, weights=np.asarray(event, dtype=float))
    at_risk = len(inv) - np.concatenate([[0], np.cumsum(np.bincount(inv))[:-1]])
    keep = times <= at
    return float(np.prod(1.0 - d[keep] / at_risk[keep]))


def calibration_table(df: pd.DataFrame, site: str) -> pd.DataFrame:
    """Targets beside what ``df`` (a computed cohort of ``site``) shows, one row per AJCC stage.

    Columns: ``n``, ``share``, ``target_share``, ``css_5yr`` (KM cause-specific survival at 60
    months, %), ``target_css_5yr``.
    """
    tgt = CALIBRATION_TARGETS[_check_site(site)]
    rows = []
    for stage in S.STAGES:
        sub = df[df["stage"] == stage]
        css = 100.0 * km_survival(sub["survival_months"], sub["cancer_death"], 60.0) if len(sub) else np.nan
        rows.append({"stage": stage, "n": len(sub), "share": len(sub) / max(len(df), 1),
                     "target_share": tgt["stage_distribution"][stage], "css_5yr": css,
                     "target_css_5yr": tgt["css_5yr"][stage]})
    return pd.DataFrame(rows).set_index("stage")


def calibrate(site: str, n: int = 400_000, seed: int = _CALIBRATION_SEED) -> tuple[float, ...]:
    """Fit the per-stage Weibull scales λ (months) to ``CALIBRATION_TARGETS[site]["css_5yr"]``.

    Simulates ``n`` patients once (common random numbers) and, for each stage, bisects
    ``log λ`` until the Kaplan–Meier cause-specific survival at 60 months of that stage equals
    the target (KM with other-cause deaths and losses censored, as in SEER cause-specific
    survival). The result is what ``SITE_PARAMS[site].weibull_scale`` holds.
    """
    site = _check_site(site)
    rng = np.random.default_rng(seed_sequence(seed, "calibrate", site))
    _, lat, _truth = _draw(_check_positive("n", n), site, rng)
    scales = []
    for s, name in enumerate(S.STAGES):
        target = CALIBRATION_TARGETS[site]["css_5yr"][name] / 100.0
        sub = {k: v[lat["stage"] == s] for k, v in lat.items()}
        lo, hi = math.log(1e-1), math.log(1e9)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            months, event, _dead = _outcome(sub, [math.exp(mid)] * 4)
            lo, hi = (mid, hi) if km_survival(months, event, 60.0) < target else (lo, mid)
        scales.append(float(f"{math.exp(0.5 * (lo + hi)):.5g}"))
    return tuple(scales)


__all__ = ["SITES", "CALIBRATION_TARGETS", "site_schema", "simulate_partition", "simulate_cohort",
           "write_cohort", "read_simulated", "km_survival", "calibration_table", "calibrate"]
