"""The privacy stage from part files gives the whole-frame evaluation's figures, gate and release; caps are stated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.cohort.simulate import simulate_cohort
from syntwin.pipeline.cohort import cohort_encoder
from syntwin.pipeline.dataset import dataset_files, write_dataset
from syntwin.pipeline.privacy_stage import PartRows, privacy_on_parts
from syntwin.privacy import evaluate_privacy
from syntwin.privacy.copies import row_keys

N = 4000  # cohort rows, in 4 parts; 3,000 training patients, 1,000 held out


def _write_parts(df: pd.DataFrame, folder, rows: int) -> list:
    import dask.dataframe as dd

    write_dataset(dd.from_pandas(df, chunksize=rows, sort=False), folder)
    return dataset_files(folder)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy-parts")
    c = simulate_cohort(N, site="breast", seed=21, rows_per_partition=1000)
    df = c.data.compute().reset_index(drop=True)
    s = c.schema
    hold = np.random.default_rng(1).random(len(df)) < 0.25
    train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    cohort_files = _write_parts(df, root / "cohort", 1000)
    other = simulate_cohort(len(train), site="breast", seed=22).data.compute().reset_index(drop=True)[s.modelled]
    enc = cohort_encoder(s, {}).fit(train)
    kw = dict(numeric=list(s.numeric), ordinal={k: list(v) for k, v in s.ordinal.items()},
              categorical=list(s.categorical), time=s.time, event=s.event,
              quasi_identifiers=list(s.quasi_identifiers), seed=7)
    return {"root": root, "schema": s, "train": train, "holdout": holdout, "hold": hold, "files": cohort_files,
            "other": other, "enc": enc, "kw": kw}


def _twins(setup, name: str, copies: int) -> tuple[pd.DataFrame, list]:
    """Independent simulated twins, the first ``copies`` of them replaced by training patients, in 5 parts."""
    s, train = setup["schema"], setup["train"]
    twins = setup["other"].copy()
    twins.iloc[:copies] = train[s.modelled].iloc[:copies].to_numpy()
    twins = twins.astype(setup["other"].dtypes.to_dict())
    files = _write_parts(twins, setup["root"] / name, 600)
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True), files


def _both(setup, twins, twin_files, client, **extra):
    enc, train, holdout = setup["enc"], setup["train"], setup["holdout"]
    whole = evaluate_privacy(twins, train, holdout, encoded=(enc.transform(twins), enc.transform(train),
                                                             enc.transform(holdout)),
                             client=client, **setup["kw"], **extra)
    parts = privacy_on_parts(setup["files"], setup["hold"], twin_files, encoder=enc, client=client,
                             **setup["kw"], **extra)
    return whole, parts


def _same(whole, parts):
    assert parts["figures"] == whole["figures"]
    assert parts["gate"] == whole["gate"]
    assert parts["bounds"] == whole["bounds"]
    assert parts["release"] == whole["release"]
    assert parts["passed"] == whole["passed"]
    for key in ("memorisation", "membership", "singling_out", "linkability", "inference", "attack_sizing", "dcr"):
        assert parts["details"][key] == whole["details"][key], key


def test_parts_path_gives_the_whole_frame_figures_gate_and_release(setup, dask_client):
    twins, files = _twins(setup, "twins-honest", 3)
    assert len(files) >= 5
    whole, parts = _both(setup, twins, files, dask_client)
    _same(whole, parts)
    assert parts["figures"]["exact_copies"] >= 3
    sizes = parts["details"]["sizes"]
    assert sizes == {"twins": len(twins), "train": len(setup["train"]), "holdout": len(setup["holdout"]),
                     "n_attacks": 2000, "attacker_twins": len(twins), "attacker_sampled": False}


def test_parts_path_with_a_dp_generator_bands_on_the_twins_and_keeps_the_copies(setup, dask_client):
    twins, files = _twins(setup, "twins-dp", 30)
    whole, parts = _both(setup, twins, files, dask_client, dp={"epsilon": 1.0, "delta": 1e-6})
    _same(whole, parts)
    assert parts["release"]["exclude_keys"] == [] and parts["figures"]["exact_copies_released"] >= 30


def test_copies_are_caught_through_the_parts_and_the_gate_fails(setup, dask_client):
    train = setup["train"]
    n = len(train) // 5
    twins, files = _twins(setup, "twins-copies", n)
    parts = privacy_on_parts(setup["files"], setup["hold"], files, encoder=setup["enc"], client=dask_client,
                             **setup["kw"])
    columns = parts["release"]["key_columns"]
    assert parts["figures"]["exact_copies"] >= n
    assert parts["figures"]["exact_copy_share"] >= 0.19
    copied = np.unique(row_keys(train.iloc[:n], columns))
    assert set(copied.tolist()) <= set(parts["release"]["exclude_keys"])
    assert not parts["passed"]
    assert not parts["gate"]["exact_copy_share"]["passed"]
    assert parts["gate"]["memorisation_ratio"]["status"] == "fail"


def test_the_attackers_twins_are_capped_and_the_sizes_say_so(setup, dask_client):
    twins, files = _twins(setup, "twins-capped", 3)
    parts = privacy_on_parts(setup["files"], setup["hold"], files, encoder=setup["enc"], client=dask_client,
                             max_attacker_twins=1000, **setup["kw"])
    sizes = parts["details"]["sizes"]
    assert sizes["attacker_twins"] == 1000 and sizes["twins"] == len(twins) > 1000 and sizes["attacker_sampled"]
    assert parts["details"]["singling_out"]["n_main"] > 0
    # copies, memorisation and k-anonymity still see every twin: those figures are the uncapped ones
    full = privacy_on_parts(setup["files"], setup["hold"], files, encoder=setup["enc"], client=dask_client,
                            **setup["kw"])
    for name in ("exact_copies", "exact_copy_share", "memorisation_ratio", "k_anonymity", "k_suppressed_share",
                 "dcr_train_share"):
        assert parts["figures"][name] == full["figures"][name], name
    assert parts["release"] == full["release"]


def test_part_rows_read_the_rows_asked_for_in_that_order(setup, dask_client):
    train, enc = setup["train"], setup["enc"]
    rows = PartRows(setup["files"], ~setup["hold"], client=dask_client, columns=["age", "stage"], encoder=enc)
    assert len(rows) == len(train)
    idx = np.array([len(train) - 1, 0, 5, 5, 1700])
    got = rows.iloc[idx]
    pd.testing.assert_frame_equal(got, train[["age", "stage"]].iloc[idx].reset_index(drop=True), check_dtype=False)
    np.testing.assert_array_equal(rows[idx], enc.transform(train.iloc[idx]))


def test_parts_path_without_a_client_gives_the_same_result(setup, dask_client):
    twins, files = _twins(setup, "twins-local", 3)
    here = privacy_on_parts(setup["files"], setup["hold"], files, encoder=setup["enc"], client=None, **setup["kw"])
    there = privacy_on_parts(setup["files"], setup["hold"], files, encoder=setup["enc"], client=dask_client,
                             **setup["kw"])
    here["details"].pop("seconds"), there["details"].pop("seconds")
    assert here == there
