"""The fidelity stage: quality per column and pair, Kaplan–Meier real vs twins per stratum, the data's rules.

Each figure has a threshold in the scenario (``synthesis.max_km_sup`` per stratum of at least
``synthesis.km_min_stratum`` real patients, ``synthesis.max_constraint_violations``); a miss is a warning in
``metrics.fidelity.warnings`` (shown by the CLI and the report). Twins breaking a constraint beyond the
allowed share stop the run before anything is released.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from syntwin.cohort import CohortSchema
from syntwin.errors import CohortError, StageError
from syntwin.export.aggregate import MIN_CELL, aggregate_counts, curve_points_safe
from syntwin.pipeline.context import RunContext
from syntwin.scenario.cohort import CohortScenario
from syntwin.seeding import int_seed
from syntwin.synthesis.constraints import parse_constraints, violation_rates
from syntwin.synthesis.fidelity import quality_score
from syntwin.synthesis.survival import kaplan_meier_table, km_sup_interval

KM_MIN_CURVE = 20  # Kaplan–Meier curves only for groups at least this large (real and twins)
KM_BOOT = 50  # bootstrap resamples of each stratum's KM sup distance
MIN_COLUMN_QUALITY = 0.9  # per-column shape score (1 − KS or 1 − TVD) below which a warning is given


def scenario_constraints(scenario: CohortScenario, schema: CohortSchema) -> list:
    """The cohort's own rules (simulator, presets) and the scenario's, validated against the schema."""
    try:
        rules = parse_constraints([*schema.constraints, *scenario.synthesis.constraints])
    except ValueError as exc:
        raise CohortError(str(exc), field="synthesis.constraints",
                          hint="kinds: inequality {low, high}, range {column, min, max}, "
                               "follow_up {time, diagnosis_year, cutoff}") from None
    known = set(schema.modelled)
    for rule in rules:
        unknown = [c for c in rule.columns if c not in known]
        if unknown:
            raise CohortError(f"constraint {rule.name!r} names columns that are not modelled: {unknown}",
                              field="synthesis.constraints", hint=f"columns are: {', '.join(schema.modelled)}")
    return rules


def distributions(real: pd.DataFrame, twins: pd.DataFrame, schema: CohortSchema, *,
                  min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Share of real and twin patients per level (categorical) or per real-decile bin (numeric), per column.

    Aggregates for the report; a bin with fewer than ``min_cell`` real patients has its real share suppressed
    (NaN, ``suppressed = True``) by the export's small-cell rule (``syntwin.export.aggregate.aggregate_counts``).
    """
    rows = []
    for c in [*schema.numeric, *schema.ordinal, *schema.categorical, schema.time]:
        if c is None or c not in twins:
            continue
        if c in schema.numeric or c == schema.time:
            r, t = pd.to_numeric(real[c], errors="coerce"), pd.to_numeric(twins[c], errors="coerce")
            edges = np.unique(np.nanquantile(r, np.linspace(0, 1, 11))) if r.notna().any() else np.array([0.0])
            if len(edges) < 2:
                edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
            labels = [f"{a:.4g}–{b:.4g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
            rb = pd.cut(r, edges, labels=labels, include_lowest=True).astype(object)
            tb = pd.cut(t.clip(edges[0], edges[-1]), edges, labels=labels, include_lowest=True).astype(object)
            kind, levels = "numeric", labels
        else:
            rb, tb = real[c].astype(object), twins[c].astype(object)
            kind = "ordinal" if c in schema.ordinal else "categorical"
            levels = [str(v) for v in schema.ordinal[c]] if c in schema.ordinal else sorted(
                set(rb.dropna().astype(str)) | set(tb.dropna().astype(str)))
        known = rb.dropna().astype(str)
        counts = aggregate_counts(known.to_frame("level"), ["level"], min_cell=min_cell).set_index("level")
        tc = tb.dropna().astype(str).value_counts()
        for level in levels:
            small = bool(counts["suppressed"].get(level, False))
            n_real = counts["count"].get(level, 0)
            rows.append({"column": c, "kind": kind, "level": level,
                         "real_share": np.nan if small else float(n_real) / max(len(known), 1),
                         "twin_share": int(tc.get(level, 0)) / max(int(tc.sum()), 1), "suppressed": small})
    return pd.DataFrame(rows)


def community_outcomes(train: pd.DataFrame, membership: np.ndarray, schema: CohortSchema,
                       horizon: float | None, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Per graph community of the real training patients: size and event rate by ``horizon`` with a 95 % interval.

    The rate is ``1 − S(h)`` of the community's Kaplan–Meier curve with lifelines' pointwise band (or, without
    a horizon, the share of patients with the event and its Wilson interval). Small cells: the counts of each
    community with and without an event by ``h`` go through the export's suppression
    (:func:`~syntwin.export.aggregate.aggregate_counts`, cells < ``min_cell`` withheld, complementary cells too);
    a community with a withheld cell shows neither its size nor its rate (``suppressed`` True).
    """
    from scipy.stats import binomtest

    t = pd.to_numeric(train[schema.time], errors="coerce").to_numpy(float)
    e = train[schema.event].to_numpy().astype(bool)
    by_h = e if horizon is None else e & (t <= float(horizon))
    cells = aggregate_counts(pd.DataFrame({"community": np.asarray(membership), "event": by_h.astype(int)}),
                             ["community", "event"], min_cell=min_cell)
    rows = []
    for c, part in cells.groupby("community", sort=True):
        shown = not part["count"].isna().any()
        row = {"community": int(c), "size": pd.NA, "rate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "suppressed": not shown}
        if shown:
            mask = np.asarray(membership) == c
            row["size"] = int(mask.sum())
            if horizon is None:
                k = int(by_h[mask].sum())
                ci = binomtest(k, int(mask.sum())).proportion_ci(method="wilson")
                row.update(rate=k / mask.sum(), ci_low=ci.low, ci_high=ci.high)
            else:
                km = kaplan_meier_table(t[mask], e[mask])
                at = km[km["time"] <= float(horizon)].iloc[-1]
                row.update(rate=1 - at["survival"], ci_low=1 - at["ci_high"], ci_high=1 - at["ci_low"])
        rows.append(row)
    out = pd.DataFrame(rows)
    out["size"] = out["size"].astype("Int64")
    return out


def fidelity_stage(scenario: CohortScenario, ctx: RunContext, train: pd.DataFrame, twins: pd.DataFrame,
                   schema: CohortSchema, m: dict, membership: np.ndarray | None = None) -> None:
    """How faithful the twins are, with a warning for each threshold missed; KM curves to ``cohort/km.parquet``;
    with the graph's ``membership``, outcome rates per community to ``cohort/communities.parquet``."""
    s = scenario.synthesis
    strata = s.strata or next(iter(schema.ordinal), None)
    if strata is not None and strata not in schema.features:
        raise CohortError(f"synthesis.strata names {strata!r}, which is not a feature", field="synthesis.strata",
                          hint=f"features are: {', '.join(schema.features)}")
    roles = dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                 categorical=list(schema.categorical), time=schema.time, event=schema.event)
    quality = quality_score(train[schema.modelled], twins, **roles)
    warnings: list[str] = []
    groups = [("all", None)] + ([] if strata is None else [
        (str(level), level) for level in sorted(set(train[strata]) & set(twins[strata]))])
    km: dict[str, dict] = {}
    curves = []
    for label, level in groups:
        real = train if level is None else train[train[strata] == level]
        syn = twins if level is None else twins[twins[strata] == level]
        if len(real) >= KM_MIN_CURVE and len(syn) >= KM_MIN_CURVE:
            est = km_sup_interval(real[schema.time], real[schema.event], syn[schema.time], syn[schema.event],
                                  n_boot=KM_BOOT, seed=int_seed(ctx.seed, "fidelity", "km", label))
            est = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in est.items()}
            est["judged"] = len(real) >= s.km_min_stratum
            km[label] = est
            if est["judged"] and est["sup"] > s.max_km_sup:
                where = "all patients" if level is None else f"{strata} {label}"
                warnings.append(f"Kaplan–Meier of the twins differs from the real patients' by {est['sup']:.3f} "
                                f"(> {s.max_km_sup}) for {where} ({len(real):,} real patients)")
        for side, part in (("real", real), ("synthetic twins", syn)):
            if len(part) < KM_MIN_CURVE:
                continue  # no curve of a small group: it would describe few real patients
            curve = kaplan_meier_table(part[schema.time], part[schema.event])
            if side == "real":  # small-cell rule: no real-patient point with fewer than 11 at risk
                curve = curve[curve_points_safe(curve["time"].to_numpy(), part[schema.time].to_numpy())]
            name = side if level is None else f"{side}: {strata} {label}"
            curves.append(curve.assign(group=name, side=side, stratum=label))
    rules = scenario_constraints(scenario, schema)
    real_rates, twin_rates = violation_rates(train, rules), violation_rates(twins, rules)
    constraints = {name: {"real": round(real_rates[name], 6), "twins": round(twin_rates[name], 6)}
                   for name in real_rates}
    for name, rates in constraints.items():
        if rates["real"] > 0:
            warnings.append(f"{rates['real']:.2%} of the real patients break the declared rule {name}")
    columns = {c: round(float(v), 4) for c, v in quality["shapes"].items()}
    worst_pairs = dict(sorted(((f"{a} × {b}", round(float(v), 4)) for (a, b), v in quality["pairs"].items()),
                              key=lambda kv: kv[1])[:10])
    for c, v in columns.items():
        if v < MIN_COLUMN_QUALITY:
            warnings.append(f"column {c}: twin distribution quality {v:.3f} (< {MIN_COLUMN_QUALITY})")
    m.update(quality=round(float(quality["score"]), 4), quality_columns=columns, quality_worst_pairs=worst_pairs,
             column_shapes=round(float(quality["column_shapes"]), 4),
             column_pair_trends=round(float(quality["column_pair_trends"]), 4), strata=strata,
             km_sup={k: v["sup"] for k, v in km.items()}, km=km, max_km_sup=s.max_km_sup,
             constraints=constraints, warnings=warnings)
    pd.concat(curves, ignore_index=True).to_parquet(ctx.path("cohort/km.parquet"), index=False)
    ctx.record_output("km_curves", "cohort/km.parquet")
    distributions(train, twins, schema).to_parquet(ctx.path("cohort/distributions.parquet"), index=False)
    ctx.record_output("distributions", "cohort/distributions.parquet")
    if membership is not None and len(membership) == len(train):
        horizon = scenario.prediction.horizon_months
        community_outcomes(train, membership, schema, horizon).assign(horizon=horizon).to_parquet(
            ctx.path("cohort/communities.parquet"), index=False)
        ctx.record_output("community_outcomes", "cohort/communities.parquet")
    broken = {n: r["twins"] for n, r in constraints.items() if r["twins"] > s.max_constraint_violations}
    if broken:
        raise StageError(f"twins break the cohort's rules: {broken} (share of twins)",
                         field="synthesis.constraints",
                         hint="the generator must keep them (rejection sampling in synthesize); raise "
                              "synthesis.max_constraint_violations only knowingly")


__all__ = ["community_outcomes", "fidelity_stage", "scenario_constraints"]
