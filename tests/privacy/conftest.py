"""Shared fixtures: a simulated cohort split into train, holdout and an independent sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.cohort.simulate import simulate_cohort

N = 1500  # rows per set: train, holdout, independent twins
N_HONEST = 4000  # enough control patients to bound every default risk (cancer_death needs ~3,500)


@pytest.fixture(scope="session")
def cohort():
    c = simulate_cohort(3 * N, site="breast", seed=11)
    df = c.data.compute().reset_index(drop=True)
    parts = [df.iloc[i * N : (i + 1) * N].reset_index(drop=True) for i in range(3)]
    return {"schema": c.schema, "train": parts[0], "holdout": parts[1], "independent": parts[2]}


def jitter(df: pd.DataFrame, numeric: list[str], seed: int = 0) -> pd.DataFrame:
    """Training rows with each numeric value moved by -1, 0 or +1: a generator that leaks by jittering."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    for c in numeric:
        out[c] = out[c] + rng.integers(-1, 2, len(out))
    return out


@pytest.fixture(scope="session")
def kwargs(cohort):
    s = cohort["schema"]
    return dict(
        numeric=list(s.numeric),
        ordinal=s.ordinal,
        categorical=list(s.categorical),
        time=s.time,
        event=s.event,
        quasi_identifiers=list(s.quasi_identifiers),
        seed=3,
        bands={"age": 25.0, "year_of_diagnosis": 6.0},
    )  # coarse bands: 1,500 twins are few


@pytest.fixture(scope="session")
def results(cohort, kwargs):
    """evaluate_privacy on an honest generator (independent sample), copies and jittered copies."""
    from syntwin.privacy import evaluate_privacy

    s, train, hold = cohort["schema"], cohort["train"], cohort["holdout"]
    twins = {
        "independent": cohort["independent"][s.modelled],
        "copies": train[s.modelled].copy(),
        "jitter": jitter(train, list(s.numeric))[s.modelled],
    }
    n10 = N // 10
    twins["copies_10pct"] = pd.concat(
        [cohort["independent"][s.modelled].iloc[n10:], train[s.modelled].iloc[:n10]], ignore_index=True)
    return {name: evaluate_privacy(t, train, hold, **kwargs) for name, t in twins.items()}


@pytest.fixture(scope="session")
def honest(kwargs):
    """An independent sample of the true distribution, with train and holdout large enough to decide."""
    from syntwin.privacy import evaluate_privacy

    c = simulate_cohort(3 * N_HONEST, site="breast", seed=12)
    df = c.data.compute().reset_index(drop=True)
    train, hold, twins = (df.iloc[i * N_HONEST : (i + 1) * N_HONEST].reset_index(drop=True) for i in range(3))
    return {"train": train, "holdout": hold, "twins": twins,
            "result": evaluate_privacy(twins[c.schema.modelled], train, hold, **kwargs)}


