import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

from syntwin.synthesis import (
    auroc,
    auroc_ci,
    baseline_logistic,
    binary_metrics,
    outcome_labels,
    twin_knn_proba,
)

from .conftest import make_table


def test_twin_knn_proba_hand_checked():
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, -1, 0]])
    dist = np.array([[0.0, 1.0, 2.0], [4.0, 4.0, 4.0], [1.0, np.inf, 3.0]])
    # dmax = 4 over valid entries. q0 weights 1, .75, .5 -> (1 + .5)/2.25; q1 all weights 0 -> uniform 1/3
    # q2: neighbour 2 missing; weights .75, .25 -> .75/1.0
    p = twin_knn_proba(labels, dist)
    np.testing.assert_allclose(p, [1.5 / 2.25, 1 / 3, 0.75])
    np.testing.assert_allclose(twin_knn_proba(labels, dist, weighting="uniform"), [2 / 3, 1 / 3, 0.5])
    assert np.isnan(twin_knn_proba(np.array([[-1, -1]]), np.array([[1.0, 1.0]]))[0])
    with pytest.raises(ValueError, match="valid"):
        twin_knn_proba(labels, dist, weighting="gauss")


def test_twin_knn_matches_brute_force_knn():
    rng = np.random.default_rng(0)
    ref, q = rng.normal(size=(200, 3)), rng.normal(size=(20, 3))
    y = (ref[:, 0] > 0).astype(int)
    d = np.linalg.norm(q[:, None] - ref[None], axis=2)
    idx = np.argsort(d, axis=1)[:, :7]
    p = twin_knn_proba(y[idx], np.take_along_axis(d, idx, 1), weighting="uniform")
    np.testing.assert_allclose(p, y[idx].mean(axis=1))
    # a query lying on the positive side gets a high probability
    assert p[q[:, 0] > 1].min() > 0.5


def test_outcome_labels_hand_checked():
    time = np.array([10, 70, 30, 80, 60])
    event = np.array([1, 1, 0, 0, 0])
    lab, ev = outcome_labels(time, event, 60)
    assert lab.tolist() == [1, 0, 0, 0, 0]
    assert ev.tolist() == [True, True, False, True, True]
    lab, ev = outcome_labels(time, event, None)
    assert lab.tolist() == [1, 1, 0, 0, 0] and ev.all()


def test_auroc_against_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    s = np.round(y * 0.8 + rng.normal(size=500), 1)  # ties on purpose
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    r = auroc_ci(y, s, n_boot=300, seed=0)
    assert r["auroc"] == pytest.approx(roc_auc_score(y, s)) and r["n"] == 500
    assert r["ci_low"] < r["auroc"] < r["ci_high"] and r["ci_high"] - r["ci_low"] < 0.15
    assert r == auroc_ci(y, s, n_boot=300, seed=0)
    assert np.isnan(auroc([1, 1], [0.2, 0.3]))


def test_binary_metrics_and_coverage():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 400), 0, 1)
    p_nan = p.copy()
    p_nan[:100] = np.nan
    m = binary_metrics(y, p_nan)
    assert m["coverage"] == 0.75 and m["n"] == 300
    yy, pp = y[100:], p[100:]
    assert m["auroc"] == pytest.approx(roc_auc_score(yy, pp))
    assert m["brier"] == pytest.approx(brier_score_loss(yy, pp))
    assert m["threshold"] == pytest.approx(yy.mean())
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(yy, pp >= yy.mean()))
    m5 = binary_metrics(y, p, threshold=0.5)
    assert m5["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, p >= 0.5))


def test_baseline_logistic_learns():
    df = make_table(1200, seed=9)
    X, y = df.drop(columns=["months", "dead"]), df["dead"].to_numpy()
    p = baseline_logistic(X[:800], y[:800], X[800:], seed=0)
    assert p.shape == (400,) and ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y[800:], p) > 0.65


def test_baseline_gradient_boosting_learns_and_is_seeded():
    from syntwin.synthesis import baseline_gradient_boosting

    df = make_table(1200, seed=9)
    X, y = df.drop(columns=["months", "dead"]), df["dead"].to_numpy()
    X.loc[X.index[-1], "race"] = "Martian"  # unseen level at test time
    p = baseline_gradient_boosting(X[:800], y[:800], X[800:], seed=0, max_iter=50)
    assert roc_auc_score(y[800:], p) > 0.62
    again = baseline_gradient_boosting(X[:800], y[:800], X[800:], seed=0, max_iter=50)
    np.testing.assert_array_equal(p, again)


def test_bootstrap_ci_equals_the_naive_resample_loop():
    """The counting bootstrap gives sklearn's AUROC of each resample exactly (ties too)."""
    from sklearn.metrics import roc_auc_score

    from syntwin.synthesis.evaluate import auroc_ci

    gen = np.random.default_rng(0)
    y = gen.integers(0, 2, 1500)
    s = np.round(y + gen.normal(0, 1.5, 1500), 1)  # many ties
    got = auroc_ci(y, s, seed=3, n_boot=300)
    rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(0xB007,)))
    draws = (rng.integers(0, 1500, 1500) for _ in range(300))
    naive = np.quantile([roc_auc_score(y[i], s[i]) for i in draws], [0.025, 0.975])
    assert [got["ci_low"], got["ci_high"]] == pytest.approx(list(naive), abs=1e-12)
    assert got["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-15)


def test_bootstrap_width_is_that_of_an_ordinary_bootstrap():
    """Resampling with replacement: the interval width is ~2 × 1.96 × the AUROC's standard error (Hanley–McNeil)."""
    from syntwin.synthesis.evaluate import auroc_ci

    gen = np.random.default_rng(1)
    y = gen.integers(0, 2, 600)
    s = y + gen.normal(0, 1.0, 600)
    got = auroc_ci(y, s, seed=0, n_boot=1000)
    a, n1, n0 = got["auroc"], y.sum(), len(y) - y.sum()
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    assert got["ci_high"] - got["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_paired_difference_sees_what_unpaired_intervals_miss():
    """Two strongly correlated scores 0.01 apart: overlapping marginal CIs, paired CI excludes 0."""
    from sklearn.metrics import roc_auc_score

    from syntwin.synthesis.evaluate import auroc_ci, paired_auroc_difference

    gen = np.random.default_rng(2)
    y = gen.integers(0, 2, 3000)
    base = y + gen.normal(0, 1.2, 3000)
    better = base + 0.15 * y  # the same score, slightly more separated
    diff = paired_auroc_difference(y, better, base, seed=0)
    assert diff["difference"] == pytest.approx(roc_auc_score(y, better) - roc_auc_score(y, base))
    assert diff["excludes_zero"] and diff["ci_low"] > 0
    a, b = auroc_ci(y, better, seed=0), auroc_ci(y, base, seed=0)
    assert a["ci_low"] < b["ci_high"]  # the marginal intervals overlap
    same = paired_auroc_difference(y, base, base + 1e-9 * gen.normal(size=3000), seed=0)
    assert not same["excludes_zero"]
    nan = better.copy()
    nan[:100] = np.nan  # uncovered patients are left out of both
    assert paired_auroc_difference(y, nan, base, seed=0)["n"] == 2900
