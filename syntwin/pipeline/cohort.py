"""The cohort pipeline: cohort -> graph -> twins -> prediction -> privacy gate -> export.

Each stage calls a stage library with plain inputs (column lists from the schema, arrays, a seed
derived by stable key, the Dask client) and records its figures under ``metrics.<stage>``.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.cohort import Cohort, CohortSchema
from syntwin.cohort.checks import check_outcome
from syntwin.errors import CohortError, StageError
from syntwin.export.stream import export_parts
from syntwin.export.run import write_release_manifest
from syntwin.graphs.coarsen import coarsened_leiden, modularity_from_edges
from syntwin.graphs.communities import leiden, modularity
from syntwin.graphs.encode import MixedEncoder
from syntwin.graphs.knn import build_graph
from syntwin.graphs.store import SimilarityGraph
from syntwin.pipeline.context import ARRAY, JSON, Artifact, RunContext
from syntwin.pipeline.counterfactual import check_counterfactual, run_counterfactual
from syntwin.pipeline.dataset import (DATASET, concat_summaries, dataset_files, outcome_columns, read_dataset,
                                      read_rows, write_dataset)
from syntwin.pipeline.graph_stage import (RECALL_SAMPLE, _hold_slices, fit_encoder_on_parts, graph_metrics,
                                          partitioned_graph_stage)
from syntwin.pipeline.fidelity import fidelity_stage, scenario_constraints
from syntwin.pipeline.predict import run_prediction, validation_mask
from syntwin.pipeline.prediction_rows import prediction_rows
from syntwin.pipeline.public_domains import with_public_domains
from syntwin.pipeline.privacy_stage import privacy_stage as run_privacy
from syntwin.scenario.cohort import CohortScenario, CohortSection
from syntwin.seeding import int_seed, stratified_mask
from syntwin.synthesis import make_generator
from syntwin.synthesis.parallel import synthesize_parts
from syntwin.synthesis.generators.missingness import with_missingness
from syntwin.synthesis.generators.mst import PublicDomainError
from syntwin.synthesis.predict import outcome_labels

SCHEMA = Artifact(".json", lambda schema, path: schema.save(path), CohortSchema.load)  # as a stage artifact


def load_cohort(section: CohortSection, *, source: str, seed: int, client: Any = None,
                folder: Path | None = None) -> Cohort:
    """Build the scenario's cohort: simulated, or read from a file relative to the scenario.

    A file is parsed and cleaned in blocks by ``client``'s workers, its part files written to ``folder``
    (emptied first; removed on a read error), so that the client never holds the cohort.
    """
    if section.simulate is not None:
        from syntwin.cohort.simulate import simulate_cohort

        sim = section.simulate
        return simulate_cohort(sim.n, site=sim.site, seed=int_seed(seed, "cohort"),
                               rows_per_partition=sim.rows_per_partition)
    from syntwin.cohort.readers import read_cohort

    path = Path(section.file)
    if not path.is_absolute():
        path = Path(source).parent / path
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)  # parts of an interrupted earlier read
    return read_cohort(path, section.mapping, client=client, folder=folder)


def split_holdout(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows, stratified by ``labels`` (seeded, order-independent of workers)."""
    return stratified_mask(labels, share, seed, "holdout")


def cohort_encoder(schema: CohortSchema, weights: dict[str, float],
                   missing: dict[str, str] | None = None) -> MixedEncoder:
    unknown = sorted(set(weights) - set(schema.features))
    if unknown:
        raise CohortError(f"graph.weights names columns that are not features: {unknown}", field="graph.weights",
                          hint=f"features are: {', '.join(schema.features)}")
    return MixedEncoder(numeric=schema.numeric, ordinal={k: list(v) for k, v in schema.ordinal.items()},
                        categorical=schema.categorical, weights=weights or None, missing=missing,
                        categories={c: v for c, v in schema.domains.items() if c in schema.categorical})


def similarity_graph(x: np.ndarray, *, k: int, method: str, resolution: float, scale: float, client: Any,
                     seed: int, coarsen_above: int | None = None,
                     block_rows: int = 125_000) -> tuple[SimilarityGraph, dict[str, Any]]:
    """KNN graph + Leiden communities over encoded patients, and the figures describing it.

    Above ``coarsen_above`` patients the communities come from :func:`~syntwin.graphs.coarsen.coarsened_leiden`.
    """
    graph = build_graph(x, k=min(k, len(x) - 1), method=method, client=client, seed=int_seed(seed, "graph"),
                        scale=scale, recall_sample=RECALL_SAMPLE)
    t0 = time.perf_counter()
    coarse: dict[str, Any] = {}
    if coarsen_above is not None and len(x) > coarsen_above:  # no igraph of all edges (graphs/coarsen.py)
        e = graph.edges
        src, dst, w = e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy()
        membership, coarse = coarsened_leiden(x, src, dst, w, resolution=resolution, client=client,
                                              seed=int_seed(seed, "leiden"), block_rows=block_rows)
        q = modularity_from_edges(src, dst, w, membership, resolution=resolution)
    else:
        membership = leiden(graph, resolution=resolution, seed=int_seed(seed, "leiden"))
        q = modularity(graph, membership, resolution=resolution)
    graph.meta["seconds_communities"] = time.perf_counter() - t0
    graph.membership = membership
    # wall times go to the manifest, not into the artifact (whose bytes must be reproducible)
    return graph, graph_metrics(graph.meta, graph.n_nodes, graph.n_edges, membership, q, coarse)


