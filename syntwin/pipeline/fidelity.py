"""The fidelity stage: quality per column and pair, Kaplan–Meier real vs twins per stratum, the data's rules.

Each figure has a threshold in the scenario (``synthesis.max_km_sup`` per stratum of at least
``synthesis.km_min_stratum`` real patients, ``synthesis.max_constraint_violations``); a miss is a warning in
``metrics.fidelity.warnings`` (shown by the CLI and the report). Twins breaking a constraint beyond the
allowed share stop the run before anything is released.

Computed from per-partition sufficient statistics made on the Dask workers (:class:`PartSummary`), never
from the rows on the client: each task reads one part file of the cohort (its training rows) or of the twins
and returns value counts of every modelled column and co-moments of numeric pairs
(:func:`~syntwin.synthesis.fidelity.table_counts`), patients per distinct ``(time, event)`` overall, per
stratum and per community (the Kaplan–Meier statistic, :func:`~syntwin.synthesis.survival.survival_counts`)
and rule violations; a second pass returns the pair contingency tables on the bin edges of the merged
counts (:func:`~syntwin.synthesis.fidelity.pair_counts`). The client adds them up in partition order, so the
figures are those of the whole tables — the same as from pandas frames, KS, TVD, Cramér's V, deciles and
Kaplan–Meier to the bit, Pearson ρ to rounding (co-moments) — whatever the number of workers. The KM sup
bootstrap resamples the count tables multinomially (the row bootstrap in distribution, other draws).
Size of what comes back: distinct values per column, distinct times per stratum and per community.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from syntwin.cohort import CohortSchema
from syntwin.errors import CohortError, StageError
from syntwin.export.aggregate import MIN_CELL, aggregate_observed
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.dataset import dataset_files
from syntwin.scenario.cohort import CohortScenario
from syntwin.seeding import int_seed
from syntwin.synthesis.constraints import parse_constraints, rates_from_counts, violation_counts
from syntwin.synthesis.fidelity import (TableCounts, merge_pair_counts, merge_table_counts, numeric_bin_edges,
                                        pair_counts, quality_columns, quality_from_counts, table_counts)
from syntwin.synthesis.survival import kaplan_meier_table_counts, km_sup_interval_counts, survival_counts

KM_MIN_CURVE = 20  # Kaplan–Meier curves only for groups at least this large (real and twins)
KM_BOOT = 50  # bootstrap resamples of each stratum's KM sup distance
MIN_COLUMN_QUALITY = 0.9  # per-column shape score (1 − KS or 1 − TVD) below which a warning is given
SURV = ["time", "event"]


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


def _roles(schema: CohortSchema) -> dict:
    return dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                categorical=list(schema.categorical), time=schema.time, event=schema.event)


def _sum_counts(tables: Sequence[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Count tables (columns ``by`` + ``count``) of disjoint parts added up, sorted by ``by``."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame({**{c: [] for c in by}, "count": np.zeros(0, np.int64)})
    total = pd.concat(tables, ignore_index=True).groupby(by, sort=True)["count"].sum()
    return total[total > 0].reset_index()


def _grouped_counts(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return df.groupby(by, sort=True, dropna=True).size().rename("count").reset_index()


def community_counts(time: np.ndarray, event: np.ndarray, membership: np.ndarray,
                     horizon: float | None) -> pd.DataFrame:
    """Patients per ``(community, time, event)`` for :func:`community_outcomes_from_counts`: with a horizon ``h``,
    ``(min(t, h + 1), event by h)`` — every time after ``h`` folded into one later time as censored, which
    leaves the Kaplan–Meier estimate at every ``t ≤ h`` unchanged (the same at risk and events up to ``h``);
    without one, ``(0, event)``."""
    t, e = np.asarray(time, np.float64), np.asarray(event).astype(np.int64)
    if horizon is None:
        tc, ec = np.zeros(len(t)), e
    else:
        tc, ec = np.minimum(t, float(horizon) + 1.0), (e.astype(bool) & (t <= float(horizon))).astype(np.int64)
    return _grouped_counts(pd.DataFrame({"community": np.asarray(membership), "time": tc, "event": ec}),
                           ["community", *SURV])


class PartSummary:
    """Task body: the fidelity statistics of one table part (picklable; the same for cohort and twin parts).

    ``hold`` (the part's held-out mask) keeps the training rows; ``membership`` (their communities) adds the
    per-community outcome counts (:func:`community_counts`).
    """

    def __init__(self, schema: CohortSchema, strata: str | None, rules: list, horizon: float | None) -> None:
        self.cols, self.num, _ = quality_columns(schema.modelled, **_roles(schema))
        self.time, self.event, self.strata, self.rules, self.horizon = (schema.time, schema.event, strata, rules,
                                                                       horizon)

    def rows(self, file: str, hold: np.ndarray | None) -> pd.DataFrame:
        df = pd.read_parquet(file)
        if hold is not None:
            if len(hold) != len(df):
                raise ValueError(f"{file}: {len(df)} rows but the holdout mask cut for it has {len(hold)}")
            df = df[~hold].reset_index(drop=True)
        return df

    def first(self, file: str, hold: np.ndarray | None, membership: np.ndarray | None) -> dict:
        """Pass 1: value counts and co-moments, survival, strata and community counts, rule violations."""
        df = self.rows(file, hold)
        t = pd.to_numeric(df[self.time], errors="coerce").to_numpy(np.float64)
        e = df[self.event].to_numpy().astype(np.int64)
        out = {"n": len(df), "table": table_counts(df, self.cols, self.num),
               "survival": survival_counts(df[self.time], df[self.event]),
               "violations": violation_counts(df, self.rules)}
        if self.strata is not None:
            out["strata"] = _grouped_counts(pd.DataFrame({"level": df[self.strata].to_numpy(), "time": t,
                                                          "event": e}), ["level", *SURV])
        if membership is not None:
            if len(membership) != len(df):
                raise ValueError(f"{file}: {len(df)} training rows but {len(membership)} community labels")
            out["communities"] = community_counts(t, e, membership, self.horizon)
        return out

    def second(self, file: str, hold: np.ndarray | None, edges: dict) -> dict:
        """Pass 2: the pair contingency tables on the whole table's numeric bin edges."""
        return pair_counts(self.rows(file, hold), self.cols, self.num, edges)


def _run(client: Any, fn: Callable, *arglists: Sequence) -> list:
    """``fn`` over the parts on the workers (in the client process without one), results in part order."""
    if client is None:
        return [fn(*args) for args in zip(*arglists, strict=True)]
    return client.gather([client.submit(fn, *args, pure=False) for args in zip(*arglists, strict=True)])


class TableStats:
    """The merged statistics of one table (the real training rows or the twins)."""

    def __init__(self, parts: list[dict], pairs: list[dict]) -> None:
        self.n = sum(p["n"] for p in parts)
        self.table: TableCounts = merge_table_counts([p["table"] for p in parts])
        self.pairs = merge_pair_counts(pairs)
        self.survival = _sum_counts([p["survival"] for p in parts], SURV)
        self.strata = _sum_counts([p["strata"] for p in parts], ["level", *SURV]) if "strata" in parts[0] else None
        self.communities = (_sum_counts([p["communities"] for p in parts], ["community", *SURV])
                            if "communities" in parts[0] else None)
        self.violations = {name: sum(p["violations"][name] for p in parts) for name in parts[0]["violations"]}

    def group(self, level: Any) -> pd.DataFrame:
        """Survival counts of the stratum ``level`` (``None``: everyone)."""
        if level is None:
            return self.survival
        return self.strata.loc[self.strata["level"] == level, [*SURV, "count"]].reset_index(drop=True)


def collect(files: list[Path], holds: list | None, memberships: list | None, summary: PartSummary,
            client: Any) -> TableStats:
    """Both passes of :class:`PartSummary` over the part files, merged."""
    holds = holds if holds is not None else [None] * len(files)
    memberships = memberships if memberships is not None else [None] * len(files)
    names = [str(f) for f in files]
    first = _run(client, summary.first, names, holds, memberships)
    edges = numeric_bin_edges(merge_table_counts([p["table"] for p in first]))
    second = _run(client, summary.second, names, holds, [edges] * len(files))
    return TableStats(first, second)


def _nanquantile_counts(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.nanquantile(x, q)`` (method "linear", Hyndman & Fan type 7) of the sample with these distinct values
    and counts: virtual index ``(n − 1) q``, its two order statistics, numpy's own ``_lerp`` formula."""
    n = int(counts.sum())
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above], nxt[above] = n - 1, n - 1
    ends = np.cumsum(counts)
    lo = values[np.searchsorted(ends, prev.astype(np.int64), side="right")]
    hi = values[np.searchsorted(ends, nxt.astype(np.int64), side="right")]
    gamma = virtual - np.where(above, -1.0, prev)  # numpy sets both indexes to -1 above the top (same values)
    diff = hi - lo
    out = lo + diff * gamma
    return np.where(gamma >= 0.5, hi - diff * (1 - gamma), out)


def _count_by_label(labels: np.ndarray, counts: np.ndarray) -> pd.Series:
    s = pd.Series(np.asarray(counts, np.int64), index=pd.Index(labels, dtype=object))
    s = s[s.index.notna()]
    return s.groupby(level=0, sort=False).sum()


def distributions_from_counts(real: TableCounts, twins: TableCounts, schema: CohortSchema, *,
                              min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Share of real and twin patients per level (categorical) or per real-decile bin (numeric), per column.

    Aggregates for the report; a bin with fewer than ``min_cell`` real patients has its real share suppressed
    (NaN, ``suppressed = True``) by the export's small-cell rule (``syntwin.export.aggregate``). Deciles are
    ``np.nanquantile``'s (linear interpolation) computed from the value counts.
    """
    rows = []
    for c in [*schema.numeric, *schema.ordinal, *schema.categorical, schema.time]:
        if c is None or (c not in twins.values and c not in twins.levels):
            continue
        if c in schema.numeric or c == schema.time:
            (rv, rc), (tv, tc_) = real.values[c], twins.values[c]
            edges = (np.unique(_nanquantile_counts(rv, rc, np.linspace(0, 1, 11))) if len(rv)
                     else np.array([0.0]))
            if len(edges) < 2:
                edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
            labels = [f"{a:.4g}–{b:.4g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
            rb = pd.cut(rv, edges, labels=labels, include_lowest=True).astype(object)
            tb = pd.cut(np.clip(tv, edges[0], edges[-1]), edges, labels=labels, include_lowest=True).astype(object)
            known, tc = _count_by_label(np.asarray(rb, object), rc), _count_by_label(np.asarray(tb, object), tc_)
            known.index, tc.index = known.index.astype(str), tc.index.astype(str)
            kind, levels = "numeric", labels
        else:
            rl, tl = real.levels[c], twins.levels[c]
            known = _count_by_label(pd.Series(rl.index).astype(object).astype(str).to_numpy(object), rl.to_numpy())
            tc = _count_by_label(pd.Series(tl.index).astype(object).astype(str).to_numpy(object), tl.to_numpy())
            kind = "ordinal" if c in schema.ordinal else "categorical"
            levels = [str(v) for v in schema.ordinal[c]] if c in schema.ordinal else sorted(
                set(known.index) | set(tc.index))
        n_known, n_twins = int(known.sum()), int(tc.sum())
        counts = aggregate_observed(known[known > 0], ["level"], min_cell=min_cell).set_index("level")
        for level in levels:
            small = bool(counts["suppressed"].get(level, False))
            n_real = counts["count"].get(level, 0)
            rows.append({"column": c, "kind": kind, "level": level,
                         "real_share": np.nan if small else float(n_real) / max(n_known, 1),
                         "twin_share": int(tc.get(level, 0)) / max(n_twins, 1), "suppressed": small})
    return pd.DataFrame(rows)


def distributions(real: pd.DataFrame, twins: pd.DataFrame, schema: CohortSchema, *,
                  min_cell: int = MIN_CELL) -> pd.DataFrame:
    """:func:`distributions_from_counts` of two frames."""
    cols, num, _ = quality_columns(schema.modelled, **_roles(schema))
    return distributions_from_counts(table_counts(real, cols, num), table_counts(twins, [c for c in cols if c in
                                     twins], num), schema, min_cell=min_cell)


def community_outcomes_from_counts(table: pd.DataFrame, schema: CohortSchema, horizon: float | None, *,
                                   min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Per graph community of the real training patients: size and event rate by ``horizon`` with a 95 % interval.

    ``table``: patients per ``(community, time, event)`` as :class:`PartSummary` counts them (times after the
    horizon folded, event = event by the horizon). The rate is ``1 − S(h)`` of the community's Kaplan–Meier
    curve with lifelines' pointwise band (or, without a horizon, the share of patients with the event and its
    Wilson interval). Small cells: the counts of each community with and without an event by ``h`` go through
    the export's suppression (:func:`~syntwin.export.aggregate.aggregate_observed`, cells < ``min_cell``
    withheld, complementary cells too); a community with a withheld cell shows neither its size nor its rate
    (``suppressed`` True).
    """
    from scipy.stats import binomtest

    observed = table.groupby(["community", "event"], sort=True)["count"].sum()
    cells = aggregate_observed(observed, ["community", "event"], min_cell=min_cell)
    per = dict(iter(table.groupby("community", sort=True)))
    rows = []
    for c, part in cells.groupby("community", sort=True):
        shown = not part["count"].isna().any()
        row = {"community": int(c), "size": pd.NA, "rate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "suppressed": not shown}
        if shown:
            mine = per[c]
            n = int(mine["count"].sum())
            row["size"] = n
            if horizon is None:
                k = int(mine.loc[mine["event"] == 1, "count"].sum())
                ci = binomtest(k, n).proportion_ci(method="wilson")
                row.update(rate=k / np.int64(n), ci_low=ci.low, ci_high=ci.high)
            else:
                km = kaplan_meier_table_counts(mine[[*SURV, "count"]])
                at = km[km["time"] <= float(horizon)].iloc[-1]
                row.update(rate=1 - at["survival"], ci_low=1 - at["ci_high"], ci_high=1 - at["ci_low"])
        rows.append(row)
    out = pd.DataFrame(rows)
    out["size"] = out["size"].astype("Int64")
    return out


def community_outcomes(train: pd.DataFrame, membership: np.ndarray, schema: CohortSchema,
                       horizon: float | None, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """:func:`community_outcomes_from_counts` of a training frame and its communities."""
    t = pd.to_numeric(train[schema.time], errors="coerce").to_numpy(np.float64)
    table = community_counts(t, train[schema.event].to_numpy(), membership, horizon)
    return community_outcomes_from_counts(table, schema, horizon, min_cell=min_cell)


def _at_risk(times: np.ndarray, counts: pd.DataFrame) -> np.ndarray:
    """Patients with a duration ``>= t`` at each ``t`` (``syntwin.export.aggregate.curve_points_safe``'s count)."""
    per = counts.groupby("time", sort=True)["count"].sum()
    before = np.concatenate([[0], np.cumsum(per.to_numpy())])
    return int(per.sum()) - before[np.searchsorted(per.index.to_numpy(np.float64), times, side="left")]


def _hold_slices(files: list[Path], hold: np.ndarray) -> list[np.ndarray]:
    ends = np.cumsum([pq.read_metadata(f).num_rows for f in files])
    if ends[-1] != len(hold):
        raise StageError(f"the cohort dataset has {ends[-1]} rows but the holdout mask {len(hold)}",
                         file=str(files[0].parent), field="hold",
                         hint="pass the mask of the cohort stage that wrote this dataset (or rerun it)")
    return np.split(hold, ends[:-1])


def _check_twins(files: list[Path], schema: CohortSchema) -> None:
    have = set(pq.read_schema(files[0]).names)
    missing = [c for c in schema.modelled if c not in have]
    if missing:
        raise StageError(f"the twins dataset lacks the modelled columns {missing}", file=str(files[0]),
                         field="synthesis", hint="twins must hold every column of schema.modelled "
                                                 "(write them with syntwin.pipeline.dataset.write_dataset)")


def fidelity_stage(scenario: CohortScenario, ctx: RunContext, data: str | Path, hold: np.ndarray,
                   membership: np.ndarray | None, twins: str | Path, schema: CohortSchema, m: dict) -> None:
    """How faithful the twins are, with a warning for each threshold missed; KM curves to ``cohort/km.parquet``;
    with the graph's ``membership``, outcome rates per community to ``cohort/communities.parquet``.

    Args:
        data: The cohort dataset folder (all rows; the training rows are ``~hold`` in order).
        hold: Held-out mask over all cohort rows.
        membership: Community of each training row, or ``None``.
        twins: The twins dataset folder (``part.*.parquet`` with the columns ``schema.modelled``).
    """
    s = scenario.synthesis
    strata = s.strata or next(iter(schema.ordinal), None)
    if strata is not None and strata not in schema.features:
        raise CohortError(f"synthesis.strata names {strata!r}, which is not a feature", field="synthesis.strata",
                          hint=f"features are: {', '.join(schema.features)}")
    files, twin_files = dataset_files(data), dataset_files(twins)
    _check_twins(twin_files, schema)
    hold = np.asarray(hold, bool)
    holds = _hold_slices(files, hold)
    n_train = int((~hold).sum())
    community = membership is not None and len(membership) == n_train
    memberships = (np.split(np.asarray(membership), np.cumsum([int((~h).sum()) for h in holds])[:-1])
                   if community else None)
    rules = scenario_constraints(scenario, schema)
    horizon = scenario.prediction.horizon_months
    summary = PartSummary(schema, strata, rules, horizon)
    real = collect(files, holds, memberships, summary, ctx.client)
    syn = collect(twin_files, None, None, summary, ctx.client)

    quality = quality_from_counts(real.table, syn.table, real.pairs, syn.pairs, summary.cols, summary.num)
    warnings: list[str] = []
    levels = [] if strata is None else sorted(set(real.strata["level"]) & set(syn.strata["level"]))
    groups = [("all", None)] + [(str(level), level) for level in levels]
    km: dict[str, dict] = {}
    curves = []
    for label, level in groups:
        rc, sc = real.group(level), syn.group(level)
        n_real, n_syn = int(rc["count"].sum()), int(sc["count"].sum())
        if n_real >= KM_MIN_CURVE and n_syn >= KM_MIN_CURVE:
            est = km_sup_interval_counts(rc, sc, n_boot=KM_BOOT, seed=int_seed(ctx.seed, "fidelity", "km", label))
            est = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in est.items()}
            est["judged"] = n_real >= s.km_min_stratum
            km[label] = est
            if est["judged"] and est["sup"] > s.max_km_sup:
                where = "all patients" if level is None else f"{strata} {label}"
                warnings.append(f"Kaplan–Meier of the twins differs from the real patients' by {est['sup']:.3f} "
                                f"(> {s.max_km_sup}) for {where} ({n_real:,} real patients)")
        for side, counts, n in (("real", rc, n_real), ("synthetic twins", sc, n_syn)):
            if n < KM_MIN_CURVE:
                continue  # no curve of a small group: it would describe few real patients
            curve = kaplan_meier_table_counts(counts)
            if side == "real":  # small-cell rule: no real-patient point with fewer than 11 at risk
                curve = curve[_at_risk(curve["time"].to_numpy(float), counts) >= MIN_CELL]
            name = side if level is None else f"{side}: {strata} {label}"
            curves.append(curve.assign(group=name, side=side, stratum=label))
    real_rates, twin_rates = rates_from_counts(real.violations, real.n), rates_from_counts(syn.violations, syn.n)
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
    distributions_from_counts(real.table, syn.table, schema).to_parquet(ctx.path("cohort/distributions.parquet"),
                                                                        index=False)
    ctx.record_output("distributions", "cohort/distributions.parquet")
    if community:
        community_outcomes_from_counts(real.communities, schema, horizon).assign(horizon=horizon).to_parquet(
            ctx.path("cohort/communities.parquet"), index=False)
        ctx.record_output("community_outcomes", "cohort/communities.parquet")
    broken = {n: r["twins"] for n, r in constraints.items() if r["twins"] > s.max_constraint_violations}
    if broken:
        raise StageError(f"twins break the cohort's rules: {broken} (share of twins)",
                         field="synthesis.constraints",
                         hint="the generator must keep them (rejection sampling in synthesize); raise "
                              "synthesis.max_constraint_violations only knowingly")


__all__ = ["community_outcomes", "community_outcomes_from_counts", "distributions", "distributions_from_counts",
           "fidelity_stage", "scenario_constraints", "PartSummary", "collect", "TableStats"]
