"""Attack figures against references: brute force, hand counts, scipy's Wilson interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from syntwin.privacy import exact_copies, k_anonymity, l_diversity, small_class_mask
from syntwin.privacy.anonymeter_risks import (
    _match_counts,
    attacks_for_width,
    inference_risk,
    linkability_risk,
    risk_from_counts,
    singling_out_risk,
    wilson,
)
from syntwin.privacy.kanon import band_width, generalise
from syntwin.privacy.membership import auroc_se


# --------------------------------------------------------------------------- membership inference
def test_mia_auroc_near_half_on_independent_data_and_high_on_copies(results):
    ind, cop, jit = (results[k]["figures"] for k in ("independent", "copies", "jitter"))
    se = results["independent"]["details"]["membership"]["mia_distance_auroc_se"]
    for f in ("mia_distance_auroc", "mia_density_auroc"):
        assert abs(ind[f] - 0.5) < 4 * se + 0.01, ind[f]
        assert cop[f] > 0.99
        assert jit[f] > 0.85


def test_auroc_se_matches_bootstrap():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1.0, 1, 300), rng.normal(0.0, 1, 300)
    auc = float(np.mean(pos[:, None] > neg[None, :]))
    boot = [np.mean(rng.choice(pos, 300)[:, None] > rng.choice(neg, 300)[None, :]) for _ in range(300)]
    assert auroc_se(auc, 300, 300) == pytest.approx(np.std(boot), rel=0.2)


# --------------------------------------------------------------------------- WP29 risks
def test_risks_near_zero_on_independent_data_and_high_on_leaks(results):
    ind, cop = results["independent"]["figures"], results["copies"]["figures"]
    for f in ("singling_out_risk", "linkability_risk", "inference_risk"):
        assert ind[f] <= 0.06, (f, ind[f])
    assert cop["singling_out_risk"] > 0.9 and cop["inference_risk"] > 0.9 and cop["linkability_risk"] > 0.3
    jit = results["jitter"]["figures"]
    assert jit["singling_out_risk"] > 0.1 and jit["inference_risk"] > 0.5


def test_attack_intervals_are_narrower_than_the_threshold_when_rows_allow(results):
    d = results["independent"]["details"]
    assert d["singling_out"]["error"] < 0.05 and d["linkability"]["error"] < 0.05
    assert d["inference"]["survival_months"]["error"] < 0.05
    # the dominant-class secret (cancer_death: r_control ~0.85) used every holdout row available
    assert d["inference"]["cancer_death"]["n_main"] == 1500
    assert attacks_for_width(0.02) == 2401


def test_wilson_matches_scipy():
    for k, n in ((8, 10), (0, 50), (130, 2000)):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        centre, half = wilson(k, n)
        assert centre == pytest.approx((ci.low + ci.high) / 2, abs=1e-6)
        assert half == pytest.approx((ci.high - ci.low) / 2, abs=1e-6)


def test_risk_formula_by_hand():
    r = risk_from_counts(1000, 2000, 200, 2000)
    m, c = wilson(1000, 2000)[0], wilson(200, 2000)[0]
    assert r.risk == pytest.approx((m - c) / (1 - c))
    assert r.ci_low < r.risk < r.ci_high
    assert risk_from_counts(100, 2000, 300, 2000).risk == 0.0  # worse than control clips to 0


def test_query_match_counts_against_pandas_brute_force():
    rng = np.random.default_rng(1)
    data = np.column_stack([rng.integers(0, 5, 400), rng.integers(0, 3, 400), rng.normal(size=400)]).astype(
        float
    )
    data[rng.random(400) < 0.05, 1] = np.nan
    cols = np.sort(np.argsort(rng.random((60, 3)), axis=1)[:, :2], axis=1)
    ops = np.where(cols == 2, rng.integers(1, 3, cols.shape), 0)
    vals = data[rng.integers(0, 400, 60)[:, None], cols]
    got = _match_counts(data, cols, ops, vals, chunk=7)
    df = pd.DataFrame(data)
    for q in range(60):
        mask = np.ones(400, dtype=bool)
        for c, o, v in zip(cols[q], ops[q], vals[q], strict=True):
            x = df[c].to_numpy()
            mask &= (np.isnan(x) & np.isnan(v)) | (x == v if o == 0 else x <= v if o == 1 else x >= v)
        assert got[q] == mask.sum()


def _toy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.integers(0, 5000, n).astype(float),
            "b": rng.choice(list("xyz"), n),
            "c": rng.integers(0, 4000, n).astype(float),
            "d": rng.choice(list("pq"), n),
        }
    )


def test_singling_out_linkability_inference_on_toy_data():
    train, control, indep = _toy(600, 1), _toy(600, 2), _toy(600, 3)
    g = np.random.default_rng(0)
    cols, num = ["a", "b", "c", "d"], ["a", "c"]
    so_copy = singling_out_risk(train, train, control, cols, numeric=num, rng=g, n_attacks=300)
    so_ind = singling_out_risk(indep, train, control, cols, numeric=num, rng=g, n_attacks=300)
    assert so_copy.risk > 0.8 and so_ind.risk < 0.15
    # copies: the nearest twin on (a, b) and on (c, d) is the target itself (values are nearly unique)
    li = linkability_risk(train, train, control, ["a", "b"], ["c", "d"], numeric=num, rng=g, n_attacks=500)
    assert li.main_rate > 0.85 and li.risk > 0.85  # misses are exact ties on (a, b) or (c, d)
    li_ind = linkability_risk(
        indep, train, control, ["a", "b"], ["c", "d"], numeric=num, rng=g, n_attacks=500
    )
    assert li_ind.risk < 0.05
    inf = inference_risk(train, train, control, ["a", "b", "c"], "d", numeric=num, rng=g, n_attacks=500)
    assert inf.main_rate > 0.99 and 0.3 < inf.control_rate < 0.7  # control guesses a coin flip
    with pytest.raises(ValueError, match="disjoint"):
        linkability_risk(train, train, control, ["a", "b"], ["b"], numeric=num, rng=g)
    with pytest.raises(ValueError, match="without the secret"):
        inference_risk(train, train, control, ["a", "d"], "d", numeric=num, rng=g)


# --------------------------------------------------------------------------- copies, DCR
def test_exact_copies_by_hand():
    ref = pd.DataFrame({"x": [1.0, 2.0, np.nan], "y": ["a", "b", "c"]})
    tw = pd.DataFrame({"x": [1.0, 2.0, np.nan, 2.0], "y": ["a", "a", "c", "b"]})
    assert exact_copies(tw, ref, ["x", "y"]) == 3
    assert exact_copies(tw, ref, ["x"]) == 4
    with pytest.raises(ValueError, match="missing"):
        exact_copies(tw, ref, ["z"])


def test_dcr_profile_and_share(results):
    ind, cop = results["independent"]["figures"], results["copies"]["figures"]
    assert abs(ind["dcr_train_share"] - 0.5) < 0.05 and cop["dcr_train_share"] > 0.99
    assert ind["near_copy_share"] < 0.03 and cop["near_copy_share"] == 1.0
    assert cop["nndr_p05_twins"] == 0.0 and ind["nndr_p05_twins"] > 0.1
    assert cop["exact_copies"] == 1500 and cop["exact_copy_share"] == 1.0  # counted as generated
    assert ind["exact_copies"] == 0 and ind["exact_copies_released"] == cop["exact_copies_released"] == 0


# --------------------------------------------------------------------------- k-anonymity, l-diversity
def test_k_anonymity_and_l_diversity_by_hand():
    df = pd.DataFrame(
        {
            "age": [31, 34, 38, 41, 45, 47, 49, 52],
            "sex": ["F", "F", "F", "F", "F", "F", "M", "M"],
            "dead": [0, 1, 0, 0, 0, 0, 1, 1],
        }
    )
    bands = {"age": 10.0}
    # classes: (30-<40, F) x3, (40-<50, F) x3, (40-<50, M) x1, (50-<60, M) x1
    assert k_anonymity(df, ["age", "sex"], bands) == 1
    assert small_class_mask(df, ["age", "sex"], 2, bands).tolist() == [False] * 6 + [True, True]
    assert k_anonymity(df, ["sex"]) == 2
    assert l_diversity(df, ["age", "sex"], "dead", bands) == 1
    assert l_diversity(df.iloc[:3], ["sex"], "dead") == 2
    assert generalise(df, ["age"], bands)["age"].tolist()[:4] == ["30-<40", "30-<40", "30-<40", "40-<50"]
    assert k_anonymity(df, [], {}) == 8
    assert (
        band_width(np.arange(18, 101)) == 10.0
        and band_width(np.arange(18, 101), 6) == 20.0
        and band_width(np.array([0.1, 0.35])) <= 0.05
    )
