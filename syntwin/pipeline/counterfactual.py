"""The counterfactual stage of a cohort run: each held-out patient's survival under each treatment option.

Reference patients are the training patients; the queries are the held-out patients (never seen
by the models), so every per-patient figure is out of sample. Outputs in the run directory:

* ``counterfactual/patients.parquet`` — one row per held-out patient (``row`` = its 0-based
  position among the held-out patients, the subgroup, the observed option), and per estimator
  ``<est>_surv_<option>`` (+ ``_lo``/``_hi``) and ``<est>_effect`` (+ ``_lo``/``_hi``); no features
  of the real patients are written.
* ``counterfactual/effects.csv`` — estimator × scope (all, each subgroup): average effect and
  95 % interval, beside the naive (confounded) difference.
* ``counterfactual/effects.json`` — settings, the assumption, the effect table, the virtual
  control arm (if asked for).
* ``counterfactual/curves.parquet`` — Kaplan–Meier of the twins under each option, for the
  chosen patients and pooled per subgroup (the report's figures).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from syntwin.cohort import CohortSchema
from syntwin.errors import CohortError, StageError
from syntwin.graphs.encode import MixedEncoder
from syntwin.io import write_json
from syntwin.pipeline.context import RunContext
from syntwin.scenario.counterfactual import CounterfactualSection
from syntwin.seeding import int_seed
from syntwin.synthesis import counterfactual as cf
from syntwin.synthesis.causal_forest import forest_average_effects, forest_effects
from syntwin.synthesis.control_arm import virtual_control_arm
from syntwin.synthesis.survival import kaplan_meier

FIELD = "counterfactual"


def _subgroup(section: CounterfactualSection, schema: CohortSchema) -> str | None:
    return section.subgroups or next((c for c in schema.ordinal if c != section.treatment), None)


def check_counterfactual(section: CounterfactualSection | None, schema: CohortSchema, df: pd.DataFrame,
                         n_holdout: int) -> None:
    """Refuse a ``counterfactual:`` section the cohort cannot answer, before any model is fitted."""
    if section is None:
        return
    choices = [*schema.categorical, *schema.ordinal]
    if section.treatment not in choices:
        raise CohortError(f"treatment column {section.treatment!r} is not a categorical feature of the cohort",
                          field=f"{FIELD}.treatment", hint=f"use one of: {', '.join(choices)}")
    gaps = [c for c in schema.features if df[c].isna().any()]
    if gaps:
        raise CohortError(f"features {gaps[:5]} have missing values; the counterfactual stage needs complete "
                          "features", field=FIELD, hint="impute them or make 'missing' a category level")
    seen = sorted(map(str, pd.unique(df[section.treatment].dropna())))
    if len(seen) < 2:
        raise CohortError(f"treatment column {section.treatment!r} has one option only ({seen}); "
                          "nothing to compare", field=f"{FIELD}.treatment",
                          hint="choose a column in which patients received different options")
    missing = [o for o in section.options if o not in seen]
    if missing:
        raise CohortError(f"options {missing} do not occur in {section.treatment!r}", field=f"{FIELD}.options",
                          hint=f"values present: {', '.join(seen)}")
    for name, cols in (("subgroups", [section.subgroups] if section.subgroups else []),
                       ("modifiers", section.modifiers or [])):
        bad = [c for c in cols if c not in schema.features or c == section.treatment]
        if bad:
            raise CohortError(f"{name} names {bad}, which are not features (other than the treatment)",
                              field=f"{FIELD}.{name}", hint=f"features are: {', '.join(schema.features)}")
    out = [p for p in section.patients or [] if not 0 <= p < n_holdout]
    if out:
        raise CohortError(f"patients {out} are out of range: there are {n_holdout} held-out patients",
                          field=f"{FIELD}.patients", hint=f"use rows 0..{n_holdout - 1}")
    if "causal_forest" in section.estimators:
        try:
            import econml  # noqa: F401
        except ImportError:
            raise CohortError("estimator causal_forest needs EconML", field=f"{FIELD}.estimators",
                              hint="pip install 'syntwin[causal]' or drop causal_forest") from None


def _arm_rows(section: CounterfactualSection, df: pd.DataFrame) -> np.ndarray:
    """Rows of ``df`` in the trial arm: the control_arm query among the treated."""
    try:
        sel = df.query(section.control_arm.arm, engine="python")
    except Exception as exc:  # pandas raises many kinds for a bad expression
        raise CohortError(f"control_arm.arm is not a valid query on the cohort: {exc}",
                          field=f"{FIELD}.control_arm.arm", hint="e.g. \"stage in ['II', 'III']\"") from None
    rows = np.flatnonzero(df.index.isin(sel.index) & (df[section.treatment] == section.options[1]).to_numpy())
    if len(rows) < 10:
        raise CohortError(f"the trial arm has {len(rows)} treated patients; at least 10 are needed",
                          field=f"{FIELD}.control_arm.arm", hint="widen the arm's query")
    return rows


def _curves(time, event, twins: dict, rows_by_group: dict[str, np.ndarray], options: list[str]) -> pd.DataFrame:
    parts = []
    for group, rows in rows_by_group.items():
        for code, option in enumerate(options):
            idx = twins[code][rows].ravel()
            t, s = kaplan_meier(time[idx], event[idx])
            parts.append(pd.DataFrame({"group": group, "option": option, "time": np.r_[0.0, t],
                                       "survival": np.r_[1.0, s]}))
    return pd.concat(parts, ignore_index=True)


def run_counterfactual(section: CounterfactualSection, ctx: RunContext, *, schema: CohortSchema,
                       train: pd.DataFrame, holdout: pd.DataFrame, weights: dict[str, float], m: dict) -> None:
    """Estimate, for every held-out patient, survival at the horizon under each option (see module doc)."""
    treat, (opt0, opt1), h = section.treatment, section.options, section.horizon_months
    group_col = _subgroup(section, schema)
    both = pd.concat([train, holdout], ignore_index=True)
    keep = both[treat].isin([opt0, opt1]).to_numpy()
    is_train = np.r_[np.ones(len(train), bool), np.zeros(len(holdout), bool)]
    ref = keep & is_train
    hold = np.r_[np.zeros(len(train), bool), np.ones(len(holdout), bool)]
    a = (both[treat] == opt1).to_numpy().astype(int)
    t, e = both[schema.time].to_numpy(float), both[schema.event].to_numpy(float)
    numeric = list(schema.numeric)
    categorical = [c for c in [*schema.ordinal, *schema.categorical] if c != treat]
    encoder = MixedEncoder(numeric=numeric, ordinal={k: list(v) for k, v in schema.ordinal.items() if k != treat},
                           categorical=[c for c in schema.categorical if c != treat],
                           weights={k: v for k, v in weights.items() if k != treat} or None)
    x = encoder.fit(train).transform(both)  # fitted on the training rows, as the run's own encoder
    groups = both[group_col].astype(str).to_numpy() if group_col else None
    seed = int_seed(ctx.seed, "counterfactual")
    rows_q = np.flatnonzero(hold)
    table = pd.DataFrame({"row": np.arange(len(holdout)), "observed": holdout[treat].astype(str).to_numpy()})
    if group_col:
        table[group_col] = groups[hold]
    effects = [cf.naive_difference(t[ref], e[ref], a[ref], h, groups[ref] if groups is not None else None)
               .assign(estimator="naive")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines convergence chatter; failures raise
        try:
            cox = cf.cox_interaction_effects(both, t, e, a, h, numeric=numeric, categorical=categorical,
                                             modifiers=section.modifiers or ([group_col] if group_col else []),
                                             strata=group_col, fit_rows=ref, seed=seed)
        except Exception as exc:  # noqa: BLE001 - lifelines raises several kinds on degenerate data
            raise StageError(f"the Cox outcome model could not be fitted: {exc}", field=f"{FIELD}.modifiers",
                             hint="use fewer modifiers, or a larger cohort") from None
        per_est: dict[str, pd.DataFrame] = {}
        twins = None
        if "twins" in section.estimators:
            mu = {0: cox["surv_No"].to_numpy(), 1: cox["surv_Yes"].to_numpy()}
            try:
                tw = cf.twin_effects(x[ref], t[ref], e[ref], a[ref], x[hold], h, k=section.k,
                                     exact_ref=None if groups is None else groups[ref],
                                     exact_query=None if groups is None else groups[hold],
                                     outcome_ref={o: v[ref] for o, v in mu.items()},
                                     outcome_query={o: v[hold] for o, v in mu.items()}, seed=seed, client=ctx.client)
            except ValueError as exc:
                raise StageError(str(exc), field=f"{FIELD}.k", hint="lower k, or set subgroups to a coarser column")
            twins = tw.attrs["twins"]
            per_est["twins"] = tw
            effects.append(cf.twin_average_effects(tw, t[ref], e[ref], h, None if groups is None else groups[hold],
                                                   n_boot=200, seed=seed).assign(estimator="twins"))
        if "cox" in section.estimators:
            per_est["cox"] = cox.iloc[rows_q].reset_index(drop=True)
            effects.append(cf.draws_average_effects(cox, groups, rows=hold).assign(estimator="cox"))
        if "causal_forest" in section.estimators:
            fo = forest_effects(both, t, e, a, h, numeric=numeric, categorical=categorical, fit_rows=ref,
                                   query=hold, seed=seed)
            per_est["causal_forest"] = fo
            effects.append(forest_average_effects(fo, groups[hold] if groups is not None else None)
                           .assign(estimator="causal_forest"))
    names = {"No": opt0, "Yes": opt1}
    for est, frame in per_est.items():
        for col in frame.columns:
            table[est + "_" + "_".join(names.get(p, p) for p in col.split("_"))] = frame[col].to_numpy()
    eff = pd.concat(effects, ignore_index=True)[["estimator", "scope", "n", "effect", "lo", "hi"]]
    ctx.path("counterfactual").mkdir(exist_ok=True)
    table.to_parquet(ctx.path("counterfactual/patients.parquet"), index=False)
    eff.to_csv(ctx.path("counterfactual/effects.csv"), index=False, float_format="%.6g")
    arm = _control_arm(section, both, x, t, e, a, ref, groups, numeric, categorical, group_col, h, seed, ctx)
    if twins is not None:
        chosen = section.patients or [0]
        by = {f"patient {p}": np.array([p]) for p in chosen}
        if groups is not None:
            by.update({f"{group_col} {g}": np.flatnonzero(groups[hold] == g) for g in sorted(set(groups[hold]))})
        _curves(t[ref], e[ref], twins, by, [opt0, opt1]).to_parquet(ctx.path("counterfactual/curves.parquet"),
                                                                    index=False)
        ctx.record_output("counterfactual_curves", "counterfactual/curves.parquet")
    summary = {"treatment": treat, "options": [opt0, opt1], "horizon_months": h, "subgroups": group_col,
               "estimators": list(section.estimators), "k": section.k, "effect": f"S({opt1}) - S({opt0}) at {h:g} months",
               "assumption": cf.ASSUMPTION, "cox_hazard_ratio": round(cox.attrs["hazard_ratio"], 4),
               "effects": eff.round(6).to_dict(orient="records"), "control_arm": arm}
    write_json(ctx.path("counterfactual/effects.json"), summary)
    for name in ("patients.parquet", "effects.csv", "effects.json"):
        ctx.record_output(f"counterfactual_{name.split('.')[0]}", f"counterfactual/{name}")
    overall = eff[eff["scope"] == "all"].set_index("estimator")
    m.update(treatment=treat, options=[opt0, opt1], horizon_months=h, patients=len(holdout),
             assumption=cf.ASSUMPTION,
             average_effect={k: [round(float(r.effect), 4), round(float(r.lo), 4), round(float(r.hi), 4)]
                             for k, r in overall.iterrows()},
             control_arm=None if arm is None else {k: v for k, v in arm.items() if not isinstance(v, list)})


def _control_arm(section, both, x, t, e, a, ref, groups, numeric, categorical, group_col, h, seed,
                 ctx) -> dict[str, Any] | None:
    """The virtual control arm of ``section.control_arm`` (arm: treated training patients matching the
    query; controls: untreated training patients)."""
    if section.control_arm is None:
        return None
    arm = _arm_rows(section, both.iloc[np.flatnonzero(ref)].reset_index(drop=True))
    arm = np.flatnonzero(ref)[arm]
    pool = np.flatnonzero(ref & (a == 0))
    design = cf._design(both, numeric, [c for c in categorical if c != group_col]).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu0 = cf.prognostic_survival(both, t, e, h, numeric=numeric, categorical=categorical,
                                     fit_rows=ref & (a == 0), strata=group_col)
        try:
            res = virtual_control_arm(x[arm], t[arm], e[arm], x[pool], t[pool], e[pool], h, m=section.control_arm.m,
                                      exact_arm=None if groups is None else groups[arm],
                                      exact_pool=None if groups is None else groups[pool],
                                      covariates_arm=design[arm], covariates_pool=design[pool],
                                      outcome_arm=mu0[arm], outcome_pool=mu0[pool], seed=seed, client=ctx.client)
        except ValueError as exc:
            raise StageError(str(exc), field=f"{FIELD}.control_arm", hint="widen the arm or lower m") from None
    res.pop("controls")
    res["arm"] = section.control_arm.arm
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in res.items()}





def whatif(run_dir, row: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One held-out patient's options from a finished run: (settings, one dict per estimator).

    Each estimator's dict: ``estimator``, ``S(<option>)`` with ``lo``/``hi`` per option (when
    the estimator gives them), ``effect``, ``effect_lo``, ``effect_hi``.
    """
    import json
    from pathlib import Path

    base = Path(run_dir) / "counterfactual"
    if not (base / "effects.json").is_file() or not (base / "patients.parquet").is_file():
        raise StageError("this run has no counterfactual outputs", file=str(run_dir),
                         hint="add a 'counterfactual:' section to the cohort scenario and run it again")
    settings = json.loads((base / "effects.json").read_text())
    table = pd.read_parquet(base / "patients.parquet")
    if isinstance(row, bool) or not 0 <= row < len(table):
        raise StageError(f"patient row {row} is out of range: the run has {len(table)} held-out patients",
                         file=str(base / "patients.parquet"), field="--patient", hint=f"use 0..{len(table) - 1}")
    rec = table.iloc[row]
    out = []
    for est in settings["estimators"]:
        entry: dict[str, Any] = {"estimator": est}
        for option in settings["options"]:
            col = f"{est}_surv_{option}"
            if col in rec:
                entry[option] = (float(rec[col]), float(rec[f"{col}_lo"]), float(rec[f"{col}_hi"]))
        entry["effect"] = (float(rec[f"{est}_effect"]), float(rec[f"{est}_effect_lo"]), float(rec[f"{est}_effect_hi"]))
        out.append(entry)
    settings["patient"] = {"row": row, "observed": rec["observed"],
                           **({settings["subgroups"]: rec[settings["subgroups"]]} if settings.get("subgroups") else {})}
    return settings, out
__all__ = ["check_counterfactual", "run_counterfactual", "whatif"]
