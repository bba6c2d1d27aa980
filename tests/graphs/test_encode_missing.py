"""Missing feature values in the Gower encoding: each declared strategy gives the distances it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.graphs.encode import MixedEncoder

FRAME = pd.DataFrame({
    "x": [0.0, 10.0, np.nan, 4.0, np.nan],
    "g": ["I", None, "III", "II", "I"],
    "c": ["a", "b", None, "a", None],
})
ROLES = dict(numeric=["x"], ordinal={"g": ["I", "II", "III"]}, categorical=["c"])


def l1(X: np.ndarray, i: int, j: int) -> float:
    return float(np.abs(X[i] - X[j]).sum())


def test_default_strategy_median_indicator_and_level():
    enc = MixedEncoder(**ROLES).fit(FRAME)
    X = enc.transform(FRAME)
    assert np.isfinite(X).all() and enc.indicators_ == ["x", "g", "c"]
    assert enc.dim_ == 1 + 1 + 2 + 3 and enc.fill_["x"] == 4.0 and enc.fill_["g"] == 0.0
    # rows 2 and 4 both miss x and c; x imputed by the median 4 (= row 3) plus half a weight
    assert l1(X, 2, 3) == pytest.approx(0.5 + 0.5 + (0.5 + 0.5))  # x: 0 + 1/2; g: III vs II; c: missing vs a
    # two missing values of a feature are 0 apart on it: rows 2 and 4 differ only in g (III vs I)
    assert l1(X, 2, 4) == pytest.approx(1.0)
    # a missing category is one full unit (Gower delta 1) from any observed category
    row = pd.DataFrame({"x": [0.0], "g": ["I"], "c": [None]})
    assert l1(np.vstack([X[0], enc.transform(row)[0]]), 0, 1) == pytest.approx(1.0)


def test_median_and_mode_impute_without_indicator():
    enc = MixedEncoder(**ROLES, missing={"numeric": "median", "ordinal": "median", "categorical": "mode"})
    X = enc.fit(FRAME).transform(FRAME)
    assert enc.indicators_ == [] and enc.dim_ == 4
    np.testing.assert_allclose(X[2], enc.transform(FRAME.assign(x=4.0, c="a").iloc[[2]])[0])


def test_all_missing_column_and_bad_strategy():
    frame = FRAME.assign(x=np.nan)
    X = MixedEncoder(**ROLES).fit(frame).transform(frame)
    assert np.isfinite(X).all()
    with pytest.raises(ValueError, match="missing strategy numeric='mean'"):
        MixedEncoder(**ROLES, missing={"numeric": "mean"}).fit(FRAME)
    with pytest.raises(ValueError, match="'x' has 2 missing values"):
        MixedEncoder(**ROLES, missing="error").fit(FRAME).transform(FRAME)
