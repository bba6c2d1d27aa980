import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.csgraph import minimum_spanning_tree as scipy_mst
from scipy.spatial.distance import cdist

from syntwin.graphs import MixedEncoder, build_graph
from syntwin.graphs.dedup import collapse_duplicates
from syntwin.graphs.reference import (minimum_spanning_tree, percolation_curve, percolation_threshold,
                                      threshold_graph)

from .conftest import CATEGORICAL, ORDINAL


def test_collapse_duplicates_round_trip(frame):
    X = MixedEncoder(ordinal=ORDINAL, categorical=CATEGORICAL).fit_transform(frame)  # coarse: many repeats
    p = collapse_duplicates(X)
    ref = np.unique(X, axis=0)
    assert p.n_profiles == len(ref) < len(X) and p.ratio == pytest.approx(len(ref) / len(X))
    np.testing.assert_array_equal(p.unique[p.inverse], X)
    assert p.counts.sum() == len(X) and (p.counts == np.bincount(p.inverse)).all()
    # profiles are numbered in order of first appearance
    assert p.inverse[0] == 0 and (np.diff(np.maximum.accumulate(p.inverse)) <= 1).all()
    g = build_graph(p.unique, k=5, multiplicity=p.counts)
    assert g.n_patients == len(X) and p.expand(np.arange(p.n_profiles)).tolist() == p.inverse.tolist()
    assert repr(p).startswith(f"Profiles(rows={len(X)}, profiles={p.n_profiles}")
    with pytest.raises(ValueError, match="one per profile"):
        p.expand(np.zeros(3))


def test_collapse_treats_negative_zero_as_zero():
    p = collapse_duplicates(np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, 1.0]], dtype=np.float32))
    assert p.n_profiles == 2 and p.counts.tolist() == [2, 1]


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(5)
    centers = rng.random((5, 4)) * 4
    return (centers[rng.integers(0, 5, 400)] + rng.normal(0, 0.15, (400, 4))).astype(np.float32)


def test_mst_matches_scipy(points):
    mst = minimum_spanning_tree(points)
    assert len(mst) == 399
    dense = cdist(points.astype(np.float64), points.astype(np.float64), "cityblock")
    assert mst.distance.sum() == pytest.approx(scipy_mst(dense).sum(), rel=1e-9)


def test_percolation_curve_matches_components(points):
    mst = minimum_spanning_tree(points)
    dense = cdist(points.astype(np.float64), points.astype(np.float64), "cityblock")
    ts = np.quantile(mst.distance, [0.1, 0.5, 0.9, 0.99])
    curve = percolation_curve(mst, len(points), ts)
    for t, s in zip(ts, curve.giant_fraction):
        _, lab = connected_components(coo_matrix(dense <= t), directed=False)
        assert s == pytest.approx(np.bincount(lab).max() / len(points))


def test_percolation_threshold_recovers_logistic_tangent():
    t = np.linspace(0, 1, 101)
    curve = pd.DataFrame({"threshold": t, "giant_fraction": 1 / (1 + np.exp(-20 * (t - 0.4)))})
    assert percolation_threshold(curve) == pytest.approx(0.4 - 2 / 20, abs=1e-6)
    with pytest.raises(ValueError, match="flat"):
        percolation_threshold(curve.assign(giant_fraction=1.0))


def test_threshold_graph_equals_brute_force(points):
    g = threshold_graph(points, 0.5, scale=2.0, block_rows=64)
    dense = cdist(points.astype(np.float64), points.astype(np.float64), "cityblock") / 2.0
    i, j = np.nonzero(np.triu(dense <= 0.5, 1))
    assert set(zip(g.edges.src, g.edges.dst)) == set(zip(i, j))
    np.testing.assert_allclose(g.edges.distance, dense[g.edges.src, g.edges.dst], atol=1e-5)
    auto = threshold_graph(points)
    assert 0 < auto.meta["threshold"] < np.quantile(dense * 2, 0.5)
    with pytest.raises(ValueError, match="'auto'"):
        threshold_graph(points, "median")
