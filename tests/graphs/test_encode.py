import numpy as np
import pandas as pd
import pytest

from syntwin.graphs.encode import MixedEncoder, gower_distances

from .conftest import CATEGORICAL, NUMERIC, ORDINAL

COLS = dict(numeric=NUMERIC, ordinal=ORDINAL, categorical=CATEGORICAL)


def test_hand_computed_gower():
    a = pd.DataFrame({"x": [0.0, 10.0], "g": ["lo", "hi"], "c": ["a", "b"]})
    d = gower_distances(a, a, numeric=["x"], ordinal={"g": ["lo", "mid", "hi"]}, categorical=["c"])
    # |0-10|/10 = 1, |0-2|/2 = 1, a != b → 1: mean 1; weighted x=2: (2*1 + 1 + 1) / 4 = 1
    assert d[0, 1] == pytest.approx(1.0) and d[0, 0] == 0
    b = pd.DataFrame({"x": [5.0], "g": ["mid"], "c": ["a"]})
    d = gower_distances(a, b, numeric=["x"], ordinal={"g": ["lo", "mid", "hi"]}, categorical=["c"],
                        weights={"x": 2.0}, ranges={"x": 10.0})
    assert d[:, 0] == pytest.approx([(2 * 0.5 + 0.5 + 0) / 4, (2 * 0.5 + 0.5 + 1) / 4])


@pytest.mark.parametrize("weights", [None, {"age": 2.0, "race": 0.5, "grade": 3.0}])
def test_l1_equals_gower(frame, weights):
    enc = MixedEncoder(**COLS, weights=weights).fit(frame)
    X = enc.transform(frame)
    assert X.dtype == np.float32 and X.shape == (len(frame), enc.dim_)
    assert enc.n_features_ == 6 and enc.dim_ == 2 + 1 + sum(len(c) for c in enc.categories_.values())
    assert enc.scale_ == pytest.approx(6.0 if weights is None else 6.0 + 1.0 + 2.0 - 0.5)
    a, b = frame.iloc[:80], frame.iloc[100:400]
    ref = gower_distances(a, b, **COLS, weights=weights, ranges=enc.ranges_)
    l1 = np.abs(X[:80, None, :].astype(np.float64) - X[None, 100:400, :]).sum(-1) / enc.scale_
    np.testing.assert_allclose(l1, ref, atol=1e-6)
    assert ref.max() > 0.3  # the comparison is not trivial


def test_transform_new_rows_uses_fitted_ranges(frame):
    enc = MixedEncoder(**COLS).fit(frame.iloc[:1000])
    other = frame.iloc[1000:1200]
    ref = gower_distances(other, other, **COLS, ranges=enc.ranges_)
    X = enc.transform(other)
    np.testing.assert_allclose(np.abs(X[:, None] - X[None]).sum(-1) / enc.scale_, ref, atol=1e-6)


def test_gower_skips_missing_pairwise():
    a = pd.DataFrame({"x": [0.0, np.nan, 4.0], "c": ["a", "b", None]})
    d = gower_distances(a, a, numeric=["x"], categorical=["c"])
    assert d[0, 1] == pytest.approx(1.0)  # only c compared: a != b
    assert d[0, 2] == pytest.approx(1.0)  # only x compared: 4/4
    assert np.isnan(d[1, 2])  # nothing in common
    with pytest.raises(ValueError, match="missing values"):
        MixedEncoder(numeric=["x"], categorical=["c"], missing="error").fit(a).transform(a)


def test_bad_inputs(frame):
    with pytest.raises(ValueError, match="not fitted"):
        MixedEncoder(**COLS).transform(frame)
    with pytest.raises(ValueError, match="not in the data frame"):
        MixedEncoder(numeric=["nope"]).fit(frame)
    with pytest.raises(ValueError, match="unknown features"):
        MixedEncoder(**COLS, weights={"nope": 1}).fit(frame)
    with pytest.raises(ValueError, match="non-numeric"):
        MixedEncoder(numeric=["race"]).fit(frame)
    with pytest.raises(ValueError, match="not among its levels"):
        MixedEncoder(ordinal={"grade": ["I", "II"]}).fit(frame).transform(frame)
    enc = MixedEncoder(categorical=["race"]).fit(frame)
    with pytest.raises(ValueError, match="not seen at fit"):
        enc.transform(pd.DataFrame({"race": ["martian"]}))
    assert repr(enc) == "MixedEncoder(numeric=0, ordinal=0, categorical=1, weighted=False)"
