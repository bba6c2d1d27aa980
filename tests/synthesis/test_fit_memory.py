"""The latent class fit and draw in bounded blocks: the same numbers for any block size, the frame intact."""

from __future__ import annotations

import numpy as np
import pandas as pd

from syntwin.synthesis.generators import MissingAware, make_generator
from syntwin.synthesis.generators._hazards import CompetingHazards
from syntwin.synthesis.generators.latent_class import _inverse_cdf


def test_inverse_cdf_same_codes_for_any_block_size():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(7), size=5)
    z, u = rng.integers(0, 5, 1_001), rng.random(1_001)
    whole = _inverse_cdf(P, z, u, rows=10_000)
    assert np.array_equal(whole, _inverse_cdf(P, z, u, rows=3))
    # the definition, row by row: the first code whose cumulative share exceeds u
    cdf = np.cumsum(P[z], axis=1)
    assert np.array_equal(whole, np.argmax(u[:, None] * cdf[:, -1:] < cdf, axis=1))


def test_competing_hazards_draw_same_for_any_block_size():
    rng = np.random.default_rng(1)
    n = 3_000
    time = np.floor(rng.exponential(40, n))
    event = (rng.random(n) < 0.4).astype(np.int64)
    hz = CompetingHazards(time, event, 8, None)
    resp = rng.dirichlet(np.ones(3), size=n)
    groups = rng.integers(0, 2, n)
    hz.fit([(slice(0, n), resp)], 1.0, groups, 2)
    z, g = rng.integers(0, 3, 777), rng.integers(0, 2, 777)
    admin = rng.uniform(10, 80, 777)
    a = hz.draw(z, admin, np.random.default_rng(5), g)
    b = hz.draw(z, admin, np.random.default_rng(5), g, rows=10)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert (a[0] <= np.floor(admin)).all() and set(np.unique(a[1])) <= {0, 1}


def test_group_hazards_from_the_group_rows_equal_masked_sums():
    """Summing only a group's rows gives the same bytes as weighting the others by zero (the code before)."""
    rng = np.random.default_rng(2)
    n = 2_000
    hz = CompetingHazards(np.floor(rng.exponential(30, n)), (rng.random(n) < 0.5).astype(np.int64), 6, None)
    resp = rng.dirichlet(np.ones(4), size=n)
    mask = rng.random(n) < 0.3
    sel = np.flatnonzero(mask)
    for x, y in zip(hz._sums(resp * mask[:, None]), hz._sums(resp[sel], hz.design[sel]), strict=True):
        assert np.array_equal(x, y)


def test_fit_leaves_the_callers_frame_as_it_was():
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"age": rng.normal(60, 10, n).round(), "stage": rng.choice(["I", "II", None], n),
                       "months": np.floor(rng.exponential(40, n)), "dead": (rng.random(n) < 0.4).astype(int)},
                      index=np.arange(n) * 2)  # not a RangeIndex: fit must not reset it in place
    df.loc[df.index[:50], "age"] = np.nan
    before = df.copy(deep=True)
    gen = MissingAware(make_generator("latent_class", n_components=2))
    gen.fit(df, numeric=["age"], categorical=["stage"], time="months", event="dead", seed=1)
    pd.testing.assert_frame_equal(df, before)
    assert not any(hasattr(b, "codes") for b in gen.inner_.binned_.values())  # per-row codes not kept
    twins = gen.sample(300, seed=2)
    assert list(twins.columns) == list(df.columns) and twins["age"].isna().any()


def test_competing_hazards_fit_same_rates_from_any_row_blocks():
    """Fitted block by block (the responsibilities of one block at a time) = fitted on all rows at once,
    to rounding: the counts are sums, only their order of addition differs."""
    rng = np.random.default_rng(4)
    n = 5_000
    time, event = np.floor(rng.exponential(35, n)), (rng.random(n) < 0.45).astype(np.int64)
    resp, groups = rng.dirichlet(np.ones(3), size=n), rng.integers(0, 3, n)
    whole = CompetingHazards(time, event, 7, None).fit([(slice(0, n), resp)], 1.0, groups, 3)
    blocks = [(slice(a, a + 700), resp[a:a + 700]) for a in range(0, n, 700)]
    parts = CompetingHazards(time, event, 7, None).fit(blocks, 1.0, groups, 3)
    for name in ("event_rate", "censor_rate", "group_event_rate", "group_censor_rate"):
        assert np.allclose(getattr(whole, name), getattr(parts, name), rtol=1e-12, atol=0)
    # and they are the class hazards: a class's events over its exposure, with the pooled prior
    X, D, _ = whole._sums(resp)
    pooled_X, pooled_D, _ = whole._sums(np.ones((n, 1)))
    assert np.allclose(whole.event_rate, (D + pooled_D[0] / n) / np.maximum(X + pooled_X[0] / n, 1e-12))


def test_int8_one_hot_gives_the_float64_fit_bytes():
    """The one-hot matrix holds int8 ones; EM on it is the same bytes as on float64 ones (exact upcast)."""
    from syntwin.synthesis.generators.latent_class import LatentClassGenerator

    rng = np.random.default_rng(6)
    n_codes = [3, 5, 2, 4]
    gen = LatentClassGenerator(n_components=3, max_iter=25, threads=1)
    gen.n_codes_ = n_codes
    X = np.column_stack([rng.integers(0, k, 4_000) for k in n_codes]).astype(np.int32)
    H = gen._onehot(X.copy())
    assert H.data.dtype == np.int8 and H.nnz == X.size
    ends = np.cumsum(n_codes)
    bounds = list(zip(np.concatenate([[0], ends[:-1]]), ends, strict=True))
    small = gen._best_of_inits(H, bounds, 7, 3)
    wide = gen._best_of_inits(H.astype(np.float64), bounds, 7, 3)
    assert small[:2] == wide[:2]
    assert np.array_equal(small[2], wide[2]) and np.array_equal(small[3], wide[3])
    # the columns are the codes at each column's offset
    assert np.array_equal(H.indices.reshape(X.shape), X + np.concatenate([[0], ends[:-1]]))
