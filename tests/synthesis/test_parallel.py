import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis import synthesize
from syntwin.synthesis.parallel import allocate, plan_groups

from .conftest import make_table


def test_allocate_largest_remainder():
    # quotas 10*[5,3,2]/10 exact; 7*[5,3,2]/10 = 3.5, 2.1, 1.4 -> floors 3,2,1 (6), remainder to 0.5
    assert allocate([5, 3, 2], 10).tolist() == [5, 3, 2]
    assert allocate([5, 3, 2], 7).tolist() == [4, 2, 1]
    assert allocate([1, 1, 1], 2).tolist() == [1, 1, 0]  # ties: earlier group first
    assert allocate([3, 0, 1], 8).tolist() == [6, 0, 2]
    for n in range(0, 50):
        assert allocate([7, 13, 1, 29], n).sum() == n


def test_plan_groups_pools_small_groups():
    g = np.array([0] * 60 + [1] * 5 + [2] * 70 + [3] * 50 + [4] * 10)
    # groups 1 and 4 (15 rows) pooled; the pool is < 50 so it joins the smallest kept group (3)
    plan = plan_groups(g, 50)
    assert [k for k, _ in plan] == [0, 2, 3]
    assert plan[2][1].tolist() == list(range(60, 65)) + list(range(135, 195))
    # pool of group 1 (5 rows) < 8 joins group 4 (10 rows), the smallest kept
    assert {k: len(r) for k, r in plan_groups(g, 8)} == {0: 60, 2: 70, 3: 50, 4: 15}
    # pool big enough to stand alone: labelled rest_label, last
    plan = plan_groups(g, 11, rest_label="rest")
    assert [(k, len(r)) for k, r in plan] == [(0, 60), (2, 70), (3, 50), ("rest", 15)]
    assert {k: len(r) for k, r in plan_groups(g, 100)} == {-1: 195}
    g2 = np.array([5] * 60 + [1] * 30 + [2] * 30)
    assert {k: len(r) for k, r in plan_groups(g2, 25, rest_label="rest")} == {1: 30, 2: 30, 5: 60}


def _grouped():
    df = make_table(900, seed=4)
    groups = np.where(df["stage"].isin(["I"]), 0, np.where(df["stage"] == "II", 1, 7))
    groups[:20] = 9  # a small group, pooled
    return df, groups


def test_grouped_synthesis_sync_equals_dask(dask_client, roles):
    df, groups = _grouped()
    kw = dict(groups=groups, seed=5, min_group_size=50, **roles)
    sync = synthesize(df, "latent_class", 1000, **kw)
    dist = synthesize(df, "latent_class", 1000, client=dask_client, **kw)
    pd.testing.assert_frame_equal(sync, dist)
    assert len(sync) == 1000
    # proportional group totals, in group order, pooled group (-1) last
    plan = plan_groups(groups, 50)
    expected = allocate([len(r) for _, r in plan], 1000)
    counts = sync["_group"].value_counts(sort=False)
    assert list(counts.index) == [k for k, _ in plan]
    assert counts.tolist() == expected.tolist()
    # per-group models keep the groups apart: stage I synthetic rows only in group 0 (pool aside)
    assert set(sync.loc[sync["_group"] == 0, "stage"]) == {"I"}
    assert (sync.drop(columns="_group").dtypes == df.dtypes).all()
    # other seed -> other rows
    assert not synthesize(df, "latent_class", 1000, client=dask_client, **{**kw, "seed": 6}).equals(dist)


def test_global_model_and_instance_template(dask_client, roles):
    df, _ = _grouped()
    from syntwin.synthesis.generators import LatentClassGenerator

    tmpl = LatentClassGenerator(4)
    a = synthesize(df, tmpl, 333, seed=1, **roles)
    b = synthesize(df, tmpl, 333, seed=1, client=dask_client, **roles)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 333 and "_group" not in a.columns
    assert not hasattr(tmpl, "codec_")  # the template is never fitted
    with pytest.raises(ValueError, match="one label per row"):
        synthesize(df, tmpl, 10, groups=np.zeros(3), **roles)


def test_sdv_grouped_sync_equals_dask(dask_client, roles):
    pytest.importorskip("sdv")
    df, groups = _grouped()
    kw = dict(groups=groups, seed=2, min_group_size=50, **roles)
    sync = synthesize(df, "gaussian_copula", 400, **kw)
    pd.testing.assert_frame_equal(sync, synthesize(df, "gaussian_copula", 400, client=dask_client, **kw))
