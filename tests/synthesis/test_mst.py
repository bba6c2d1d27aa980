"""The differentially private generator ``mst``: real OpenDP measurements on a small cohort (no mocks)."""

import math

import pandas as pd
import pytest

pytest.importorskip("opendp")
pytest.importorskip("mbi")

from syntwin.synthesis.generators import GENERATORS, MSTGenerator, PublicDomainError, with_missingness  # noqa: E402
from syntwin.synthesis.generators.mst import rho_for  # noqa: E402

from .conftest import STAGES, make_table  # noqa: E402

COLUMNS = ["age", "race", "stage", "months", "dead"]
ROLES = dict(numeric=["age"], ordinal={"stage": STAGES}, categorical=["race"], time="months", event="dead")
DOMAINS = {"age": {"min": 18, "max": 100, "cuts": [40, 50, 60, 70], "integer": True},
           "race": ["White", "Black", "Other", "Asian"],
           "months": {"min": 0, "max": 120, "cuts": [24, 48, 72, 96], "integer": True}}


def _fit(epsilon: float, n: int = 400, **kw) -> tuple[MSTGenerator, pd.DataFrame]:
    df = make_table(n, seed=5)[COLUMNS]
    return MSTGenerator(epsilon=epsilon, domains=DOMAINS, iters=300, **kw).fit(df, **ROLES, seed=1), df


@pytest.fixture(scope="module")
def loose():
    return _fit(50.0)


@pytest.fixture(scope="module")
def tight():
    return _fit(0.05)


def test_registered_and_dp_flags():
    assert GENERATORS["mst"] is MSTGenerator
    gen = MSTGenerator()
    assert gen.differentially_private and gen.needs_public_domains
    assert with_missingness(gen) is gen  # no data-dependent filling of missing values around it


def test_twins_respect_the_public_domain(loose):
    gen, df = loose
    twins = gen.sample(2000, seed=3)
    assert list(twins.columns) == COLUMNS
    assert twins["age"].dropna().between(18, 100).all() and (twins["age"].dropna() % 1 == 0).all()
    assert twins["months"].between(0, 120).all() and not twins["months"].isna().any()
    assert set(twins["dead"].unique()) <= {0, 1}
    assert set(twins["stage"].dropna()) <= set(STAGES)
    assert set(twins["race"].dropna()) <= set(DOMAINS["race"])
    # the data's missing race values are reproduced as a cell of their own (3 % in the table)
    assert 0.0 < twins["race"].isna().mean() < 0.15


def test_same_seed_same_bytes_and_save_load(loose, tmp_path):
    gen, _ = loose
    a, b = gen.sample(500, seed=11), gen.sample(500, seed=11)
    assert a.to_csv(index=False) == b.to_csv(index=False)
    assert a.to_csv(index=False) != gen.sample(500, seed=12).to_csv(index=False)
    again = MSTGenerator.load(gen.save(tmp_path / "mst"))
    assert again.sample(500, seed=11).to_csv(index=False) == a.to_csv(index=False)


def test_accounting_is_the_library_s(loose):
    gen, df = loose
    g = gen.guarantee(len(df))
    assert g["epsilon"] == 50.0 and g["delta"] == pytest.approx(1 / len(df) ** 2)
    assert gen.epsilon_ <= 50.0 * (1 + 1e-9) and gen.epsilon_ > 49.9  # the budget is used, not exceeded
    assert gen.rho_ == pytest.approx(g["rho"], rel=1e-6)
    steps = gen.rho_steps_  # the paper's split: a third each for 1-way, selection, 2-way
    assert sum(steps.values()) <= gen.rho_ and all(v == pytest.approx(gen.rho_ / 3, rel=1e-6) for v in steps.values())
    # per-query noise matches the ρ spent: 1-way, d marginals of sensitivity 1 at ρ/3: σ = sqrt(d / (2 ρ/3))
    d = len(COLUMNS)
    assert gen.sigma_["oneway"] == pytest.approx(math.sqrt(d / (2 * gen.rho_ / 3)), rel=1e-6)
    assert gen.sigma_["pairs"] == pytest.approx(math.sqrt((d - 1) / (2 * gen.rho_ / 3)), rel=1e-6)
    assert len(gen.edges_) == d - 1  # a spanning tree


