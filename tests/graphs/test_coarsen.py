"""Coarsened Leiden (partition-then-merge over spatial blocks) against full Leiden on a planted-community graph."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from syntwin.graphs.coarsen import aggregate_edges, coarse_leiden, coarsened_leiden, modularity_from_edges
from syntwin.graphs.communities import leiden, modularity
from syntwin.graphs.knn import build_graph

ARI_FLOOR = 0.8  # coarsened vs full Leiden, and vs the planted communities
MODULARITY_GAP = 0.01  # coarsened modularity at most this far below full Leiden's


@pytest.fixture(scope="module")
def planted():
    """150 planted Gaussian communities in 6-d (12,000 points) and their kNN graph (k=10)."""
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 150, 12_000)
    centres = rng.normal(0, 10, (150, 6))
    x = (centres[truth] + rng.normal(0, 1, (len(truth), 6))).astype(np.float32)
    graph = build_graph(x, k=10, metric="l2", method="exact", seed=1)
    e = graph.edges
    return x, truth, graph, (e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy())


def test_coarsened_leiden_is_a_valid_partition_close_to_full_leiden(planted):
    x, truth, graph, (src, dst, w) = planted
    full = leiden(graph, seed=5)
    coarse, info = coarsened_leiden(x, src, dst, w, seed=5, block_rows=3_000)
    assert info["blocks"] == 4 and 0 < info["inter_block_edge_share"] < 0.5
    assert coarse.shape == (len(x),) and coarse.dtype == np.int64
    labels, counts = np.unique(coarse, return_counts=True)
    assert labels.tolist() == list(range(len(labels)))  # contiguous, every community non-empty
    assert (np.diff(counts) <= 0).all()  # 0 = largest
    assert adjusted_rand_score(full, coarse) >= ARI_FLOOR
    assert adjusted_rand_score(truth, coarse) >= ARI_FLOOR
    q_full, q_coarse = (modularity_from_edges(src, dst, w, m) for m in (full, coarse))
    assert q_coarse >= q_full - MODULARITY_GAP


def test_modularity_from_edges_is_igraphs_and_aggregation_keeps_it(planted):
    x, truth, graph, (src, dst, w) = planted
    for gamma in (1.0, 2.0):
        assert modularity_from_edges(src, dst, w, truth, resolution=gamma) == pytest.approx(
            modularity(graph, truth, resolution=gamma), abs=1e-9)
    cells = truth * 3 + (np.arange(len(truth)) % 3)  # a finer partition whose unions include ``truth``
    a, b, agg = aggregate_edges([(src[:5000], dst[:5000], w[:5000]), (src[5000:], dst[5000:], w[5000:])],
                                cells, 450)
    assert agg.sum() == pytest.approx(w.sum()) and (a <= b).all()
    # modularity of a union of cells is the same on the aggregate (self-loops = weight inside a cell)
    assert modularity_from_edges(a, b, agg, np.arange(450) // 3) == pytest.approx(
        modularity_from_edges(src, dst, w, truth), abs=1e-9)
    # on the aggregate of the planted communities, Leiden keeps them all (its null model is the fine graph's:
    # with igraph's default node weights for loops it merges some, measured 145 of 150)
    a, b, agg = aggregate_edges([(src, dst, w)], truth, 150)
    found = coarse_leiden(a, b, agg, 150, seed=2)
    assert len(np.unique(found)) == 150
    assert modularity_from_edges(a, b, agg, found) >= modularity_from_edges(a, b, agg, np.arange(150)) - 1e-12


def test_coarsened_leiden_does_not_depend_on_the_workers(planted, dask_client):
    x, _, _, (src, dst, w) = planted
    alone, _ = coarsened_leiden(x, src, dst, w, seed=9, block_rows=3_000)
    on_workers, _ = coarsened_leiden(x, src, dst, w, seed=9, block_rows=3_000, client=dask_client)
    assert np.array_equal(alone, on_workers)
