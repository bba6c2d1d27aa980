"""synthesize_parts: training rows read from part files on the workers, twins written as part files."""

from __future__ import annotations

import logging

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from syntwin.synthesis import synthesize
from syntwin.synthesis.parallel import allocate, plan_groups, synthesize_parts

from .conftest import ROLES, make_table

RULES = [{"kind": "inequality", "low": "nodes", "high": "age"}, {"kind": "range", "column": "months", "max": 60}]


def _parts(tmp_path, n=1500, rows=400, seed=4):
    """A table cut into part files (the last one shorter), a training mask per file, community labels."""
    df = make_table(n, seed=seed)
    files = []
    for j, start in enumerate(range(0, n, rows)):
        files.append(tmp_path / "cohort" / f"part.{j:05d}.parquet")
        files[-1].parent.mkdir(exist_ok=True)
        df.iloc[start:start + rows].to_parquet(files[-1], index=False)
    back = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)  # dtypes as the files give them
    hold = np.random.default_rng(1).random(n) < 0.25
    train = back[~hold].reset_index(drop=True)
    groups = np.where(train["stage"] == "I", 3, np.where(train["stage"] == "II", 1, 8))
    groups[:30] = 99  # a small community, pooled
    masks = np.split(~hold, np.arange(rows, n, rows))
    return files, masks, train, groups


def _read(folder) -> pd.DataFrame:
    files = sorted(folder.glob("part.*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_parts_equal_the_pandas_path_and_allocation_is_exact(tmp_path, dask_client):
    files, masks, train, groups = _parts(tmp_path)
    cols = list(train.columns)
    kw = dict(groups=groups, seed=11, min_group_size=50, constraints=RULES, **ROLES)
    got = synthesize_parts(files, masks, "latent_class", 1234, tmp_path / "twins", columns=cols,
                           client=dask_client, **kw)
    twins = _read(tmp_path / "twins")
    expected = synthesize(train, "latent_class", 1234, **kw)
    # the same rows as the pandas path, group by group, with the same dtypes
    pd.testing.assert_frame_equal(twins, expected.drop(columns="_group"))
    assert got["rows"] == len(twins) == 1234 and got["rejected"] == expected.attrs["rejected"] > 0
    plan = plan_groups(groups, 50)
    sizes = allocate([len(r) for _, r in plan], 1234)
    assert got["groups"] == len(plan) and got["parts"] == int((sizes > 0).sum())
    assert [len(pd.read_parquet(f)) for f in got["files"]] == [int(s) for s in sizes if s > 0]  # exact per group
    assert not (twins["nodes"] > twins["age"]).any() and not (twins["months"] > 60).any()  # constraints kept
    assert not (tmp_path / ".twins.buckets").exists()  # scratch buckets removed
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in (tmp_path / "twins").glob("*.parquet"))


def test_parts_same_bytes_on_1_and_2_workers_and_without_client(tmp_path, dask_client):
    files, masks, train, groups = _parts(tmp_path)
    kw = dict(groups=groups, seed=3, min_group_size=50, columns=list(train.columns), part_rows=200, **ROLES)
    got = synthesize_parts(files, masks, "latent_class", 900, tmp_path / "w2", client=dask_client, **kw)
    assert got["parts"] > got["groups"] and max(len(pd.read_parquet(f)) for f in got["files"]) <= 200
    synthesize_parts(files, masks, "latent_class", 900, tmp_path / "sync", client=None, **kw)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        synthesize_parts(files, masks, "latent_class", 900, tmp_path / "w1", client=client, **kw)
    names = [f.name for f in sorted((tmp_path / "w2").glob("part.*"))]
    assert len(names) >= 3
    for other in ("w1", "sync"):
        assert [f.name for f in sorted((tmp_path / other).glob("part.*"))] == names
        assert all((tmp_path / other / n).read_bytes() == (tmp_path / "w2" / n).read_bytes() for n in names)


def test_one_global_model_and_a_row_subset(tmp_path, dask_client):
    """per_community false: one task over the rows of every part, its twins split into files of at most
    ``part_rows`` rows; a mask over training rows (tuning twins)."""
    files, masks, train, groups = _parts(tmp_path)
    inner = np.random.default_rng(5).random(len(train)) < 0.7
    sub = [m.copy() for m in masks]
    flat = np.concatenate(sub)
    idx = np.flatnonzero(flat)
    flat[idx[~inner]] = False
    sub = np.split(flat, np.cumsum([len(m) for m in masks])[:-1])
    got = synthesize_parts(files, sub, "latent_class", 500, tmp_path / "one", columns=list(train.columns),
                           client=dask_client, seed=2, part_rows=180, **ROLES)
    assert got["parts"] == 3 and got["groups"] == 1
    assert [len(pd.read_parquet(f)) for f in got["files"]] == [166, 167, 167]
    assert [Path(f).name for f in got["files"]] == [f"part.{i:05d}.parquet" for i in range(3)]
    expected = synthesize(train[inner].reset_index(drop=True), "latent_class", 500, seed=2, **ROLES)
    pd.testing.assert_frame_equal(_read(tmp_path / "one"), expected)


def test_bad_inputs_are_named(tmp_path):
    files, masks, train, groups = _parts(tmp_path)
    with pytest.raises(ValueError, match="one label per selected row"):
        synthesize_parts(files, masks, "latent_class", 10, tmp_path / "x", groups=groups[:-1], **ROLES)
    with pytest.raises(ValueError, match="one row mask per file"):
        synthesize_parts(files, masks[:-1], "latent_class", 10, tmp_path / "x", **ROLES)
    with pytest.raises(ValueError, match="part_rows must be an integer >= 1"):
        synthesize_parts(files, masks, "latent_class", 10, tmp_path / "bad_parts", part_rows=0, **ROLES)
    assert not (tmp_path / "bad_parts").exists()  # refused before anything is written
    with pytest.raises(ValueError, match="rows but the row mask"):
        synthesize_parts(files, [m[:-1] for m in masks], "latent_class", 10, tmp_path / "x", **ROLES)
