import numpy as np
import pytest

from syntwin.synthesis.evaluate import auroc
from syntwin.synthesis.predict import mix_knn_proba, rank_blend, tune_knn_mix, twin_knn_proba


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
