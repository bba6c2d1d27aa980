import importlib.util

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.generators import (
    GENERATORS,
    Generator,
    IndependentGenerator,
    LatentClassGenerator,
    make_generator,
    register_generator,
)

from .conftest import SEER_ROLES

HAS_SDV = importlib.util.find_spec("sdv") is not None
FAST = {
    "latent_class": {"n_components": 8},
    "independent": {},
    "gaussian_copula": {},
    "ctgan": {"epochs": 2, "batch_size": 200},
    "tvae": {"epochs": 2, "batch_size": 200},
}
SDV_NAMES = {"gaussian_copula", "ctgan", "tvae"}
NEURAL = {"ctgan", "tvae"}  # slow to fit: train on fewer rows


def _rows(name, table):
    return table.iloc[:300] if name in NEURAL else table


def _gen(name):
    if name in SDV_NAMES and not HAS_SDV:
        pytest.skip("sdv not installed")
    return make_generator(name, **FAST[name])


@pytest.fixture(scope="module")
def fitted(table, roles):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _gen(name).fit(_rows(name, table), seed=3, **roles)
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(FAST))
def test_schema_dtypes_and_survival_coherence(name, fitted, table):
    syn = fitted(name).sample(700, seed=11)
    assert list(syn.columns) == list(table.columns)
    assert (syn.dtypes == table.dtypes).all(), syn.dtypes
    assert isinstance(syn.index, pd.RangeIndex) and len(syn) == 700
    assert (syn["months"] >= 0).all() and syn["months"].notna().all()
    assert set(syn["dead"].unique()) <= {0, 1}
    assert set(syn["stage"].unique()) <= {"I", "II", "III", "IV"}
    assert set(syn["grade"].cat.categories) == {"1", "2", "3"}
    assert set(syn["race"].dropna()) <= {"White", "Black", "Other"}
    assert syn["nodes"].min() >= 0


