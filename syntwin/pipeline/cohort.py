"""The cohort pipeline: cohort -> graph -> twins -> prediction -> privacy gate -> export.

Each stage calls a stage library with plain inputs (column lists from the schema, arrays, a seed
derived by stable key, the Dask client) and records its figures under ``metrics.<stage>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.cohort import Cohort, CohortSchema
from syntwin.errors import CohortError, StageError
from syntwin.export import export_twins, releasable
from syntwin.graphs.communities import community_stats, leiden, modularity
from syntwin.graphs.encode import MixedEncoder
from syntwin.graphs.knn import build_graph
from syntwin.graphs.store import SimilarityGraph
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.counterfactual import check_counterfactual, run_counterfactual
from syntwin.pipeline.predict import run_prediction
from syntwin.privacy import ReleaseGate, enforce_table, evaluate_privacy
from syntwin.privacy.gate import THRESHOLD_FIELDS
from syntwin.scenario.cohort import CohortScenario, CohortSection
from syntwin.seeding import int_seed, stratified_mask
from syntwin.synthesis import make_generator, synthesize
from syntwin.synthesis.fidelity import quality_score
from syntwin.synthesis.predict import outcome_labels
from syntwin.synthesis.survival import kaplan_meier, km_sup_by_stratum

MIN_COMMUNITY = 10  # SynTwin keeps communities of >= 10 patients
KM_MIN_STRATUM = 20  # Kaplan–Meier curves only for groups at least this large (real and twins)
RECALL_SAMPLE = 2000  # graph recall@k is estimated against exact kNN on this many patients


def load_cohort(section: CohortSection, *, source: str, seed: int) -> Cohort:
    """Build the scenario's cohort: simulated, or read from a file relative to the scenario."""
    if section.simulate is not None:
        from syntwin.cohort.simulate import simulate_cohort

        sim = section.simulate
        return simulate_cohort(sim.n, site=sim.site, seed=int_seed(seed, "cohort"),
                               rows_per_partition=sim.rows_per_partition)
    from syntwin.cohort.readers import read_cohort

    path = Path(section.file)
    if not path.is_absolute():
        path = Path(source).parent / path
    return read_cohort(path, section.mapping)


