"""DeLong's AUROC variance against its definition, and against the bootstrap it replaces at large n."""

import numpy as np
import pytest

from syntwin.synthesis import evaluate
from syntwin.synthesis.delong import delong_components, delong_interval, delong_paired_interval
from syntwin.synthesis.evaluate import auroc, auroc_ci, paired_auroc_difference


def _scores(n: int, seed: int):
    gen = np.random.default_rng(seed)
    y = (gen.random(n) < 0.3).astype(int)
    a = np.round(y * 0.8 + gen.normal(size=n), 1)  # rounded: many ties
    b = np.round(0.6 * a + y * 0.3 + gen.normal(size=n), 1)
    return y, a, b


def _by_definition(y, s):
    """The m x n table of psi(X_i, Y_j) = 1[x > y] + 1/2 1[x = y] (DeLong et al. 1988, eq. 2-4)."""
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    return psi.mean(), psi.mean(axis=1), psi.mean(axis=0)


def test_components_equal_the_definition_with_ties():
    y, a, b = _scores(600, 0)
    theta, v10, v01 = delong_components(y, [a, b])
    for r, s in enumerate((a, b)):
        t, c10, c01 = _by_definition(y, s)
        np.testing.assert_allclose([theta[r]], [t], atol=1e-12)
        np.testing.assert_allclose(v10[r], c10, atol=1e-12)
        np.testing.assert_allclose(v01[r], c01, atol=1e-12)
        assert theta[r] == pytest.approx(auroc(y, s), abs=1e-12)
    # variance of the difference from the definition's components
    _, a10, a01 = _by_definition(y, a)
    _, b10, b01 = _by_definition(y, b)
    var = np.var(a10 - b10, ddof=1) / len(a10) + np.var(a01 - b01, ddof=1) / len(a01)
    diff, lo, hi = delong_paired_interval(y, a, b)
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * np.sqrt(var), rel=1e-9)
    assert diff == pytest.approx(theta[0] - theta[1], abs=1e-12)


def test_delong_agrees_with_the_bootstrap_at_twenty_thousand():
    y, a, b = _scores(20_000, 1)
    boot, delong = auroc_ci(y, a, seed=3, interval="bootstrap"), auroc_ci(y, a, interval="delong")
    assert boot["auroc"] == delong["auroc"] and delong["interval"] == "delong"
    assert abs(boot["ci_low"] - delong["ci_low"]) < 0.002 and abs(boot["ci_high"] - delong["ci_high"]) < 0.002
    pb = paired_auroc_difference(y, a, b, seed=4, interval="bootstrap")
    pd_ = paired_auroc_difference(y, a, b, interval="delong")
    assert abs(pb["ci_low"] - pd_["ci_low"]) < 0.002 and abs(pb["ci_high"] - pd_["ci_high"]) < 0.002
    # the adversary: an unpaired interval (covariance left out) is wider than the paired one here
    _, la, ha = delong_interval(y, a)
    _, lb, hb = delong_interval(y, b)
    unpaired = np.hypot((ha - la) / 2, (hb - lb) / 2)
    assert (pd_["ci_high"] - pd_["ci_low"]) / 2 < 0.8 * unpaired


def test_auto_takes_delong_above_the_bootstrap_limit(monkeypatch):
    y, a, b = _scores(3_000, 2)
    assert auroc_ci(y, a)["interval"] == "bootstrap"
    monkeypatch.setattr(evaluate, "BOOTSTRAP_MAX_PATIENTS", 2_999)
    assert auroc_ci(y, a)["interval"] == "delong"
    assert paired_auroc_difference(y, a, b)["interval"] == "delong"
    one_class = auroc_ci(np.ones(3_000, int), a)
    assert one_class["interval"] == "bootstrap" and np.isnan(one_class["ci_low"])
    with pytest.raises(ValueError, match="unknown interval"):
        auroc_ci(y, a, interval="wald")
