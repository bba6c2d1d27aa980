
import numpy as np
import pandas as pd
import pytest
from syntwin.sample_data import shared_data

SEER = shared_data("seer_breast_cancer.csv")
STAGES = ["I", "II", "III", "IV"]


def make_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A small cohort with associations: stage drives size, nodes and hazard; missing race values."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(4, n, p=[0.35, 0.35, 0.2, 0.1])
    age = np.clip(rng.normal(60, 11, n), 25, 95).round().astype(np.int64)
    size = np.round(rng.gamma(2.0, 6.0 + 8.0 * stage), 1)
    nodes = rng.poisson(0.5 + 2.5 * stage).astype(np.int64)
    race = rng.choice(np.array(["White", "Black", "Other"], dtype=object), n, p=[0.75, 0.15, 0.10])
    race[rng.random(n) < 0.03] = None
    grade = pd.Categorical(rng.choice(["1", "2", "3"], n, p=[0.3, 0.5, 0.2]), categories=["1", "2", "3"])
    hazard = 0.004 * np.exp(0.7 * stage + 0.02 * (age - 60))
    t_event = rng.exponential(1 / hazard)
    follow = rng.uniform(12, 110, n)
    time = np.minimum(t_event, follow).round()
    event = (t_event <= follow).astype(np.int64)
    return pd.DataFrame({
        "age": age, "tumor_size": size, "nodes": nodes, "stage": np.array(STAGES, dtype=object)[stage],
        "race": race, "grade": grade, "months": time, "dead": event,
    })


ROLES = dict(numeric=["age", "tumor_size", "nodes"], ordinal={"stage": STAGES}, categorical=["race", "grade"],
             time="months", event="dead")


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture(scope="session")
def roles() -> dict:
    return dict(ROLES)


def load_seer() -> pd.DataFrame:
    df = pd.read_csv(SEER)
    df.columns = [c.strip() for c in df.columns]
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.strip()
    df["Status"] = (df["Status"] == "Dead").astype(np.int64)
    return df


SEER_ROLES = dict(
    numeric=["Age", "Tumor Size", "Regional Node Examined", "Reginol Node Positive"],
    ordinal={"T Stage": ["T1", "T2", "T3", "T4"], "N Stage": ["N1", "N2", "N3"]},
    categorical=["Race", "Marital Status", "6th Stage", "differentiate", "Grade", "A Stage",
                 "Estrogen Status", "Progesterone Status"],
    time="Survival Months", event="Status",
)


@pytest.fixture(scope="session")
def seer() -> pd.DataFrame:
    if not SEER.exists():
        pytest.skip("real SEER CSV absent")
    return load_seer()