@pytest.mark.parametrize("name", sorted(FAST))
def test_same_seed_same_frame_other_seed_other_frame(name, fitted, table, roles):
    g = fitted(name)
    a, b, c = g.sample(300, seed=5), g.sample(300, seed=5), g.sample(300, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    # refit from scratch with the same fit seed -> same samples
    g2 = _gen(name).fit(_rows(name, table), seed=3, **roles)
    pd.testing.assert_frame_equal(g2.sample(300, seed=5), a)


@pytest.mark.parametrize("name", sorted(FAST))
def test_no_global_random_state_touched(name, table, roles):
    _gen(name)  # skip early
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    _gen(name).fit(_rows(name, table), seed=1, **roles).sample(50, seed=2)
    np.testing.assert_array_equal(np.random.random(3), expected)


def _cramers_v(a, b) -> float:
    tab = pd.crosstab(a, b).to_numpy().astype(float)
    n = tab.sum()
    exp = tab.sum(1, keepdims=True) * tab.sum(0, keepdims=True) / n
    chi2 = ((tab - exp) ** 2 / exp).sum()
    return float(np.sqrt(chi2 / n / (min(tab.shape) - 1)))


def test_latent_class_fidelity(table, roles):
    big = pd.concat([table] * 1, ignore_index=True)
    lc = LatentClassGenerator(10).fit(big, seed=0, **roles).sample(6000, seed=1)
    ind = IndependentGenerator().fit(big, seed=0, **roles).sample(6000, seed=1)
    # marginals
    for c in ["stage", "race", "grade"]:
        real = table[c].value_counts(normalize=True, dropna=False)
        syn = lc[c].value_counts(normalize=True, dropna=False).reindex(real.index, fill_value=0)
        assert np.abs(real - syn).max() < 0.04, c
    assert abs(lc["dead"].mean() - table["dead"].mean()) < 0.03
    assert abs(lc["age"].mean() - table["age"].mean()) < 1.5
    assert abs(lc["tumor_size"].median() - table["tumor_size"].median()) < 3
    # associations: stage x event and stage x nodes preserved, independent sampler loses them
    nodes_bin = lambda d: pd.cut(d["nodes"], [-1, 0, 2, 5, 100])  # noqa: E731
    v_real = _cramers_v(table["stage"], table["dead"])
    v_lc, v_ind = _cramers_v(lc["stage"], lc["dead"]), _cramers_v(ind["stage"], ind["dead"])
    assert v_real > 0.15 and v_ind < 0.05
    assert abs(v_lc - v_real) < abs(v_ind - v_real) / 2
    n_real = _cramers_v(table["stage"], nodes_bin(table))
    n_lc, n_ind = _cramers_v(lc["stage"], nodes_bin(lc)), _cramers_v(ind["stage"], nodes_bin(ind))
    assert abs(n_lc - n_real) < abs(n_ind - n_real) / 2


def test_latent_class_survival_pairs_are_observed(table, roles):
    g = LatentClassGenerator(5).fit(table, seed=0, **roles)
    syn = g.sample(2000, seed=0)
    # follow-up drawn from each class's hazards: never negative, never past the longest real follow-up,
    # no death after the last real death
    assert syn["months"].min() >= 0 and syn["months"].max() <= table["months"].max()
    assert syn.loc[syn["dead"] == 1, "months"].max() <= table.loc[table["dead"] == 1, "months"].max()
    assert set(syn["dead"]) <= {0, 1}
    assert g.n_iter_ >= 2 and np.isfinite(g.log_likelihood_)
    assert np.isclose(g.weights_.sum(), 1.0) and len(g.weights_) == 5
    assert all(np.allclose(p.sum(axis=1), 1.0) for p in g.probs_)


def test_latent_class_values_are_smoothed_not_resampled(table, roles):
    """Continuous columns get values between training values; integer-valued ones stay integer-valued."""
    g = LatentClassGenerator(5).fit(table, seed=0, **roles)
    syn = g.sample(3000, seed=0)
    assert (table["tumor_size"] != table["tumor_size"].round()).any()  # a continuous column
    assert syn["tumor_size"].isin(set(table["tumor_size"])).mean() < 0.05  # a resampler gives 1.0
    for c in ("age", "months"):
        assert (table[c] == table[c].round()).all() and (syn[c] == syn[c].round()).all()
    assert abs(syn["tumor_size"].median() - table["tumor_size"].median()) < 3


def test_number_of_classes_by_held_out_likelihood(table, roles):
    auto = LatentClassGenerator(max_iter=100).fit(table, seed=0, **roles)
    assert auto.n_components_ == max(auto.selection_, key=auto.selection_.get) == len(auto.weights_)
    assert set(auto.selection_) == {1, 2, 4, 8, 16, 30} & {k for k in auto.selection_}
    assert auto.n_components_ > 1  # the table has structure (stage drives nodes and death)
    few = LatentClassGenerator(max_iter=100).fit(table.iloc[:120], seed=0, **roles)
    assert max(few.selection_) <= 4  # at least 20 rows per class in the 80 % fitting part
    with pytest.raises(ValueError, match="'auto'"):
        LatentClassGenerator("many").fit(table, seed=0, **roles)


def test_number_of_classes_chosen_on_a_sample_of_select_rows(table, roles):
    """``select_rows`` caps the rows the candidates are compared on; the chosen K is still fitted on all rows."""
    full = LatentClassGenerator(max_iter=100, select_rows=None).fit(table, seed=0, **roles)
    sampled = LatentClassGenerator(max_iter=100, select_rows=150).fit(table, seed=0, **roles)
    assert max(sampled.selection_) <= 4 < max(full.selection_)  # 20 rows per class in 80 % of 150 rows
    assert sampled.selection_ != full.selection_
    same = LatentClassGenerator(max_iter=100, select_rows=len(table)).fit(table, seed=0, **roles)
    assert same.selection_ == full.selection_  # a cap at or above the rows changes nothing
    # the final fit is on every row: its class weights count all of them (EM from a fresh start, not the sample's)
    refit = LatentClassGenerator(sampled.n_components_, max_iter=100).fit(table, seed=0, **roles)
    assert np.allclose(sampled.weights_, refit.weights_) and sampled.log_likelihood_ == refit.log_likelihood_


def test_latent_class_more_classes_fit_better(table, roles):
    ll = [LatentClassGenerator(k, max_iter=100).fit(table, seed=0, **roles).log_likelihood_
          for k in (1, 4, 12)]
    assert ll[0] < ll[1] < ll[2]


def test_missing_numeric_values_are_kept(table, roles):
    df = table.copy()
    df["tumor_size"] = df["tumor_size"].where(np.arange(len(df)) % 10 != 0)
    syn = LatentClassGenerator(4).fit(df, seed=0, **roles).sample(3000, seed=0)
    assert 0.06 < syn["tumor_size"].isna().mean() < 0.14


def test_roles_validation(table, roles):
    g = LatentClassGenerator(3)
    with pytest.raises(ValueError, match="no role"):
        g.fit(table, numeric=["age"])
    with pytest.raises(ValueError, match="outside its levels"):
        g.fit(table, **{**roles, "ordinal": {"stage": ["I", "II"]}})
    bad = table.assign(dead=table["dead"] * 2)
    with pytest.raises(ValueError, match="0/1"):
        g.fit(bad, **roles)
    with pytest.raises(ValueError, match="not fitted"):
        LatentClassGenerator().sample(3, seed=0)
    # no roles at all: inferred from dtypes
    inferred = LatentClassGenerator(3).fit(table[["age", "race"]], seed=0)
    assert inferred.spec_.numeric == ("age",) and inferred.spec_.categorical == ("race",)


def test_registry_and_reprs():
    assert {"latent_class", "gaussian_copula", "ctgan", "tvae", "independent"} <= set(GENERATORS)
    assert repr(make_generator("latent_class")) == "LatentClassGenerator()"
    assert repr(make_generator("latent_class", n_components=5)) == "LatentClassGenerator(n_components=5)"
    assert repr(make_generator("ctgan", epochs=5)) == "CTGANGenerator(epochs=5)"
    obj = LatentClassGenerator(7)
    assert repr(make_generator(obj)) == repr(obj) and make_generator(obj) is not obj
    with pytest.raises(ValueError, match="valid: .*latent_class"):
        make_generator("nope")
    with pytest.raises(ValueError, match="valid"):
        make_generator("latent_class", n_comp=3)

    class Mine(IndependentGenerator):
        pass

    register_generator("mine_test", Mine)
    assert isinstance(make_generator("mine_test"), Mine)
    with pytest.raises(ValueError, match="taken"):
        register_generator("mine_test", LatentClassGenerator)
    with pytest.raises(TypeError):
        register_generator("x", dict)
    del GENERATORS["mine_test"]
    assert issubclass(LatentClassGenerator, Generator)


def test_seer_real_table(seer):
    df = seer.sample(1500, random_state=0).reset_index(drop=True)
    syn = LatentClassGenerator(15).fit(df, seed=0, **SEER_ROLES).sample(3000, seed=0)
    assert (syn.dtypes == df.dtypes).all()
    assert abs(syn["Status"].mean() - df["Status"].mean()) < 0.03
    assert (syn["Survival Months"] >= 0).all()
    if HAS_SDV:
        gc = make_generator("gaussian_copula").fit(df, seed=0, **SEER_ROLES).sample(2000, seed=0)
        assert (gc.dtypes == df.dtypes).all() and set(gc["Status"]) <= {0, 1}


def test_sdv_missing_gives_clear_import_error(monkeypatch, table, roles):
    import sys

    from syntwin.synthesis.generators import SDVNotInstalledError

    for mod in [m for m in sys.modules if m == "sdv" or m.startswith("sdv.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "sdv", None)
    with pytest.raises(SDVNotInstalledError, match=r"syntwin\[sdv\]") as err:
        make_generator("gaussian_copula").fit(table, **roles)
    assert isinstance(err.value, ImportError)


def test_latent_class_event_proba_hand_and_monte_carlo(table, roles):
    g = LatentClassGenerator(4).fit(table, seed=0, **roles)
    x = table.iloc[:5]
    # hand: posterior over classes from the feature columns only, then P(event | class) from the class hazards
    spec = g.codec_.spec
    logp = np.log(g.weights_) + np.zeros((5, 4))
    per_class = g.survival_.incidence(None)
    for c, P in zip(g.features_, g.probs_):
        if c == "months":
            continue
        if c in spec.numeric:
            code = g.binned_[c].code_of(x[c].to_numpy(float))
        else:
            code = g.codec_.encode_column(c, x[c])
        logp += np.log(P[:, code].T)
    post = np.exp(logp - logp.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g.event_proba(x), post @ per_class, rtol=1e-10)
    # the outcome columns themselves are ignored (no leak): same answer without them
    np.testing.assert_allclose(g.event_proba(x), g.event_proba(x.drop(columns=["months", "dead"])))
    # law of total probability against the model's own twins
    tw = g.sample(40000, seed=1)
    assert abs(g.event_proba(tw).mean() - tw["dead"].mean()) < 0.01
    ph = g.event_proba(tw, horizon=24)
    assert abs(ph.mean() - ((tw["dead"] == 1) & (tw["months"] <= 24)).mean()) < 0.01
    # one class: every patient gets the same probability, the pooled hazards' (≈ the observed event rate)
    g1 = LatentClassGenerator(1).fit(table, seed=0, **roles)
    p1 = g1.event_proba(x)
    np.testing.assert_allclose(p1, p1[0], rtol=1e-12)
    assert abs(p1[0] - table["dead"].mean()) < 0.01


def test_latent_class_golden_summary():
    """A seeded run's summary; a change here means the fitted model or the sampler changed."""
    from .conftest import ROLES, make_table

    g = LatentClassGenerator(3, max_iter=50).fit(make_table(300, 0), seed=0, **ROLES)
    s = g.sample(1000, seed=0)
    assert g.n_iter_ == 50 and g.log_likelihood_ == pytest.approx(-11.545487, abs=1e-6)
    assert (s["age"].sum(), s["dead"].sum(), s["months"].sum()) == (60514, 465, 42620.0)  # follow-up from hazards
    assert s["tumor_size"].sum() == pytest.approx(29720.816823)
    assert s["stage"].value_counts().sort_index().tolist() == [272, 325, 246, 157]


def test_latent_class_fit_is_the_same_bytes_for_any_thread_count(table, roles):
    """EM sums over fixed row chunks added in chunk order: 1 or 3 threads give the same model and twins."""
    fits = []
    for threads in (1, 3):
        g = LatentClassGenerator(4, max_iter=40, threads=threads)
        g.chunk_rows = 64  # several chunks of the small table
        fits.append(g.fit(table, seed=0, **roles))
    one, three = fits
    assert one.n_iter_ > 2 and one.log_likelihood_ == three.log_likelihood_
    assert np.array_equal(one.weights_, three.weights_)
    assert all(np.array_equal(a, b) for a, b in zip(one.probs_, three.probs_, strict=True))
    pd.testing.assert_frame_equal(one.sample(500, seed=1), three.sample(500, seed=1))
    whole = LatentClassGenerator(4, max_iter=40, threads=1).fit(table, seed=0, **roles)  # one chunk
    assert np.isclose(whole.log_likelihood_, one.log_likelihood_, rtol=0, atol=1e-9)


@pytest.mark.parametrize("bad", [{"select_rows": 0}, {"threads": 0}, {"threads": 1.5}, {"select_rows": True}])
def test_latent_class_refuses_bad_select_rows_and_threads_at_construction(bad):
    with pytest.raises(ValueError, match=f"{next(iter(bad))} must be an integer >= 1 or null"):
        LatentClassGenerator(**bad)
