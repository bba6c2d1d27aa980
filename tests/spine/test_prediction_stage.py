"""The prediction stage on a small simulated cohort: every method, and no held-out label used."""

import numpy as np
import pandas as pd
import pytest

from syntwin.graphs.encode import MixedEncoder
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.predict import TRAINED_ON, run_prediction
from syntwin.scenario.cohort import PredictionSection
from syntwin.synthesis import make_generator


@pytest.fixture(scope="module")
def parts():
    from syntwin.cohort.simulate import simulate_cohort

    cohort = simulate_cohort(2400, site="breast", seed=5)
    schema = cohort.schema
    df = cohort.data.compute().reset_index(drop=True)
    train, holdout = df.iloc[:1800].reset_index(drop=True), df.iloc[1800:].reset_index(drop=True)
    roles = dict(
        numeric=list(schema.numeric),
        ordinal={k: list(v) for k, v in schema.ordinal.items()},
        categorical=list(schema.categorical),
        time=schema.time,
        event=schema.event,
    )
    twins = make_generator("latent_class").fit(train[schema.modelled], seed=1, **roles).sample(1800, seed=2)
    enc = MixedEncoder(
        numeric=schema.numeric,
        ordinal={k: list(v) for k, v in schema.ordinal.items()},
        categorical=schema.categorical,
    ).fit(df[schema.features])
    return schema, train, holdout, twins, enc


def _run(tmp, parts, holdout, section):
    schema, train, _, twins, enc = parts
    ctx = RunContext(work=tmp, seed=11, client=None)
    m: dict = {}
    run_prediction(
        section,
        ctx,
        schema=schema,
        train=train,
        holdout=holdout,
        twins=twins,
        x_train=enc.transform(train),
        x_hold=enc.transform(holdout),
        x_twins=enc.transform(twins),
        graph_k=10,
        scale=enc.scale_,
        m=m,
    )
    return m, pd.read_parquet(tmp / "prediction/scores.parquet")


def test_every_method_is_scored_with_survival_figures(tmp_path, parts):
    section = PredictionSection(gnn_epochs=30, syntwin_sample=300, syntwin_twins=1000)
    m, scores = _run(tmp_path, parts, parts[2], section)
    for name, trained_on in TRAINED_ON.items():
        entry = m[name]
        assert entry["trained_on"] == trained_on and entry["coverage"] == 1.0
        assert 0.6 < entry["auroc"] <= 1.0, (name, entry["auroc"])
        assert 0.5 < entry["c_index"] <= 1.0 and 0.5 < entry["td_auc_60m"] <= 1.0
        assert name in scores
    assert m["twin_knn"]["alpha"] == 0.0 and m["twin_knn"]["k"] in (10, 25, 50, 100, 200)
    assert 0.0 <= m["twin_knn_mix"]["alpha"] <= 1.0
    designs = {d: m[f"syntwin_2024_{d}"] for d in "ABCDEF"}
    assert all(0 < e["coverage"] <= 1 for e in designs.values())
    assert designs["D"]["auroc"] > designs["F"]["auroc"]  # closest twins beat random outsiders
    assert (tmp_path / "prediction/syntwin_2024.parquet").exists()


def test_held_out_labels_never_reach_training_or_tuning(tmp_path, parts):
    """Shuffle the held-out outcomes: every score stays the same (only their evaluation changes)."""
    schema, _, holdout, _, _ = parts
    section = PredictionSection(gnn_epochs=15, methods=[n for n in TRAINED_ON])
    _, a = _run(tmp_path / "a", parts, holdout, section)
    shuffled = holdout.copy()
    perm = np.random.default_rng(0).permutation(len(holdout))
    shuffled[schema.time] = holdout[schema.time].to_numpy()[perm]
    shuffled[schema.event] = holdout[schema.event].to_numpy()[perm]
    _, b = _run(tmp_path / "b", parts, shuffled, section)
    a, b = a.set_index("holdout_row"), b.set_index("holdout_row")
    common = a.index.intersection(b.index)  # evaluable rows depend on the (shuffled) outcome
    assert len(common) > 300
    for name in TRAINED_ON:
        np.testing.assert_array_equal(a.loc[common, name], b.loc[common, name], err_msg=name)
