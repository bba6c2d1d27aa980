"""The kNN methods' labels and votes from the search tasks equal those of the gathered neighbour lists."""

import numpy as np
import pytest

from syntwin.graphs.knn import nearest
from syntwin.pipeline.knn_votes import neighbour_labels, neighbour_votes
from syntwin.synthesis.predict import blend_proba, mix_knn_proba, twin_knn_proba


def _cohort(seed: int, n_ref: int = 3000, n_query: int = 900):
    gen = np.random.default_rng(seed)
    ref = gen.random((n_ref, 6), dtype=np.float32)
    y = (ref[:, 0] + 0.3 * gen.random(n_ref) > 0.7).astype(np.int64)
    return ref, y, gen.random((n_query, 6), dtype=np.float32)


def test_labels_are_those_of_the_nearest_reference_rows():
    ref, y, q = _cohort(0)
    labels, dist = neighbour_labels(ref, y, q, 40, None, seed=1, block_rows=128)
    idx, d = nearest(ref, q, 40, seed=1)
    assert labels.dtype == np.int8 and np.array_equal(labels, y[idx]) and dist.tobytes() == d.tobytes()


@pytest.mark.parametrize("weighting", ["similarity", "uniform"])
def test_votes_by_blocks_equal_the_vote_over_all_queries(weighting):
    ref, y, q = _cohort(1)
    labels, dist = neighbour_labels(ref, y, q, 60, None, seed=2)
    votes = neighbour_votes(ref, y, q, 60, [50, 5, 20, 5], weighting=weighting, client=None, seed=2,
                            block_rows=128)
    assert sorted(votes) == [5, 20, 50]
    for j, v in votes.items():
        assert v.tobytes() == twin_knn_proba(labels[:, :j], dist[:, :j], weighting=weighting).tobytes()
    assert neighbour_votes(ref, y, q, 60, [], weighting=weighting, client=None, seed=2) == {}


def test_votes_on_the_workers_blend_to_the_old_mix(dask_client):
    """Searched and scored on a 2-worker cluster in blocks: the bytes of ``mix_knn_proba`` over the lists
    ``nearest`` gathers on the client (the prediction stage's previous path)."""
    ref, y, q = _cohort(2)
    twins, y_twins, _ = _cohort(3, n_ref=2500)
    real = neighbour_votes(ref, y, q, 80, [30], weighting="similarity", client=dask_client, seed=4,
                           block_rows=100)
    synth = neighbour_votes(twins, y_twins, q, 80, [30], weighting="similarity", client=dask_client, seed=4,
                            block_rows=100)
    i_r, d_r = nearest(ref, q, 80, seed=4)
    i_t, d_t = nearest(twins, q, 80, seed=4)
    for alpha in (0.0, 0.5, 1.0):
        old = mix_knn_proba((y[i_r], d_r), (y_twins[i_t], d_t), k=30, alpha=alpha)
        assert blend_proba(real[30], synth[30], alpha).tobytes() == old.tobytes()


def test_attached_gnn_scores_on_the_workers_are_the_scores_of_the_gathered_lists(dask_client):
    """The GNN's held-out scores, searched and scored per block on a 2-worker cluster: the bytes of the
    attached scorer over the neighbour lists gathered on the client, whatever the block size."""
    from syntwin.pipeline.knn_votes import attached_scores
    from syntwin.synthesis import GraphSAGEClassifier, knn_graph_union

    ref, y, q = _cohort(5, n_ref=1200, n_query=700)
    nb, d = knn_graph_union([ref], 10)
    tr = np.arange(len(ref)) % 5 != 0
    model = GraphSAGEClassifier(hidden=8, epochs=15, threads=1, seed=0)
    model.fit(ref, nb, d, y, train_mask=tr, val_mask=~tr)
    scorer = model.attached_scorer()
    remote = attached_scores(scorer, ref, q, 10, client=dask_client, seed=6, block_rows=128)
    local = attached_scores(scorer, ref, q, 10, client=None, seed=6, block_rows=128)
    idx, dist = nearest(ref, q, 10, seed=6)
    assert remote.tobytes() == local.tobytes()
    assert remote.shape == (len(q),) and np.allclose(remote, scorer.predict_proba(q, idx, dist), rtol=1e-6)
