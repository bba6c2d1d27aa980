import numpy as np
import pytest

from syntwin.graphs import MixedEncoder, build_graph, estimate_recall, nearest

from .conftest import CATEGORICAL, NUMERIC, ORDINAL, mixed_frame


@pytest.fixture(scope="module")
def X(frame):
    return MixedEncoder(numeric=NUMERIC, ordinal=ORDINAL, categorical=CATEGORICAL).fit_transform(frame)


def brute_force(X, k):
    d = np.abs(X[:, None, :].astype(np.float64) - X[None, :, :]).sum(-1)
    np.fill_diagonal(d, np.inf)
    idx = np.arange(len(X))
    order = np.lexsort((np.broadcast_to(idx, d.shape), d), axis=1)[:, :k]
    return order, np.take_along_axis(d, order, 1)


def test_exact_matches_brute_force_with_tie_order(X):
    sub = X[:600]
    I, D = nearest(sub, None, 7, method="exact", exclude_self=True)
    bi, bd = brute_force(sub, 7)
    assert I.dtype == np.int64 and D.dtype == np.float32 and I.shape == (600, 7)
    np.testing.assert_allclose(D, bd, atol=1e-5)
    # same neighbour sets wherever distances are not tied at the k-th place
    clean = bd[:, -1] < np.sort(np.abs(sub[:, None] - sub[None]).sum(-1), 1)[:, 8] - 1e-5
    assert clean.sum() > 100
    assert (I[clean] == bi[clean]).all()
    assert (np.diff(D, axis=1) >= 0).all()


def test_ivf_recall_against_exact(X):
    I, _ = nearest(X, None, 15, method="ivf", exclude_self=True, nlist=64, nprobe=8)
    recall = estimate_recall(X, I, 15, sample=500)
    assert recall >= 0.95
    bad, _ = nearest(X, None, 15, method="ivf", exclude_self=True, nlist=256, nprobe=1)
    assert estimate_recall(X, bad, 15, sample=500) < recall  # the estimator sees worse neighbours


def test_l2_metric_and_query_set(X):
    I, D = nearest(X[:2000], X[2000:2100], 3, metric="l2")
    d = np.sqrt(((X[2000:2100, None].astype(np.float64) - X[None, :2000]) ** 2).sum(-1))
    np.testing.assert_allclose(D, np.sort(d, 1)[:, :3], atol=1e-4)


def test_same_seed_same_bytes_other_seed_other_cells(X):
    a = nearest(X, None, 10, method="ivf", seed=3, exclude_self=True, nlist=128, nprobe=2, block_rows=700)
    b = nearest(X, None, 10, method="ivf", seed=3, exclude_self=True, nlist=128, nprobe=2)
    c = nearest(X, None, 10, method="ivf", seed=4, exclude_self=True, nlist=128, nprobe=2)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_dask_one_or_two_workers_give_identical_output(X):
    from distributed import Client, LocalCluster

    kw = dict(method="ivf", exclude_self=True, nlist=64, nprobe=4, block_rows=500)
    local = nearest(X, None, 10, **kw)
    # its own cluster: a worker is retired mid-test (the session's shared cluster must keep its two)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        two = nearest(X, None, 10, client=client, **kw)
        client.retire_workers([sorted(client.scheduler_info()["workers"])[1]])
        assert len(client.scheduler_info()["workers"]) == 1
        one = nearest(X, None, 10, client=client, **kw)
    for other in (two, one):
        assert other[0].tobytes() == local[0].tobytes() and other[1].tobytes() == local[1].tobytes()


def test_build_graph_edges(X, frame):
    enc = MixedEncoder(numeric=NUMERIC, ordinal=ORDINAL, categorical=CATEGORICAL).fit(frame)
    g = build_graph(X[:500], k=5, scale=enc.scale_)
    e = g.edges
    assert (e.src < e.dst).all() and not e.duplicated(["src", "dst"]).any()
    assert 500 * 5 / 2 <= len(e) <= 500 * 5
    assert e.weight.min() == pytest.approx(0.0) and e.weight.max() <= 1.0
    np.testing.assert_allclose(e.weight, 1 - e.distance / e.distance.max(), atol=1e-6)
    # stored distances are Gower distances
    s, t = e.src.to_numpy()[:20], e.dst.to_numpy()[:20]
    gower = np.abs(X[s] - X[t]).sum(1) / enc.scale_
    np.testing.assert_allclose(e.distance.to_numpy()[:20], gower, atol=1e-6)
    # every node has its k nearest among its edges
    I, _ = nearest(X[:500], None, 5, exclude_self=True)
    pairs = set(zip(e.src, e.dst))
    assert all((min(i, j), max(i, j)) in pairs for i in range(500) for j in I[i])
    assert g.meta["k"] == 5 and g.meta["method"] == "exact"


def test_auto_nprobe_and_self_measured_recall(X):
    g = build_graph(X, k=10, method="ivf", nlist=64, recall_sample=400, target_recall=0.97)
    meta = g.meta
    assert meta["method"] == "ivf" and meta["nlist"] == 64 and 1 <= meta["nprobe"] <= 64
    assert meta["calibration_recall"] >= 0.97 and meta["recall_at_k"] >= 0.95
    assert meta["seconds_knn"] > 0 and meta["seconds_recall"] > 0
    loose = build_graph(X, k=10, method="ivf", nlist=64, target_recall=0.5)
    assert loose.meta["nprobe"] <= meta["nprobe"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=0), "k must be in"), (dict(k=20), "k must be in"), (dict(k=2.5), "k must be an integer"),
    (dict(metric="cosine"), "unknown metric"), (dict(method="hnsw"), "unknown method"),
    (dict(nprobe=0), "nprobe"), (dict(nprobe="many"), "nprobe"), (dict(target_recall=1.5), "target_recall"),
    (dict(block_rows=0), "block_rows"),
])
def test_bad_parameters(kwargs, match):
    X = mixed_frame(20)[["age", "tumor_size"]].to_numpy(np.float32)
    args = dict(k=3) | kwargs
    with pytest.raises(ValueError, match=match):
        nearest(X, None, exclude_self=True, **args)


def test_bad_arrays_and_graph_k():
    X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="floating dtype"):
        nearest(X.astype(np.int64), None, 3)
    with pytest.raises(ValueError, match="floating dtype"):
        nearest(X.astype(object), None, 3)
    with pytest.raises(ValueError, match="2-D"):
        nearest(X[0], None, 3)
    with pytest.raises(ValueError, match="NaN"):
        nearest(np.where(X > 0.9, np.nan, X), None, 3)
    with pytest.raises(ValueError, match="columns"):
        nearest(X, X[:, :2], 3)
    with pytest.raises(ValueError, match="k must be <"):
        build_graph(X, k=20)
    with pytest.raises(ValueError, match="scale"):
        build_graph(X, k=3, scale=0)
