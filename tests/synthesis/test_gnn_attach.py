"""New patients scored through their neighbours among a fitted GraphSAGE graph (inductive, by blocks)."""

import pickle

import numpy as np
import pytest

from syntwin.graphs.knn import nearest
from syntwin.synthesis import GraphSAGEClassifier, auroc, knn_graph_union
from tests.synthesis.test_gnn import homophilous_graph


@pytest.fixture(scope="module", params=["mean", "max"])
def fitted(request):
    x, _, _, y, tr, va, te = homophilous_graph(1500, seed=4)
    seen = tr | va
    nb, d = knn_graph_union([x[seen]], 10)
    model = GraphSAGEClassifier(hidden=16, epochs=60, threads=1, seed=0, aggr=request.param)
    model.fit(x[seen], nb, d, y[seen], train_mask=tr[seen], val_mask=va[seen])
    return model, x[seen], x[te], y[te]


def test_fitted_graph_rows_give_the_transductive_scores(fitted):
    """Given the fitted graph's own aggregation rows, the attached path is the fitted graph's forward pass."""
    model, x_nodes, _, _ = fitted
    scorer = model.attached_scorer()
    same = scorer.predict_proba(x_nodes, np.zeros((len(x_nodes), 0), int), adjacency=model._adjacency(
        *knn_graph_union([x_nodes], 10)))
    np.testing.assert_allclose(same, model.predict_proba(), rtol=1e-5, atol=1e-6)


def test_new_patients_scored_well_and_independently_of_their_block(fitted):
    model, x_nodes, x_new, y_new = fitted
    scorer = model.attached_scorer()
    nb, d = nearest(x_nodes, x_new, 10)
    p = scorer.predict_proba(x_new, nb, d)
    assert auroc(y_new, p) > 0.7
    # a patient's score does not depend on the others scored with it (fixed threads: same bytes per row)
    halves = np.concatenate([scorer.predict_proba(x_new[s], nb[s], d[s])
                             for s in (slice(0, 101), slice(101, None))])
    np.testing.assert_allclose(halves, p, rtol=1e-6)
    # shuffled neighbours (wrong nodes) must change the scores: the neighbours are really read
    wrong = scorer.predict_proba(x_new, np.roll(nb, 7, axis=0), d)
    assert np.abs(wrong - p).max() > 1e-3
    # it pickles (shipped to Dask workers) and scores the same after
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(scorer)).predict_proba(x_new, nb, d), p)


def test_bad_inputs_are_refused(fitted):
    model, x_nodes, x_new, _ = fitted
    scorer = model.attached_scorer()
    nb, d = nearest(x_nodes, x_new, 5)
    with pytest.raises(ValueError, match="nodes"):
        scorer.predict_proba(x_new, nb + len(x_nodes), d)
    with pytest.raises(ValueError, match="x must be"):
        scorer.predict_proba(x_new[:, :3], nb, d)
    with pytest.raises(Exception, match="not fitted"):
        GraphSAGEClassifier().attached_scorer()
