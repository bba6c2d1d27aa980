"""The graph stage on the partitioned cohort: every row stays in files the workers read.

1. The encoder is fitted from per-partition summaries (:meth:`MixedEncoder.summarise`, bounded by distinct
   values) computed on the workers over each partition's training rows and merged on the client — the same
   fitted state as ``fit`` on the whole training frame.
2. Each worker task encodes one cohort partition's training rows to ``x/part.<i>.npy`` (0600).
3. :func:`syntwin.graphs.partitioned.build_graph_parts` builds the kNN graph from those files (index trained
   and filled on a worker, written once, memory-mapped by the search tasks; edges symmetrised per bucket).
4. Communities: full Leiden in one worker task reading the edge parts, or the coarsened path above
   ``graph.coarsen_above``. The graph is saved with its edges as ``graph/edges/part.<b>.parquet``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syntwin.graphs.coarsen import coarsened_leiden_parts
from syntwin.graphs.communities import community_stats
from syntwin.graphs.encode import MixedEncoder
from syntwin.graphs.partitioned import build_graph_parts, leiden_from_parts
from syntwin.graphs.store import SimilarityGraph
from syntwin.pipeline.dataset import part_slices
from syntwin.privacy.files import FILE_MODE
from syntwin.seeding import int_seed

MIN_COMMUNITY = 10  # SynTwin keeps communities of >= 10 patients
RECALL_SAMPLE = 2000  # graph recall@k is estimated against exact kNN on this many patients


def _train_rows(file: str, hold: np.ndarray) -> pd.DataFrame:
    """The training rows of one cohort partition file (``hold``: its held-out mask)."""
    df = pd.read_parquet(file)
    return df[~hold].reset_index(drop=True)


def _summary_task(file: str, hold: np.ndarray, encoder: MixedEncoder) -> dict:
    return encoder.summarise(_train_rows(file, hold))


def _encode_task(file: str, hold: np.ndarray, encoder: MixedEncoder, out: str) -> int:
    x = encoder.transform(_train_rows(file, hold))
    tmp = f"{out}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, x)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, out)
    return len(x)


def _hold_slices(files: list[Path], hold: np.ndarray) -> list[np.ndarray]:
    """The held-out mask cut per partition file (row counts from the Parquet footers)."""
    return part_slices(files, hold)


def fit_encoder_on_parts(encoder: MixedEncoder, files: list[Path], hold: np.ndarray, client: Any) -> MixedEncoder:
    """Fit ``encoder`` on the training rows of the partition files from summaries made on the workers."""
    tasks = [client.submit(_summary_task, str(f), h, encoder, pure=False)
             for f, h in zip(files, _hold_slices(files, hold))]
    return encoder.fit_summary(MixedEncoder.merge_summaries(client.gather(tasks)))


def encode_parts(encoder: MixedEncoder, files: list[Path], hold: np.ndarray, folder: Path, client: Any) -> list[str]:
    """Encode each partition's training rows on a worker to ``folder/part.<i>.npy``; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    out = [str(folder / f"part.{i:05d}.npy") for i in range(len(files))]
    client.gather([client.submit(_encode_task, str(f), h, encoder, o, pure=False)
                   for f, h, o in zip(files, _hold_slices(files, hold), out)])
    return out


def graph_metrics(meta: dict, n_nodes: int, n_edges: int, membership: np.ndarray, q: float,
                  coarse: dict) -> dict[str, Any]:
    """The manifest's graph figures; pops the wall times out of ``meta`` (the artifact's bytes stay fixed)."""
    stats = community_stats(membership, min_size=MIN_COMMUNITY)
    metrics: dict[str, Any] = {k_: round(meta.pop(k_), 3) for k_ in list(meta) if k_.startswith("seconds")}
    metrics.update(nodes=n_nodes, edges=n_edges, communities=stats["kept"], communities_all=stats["communities"],
                   coverage=round(stats["coverage"], 4), recall_at_k=round(float(meta["recall_at_k"]), 4),
                   method=meta.get("method"), modularity=round(q, 4),
                   communities_method="coarsened" if coarse else "full", **({"coarsened": coarse} if coarse else {}))
    return metrics


def partitioned_graph_stage(scenario: Any, ctx: Any, encoder: MixedEncoder, files: list[Path], hold: np.ndarray,
                            m: dict) -> np.ndarray:
    """The scenario's graph over the training patients of the cohort dataset, saved to ``graph/``."""
    g, client = scenario.graph, ctx.client
    work = ctx.scratch("graph-build")
    shutil.rmtree(work, ignore_errors=True)
    try:
        ctx.step("encode")
        x_files = encode_parts(encoder, files, hold, work / "x", client)
        n = int((~hold).sum())
        ctx.step("kNN")
        built = build_graph_parts(x_files, work / "edges", client=client, k=min(g.k, n - 1), method=g.method,
                                  seed=int_seed(ctx.seed, "graph"), scale=encoder.scale_,
                                  recall_sample=RECALL_SAMPLE, scratch=work / "build")
        ctx.step("communities")
        t0 = time.perf_counter()
        coarse: dict = {}
        seed = int_seed(ctx.seed, "leiden")
        if g.coarsen_above is not None and n > g.coarsen_above:  # no igraph of all edges (graphs/coarsen.py)
            membership, q, coarse = coarsened_leiden_parts(x_files, built["edge_files"], resolution=g.resolution,
                                                           client=client, seed=seed, block_rows=g.block_rows)
        else:
            membership, q = leiden_from_parts(built["edge_files"], n, client=client, resolution=g.resolution,
                                              seed=seed)
        meta = built["meta"]
        meta["seconds_communities"] = time.perf_counter() - t0
        m.update(graph_metrics(meta, n, built["n_edges"], membership, q, coarse))
        SimilarityGraph.save_parts(ctx.path("graph"), work / "edges", n_nodes=n, n_edges=built["n_edges"],
                                   membership=membership, meta=meta)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ctx.record_output("graph", "graph")
    return membership


__all__ = ["partitioned_graph_stage", "fit_encoder_on_parts", "encode_parts", "graph_metrics"]