def dp_guarantee(generator: Any, n_rows: int) -> dict[str, Any] | None:
    """The (ε, δ) of a differentially private generator (through any wrapper), else ``None``."""
    inner = getattr(generator, "generator", generator)
    return inner.guarantee(n_rows) if getattr(inner, "differentially_private", False) else None


def _scenario_generator(scenario: CohortScenario, schema: CohortSchema, n_train: int) -> tuple[Any, dict | None]:
    """The scenario's generator template (strata, public domains, missingness) and its DP guarantee, if any."""
    s = scenario.synthesis
    try:
        generator = make_generator(s.generator, **s.params)
        strata = s.strata or next(iter(schema.ordinal), None)  # survival per class and stratum where supported
        if strata and "survival_given" in generator.get_params() and "survival_given" not in s.params:
            generator.set_params(survival_given=strata)
        if getattr(generator, "needs_public_domains", False):  # DP: domains from the schema, never the data
            generator = with_public_domains(generator, schema)
        generator = with_missingness(generator)  # twins keep missing values
    except (ValueError, TypeError) as exc:
        raise StageError(str(exc), field="synthesis.generator", hint="see `syntwin schema`") from None
    dp = dp_guarantee(generator, n_train)
    if dp and s.per_community:
        raise StageError(f"{s.generator} is differentially private only as one model of the whole cohort: the "
                         "communities come from a graph of the real patients built without privacy budget",
                         field="synthesis.per_community", hint="set synthesis.per_community: false")
    return generator, dp


def _synthesis_kwargs(scenario: CohortScenario, ctx: RunContext, schema: CohortSchema, key: str) -> dict:
    """What both synthesis paths pass to the library besides the rows (seed by stable key, column roles)."""
    return dict(seed=int_seed(ctx.seed, key), min_group_size=scenario.synthesis.min_group_size,
                numeric=list(schema.numeric), ordinal={k: list(v) for k, v in schema.ordinal.items()},
                categorical=list(schema.categorical), time=schema.time, event=schema.event,
                on_done=ctx.on_done, constraints=scenario_constraints(scenario, schema))


@contextlib.contextmanager
def _synthesis_errors():
    """Library errors of a synthesis run as one clear StageError naming the scenario field to fix."""
    try:
        yield
    except ImportError as exc:
        raise StageError(str(exc), field="synthesis.generator",
                         hint="pip install 'syntwin[sdv]' or use generator: latent_class") from None
    except PublicDomainError as exc:  # data outside the declared public domain
        raise StageError(str(exc), field="cohort.mapping.domains",
                         hint="declare every level the coding allows in the mapping's domains") from None


def dataset_synthesis(scenario: CohortScenario, ctx: RunContext, files: list[Path], hold: np.ndarray,
                      schema: CohortSchema, membership: np.ndarray, m: dict, out: Path, *,
                      key: str = "synthesis", subset: np.ndarray | None = None) -> Path:
    """Twins of the training patients of the cohort dataset, written as ``out/part.<i>.parquet`` on the workers.

    The same twins as :func:`~syntwin.synthesis.parallel.synthesize` on the training frame (same plan, seeds and
    rows per group):
    :func:`~syntwin.synthesis.parallel.synthesize_parts` reads each part file's training rows (``~hold``,
    further restricted to the training rows where ``subset`` is true) on the workers and writes one part per
    group; only counts come back. ``membership`` labels the training rows (``subset`` applies to it too).
    """
    s = scenario.synthesis
    train_masks = _hold_slices(files, ~hold)
    if subset is not None:  # a boolean mask over the training rows, in training-row order
        subset = np.asarray(subset, dtype=bool)
        flat = ~hold
        flat[np.flatnonzero(flat)[~subset]] = False
        train_masks = _hold_slices(files, flat)
        membership = membership[subset]
    n_train = int(sum(int(x.sum()) for x in train_masks))
    generator, dp = _scenario_generator(scenario, schema, n_train)
    n_twins = max(1, int(round(s.ratio * n_train)))
    groups = membership if s.per_community else None  # per_community false: one task reads every part's rows
    ctx.step("communities" if s.per_community else "generator")
    with _synthesis_errors():
        got = synthesize_parts([str(f) for f in files], train_masks, generator, n_twins, out, groups=groups,
                               columns=list(schema.modelled), client=ctx.client,
                               **_synthesis_kwargs(scenario, ctx, schema, key))
    m.update(generator=s.generator, rows=got["rows"], rejected_by_constraints=got["rejected"],
             groups=int(len(np.unique(groups))) if groups is not None else 1, parts=got["parts"])
    if dp:
        m.update(dp=dp)
    return out


