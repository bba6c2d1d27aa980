import numpy as np
import pytest

from syntwin.synthesis.syntwin2024 import percolation_threshold, syntwin_designs


def test_percolation_threshold_is_mst_bottleneck():
    x = np.array([0.0, 1.0, 3.0, 7.0])
    assert percolation_threshold(np.abs(x[:, None] - x[None])) == 4.0
    x = np.array([0.0, 0.0, 2.0])  # duplicate points still connect at 0
    assert percolation_threshold(np.abs(x[:, None] - x[None])) == 2.0


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
    # C: other members and twins together
    np.testing.assert_allclose(pred["C"][:10], (3 - y[:10] + 1) / 11)
    # D: the 9 closest synthetic patients: 0.03, 0.06, 0.50..0.56 -> 3 dead of 9;
    # cluster 2: 5.04 + 0.50..0.57 -> 2/9
    np.testing.assert_allclose(pred["D"][:10], 3 / 9)
    np.testing.assert_allclose(pred["D"][10:20], 2 / 9)
    np.testing.assert_allclose(pred["E"][:10], (3 - y[:10] + 3) / 18)
    # F: 9 random real patients outside the community (cluster 1: 1 or 2 dead among cluster 2 + outlier)
    assert set(np.round(pred["F"][:10] * 9)) <= {0, 1, 2}
    again, _ = syntwin_designs(d, ds, y, ys, threshold=1.0, seed=0)
    assert again.equals(pred)


def test_percolation_default_and_min_size(case):
    d, ds, y, ys = case
    _, info = syntwin_designs(d, ds, y, ys)
    assert info["threshold"] == pytest.approx(50 - 5.09)  # the outlier joins cluster 2 (5.09) last
    pred, info = syntwin_designs(d, ds, y, ys, threshold=1.0, min_size=11)
    assert info["n_communities"] == 0 and info["coverage"] == 0 and pred["A"].isna().all()
    with pytest.raises(ValueError, match="shapes"):
        syntwin_designs(d, ds[:, :3], y, ys)
