"""A DP generator in the pipeline: public domains from the schema, per-community refused, accept_dp validated."""

import numpy as np
import pytest

pytest.importorskip("opendp")

from syntwin.cohort import CohortSchema  # noqa: E402
from syntwin.errors import StageError  # noqa: E402
from syntwin.pipeline.cohort import _scenario_generator  # noqa: E402
from syntwin.pipeline.public_domains import with_public_domains  # noqa: E402
from syntwin.scenario.cohort import CohortScenario  # noqa: E402
from syntwin.synthesis import make_generator  # noqa: E402

import pandas as pd  # noqa: E402

STAGES = ["I", "II", "III", "IV"]


def make_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(30, 90, n).astype(float), "stage": rng.choice(STAGES, n),
                         "race": rng.choice(["White", "Black", "Other"], n), "months": rng.integers(0, 120, n) * 1.0,
                         "dead": rng.integers(0, 2, n)})

SCHEMA = CohortSchema(numeric=["age"], ordinal={"stage": STAGES}, categorical=["race"], time="months", event="dead",
                      constraints=[{"kind": "range", "column": "months", "min": 0, "max": 120}],
                      domains={"age": {"min": 18, "max": 100}, "race": ["White", "Black", "Other"]})


def _scenario(**synthesis) -> CohortScenario:
    return CohortScenario.model_validate({"kind": "cohort", "name": "t", "cohort": {"simulate": {"n": 500}},
                                          "synthesis": {"generator": "mst", **synthesis}})


def test_domains_come_from_the_schema_and_range_constraints():
    gen = with_public_domains(make_generator("mst"), SCHEMA)
    assert gen.domains["months"] == {"min": 0, "max": 120} and gen.domains["race"] == ["White", "Black", "Other"]


def test_a_column_without_public_bounds_stops_the_run_with_the_fix():
    schema = CohortSchema(numeric=["age"], categorical=["race"], time="months", event="dead")
    with pytest.raises(StageError) as info:
        with_public_domains(make_generator("mst"), schema)
    err = info.value
    assert "age" in err.message and "race" in err.message and "months" in err.message
    assert err.field == "cohort.mapping.domains" and "domains:" in err.hint


def test_per_community_dp_is_refused_with_the_reason():
    train = make_table(200)[["age", "stage", "race", "months", "dead"]]
    with pytest.raises(StageError, match="graph of the real patients") as info:
        _scenario_generator(_scenario(per_community=True), SCHEMA, len(train))
    assert info.value.field == "synthesis.per_community"


def test_accept_dp_needs_a_dp_generator():
    CohortScenario.model_validate({"kind": "cohort", "name": "t", "cohort": {"simulate": {"n": 500}},
                                   "synthesis": {"generator": "mst"}, "privacy": {"accept_dp": True}})
    with pytest.raises(ValueError, match="not differentially private"):
        CohortScenario.model_validate({"kind": "cohort", "name": "t", "cohort": {"simulate": {"n": 500}},
                                       "synthesis": {"generator": "latent_class"}, "privacy": {"accept_dp": True}})


def test_seer_preset_declares_every_domain():
    from syntwin.cohort.presets import SEER_BREAST_DOMAINS
    from syntwin.cohort.mapping import SchemaMapping
    from syntwin.cohort.presets import resolve_mapping

    schema = resolve_mapping("seer_breast_csv").to_schema()
    gen = with_public_domains(make_generator("mst"), schema)  # raises if a column lacks one
    assert set(SEER_BREAST_DOMAINS) <= set(gen.domains)
    with pytest.raises(ValueError, match="not a categorical, numeric or time column"):
        SchemaMapping(**{**resolve_mapping("seer_breast_csv").model_dump(), "domains": {"t_stage": ["T1"]}})


def test_encoder_knows_declared_levels_absent_from_the_data():
    from syntwin.graphs.encode import MixedEncoder

    train = make_table(50).assign(race="White")
    enc = MixedEncoder(categorical=["race"], categories={"race": ["White", "Black", "Other"]}).fit(train[["race"]])
    x = enc.transform(make_table(5).assign(race="Black")[["race"]])
    assert x.shape == (5, 3) and ((x != 0).sum(axis=1) == 1).all()
    assert (x != 0).argmax(axis=1).tolist() == [enc.categories_["race"].index("Black")] * 5


def test_a_dp_release_is_not_filtered_by_the_real_rows():
    """Dropping twins equal to a training patient would be a data-dependent step outside ε: with dp it is not done."""
    from syntwin.privacy import evaluate_privacy

    train, hold = make_table(300), make_table(300).sample(frac=1.0, random_state=1).reset_index(drop=True)
    twins = train.iloc[:30].reset_index(drop=True)  # copies, counted either way
    kw = dict(numeric=["age"], ordinal={"stage": STAGES}, categorical=["race"], time="months", event="dead",
              quasi_identifiers=["age", "race"], n_attacks=100, seed=1)
    plain = evaluate_privacy(twins, train, hold, **kw)
    dp = evaluate_privacy(twins, train, hold, **kw, dp={"epsilon": 1.0, "delta": 1e-6}, accept_dp=True)
    assert plain["figures"]["exact_copies"] == dp["figures"]["exact_copies"] == 30
    assert plain["release"]["exclude_keys"] and not dp["release"]["exclude_keys"]
    assert dp["figures"]["exact_copies_released"] == 30
    assert dp["gate"]["exact_copy_share"]["status"] == "waived (ε-DP)"
    assert dp["gate"]["differential_privacy"]["value"] == 1.0