def split_holdout(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows, stratified by ``labels`` (seeded, order-independent of workers)."""
    return stratified_mask(labels, share, seed, "holdout")


def cohort_encoder(schema: CohortSchema, weights: dict[str, float]) -> MixedEncoder:
    unknown = sorted(set(weights) - set(schema.features))
    if unknown:
        raise CohortError(f"graph.weights names columns that are not features: {unknown}", field="graph.weights",
                          hint=f"features are: {', '.join(schema.features)}")
    return MixedEncoder(numeric=schema.numeric, ordinal={k: list(v) for k, v in schema.ordinal.items()},
                        categorical=schema.categorical, weights=weights or None)


def similarity_graph(x: np.ndarray, *, k: int, method: str, resolution: float, scale: float, client: Any,
                     seed: int) -> tuple[SimilarityGraph, dict[str, Any]]:
    """KNN graph + Leiden communities over encoded patients, and the figures describing it."""
    graph = build_graph(x, k=min(k, len(x) - 1), method=method, client=client, seed=int_seed(seed, "graph"),
                        scale=scale, recall_sample=RECALL_SAMPLE)
    membership = leiden(graph, resolution=resolution, seed=int_seed(seed, "leiden"))
    graph.membership = membership
    stats = community_stats(membership, min_size=MIN_COMMUNITY)
    # wall times go to the manifest, not into the artifact (whose bytes must be reproducible)
    metrics: dict[str, Any] = {k_: round(graph.meta.pop(k_), 3) for k_ in list(graph.meta) if k_.startswith("seconds")}
    metrics.update(nodes=graph.n_nodes, edges=graph.n_edges, communities=stats["kept"],
                   communities_all=stats["communities"], coverage=round(stats["coverage"], 4),
                   recall_at_k=round(float(graph.meta["recall_at_k"]), 4), method=graph.meta.get("method"),
                   modularity=round(modularity(graph, membership, resolution=resolution), 4))
    return graph, metrics


def _graph_stage(scenario: CohortScenario, ctx: RunContext, x_train: np.ndarray, scale: float,
                 m: dict) -> np.ndarray:
    """The scenario's graph over the training patients, saved to ``graph/``; returns the membership."""
    g = scenario.graph
    graph, metrics = similarity_graph(x_train, k=g.k, method=g.method, resolution=g.resolution, scale=scale,
                                      client=ctx.client, seed=ctx.seed)
    m.update(metrics)
    graph.save(ctx.path("graph"))
    ctx.record_output("graph", "graph")
    return graph.membership


def _synthesis_stage(scenario: CohortScenario, ctx: RunContext, train: pd.DataFrame, schema: CohortSchema,
                     membership: np.ndarray, m: dict) -> pd.DataFrame:
    """Twins of the training patients, one generator per community (or one global one)."""
    s = scenario.synthesis
    try:
        generator = make_generator(s.generator, **s.params)
    except (ValueError, TypeError) as exc:
        raise StageError(str(exc), field="synthesis.generator", hint="see `syntwin schema`") from None
    n_twins = max(1, int(round(s.ratio * len(train))))
    groups = membership if s.per_community else None
    try:
        twins = synthesize(
            train[schema.modelled], generator, n_twins, groups=groups, client=ctx.client,
            seed=int_seed(ctx.seed, "synthesis"), min_group_size=s.min_group_size,
            numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
            categorical=list(schema.categorical), time=schema.time, event=schema.event,
        )
    except ImportError as exc:
        raise StageError(str(exc), field="synthesis.generator",
                         hint="pip install 'syntwin[sdv]' or use generator: latent_class") from None
    m.update(generator=s.generator, rows=len(twins),
             groups=int(len(np.unique(groups))) if groups is not None else 1)
    return twins[schema.modelled].reset_index(drop=True)


def _fidelity_stage(scenario: CohortScenario, ctx: RunContext, train: pd.DataFrame, twins: pd.DataFrame,
                    schema: CohortSchema, m: dict) -> None:
    """How faithful the twins are: quality score, and Kaplan–Meier real vs twins per stratum."""
    strata = scenario.synthesis.strata or next(iter(schema.ordinal), None)
    if strata is not None and strata not in schema.features:
        raise CohortError(f"synthesis.strata names {strata!r}, which is not a feature", field="synthesis.strata",
                          hint=f"features are: {', '.join(schema.features)}")
    roles = dict(numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                 categorical=list(schema.categorical), time=schema.time, event=schema.event)
    quality = quality_score(train[schema.modelled], twins, **roles)
    km = km_sup_by_stratum(train, twins, time=schema.time, event=schema.event, by=strata, min_size=KM_MIN_STRATUM)
    m.update(quality=round(float(quality["score"]), 4), strata=strata,
             km_sup={str(k): round(float(v), 4) for k, v in km.items()})
    curves = []
    groups = [("all", slice(None))] if strata is None else [("all", slice(None))] + [
        (str(level), level) for level in sorted(set(train[strata]) & set(twins[strata]))]
    for label, level in groups:
        for side, table in (("real", train), ("synthetic twins", twins)):
            part = table if label == "all" else table[table[strata] == level]
            if len(part) < KM_MIN_STRATUM:
                continue  # no curve of a small group: it would describe few real patients
            times, surv = kaplan_meier(part[schema.time], part[schema.event])
            name = side if label == "all" else f"{side}: {strata} {label}"
            curves.append(pd.DataFrame({"group": name, "time": times, "survival": surv}))
    pd.concat(curves, ignore_index=True).to_parquet(ctx.path("cohort/km.parquet"), index=False)
    ctx.record_output("km_curves", "cohort/km.parquet")


def run_cohort(scenario: CohortScenario, ctx: RunContext) -> None:
    """Run a cohort scenario into ``ctx`` (see the module docstring for the stages)."""
    seed, client = ctx.seed, ctx.client

    with ctx.stage("cohort") as m:
        cohort = load_cohort(scenario.cohort, source=ctx.source, seed=seed)
        schema = cohort.schema
        if not schema.time or not schema.event:
            raise CohortError("the cohort has no outcome (time and event columns)", field="cohort.mapping",
                              hint="map the survival time and the event indicator")
        df = cohort.data.compute().reset_index(drop=True)
        if len(df) < 50:
            raise CohortError(f"the cohort has {len(df)} patients; at least 50 are needed", file=cohort.report.source,
                              hint="use a larger cohort")
        horizon = scenario.prediction.horizon_months
        label, evaluable = outcome_labels(df[schema.time].to_numpy(), df[schema.event].to_numpy(), horizon)
        hold = split_holdout(np.where(evaluable, label, -1), scenario.cohort.holdout, seed)
        train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
        m.update(rows=len(df), train=len(train), holdout=len(holdout), features=len(schema.features),
                 events=int(df[schema.event].sum()), evaluable=int(evaluable.sum()),
                 cleaning=cohort.report.to_dict())
        check_counterfactual(scenario.counterfactual, schema, df, len(holdout))
        schema.save(ctx.path("cohort/schema.json"))
        ctx.record_output("schema", "cohort/schema.json")

    encoder = cohort_encoder(schema, scenario.graph.weights).fit(df[schema.features])
    x_train = encoder.transform(train)
    if ctx.resumed("graph"):
        membership = SimilarityGraph.load(ctx.path("graph")).membership
    else:
        with ctx.stage("graph") as m:
            membership = _graph_stage(scenario, ctx, x_train, encoder.scale_, m)

    if ctx.resumed("synthesis"):
        twins = pd.read_parquet(ctx.scratch("twins.parquet"))
    else:
        with ctx.stage("synthesis") as m:
            twins = _synthesis_stage(scenario, ctx, train, schema, membership, m)
            twins.to_parquet(ctx.scratch("twins.parquet"), index=False)

    with ctx.stage("fidelity") as m:
        _fidelity_stage(scenario, ctx, train, twins, schema, m)

    x_hold, x_twins = encoder.transform(holdout), encoder.transform(twins)
    with ctx.stage("prediction") as m:
        run_prediction(scenario.prediction, ctx, schema=schema, train=train, holdout=holdout, twins=twins,
                       x_train=x_train, x_hold=x_hold, x_twins=x_twins, graph_k=scenario.graph.k,
                       scale=encoder.scale_, m=m)

    if scenario.counterfactual is not None:
        with ctx.stage("counterfactual") as m:
            run_counterfactual(scenario.counterfactual, ctx, schema=schema, train=train, holdout=holdout,
                               weights=scenario.graph.weights, m=m)

    with ctx.stage("privacy") as m:
        pv = scenario.privacy
        gate = ReleaseGate.default(**{f: getattr(pv, f) for f in THRESHOLD_FIELDS})
        result = evaluate_privacy(
            twins, train, holdout, numeric=list(schema.numeric),
            ordinal={k: list(v) for k, v in schema.ordinal.items()}, categorical=list(schema.categorical),
            time=schema.time, event=schema.event, quasi_identifiers=list(schema.quasi_identifiers),
            secrets=pv.secrets, encoded=(x_twins, x_train, x_hold), gate=gate, n_attacks=pv.n_attacks,
            client=client, seed=int_seed(seed, "privacy"),
        )
        m.update(figures=result["figures"], gate=result["gate"], release=result["release"],
                 passed=result["passed"])
        enforce_table(result["gate"])

    with ctx.stage("export") as m:
        site = scenario.cohort.simulate.site if scenario.cohort.simulate else None
        written = export_twins(twins, schema, ctx.path("export"), list(scenario.export.formats),
                               release=result["release"], site=site)
        for fmt, path in written.items():
            ctx.record_output(f"twins_{fmt}" if fmt in ("parquet", "csv") else fmt,
                              str(path.relative_to(ctx.work)))
        m.update(rows=len(releasable(twins, schema, result["release"])), rows_generated=len(twins),
                 formats=list(written))


__all__ = ["run_cohort", "load_cohort", "split_holdout", "similarity_graph", "cohort_encoder"]
