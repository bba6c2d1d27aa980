"""Shared fixtures for the graphs library tests: a small mixed cohort (the Dask cluster is tests/conftest.py's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

NUMERIC = ["age", "tumor_size"]
ORDINAL = {"grade": ["I", "II", "III", "IV"]}
CATEGORICAL = ["race", "er", "site"]


def mixed_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Clustered mixed-type rows (4 latent groups), so neighbours are meaningful."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 4, n)
    return pd.DataFrame({
        "age": np.round(rng.normal(40 + 10 * z, 6)),
        "tumor_size": np.round(rng.gamma(2 + z, 8), 1),
        "grade": np.array(ORDINAL["grade"])[np.clip(z + rng.integers(-1, 2, n), 0, 3)],
        "race": np.where(rng.random(n) < 0.7, np.array(["white", "black", "asian", "other"])[z],
                         rng.choice(["white", "black", "asian", "other"], n)),
        "er": rng.choice(["pos", "neg"], n, p=[0.8, 0.2]),
        "site": np.array(["C50.1", "C50.2", "C50.4", "C50.8"])[(z + rng.integers(0, 2, n)) % 4],
    })


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return mixed_frame(3000)