def test_rho_from_epsilon_delta_is_opendp_s_conversion():
    import opendp.prelude as dp

    def eps(rho: float) -> float:
        m = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(
            dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=1 / math.sqrt(2 * rho)))
        return m.map(1.0).epsilon(1e-6)

    rho = rho_for(1.0, 1e-6)
    assert eps(rho) <= 1.0 < eps(rho * 1.001)  # the largest ρ within ε = 1
    classic = (math.sqrt(math.log(1e6) + 1) - math.sqrt(math.log(1e6))) ** 2  # ρ + 2√(ρ ln 1/δ) = ε
    assert classic <= rho < 2 * classic  # OpenDP's conversion is at least as tight as the textbook bound


def _marginal_error(twins: pd.DataFrame, df: pd.DataFrame) -> float:
    err = 0.0
    for c in ("race", "stage"):
        p = df[c].astype(object).fillna("NA").value_counts(normalize=True)
        q = twins[c].astype(object).fillna("NA").value_counts(normalize=True)
        err += float(p.subtract(q, fill_value=0).abs().sum())
    return err


def test_noise_is_there(loose, tight):
    """At ε = 0.05 the twins' marginals are far noisier than at ε = 50; two fits never give the same model."""
    (g_loose, df), (g_tight, _) = loose, tight
    assert g_tight.sigma_["oneway"] > 20 * g_loose.sigma_["oneway"]
    e_loose = _marginal_error(g_loose.sample(4000, seed=2), df)
    e_tight = _marginal_error(g_tight.sample(4000, seed=2), df)
    assert e_loose < 0.15 and e_tight > 2 * e_loose, (e_loose, e_tight)


def test_refuses_a_column_without_public_bounds():
    df = make_table(100, seed=5)[COLUMNS]
    domains = {k: v for k, v in DOMAINS.items() if k != "age"}
    with pytest.raises(PublicDomainError, match="age") as info:
        MSTGenerator(domains=domains).fit(df, **ROLES)
    assert info.value.columns == ["age"] and "domains" in str(info.value)


def test_refuses_values_outside_the_declared_levels():
    df = make_table(100, seed=5)[COLUMNS]
    domains = {**DOMAINS, "race": ["White", "Black"]}
    with pytest.raises(PublicDomainError, match="Other"):
        MSTGenerator(domains=domains).fit(df, **ROLES)


@pytest.mark.heavy
def test_real_seer_subset_through_the_preset_domains():
    """The SEER breast CSV with its preset's public domains: 15 columns, a spanning tree, ε as asked."""
    from syntwin.cohort.readers import read_cohort
    from syntwin.sample_data import shared_data

    path = shared_data("seer_breast_cancer.csv")
    if not path.is_file():
        pytest.skip("shared SEER CSV absent")
    cohort = read_cohort(path, "seer_breast_csv")
    s, df = cohort.schema, cohort.data.compute().reset_index(drop=True)
    roles = dict(numeric=list(s.numeric), ordinal={k: list(v) for k, v in s.ordinal.items()},
                 categorical=list(s.categorical), time=s.time, event=s.event)
    gen = MSTGenerator(epsilon=1.0, domains=s.public_domains()).fit(df[s.modelled], **roles, seed=0)
    assert len(gen.edges_) == len(s.modelled) - 1 and gen.epsilon_ <= 1.0 + 1e-9
    twins = gen.sample(len(df), seed=1)
    assert twins[s.time].between(0, 120).all() and twins["age"].dropna().between(18, 100).all()
    assert set(twins["race"].dropna()) <= set(s.domains["race"])
    assert abs(twins[s.event].mean() - df[s.event].mean()) < 0.1  # the event rate survives ε = 1
