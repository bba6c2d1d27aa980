"""Twins keep missing values: the generic wrapper around any generator reproduces each column's share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.generators import MissingAware, make_generator, with_missingness

ROLES = dict(numeric=["lab"], ordinal={"grade": ["I", "II", "III"]}, categorical=["race"],
             time="months", event="dead")


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 1500
    grade = rng.choice(["I", "II", "III"], n)
    lab = rng.normal(50, 10, n)
    # missingness that depends on another column: the lab is missing in 40 % of grade III, 5 % otherwise
    lab[(grade == "III") & (rng.random(n) < 0.4) | (grade != "III") & (rng.random(n) < 0.05)] = np.nan
    race = pd.Series(rng.choice(["White", "Black", "Other"], n), dtype=object)
    race[rng.random(n) < 0.1] = None
    g = pd.Series(grade, dtype=object)
    g[rng.random(n) < 0.08] = None
    return pd.DataFrame({"lab": lab, "grade": g, "race": race, "months": rng.exponential(60, n),
                         "dead": rng.integers(0, 2, n)})


@pytest.mark.parametrize("name", ["latent_class", "independent"])
def test_missing_share_reproduced_per_column(table, name):
    gen = with_missingness(make_generator(name)).fit(table, **ROLES, seed=1)
    twins = gen.sample(3000, seed=2)
    assert list(twins.columns) == list(table.columns)
    assert twins["months"].notna().all() and set(twins["dead"]) <= {0, 1}
    for c in ("lab", "grade", "race"):
        assert twins[c].isna().mean() == pytest.approx(table[c].isna().mean(), abs=0.03), c
    assert twins["lab"].dtype == np.float64
    assert set(twins["grade"].dropna()) <= {"I", "II", "III"}


def test_missingness_kept_jointly_with_other_columns(table):
    twins = with_missingness(make_generator("latent_class", n_components=8)).fit(table, **ROLES, seed=1) \
        .sample(4000, seed=3)
    real_iii = table.loc[table["grade"] == "III", "lab"].isna().mean()
    twin_iii = twins.loc[twins["grade"] == "III", "lab"].isna().mean()
    twin_other = twins.loc[twins["grade"].isin(["I", "II"]), "lab"].isna().mean()
    assert twin_iii > 2 * twin_other  # the dependence on grade survives, not only the overall rate
    assert twin_iii == pytest.approx(real_iii, abs=0.12)


def test_complete_table_and_all_missing_column(table):
    complete = table.dropna()
    twins = MissingAware(make_generator("independent")).fit(complete, **ROLES, seed=0).sample(200, seed=0)
    assert twins.notna().all().all()
    empty = table.assign(lab=np.nan)
    twins = MissingAware(make_generator("independent")).fit(empty, **ROLES, seed=0).sample(200, seed=0)
    assert twins["lab"].isna().all() and list(twins.columns) == list(table.columns)


def test_same_seed_same_twins(table):
    a = with_missingness(make_generator("latent_class")).fit(table, **ROLES, seed=4).sample(500, seed=5)
    b = with_missingness(make_generator("latent_class")).fit(table, **ROLES, seed=4).sample(500, seed=5)
    pd.testing.assert_frame_equal(a, b)


def test_wrapped_generator_resolves_and_fits_in_synthesize(table):
    """The pipeline hands the wrapper to ``synthesize``, whose tasks resolve it with ``make_generator``."""
    from syntwin.synthesis.parallel import synthesize

    wrapped = with_missingness(make_generator("latent_class", n_components=4))
    assert make_generator(wrapped) is not wrapped  # a copy, never the template itself
    twins = synthesize(table, wrapped, 300, seed=3, **ROLES)
    assert len(twins) == 300 and twins[["lab", "grade", "race"]].isna().any().all()