def _check_outcome(scenario: CohortScenario, ctx: RunContext, df: pd.DataFrame, schema: CohortSchema,
                   label: np.ndarray, evaluable: np.ndarray, hold: np.ndarray, source: str,
                   m: dict) -> dict[str, str]:
    """Degenerate outcomes stop here (one clear error); returns the methods that cannot run, with a reason."""
    p = scenario.prediction
    val = np.zeros(len(df), dtype=bool)  # the validation rows run_prediction will draw from the training rows
    ev_tr, y_tr = evaluable[~hold], label[~hold]
    val[~hold] = stratified_mask(np.where(ev_tr, y_tr, -1), p.validation, ctx.seed, "validation") & ev_tr
    found = check_outcome(df[schema.time].to_numpy(), df[schema.event].to_numpy(), label, evaluable, hold, val,
                          horizon=p.horizon_months, methods=p.methods, source=source)
    m["outcome"] = found.to_dict()
    return dict(found.skipped)


def _without_skipped_methods(scenario: CohortScenario, ctx: RunContext, skipped: dict[str, str]) -> CohortScenario:
    """The scenario with the prediction methods the outcome check dropped removed (reasons in the manifest)."""
    if not skipped:
        return scenario
    ctx.metrics.setdefault("prediction", {})["skipped"] = dict(skipped)
    p = scenario.prediction
    kept = [x for x in p.methods if x not in skipped]
    return scenario.model_copy(update={"prediction": p.model_copy(update={"methods": kept})})


