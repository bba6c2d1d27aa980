import numpy as np
import pytest
import torch

from syntwin.graphs.knn import nearest
from syntwin.synthesis import GraphSAGEClassifier, auroc, knn_adjacency, knn_graph_union


def homophilous_graph(n: int = 2000, seed: int = 0):
    """Communities visible in the features; P(y) = community effect + a non-linear feature term."""
    rng = np.random.default_rng(seed)
    n_comm = 12
    comm = rng.integers(0, n_comm, n)
    centres = rng.normal(0, 1.5, (n_comm, 6))
    effect = rng.normal(0, 2.0, n_comm)
    x = (centres[comm] + rng.normal(0, 1.0, (n, 6))).astype(np.float32)
    logit = effect[comm] + 1.5 * np.sin(2 * x[:, 0]) * x[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    neighbors, distances = knn_graph_union([x[: n // 2], x[n // 2:]], 10)
    perm = rng.permutation(n)
    masks = [np.zeros(n, dtype=bool) for _ in range(3)]
    masks[0][perm[: n // 2]] = True
    masks[1][perm[n // 2: n // 2 + n // 5]] = True
    masks[2][perm[n // 2 + n // 5:]] = True
    return x, neighbors, distances, y, *masks


@pytest.fixture(scope="module")
def graph():
    return homophilous_graph()


@pytest.fixture(scope="module")
def small():
    return homophilous_graph(400, seed=1)


def test_gnn_learns_and_shuffled_labels_do_not(graph):
    x, nb, d, y, tr, va, te = graph
    params = dict(hidden=32, epochs=150, threads=1, seed=0)
    model = GraphSAGEClassifier(**params).fit(x, nb, d, y, train_mask=tr, val_mask=va)
    p = model.predict_proba()
    assert p.shape == (len(x),) and p.dtype == np.float64 and ((p >= 0) & (p <= 1)).all()
    assert auroc(y[te], p[te]) > 0.75
    shuffled = y.copy()
    shuffled[tr | va] = np.random.default_rng(5).permutation(y[tr | va])
    control = GraphSAGEClassifier(**params).fit(x, nb, d, shuffled, train_mask=tr, val_mask=va)
    assert auroc(y[te], control.predict_proba()[te]) < 0.6
    # fitted state: best epoch restored, history consistent with early stopping
    h = model.history_
    assert set(h) == {"train_loss", "val_loss", "val_auroc"}
    assert len(h["val_auroc"]) <= 150 and model.best_epoch_ < len(h["val_auroc"])
    assert model.val_auroc_ == max(h["val_auroc"]) == h["val_auroc"][model.best_epoch_]
    assert model.val_loss_ == h["val_loss"][model.best_epoch_]
    assert auroc(y[va], p[va]) == pytest.approx(model.val_auroc_)
    assert model.n_nodes_ == len(x) and model.adjacency_.layout == torch.sparse_csr


def test_max_aggregation_and_loss_monitor_learn(small):
    x, nb, d, y, tr, va, te = small
    for kw in ({"aggr": "max"}, {"monitor": "loss"}):
        model = GraphSAGEClassifier(hidden=16, epochs=60, threads=1, **kw).fit(x, nb, d, y, train_mask=tr,
                                                                               val_mask=va)
        assert auroc(y[te], model.predict_proba()[te]) > 0.7


def test_same_seed_same_probabilities_and_state_restored(small):
    x, nb, d, y, tr, va, _ = small
    threads = torch.get_num_threads()
    rng_state = torch.random.get_rng_state()

    def run(seed: int) -> np.ndarray:
        return GraphSAGEClassifier(hidden=16, epochs=30, patience=30, threads=1, seed=seed).fit(
            x, nb, d, y, train_mask=tr, val_mask=va).predict_proba()

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng_state)


def test_zero_sample_weight_equals_dropping_nodes(small):
    x, nb, d, y, tr, va, _ = small
    drop = tr & (np.arange(len(x)) % 3 == 0)
    w = np.where(drop, 0.0, 1.0)
    params = dict(hidden=16, epochs=20, patience=20, threads=1)
    a = GraphSAGEClassifier(**params).fit(x, nb, d, y, train_mask=tr, val_mask=va, sample_weight=w)
    b = GraphSAGEClassifier(**params).fit(x, nb, d, y, train_mask=tr & ~drop, val_mask=va)
    np.testing.assert_allclose(a.predict_proba(), b.predict_proba(), atol=1e-5)


def test_validation_errors(small):
    x, nb, d, y, tr, va, _ = small
    fit = GraphSAGEClassifier(epochs=2).fit
    with pytest.raises(ValueError, match="neighbors"):
        fit(x, nb[:-1], d[:-1], y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="distances"):
        fit(x, nb, d[:, :-1], y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="y must have shape"):
        fit(x, nb, d, y[:-1], train_mask=tr, val_mask=va)
    bad = y.copy()
    bad[np.flatnonzero(tr)[0]] = 2
    with pytest.raises(ValueError, match="y must be 0/1"):
        fit(x, nb, d, bad, train_mask=tr, val_mask=va)
    unlabelled = np.where(tr | va, y, -1)  # labels outside train/val are ignored
    GraphSAGEClassifier(epochs=2).fit(x, nb, None, unlabelled, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="train_mask selects no node"):
        fit(x, nb, d, y, train_mask=np.zeros_like(tr), val_mask=va)
    with pytest.raises(ValueError, match="overlap"):
        fit(x, nb, d, y, train_mask=tr, val_mask=va | tr)
    with pytest.raises(TypeError, match="val_mask must be a boolean"):
        fit(x, nb, d, y, train_mask=tr, val_mask=np.flatnonzero(va))
    with pytest.raises(ValueError, match="one class"):
        fit(x, nb, d, np.where(va, 0, y), train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="sample_weight"):
        fit(x, nb, d, y, train_mask=tr, val_mask=va, sample_weight=-np.ones(len(x)))
    with pytest.raises(ValueError, match=r"unknown aggr 'lstm'; valid: \['mean', 'max'\]"):
        GraphSAGEClassifier(aggr="lstm").fit(x, nb, d, y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="monitor"):
        GraphSAGEClassifier(monitor="f1").fit(x, nb, d, y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="layers"):
        GraphSAGEClassifier(layers=0).fit(x, nb, d, y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="dropout"):
        GraphSAGEClassifier(dropout=1.0).fit(x, nb, d, y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError, match="tol"):
        GraphSAGEClassifier(tol=-1.0).fit(x, nb, d, y, train_mask=tr, val_mask=va)
    with pytest.raises(ValueError) as err:  # sklearn's NotFittedError is a ValueError
        GraphSAGEClassifier().predict_proba()
    assert type(err.value).__name__ == "NotFittedError" and "not fitted" in str(err.value)


def test_adjacency_hand_made():
    # edges {0,1} d=1, {0,2} d=2, {2,3} d=3 (listed by both 2 and 3), {1,3} d=4; node 3 lacks a 2nd neighbour
    nb = np.array([[1, 2], [0, 3], [0, 3], [2, -1]])
    d = np.array([[1.0, 2.0], [1.0, 4.0], [2.0, 3.0], [3.0, np.inf]])
    a = knn_adjacency(nb, d)
    assert a.layout == torch.sparse_csr and a.shape == (4, 4) and a._nnz() == 8
    # similarities 1 - d/4: .75, .5, .25, 0
    expected = np.array([[0, 0.75, 0.5, 0], [0.75, 0, 0, 0], [0.5, 0, 0, 0.25], [0, 0, 0.25, 0]])
    expected = expected / expected.sum(axis=1, keepdims=True)
    dense = a.to_dense().numpy()
    np.testing.assert_allclose(dense, expected, rtol=1e-6)
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, rtol=1e-6)
    support = np.zeros((4, 4), dtype=bool)
    support[np.repeat(np.arange(4), np.diff(a.crow_indices().numpy())), a.col_indices().numpy()] = True
    assert (support == support.T).all() and not support.diagonal().any()
    assert support[1, 3] and support[3, 1]  # stored although its similarity is 0
    # uniform weights without distances; symmetric weights without normalisation
    uniform = knn_adjacency(nb, None).to_dense().numpy()
    np.testing.assert_allclose(uniform, support / support.sum(1, keepdims=True))
    sym = knn_adjacency(nb, d, normalize=False).to_dense().numpy()
    np.testing.assert_allclose(sym, sym.T)
    # a row whose similarities are all 0 falls back to uniform weights
    chain = knn_adjacency(np.array([[1], [0], [1]]), np.ones((3, 1))).to_dense().numpy()
    np.testing.assert_allclose(chain, [[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]])
    with pytest.raises(ValueError, match="only 4 nodes"):
        knn_adjacency(np.array([[1], [4], [0], [1]]))


def test_knn_graph_union_matches_nearest():
    rng = np.random.default_rng(0)
    blocks = [rng.random((30, 3), dtype=np.float32), rng.random((20, 3), dtype=np.float32)]
    nb, d = knn_graph_union(blocks, 5)
    ref_nb, ref_d = nearest(np.vstack(blocks), None, 5, exclude_self=True)
    np.testing.assert_array_equal(nb, ref_nb)
    np.testing.assert_array_equal(d, ref_d)
    assert nb.shape == (50, 5) and not (nb == np.arange(50)[:, None]).any()
    with pytest.raises(ValueError, match="one column count"):
        knn_graph_union([blocks[0], blocks[1][:, :2]], 5)


def test_repr_short_and_stable(small):
    assert repr(GraphSAGEClassifier()) == "GraphSAGEClassifier()"
    model = GraphSAGEClassifier(hidden=16, aggr="max", epochs=3, seed=3)
    text = "GraphSAGEClassifier(hidden=16, epochs=3, aggr='max', seed=3)"
    assert repr(model) == text
    x, nb, d, y, tr, va, _ = small
    assert repr(model.fit(x, nb, d, y, train_mask=tr, val_mask=va)) == text
    assert model.get_params()["hidden"] == 16


def test_inductive_prediction_on_unseen_patients(graph):
    """Trained on the labelled nodes' own graph, the model scores test nodes it never saw in one pass."""
    x, _, _, y, tr, va, te = graph
    seen = tr | va
    nb, d = knn_graph_union([x[seen]], 10)
    model = GraphSAGEClassifier(hidden=32, epochs=150, threads=1, seed=0)
    model.fit(x[seen], nb, d, y[seen], train_mask=tr[seen], val_mask=va[seen])
    # the same graph passed explicitly gives the transductive probabilities
    np.testing.assert_allclose(model.predict_proba(x[seen], nb, d), model.predict_proba(), rtol=1e-6)
    full_nb, full_d = knn_graph_union([x[seen], x[te]], 10)
    p = model.predict_proba(np.vstack([x[seen], x[te]]), full_nb, full_d)[seen.sum():]
    assert auroc(y[te], p) > 0.75
    with pytest.raises(ValueError, match="both"):
        model.predict_proba(x[te])
    with pytest.raises(ValueError, match="features"):
        model.predict_proba(x[te][:, :3], full_nb[: te.sum()] % te.sum())
