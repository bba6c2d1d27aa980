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
    """Their step3, written out as they do it: pairs i < j grouped by distance, cumulative count min–max
    normalised, 3-parameter logistic from curve_fit's default start, tangent at the inflection crossing zero."""
    from scipy.optimize import curve_fit

    gen = np.random.default_rng(0)
    x = gen.normal(0, 1, (300, 2))
    d = np.abs(x[:, None] - x[None]).sum(-1)
    thr = percolation_threshold(d)
    frame = pd.DataFrame(d).mask(np.triu(np.ones(d.shape)).astype(bool)).transpose().stack().to_frame("Dist")
    curve = frame.groupby("Dist")["Dist"].count().cumsum()
    xs, ys = curve.index.to_numpy(), curve.to_numpy(float)
    ys = (ys - ys.min()) / (ys.max() - ys.min())
    (big_l, k, x0), _ = curve_fit(lambda t, L, k, t0: L / (1 + np.exp(-k * (t - t0))), xs, ys)
    m = big_l * k / 4
    assert thr == pytest.approx(-(big_l / 2 - m * x0) / m, rel=1e-6)
    # well below the MST bottleneck (the graph is not connected at the threshold), above 0
    assert 0 < thr < np.median(d[np.triu_indices(300, 1)])


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
    # B: twins within the radius (>= 0.05, whichever member is the centre): 0.03 (dead), 0.06 (alive);
    # cluster 2: 5.04 (alive). The twins at 0.50..0.57 are outside every radius.
    np.testing.assert_allclose(pred["B"][:10], 0.5)
    np.testing.assert_allclose(pred["B"][10:20], 0.0)
    np.testing.assert_allclose(pred["C"][:10], (3 - y[:10] + 1) / 11)
    # D: the 9 closest *community* twins (their step5b): only 2 (cluster 1) and 1 (cluster 2) exist -> all
    np.testing.assert_allclose(pred["D"][:10], 1 / 2)
    np.testing.assert_allclose(pred["D"][10:20], 0.0)
    np.testing.assert_allclose(pred["E"][:10], (3 - y[:10] + 1) / 11)
    np.testing.assert_allclose(pred["E"][10:20], (1 - y[10:20]) / 10)
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
    assert a["D"][0] == pytest.approx(ys[[0, 1]].mean())  # the community's 2 twins (fewer than 8)


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
    assert info_local.pop("seconds").keys() == info_remote.pop("seconds").keys()
    assert info_local == info_remote


def _coded_cohort(n, m, seed):
    """Integer-coded patients from 5 latent classes: 3 ordered features (10, 4, 4 codes), 3 categorical."""
    gen = np.random.default_rng(seed)
    levels = np.array([10, 4, 4, 3, 5, 2])

    def draw(k):
        z = gen.integers(0, 5, k)
        centre = (z[:, None] * np.array([2, 1, 1, 1, 1, 1])) % levels
        noise = gen.integers(-1, 2, (k, 6)) * (gen.random((k, 6)) < 0.3)
        return np.clip(centre + noise, 0, levels - 1), (gen.random(k) < 0.2 + 0.15 * z).astype(float)

    (real, y), (syn, ys) = draw(n), draw(m)
    return real, syn, y, ys, levels, np.array([True, True, True, False, False, False])


def test_gower_codes_are_gower_and_blocks_equal_the_dense_run():
    """Streamed Gower (one-hot / thermometer products per block) is Gower's formula; pair counts, edges and all
    six designs from blocks of 7 rows equal the run on the full matrices, value for value."""
    from syntwin.synthesis.allpairs import GowerCodes
    from syntwin.synthesis.syntwin2024 import syntwin_designs_from

    real, syn, y, ys, levels, ordered = _coded_cohort(160, 400, 0)
    source = GowerCodes(real, syn, ordered=ordered, levels=levels, block_rows=7)
    d, ds = source.dense()

    def gower(a, b):  # the textbook definition, term by term
        terms = [np.abs(a[:, None, f] - b[None, :, f]) / (levels[f] - 1) if ordered[f]
                 else (a[:, None, f] != b[None, :, f]).astype(float) for f in range(6)]
        return sum(terms) / 6

    np.testing.assert_allclose(d, gower(real, real), atol=1e-12)
    np.testing.assert_allclose(ds, gower(real, syn), atol=1e-12)
    values, counts = source.pair_counts()
    dense_values, dense_counts = np.unique(d[np.triu_indices(160, 1)], return_counts=True)
    np.testing.assert_array_equal(values, dense_values)
    np.testing.assert_array_equal(counts, dense_counts)
    thr = percolation_threshold(d)
    src, dst, dist = source.edges(thr)
    i, j = np.nonzero(np.triu(d <= thr, 1))
    np.testing.assert_array_equal(np.column_stack([src, dst]), np.column_stack([i, j]))
    np.testing.assert_array_equal(dist, d[i, j])
    streamed, info = syntwin_designs_from(source, y, ys, seed=1, seeds=3, block_rows=5)
    dense, info_dense = syntwin_designs(d, ds, y, ys, seed=1, seeds=3)
    pd.testing.assert_frame_equal(streamed, dense)
    assert info.pop("seconds").keys() == info_dense.pop("seconds").keys()
    assert info == info_dense and info["threshold"] == thr
    assert info["coverage"] > 0.3 and streamed["D"].notna().sum() > 50
    # a different cohort changes the designs (the comparison above is not vacuous)
    other = GowerCodes(*_coded_cohort(160, 400, 1)[:2], ordered=ordered, levels=levels)
    assert not syntwin_designs_from(other, y, ys, seed=1, seeds=3)[0].equals(streamed)


def test_resolution_scan_resumes_from_its_checkpoint(tmp_path):
    """Each Louvain run is kept; a rerun reads them back (a changed file changes the choice) — same result."""
    import igraph as ig

    g = ig.Graph.Famous("Zachary")
    g.es["weight"] = [1.0] * g.ecount()
    plain = resolution_scan(g, min_size=3, seeds=3, seed=0)
    first = resolution_scan(g, min_size=3, seeds=3, seed=0, checkpoint=str(tmp_path))
    files = sorted(tmp_path.glob("louvain_*.npy"))
    assert len(files) == 3 * 10 and first[0] == plain[0] and first[2] == plain[2]
    np.testing.assert_array_equal(first[1], plain[1])
    again = resolution_scan(g, min_size=3, seeds=3, seed=0, checkpoint=str(tmp_path))
    assert again[0] == first[0] and again[2] == first[2]
    for f in files:  # stored runs: one community everywhere but 11 trios at resolution 0 -> 0 must now win
        np.save(f, np.arange(34) // (3 if f.name.endswith("res0.npy") else 34))
    assert resolution_scan(g, min_size=3, seeds=3, seed=0, checkpoint=str(tmp_path))[0] == 0.0