def run_cohort(scenario: CohortScenario, ctx: RunContext) -> None:
    """Run a cohort scenario into ``ctx`` (see the module docstring for the stages)."""
    seed, client = ctx.seed, ctx.client

    def cohort_stage(m: dict) -> dict:
        read = ctx.scratch("cohort/read")  # a file cohort's cleaned blocks, until rewritten as the dataset
        folder = ctx.scratch("cohort/data")
        try:
            cohort = load_cohort(scenario.cohort, source=ctx.source, seed=seed, client=client, folder=read)
            schema = cohort.schema
            if not schema.time or not schema.event:
                raise CohortError("the cohort has no outcome (time and event columns)", field="cohort.mapping",
                                  hint="map the survival time and the event indicator")
            # the partitions are written on the workers; only the outcome columns come back (pipeline.dataset)
            outcome = write_dataset(cohort.data, folder, client=client, summarise=outcome_columns(schema))
        finally:
            shutil.rmtree(read, ignore_errors=True)
        time_, event = concat_summaries(outcome, "time"), concat_summaries(outcome, "event")
        horizon = scenario.prediction.horizon_months
        label, evaluable = outcome_labels(time_, event, horizon)
        hold = split_holdout(np.where(evaluable, label, -1), scenario.cohort.holdout, seed)
        outcomes = pd.DataFrame({schema.time: time_, schema.event: event})
        skipped = _check_outcome(scenario, ctx, outcomes, schema, label, evaluable, hold, cohort.report.source, m)
        m.update(rows=len(hold), train=int((~hold).sum()), holdout=int(hold.sum()), features=len(schema.features),
                 events=int(event.sum()), evaluable=int(evaluable.sum()), partitions=len(outcome),
                 cleaning=cohort.report.to_dict())
        if scenario.counterfactual is not None:  # its checks read the features
            check_counterfactual(scenario.counterfactual, schema,
                                 read_dataset(folder)[schema.features].compute(), int(hold.sum()))
        schema.save(ctx.path("cohort/schema.json"))
        ctx.record_output("schema", "cohort/schema.json")
        return {"data": folder, "hold": hold, "schema": schema, "skipped": skipped}

    # every stage is checkpointed (RunContext.checkpointed): --resume skips the finished ones
    got = ctx.checkpointed("cohort", cohort_stage, data=DATASET, hold=ARRAY, schema=SCHEMA, skipped=JSON)
    hold, schema = got["hold"], got["schema"]
    scenario = _without_skipped_methods(scenario, ctx, got["skipped"])
    # fitted on the training rows (held-out patients reach nothing), from summaries made on the workers
    files = dataset_files(ctx.scratch("cohort/data"))
    encoder = fit_encoder_on_parts(cohort_encoder(schema, scenario.graph.weights,
                                                  scenario.cohort.missing.model_dump()), files, hold, client)
    membership = ctx.checkpointed(  # on the workers, from the dataset's files (syntwin.pipeline.graph_stage)
        "graph", lambda m: {"membership": partitioned_graph_stage(scenario, ctx, encoder, files, hold, m)},
        membership=ARRAY)["membership"]

    ctx.checkpointed(  # on the workers, from the dataset's files to ctx.scratch("synthesis/twins")
        "synthesis", lambda m: {"twins": dataset_synthesis(scenario, ctx, files, hold, schema, membership, m,
                                                           ctx.scratch("synthesis/twins"))},
        twins=DATASET)

    ctx.checkpointed("fidelity", lambda m: fidelity_stage(  # from per-partition statistics, on the workers
        scenario, ctx, ctx.scratch("cohort/data"), hold, membership, ctx.scratch("synthesis/twins"), schema, m))

    def prediction_stage(m: dict) -> None:
        # the methods fit on at most prediction.max_train_rows training patients (and the same share of twins);
        # only those rows are read, and the held-out patients are encoded and scored per part on the workers
        # (syntwin.pipeline.prediction_rows)
        read = prediction_rows(files, dataset_files(ctx.scratch("synthesis/twins")), hold, schema,
                               scenario.prediction, seed, client, encoder)
        rows, fit_on, fit_twins = read["rows"], read["train"], read["twins"]
        m["training_sample"] = read["figures"]
        # tuning twins: the same generator fitted on the inner training rows only (validation rows unseen)
        inner = ~validation_mask(fit_on, schema, scenario.prediction, seed)
        subset = np.zeros(read["figures"]["of_train"], dtype=bool)  # the sample's inner rows, of the training rows
        subset[rows[inner]] = True
        folder = dataset_synthesis(scenario, ctx, files, hold, schema, membership, {},
                                   ctx.scratch("prediction/tuning-twins"), key="tuning-synthesis", subset=subset)
        tuning = read_dataset(folder).compute().reset_index(drop=True)
        shutil.rmtree(folder, ignore_errors=True)  # unreleased rows kept only as long as needed
        run_prediction(scenario.prediction, ctx, schema=schema, train=fit_on, holdout=read["holdout"],
                       twins=fit_twins, tuning_twins=tuning, x_train=encoder.transform(fit_on),
                       x_hold=read["x_hold"], x_twins=encoder.transform(fit_twins),
                       x_tuning_twins=encoder.transform(tuning), graph_k=scenario.graph.k, scale=encoder.scale_,
                       m=m, score_holdout=read["score_holdout"])

    ctx.checkpointed("prediction", prediction_stage)

    if scenario.counterfactual is not None:  # every training and held-out patient (Cox and forest fits)
        ctx.checkpointed("counterfactual", lambda m: run_counterfactual(
            scenario.counterfactual, ctx, schema=schema, train=read_rows(files, ~hold, client=client),
            holdout=read_rows(files, hold, client=client), weights=scenario.graph.weights, m=m))

    def privacy_stage(m: dict) -> dict:  # from the part files, on the workers (syntwin.pipeline.privacy_stage)
        return run_privacy(scenario, ctx, files, hold, dataset_files(ctx.scratch("synthesis/twins")), schema,
                           encoder, m)

    privacy = ctx.checkpointed("privacy", privacy_stage, release=JSON, passed=JSON)
    if not privacy["passed"]:
        return
    release = privacy["release"]

    def export_stage(m: dict) -> None:
        site = scenario.cohort.simulate.site if scenario.cohort.simulate else None
        # per part of the twins dataset, on the workers (syntwin.export.stream): no twin table on the client
        got = export_parts(dataset_files(ctx.scratch("synthesis/twins")), schema, ctx.path("export"),
                           list(scenario.export.formats), release=release, site=site, client=client)
        written = got["written"]
        for fmt, path in written.items():
            ctx.record_output(f"twins_{fmt}" if fmt in ("parquet", "csv") else fmt,
                              str(path.relative_to(ctx.work)))
        m.update(rows=got["rows"], rows_generated=got["rows_generated"], formats=list(written))
        write_release_manifest(ctx.path("export"), privacy=ctx.metrics.get("privacy", {}), rows=got["rows"],
                               rows_generated=got["rows_generated"], columns=got["columns"],
                               dp=ctx.metrics.get("synthesis", {}).get("dp"))
        ctx.record_output("release_manifest", "export/manifest.json")

    ctx.checkpointed("export", export_stage)


__all__ = ["run_cohort", "load_cohort", "split_holdout", "similarity_graph", "cohort_encoder"]
