"""The fidelity figures as computed before the per-partition statistics (syntwin at commit 611d815): pandas on
whole frames, lifelines and scipy on the rows. Kept verbatim (bootstrap interval left out: it is drawn
differently now) as the oracle of tests/spine/test_fidelity_parts.py — not used by syntwin itself."""

# ruff: noqa
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from syntwin.cohort import CohortSchema
from syntwin.errors import CohortError, StageError
from syntwin.export.aggregate import MIN_CELL, aggregate_counts, curve_points_safe
from syntwin.pipeline.fidelity import KM_MIN_CURVE, MIN_COLUMN_QUALITY, scenario_constraints
from syntwin.synthesis.constraints import parse_constraints


def _roles(numeric, ordinal, categorical, time, event) -> tuple[list[str], list[str]]:
    num = [*numeric, *([time] if time else [])]
    cat = [*(ordinal or {}), *categorical, *([event] if event else [])]
    return num, cat


def _tvd(a: pd.Series, b: pd.Series, *, dropna: bool) -> float:
    if dropna:
        pa, pb = a.dropna().value_counts(normalize=True), b.dropna().value_counts(normalize=True)
    else:
        pa = a.astype(object).where(a.notna(), "__nan__").value_counts(normalize=True)
        pb = b.astype(object).where(b.notna(), "__nan__").value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return 0.5 * float(np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def _bins(x: pd.Series) -> pd.Series:
    v = x.to_numpy(dtype=np.float64)
    return pd.Series(np.digitize(v, np.histogram_bin_edges(v[~np.isnan(v)])), index=x.index)


def _discrete(real: pd.Series, syn: pd.Series) -> tuple[pd.Series, pd.Series]:
    return _bins(real), _bins(syn)


def _joint(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.astype(str) + "\x1f" + b.astype(str)


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    from scipy.stats.contingency import association

    tab = pd.crosstab(a.astype(str), b.astype(str)).to_numpy()
    return float(association(tab, method="cramer")) if min(tab.shape) >= 2 else float("nan")


def quality_score(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    numeric: Iterable[str] = (),
    ordinal: Mapping[str, Sequence] | None = None,
    categorical: Iterable[str] = (),
    time: str | None = None,
    event: str | None = None,
    correlation_threshold: float = 0.5,
    association_threshold: float = 0.3,
) -> dict:
    """SDMetrics-style quality of ``synthetic`` against ``real`` (see the module docstring).

    Roles as in ``Generator.fit`` (time counts as numeric, ordinal and event as categorical).

    Returns:
        ``{"score", "column_shapes", "column_pair_trends", "shapes": {col: s}, "pairs": {(a, b): s}}``;
        ``pairs`` holds the counted pairs only.
    """
    num, cat = _roles(tuple(numeric), ordinal, tuple(categorical), time, event)
    cols = [c for c in real.columns if c in num or c in cat]
    missing = [c for c in cols if c not in synthetic.columns]
    if missing:
        raise ValueError(f"synthetic table lacks columns {missing}")
    if not cols:
        raise ValueError("no column given a role: pass numeric=, categorical=, ... as for Generator.fit")
    shapes: dict[str, float] = {}
    for c in cols:
        if c in num:
            r, s = real[c].dropna(), synthetic[c].dropna()
            shapes[c] = 1.0 - float(ks_2samp(r, s).statistic) if len(r) and len(s) else float("nan")
        else:
            shapes[c] = 1.0 - _tvd(real[c], synthetic[c], dropna=True)
    disc = {c: _discrete(real[c], synthetic[c]) for c in cols if c in num}
    pairs: dict[tuple[str, str], float] = {}
    for a, b in combinations(cols, 2):
        if a in num and b in num:
            r = real[[a, b]].dropna().to_numpy(dtype=np.float64)
            s = synthetic[[a, b]].dropna().to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                rr, rs = np.corrcoef(r.T)[0, 1], np.corrcoef(s.T)[0, 1]
            if np.isfinite(rr) and abs(rr) > correlation_threshold:
                pairs[(a, b)] = 1.0 - abs(rr - rs) / 2.0 if np.isfinite(rs) else 0.5
        else:
            ra, sa = disc.get(a, (real[a], synthetic[a]))
            rb, sb = disc.get(b, (real[b], synthetic[b]))
            if association_threshold > 0 and not _cramers_v(ra, rb) > association_threshold:
                continue
            pairs[(a, b)] = 1.0 - _tvd(_joint(ra, rb), _joint(sa, sb), dropna=False)
    shape_avg = float(np.nanmean(list(shapes.values())))
    pair_avg = float(np.nanmean(list(pairs.values()))) if pairs else shape_avg
    return {"score": (shape_avg + pair_avg) / 2.0, "column_shapes": shape_avg, "column_pair_trends": pair_avg,
            "shapes": shapes, "pairs": pairs}


def _arrays(time, event, *others) -> tuple[np.ndarray, ...]:
    t = np.asarray(time, dtype=np.float64).ravel()
    e = np.asarray(event).astype(np.int64).ravel()
    if t.shape != e.shape or any(np.asarray(o).ravel().shape != t.shape for o in others):
        raise ValueError("time, event and scores must have one length")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("event must hold only 0/1")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("time must be >= 0 without missing values")
    return (t, e, *(np.asarray(o, dtype=np.float64).ravel() for o in others))


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier estimate (lifelines) at the distinct observed times.

    Returns:
        ``(times, survival)``: sorted distinct times and ``S`` just after each of them.
    """
    from lifelines import KaplanMeierFitter

    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier needs at least one patient")
    fit = KaplanMeierFitter().fit(t, e)
    sf = fit.survival_function_.iloc[:, 0]
    times = np.unique(t)
    return times, sf.loc[times].to_numpy(np.float64)


def kaplan_meier_table(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve with lifelines' pointwise (Greenwood, exponential) band and numbers at risk.

    Returns:
        ``time, survival, ci_low, ci_high, at_risk`` at 0 and every distinct observed time.
    """
    from lifelines import KaplanMeierFitter

    t, e = _arrays(time, event)
    if len(t) == 0:
        raise ValueError("kaplan_meier_table needs at least one patient")
    fit = KaplanMeierFitter(alpha=alpha).fit(t, e)
    ci = fit.confidence_interval_survival_function_
    table = fit.event_table
    return pd.DataFrame({"time": fit.survival_function_.index.to_numpy(float),
                         "survival": fit.survival_function_.iloc[:, 0].to_numpy(float),
                         "ci_low": ci.iloc[:, 0].to_numpy(float), "ci_high": ci.iloc[:, 1].to_numpy(float),
                         "at_risk": table["at_risk"].reindex(fit.survival_function_.index).to_numpy(np.int64)})


def _step(times: np.ndarray, surv: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Evaluate a right-continuous KM step function at ``at``."""
    idx = np.searchsorted(times, at, side="right") - 1
    return np.where(idx >= 0, surv[np.clip(idx, 0, None)], 1.0)


#: KM curves are compared where at least this share of each group is still at risk (see km_sup_distance).
MIN_AT_RISK_SHARE = 0.05


def _last_well_estimated(t: np.ndarray, share: float) -> float:
    """The latest time at which at least ``share`` of the group (and at least one patient) is still at risk."""
    t = np.sort(np.asarray(t, dtype=np.float64))
    k = max(1, int(np.ceil(share * len(t))))  # at risk at t: patients with time >= t
    return float(t[len(t) - k]) if len(t) else 0.0


def km_sup_distance(time_a, event_a, time_b, event_b, *, horizon: float | None = None,
                    min_at_risk_share: float = MIN_AT_RISK_SHARE) -> float:
    """Sup-distance ``max_t |S_a(t) − S_b(t)|`` between two Kaplan–Meier curves.

    Taken over the observed times up to the earliest of: either curve's last time (a KM curve is undefined
    past it), ``horizon``, and the last time at which ``min_at_risk_share`` of each group is still at risk.
    Past that the curve moves by whole steps per event (with 3 at risk, one event drops it by a third), so
    the tail would decide the distance by noise; survival curves are not read where few remain at risk
    (Pocock, Clayton & Altman, Lancet 2002;359:1686–89). ``min_at_risk_share=0`` compares the whole curves.
    """
    ta, sa = kaplan_meier(time_a, event_a)
    tb, sb = kaplan_meier(time_b, event_b)
    end = min(ta[-1], tb[-1], np.inf if horizon is None else float(horizon),
              _last_well_estimated(time_a, min_at_risk_share), _last_well_estimated(time_b, min_at_risk_share))
    grid = np.union1d(ta, tb)
    grid = np.concatenate([[0.0], grid[grid <= end]])
    return float(np.max(np.abs(_step(ta, sa, grid) - _step(tb, sb, grid))))


def violation_rates(df: pd.DataFrame, constraints: Iterable[Mapping | Constraint]) -> dict[str, float]:
    """Share of rows of ``df`` breaking each constraint (by its readable name)."""
    return {c.name: float(c.violated(df).mean()) if len(df) else 0.0 for c in parse_constraints(constraints)}


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


def reference_fidelity_stage(scenario: CohortScenario, ctx: RunContext, train: pd.DataFrame, twins: pd.DataFrame,
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
            est = {"sup": km_sup_distance(real[schema.time], real[schema.event], syn[schema.time],
                                          syn[schema.event]), "n_real": len(real), "n_twins": len(syn)}
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


