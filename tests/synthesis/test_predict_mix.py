import numpy as np
import pytest

from syntwin.synthesis.evaluate import auroc
from syntwin.synthesis.predict import (
    blend_proba,
    mix_knn_proba,
    rank_blend,
    tune_knn_mix,
    twin_knn_proba,
    valid_distance_max,
)


def _pairs(n=400, k=30, seed=0):
    """Validation patients whose real neighbours carry their outcome and whose twins carry noise."""
    gen = np.random.default_rng(seed)
    y = gen.integers(0, 2, n)
    real = (
        np.where(gen.random((n, k)) < 0.8, y[:, None], 1 - y[:, None]),
        np.sort(gen.random((n, k)), axis=1),
    )
    twins = (gen.integers(0, 2, (n, k)), np.sort(gen.random((n, k)), axis=1))
    return y, real, twins


def test_mix_ends_are_the_single_sources():
    _, real, twins = _pairs()
    np.testing.assert_array_equal(
        mix_knn_proba(real, twins, k=10, alpha=1.0), twin_knn_proba(real[0][:, :10], real[1][:, :10])
    )
    np.testing.assert_array_equal(
        mix_knn_proba(None, twins, k=7, alpha=0.0), twin_knn_proba(twins[0][:, :7], twins[1][:, :7])
    )
    half = mix_knn_proba(real, twins, k=10, alpha=0.5)
    expected = 0.5 * twin_knn_proba(real[0][:, :10], real[1][:, :10]) + 0.5 * twin_knn_proba(
        twins[0][:, :10], twins[1][:, :10]
    )
    np.testing.assert_allclose(half, expected)


def test_tuning_prefers_the_informative_neighbours():
    y, real, twins = _pairs()
    best = tune_knn_mix(y, real, twins, ks=(5, 30), alphas=(0.0, 0.5, 1.0))
    assert best["alpha"] == 1.0 and best["k"] == 30 and best["val_auroc"] > 0.9
    # swap the roles: the informative side is now the twins
    best = tune_knn_mix(y, twins, real, ks=(5, 30), alphas=(0.0, 0.5, 1.0))
    assert best["alpha"] == 0.0
    # k beyond the lists' width is capped, not an error
    assert tune_knn_mix(y, None, real, ks=(500,))["k"] == 30


def test_tuning_and_mix_errors():
    y, real, twins = _pairs()
    with pytest.raises(ValueError, match="alpha"):
        mix_knn_proba(real, twins, k=5, alpha=1.5)
    with pytest.raises(ValueError, match="None"):
        mix_knn_proba(None, twins, k=5, alpha=0.5)
    with pytest.raises(ValueError, match="one class"):
        tune_knn_mix(np.zeros_like(y), real, twins)


def test_rank_blend_keeps_each_order_at_its_end():
    gen = np.random.default_rng(1)
    y = gen.integers(0, 2, 500)
    a, b = y + gen.normal(0, 0.5, 500), gen.random(500)
    assert auroc(y, rank_blend(a, b, 1.0)) == pytest.approx(auroc(y, a))
    assert auroc(y, rank_blend(a, b, 0.0)) == pytest.approx(auroc(y, b))
    assert auroc(y, b) < auroc(y, rank_blend(a, b, 0.5)) < auroc(y, a)


def test_blocks_scored_with_the_largest_valid_distance_of_all_equal_one_call():
    _, real, _ = _pairs(n=300, k=12, seed=3)
    labels, dist = real[0].copy(), real[1].copy()
    dist[5, 8:] = np.inf  # short neighbour lists, and a query with none at all
    labels[7, 3:] = -1
    dist[9, :] = np.inf
    dist[250:] *= 0.5  # the last block's own largest distance is smaller than the rest's
    whole = twin_knn_proba(labels, dist)
    blocks = [slice(0, 100), slice(100, 250), slice(250, 300)]
    maxima = [valid_distance_max(labels[b], dist[b]) for b in blocks]
    got = np.concatenate([twin_knn_proba(labels[b], dist[b], d_max=max(maxima)) for b in blocks])
    assert got.tobytes() == whole.tobytes()
    # the adversary: each block with its own maximum is another score
    own = np.concatenate([twin_knn_proba(labels[b], dist[b]) for b in blocks])
    assert not np.array_equal(own, whole, equal_nan=True)
    assert valid_distance_max(labels[9:10], dist[9:10]) == -np.inf


def test_blend_is_the_mix_of_the_two_votes():
    _, real, twins = _pairs(n=200, k=20, seed=4)
    for alpha in (0.0, 0.25, 1.0):
        a = twin_knn_proba(real[0][:, :10], real[1][:, :10])
        b = twin_knn_proba(twins[0][:, :10], twins[1][:, :10])
        mixed = mix_knn_proba(real, twins, k=10, alpha=alpha)
        assert blend_proba(a, b, alpha).tobytes() == mixed.tobytes()
    with pytest.raises(ValueError, match="non-zero share"):
        blend_proba(None, b, 0.5)
