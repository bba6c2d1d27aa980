import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.syntwin2024 import (
    fit_product_multinomial_gibbs,
    percolation_threshold,
    resolution_scan,
    sample_product_multinomial,
    syntwin_designs,
)


def test_percolation_threshold_is_the_logistic_tangent_of_the_pair_count():
    """Their rule: logistic fit to the cumulative pair count, tangent at the inflection crossing zero."""
    from scipy.optimize import curve_fit

    gen = np.random.default_rng(0)
    x = gen.normal(0, 1, (300, 2))
    d = np.abs(x[:, None] - x[None]).sum(-1)
    thr = percolation_threshold(d)
    pairs = np.sort(d[np.triu_indices(300, 1)])
    t = np.linspace(0, pairs[-1], 200)
    cum = np.searchsorted(pairs, t, side="right") / len(pairs)
    (t0, s), _ = curve_fit(lambda t, t0, s: 1 / (1 + np.exp(-s * (t - t0))), t, cum, p0=(np.median(pairs), 3))
    assert thr == pytest.approx(t0 - 2 / s, rel=1e-4)
    # well below the MST bottleneck (the graph is not connected at the threshold), above 0
    assert 0 < thr < np.median(pairs)


@pytest.fixture(scope="module")
def case():
    real = np.concatenate([np.arange(10) * 0.01, 5 + np.arange(10) * 0.01, [50.0]])
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0] + [1] + [0] * 9 + [1])
    syn = np.concatenate([[0.03, 0.06], 0.5 + np.arange(8) * 0.01, [5.04], [30.0] * 3])
    ys = np.array([1, 0] + [1, 1, 0, 0, 0, 0, 0, 0] + [0] + [1, 1, 1])
    d = np.abs(real[:, None] - real[None])
    ds = np.abs(real[:, None] - syn[None])
    return d, ds, y, ys


def test_designs_hand_checked(case):
    d, ds, y, ys = case
    pred, info = syntwin_designs(d, ds, y, ys, threshold=1.0, min_size=10, seed=0)
    assert info["n_communities"] == 2 and info["coverage"] == pytest.approx(20 / 21)
    c1, c2 = pred["community"][:10], pred["community"][10:20]
    assert len(set(c1)) == 1 and len(set(c2)) == 1 and c1.iloc[0] != c2.iloc[0]
    assert pred["community"].iloc[20] == -1 and pred.iloc[20][list("ABCDEF")].isna().all()
    # A: leave-one-out fraction among the other 9 members
    np.testing.assert_allclose(pred["A"][:10], (3 - y[:10]) / 9)
    np.testing.assert_allclose(pred["A"][10:20], (1 - y[10:20]) / 9)
    # B: twins within the radius (0.05) of the centre: 0.03 (dead), 0.06 (alive); cluster 2: 5.04 (alive)
    np.testing.assert_allclose(pred["B"][:10], 0.5)
    np.testing.assert_allclose(pred["B"][10:20], 0.0)
    np.testing.assert_allclose(pred["C"][:10], (3 - y[:10] + 1) / 11)
    # D: the 9 closest synthetic patients: 0.03, 0.06, 0.50..0.56 -> 3 dead of 9; cluster 2: 2/9
    np.testing.assert_allclose(pred["D"][:10], 3 / 9)
    np.testing.assert_allclose(pred["D"][10:20], 2 / 9)
    np.testing.assert_allclose(pred["E"][:10], (3 - y[:10] + 3) / 18)
    assert set(np.round(pred["F"][:10] * 9)) <= {0, 1, 2}
    again, _ = syntwin_designs(d, ds, y, ys, threshold=1.0, seed=0)
    assert again.equals(pred)


def test_queries_labels_are_never_read(case):
    """With is_query, A/C/E/F use the reference patients only; the queries' labels change nothing."""
    d, ds, y, ys = case
    query = np.zeros(21, bool)
    query[[0, 1, 10, 11]] = True
    a, info = syntwin_designs(d, ds, y, ys, is_query=query, threshold=1.0, min_size=10, seed=0)
    flipped = np.where(query, 1 - y, y)
    b, _ = syntwin_designs(d, ds, flipped, ys, is_query=query, threshold=1.0, min_size=10, seed=0)
    assert a.equals(b)
    assert a.loc[~query, list("ABCDEF")].isna().all().all() and info["coverage"] == 1.0
    ref1 = [i for i in range(10) if not query[i]]  # 8 labelled reference members in cluster 1
    assert a["A"][0] == pytest.approx(y[ref1].mean())
    assert a["D"][0] == pytest.approx(ys[np.argsort(ds[0], kind="stable")[:8]].mean())


def test_resolution_scan_by_most_kept_communities():
    import igraph as ig

    g = ig.Graph.Famous("Zachary")
    g.es["weight"] = [1.0] * g.ecount()
    chosen, membership, info = resolution_scan(g, min_size=3, seed=0)
    for r, votes in info["resolution_votes"].items():
        assert votes <= info["resolution_votes"][str(chosen)]
    sizes = np.bincount(membership)
    assert (sizes >= 3).sum() >= 2 and chosen > 0  # resolution 0 is one community: never the winner
    assert resolution_scan(g, min_size=3, seed=0)[0] == chosen


def test_percolation_default_and_min_size(case):
    d, ds, y, ys = case
    pred, info = syntwin_designs(d, ds, y, ys, threshold=1.0, min_size=11)
    assert info["n_communities"] == 0 and info["coverage"] == 0 and pred["A"].isna().all()
    with pytest.raises(ValueError, match="shapes"):
        syntwin_designs(d, ds[:, :3], y, ys)


def test_gibbs_mixture_recovers_two_classes():
    gen = np.random.default_rng(0)
    z = gen.integers(0, 2, 4000)
    x = np.column_stack([np.where(gen.random(4000) < np.where(z, 0.9, 0.1), 1, 0) for _ in range(5)])
    model = fit_product_multinomial_gibbs(x, k=4, iterations=60, burn_in=30, seed=1)
    syn = sample_product_multinomial(model, 4000, seed=2)
    # the association between columns (only explained by the latent class) is reproduced
    assert np.corrcoef(syn[:, 0], syn[:, 1])[0, 1] == pytest.approx(np.corrcoef(x[:, 0], x[:, 1])[0, 1], abs=0.05)
    assert syn.mean(0) == pytest.approx(x.mean(0), abs=0.03)
    independent = fit_product_multinomial_gibbs(x, k=1, iterations=20, burn_in=10, seed=1)
    flat = sample_product_multinomial(independent, 4000, seed=2)
    assert abs(np.corrcoef(flat[:, 0], flat[:, 1])[0, 1]) < 0.05  # one class cannot


def test_resolution_scan_on_the_cluster_equals_local(case, dask_client):
    """The scan's seeds run as tasks on the cluster when a client is given: same designs, same info."""
    d, ds, y, ys = case
    local, info_local = syntwin_designs(d, ds, y, ys, threshold=1.0, min_size=10, seed=3)
    remote, info_remote = syntwin_designs(d, ds, y, ys, threshold=1.0, min_size=10, seed=3, client=dask_client)
    pd.testing.assert_frame_equal(local, remote)
    assert info_local == info_remote
