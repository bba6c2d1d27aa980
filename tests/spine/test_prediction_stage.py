"""The prediction stage on a small simulated cohort: every method, and no held-out label used."""

import numpy as np
import pandas as pd
import pytest

from syntwin.graphs.encode import MixedEncoder
from syntwin.pipeline.context import RunContext
from syntwin.pipeline.predict import KS, LOGISTIC_CS, TRAINED_ON, run_prediction, validation_mask
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
    inner = ~validation_mask(train, schema, PredictionSection(), 11)
    tuning = make_generator("latent_class").fit(train.loc[inner, schema.modelled], seed=3, **roles).sample(
        int(inner.sum()), seed=4
    )
    enc = MixedEncoder(
        numeric=schema.numeric,
        ordinal={k: list(v) for k, v in schema.ordinal.items()},
        categorical=schema.categorical,
    ).fit(train[schema.features])
    return schema, train, holdout, twins, tuning, enc


def _run(tmp, parts, holdout, section, client=None):
    schema, train, _, twins, tuning, enc = parts
    ctx = RunContext(work=tmp, seed=11, client=client)
    m: dict = {}
    run_prediction(
        section,
        ctx,
        schema=schema,
        train=train,
        holdout=holdout,
        twins=twins,
        tuning_twins=tuning,
        x_train=enc.transform(train),
        x_hold=enc.transform(holdout),
        x_twins=enc.transform(twins),
        x_tuning_twins=enc.transform(tuning),
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
        assert entry["coverage"] == 1.0
        if name == "twin_knn_mix":  # what the tuned mix really used
            assert entry["trained_on"] == {1.0: "real", 0.0: "synthetic"}.get(entry["alpha"], "real+synthetic")
        elif name != "twin_ensemble":
            assert entry["trained_on"] == trained_on
        assert 0.6 < entry["auroc"] <= 1.0, (name, entry["auroc"])
        assert 0.5 < entry["c_index"] <= 1.0 and 0.5 < entry["td_auc_60m"] <= 1.0
        assert name in scores
    assert m["twin_knn"]["alpha"] == 0.0
    for name in ("real_knn", "twin_knn", "twin_knn_mix"):  # one k grid for every kNN method
        assert m[name]["k"] in KS and "val_auroc" in m[name]
    assert 0.0 <= m["twin_knn_mix"]["alpha"] <= 1.0
    assert m["logistic"]["C"] in LOGISTIC_CS and "learning_rate" in m["gradient_boosting"]
    best = m["best_real_baseline"]
    assert best in ("logistic", "gradient_boosting", "real_knn") and "vs_best_real" not in m[best]
    for name in set(TRAINED_ON) - {best}:
        diff = m[name]["vs_best_real"]
        assert diff["ci_low"] <= diff["difference"] <= diff["ci_high"]
        assert diff["verdict"] == ("better" if diff["ci_low"] > 0 else "worse" if diff["ci_high"] < 0
                                   else "no difference")
    assert m["protocol"].startswith("split train/held-out first")
    designs = {d: m[f"syntwin_2024_{d}"] for d in "ABCDEF"}
    assert all(0 < e["coverage"] <= 1 for e in designs.values())
    assert designs["D"]["auroc"] > designs["F"]["auroc"]  # closest twins beat random outsiders
    assert (tmp_path / "prediction/syntwin_2024.parquet").exists()


def test_held_out_labels_never_reach_training_or_tuning(tmp_path, parts):
    """Shuffle the held-out outcomes: every score stays the same (only their evaluation changes)."""
    schema, _, holdout, *_ = parts
    section = PredictionSection(gnn_epochs=15, syntwin_sample=300, syntwin_twins=1000,
                                methods=[*TRAINED_ON, "syntwin_2024"])
    _, a = _run(tmp_path / "a", parts, holdout, section)
    shuffled = holdout.copy()
    perm = np.random.default_rng(0).permutation(len(holdout))
    shuffled[schema.time] = holdout[schema.time].to_numpy()[perm]
    shuffled[schema.event] = holdout[schema.event].to_numpy()[perm]
    _, b = _run(tmp_path / "b", parts, shuffled, section)
    a, b = a.set_index("holdout_row"), b.set_index("holdout_row")
    common = a.index.intersection(b.index)  # evaluable rows depend on the (shuffled) outcome
    assert len(common) > 300
    for name in [*TRAINED_ON, *(f"syntwin_2024_{d}" for d in "ABCDEF")]:
        np.testing.assert_array_equal(a.loc[common, name], b.loc[common, name], err_msg=name)


def test_tuning_never_sees_the_final_twins(tmp_path, parts):
    """The final twins' generator saw the validation rows: replacing them must leave every tuned setting alone."""
    schema, train, holdout, twins, tuning, enc = parts
    section = PredictionSection(methods=["real_knn", "twin_knn", "twin_knn_mix", "logistic_twins"])
    a, _ = _run(tmp_path / "a", parts, holdout, section)
    rotten = twins.assign(**{schema.event: 1 - twins[schema.event]})  # outcomes flipped
    b, _ = _run(tmp_path / "b", (schema, train, holdout, rotten, tuning, enc), holdout, section)
    for name in section.methods:
        tuned = {k: a[name][k] for k in ("k", "alpha", "C", "val_auroc") if k in a[name]}
        assert tuned == {k: b[name][k] for k in tuned}, name
    assert b["twin_knn"]["auroc"] < a["twin_knn"]["auroc"]  # the final twins are what is evaluated


def test_training_sample_caps_the_rows_the_methods_fit_on_stratified_by_label(parts):
    from syntwin.pipeline.predict import _labels, training_sample, twin_sample

    schema, train, *_ = parts
    every = training_sample(train, schema, PredictionSection(), 11)
    assert (every == np.arange(len(train))).all()  # under the cap: all of them, nothing drawn
    capped = PredictionSection(max_train_rows=1000)
    rows = training_sample(train, schema, capped, 11)
    assert abs(len(rows) - 1000) <= 3 and (np.diff(rows) > 0).all()
    assert (rows == training_sample(train, schema, capped, 11)).all()  # seeded
    assert not (rows == training_sample(train, schema, capped, 12)[: len(rows)]).all()
    y, ev = _labels(train, schema, capped.horizon_months)
    label = np.where(ev, y, -1)
    for value in np.unique(label):  # every stratum keeps its share
        assert abs((label[rows] == value).mean() - (label == value).mean()) < 0.005
    tw = twin_sample(3600, len(train), len(rows), 11)
    assert len(tw) == round(3600 * len(rows) / len(train)) and len(np.unique(tw)) == len(tw)
    assert (twin_sample(3600, len(train), len(train), 11) == np.arange(3600)).all()


def test_searches_on_the_workers_give_the_same_scores_and_figures(tmp_path, parts, dask_client):
    """The kNN searches (real, twin, the GNN's graphs) on a 2-worker cluster: the same scores table bytes and
    the same figures as all of it in this process."""
    section = PredictionSection(methods=["logistic", "twin_knn", "twin_ensemble", "gnn"], gnn_epochs=30)
    (tmp_path / "local").mkdir()
    (tmp_path / "cluster").mkdir()
    local, local_scores = _run(tmp_path / "local", parts, parts[2], section)
    cluster, cluster_scores = _run(tmp_path / "cluster", parts, parts[2], section, client=dask_client)
    pd.testing.assert_frame_equal(local_scores, cluster_scores, check_exact=True)
    assert "gnn" in cluster_scores and cluster_scores["gnn"].notna().all()
    assert set(cluster.pop("seconds_by_part")) >= {"gnn", "evaluation"}
    local.pop("seconds_by_part")
    assert cluster == local
    assert {"c_index", "td_auc_60m", "auroc", "vs_best_real"} <= set(cluster["gnn"])
