"""Aggregates that cannot be subtracted: an attacker who knows every margin recomputes what it can."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space

from syntwin.export.aggregate import aggregate_counts, curve_points_safe, small_cell_safe


def attacker_recovers(table: pd.DataFrame, truth: pd.DataFrame, by: list[str]) -> dict:
    """Every withheld cell the attacker can pin to one value from the published cells and all margins.

    The attacker writes one equation per margin (grand total, each row, each column) in the withheld
    cells and solves: a cell is determined iff every vector of the null space is 0 at it.
    """
    true = truth.groupby(by, observed=True).size()
    hidden = table[table["count"].isna()].reset_index(drop=True)
    if hidden.empty:
        return {}
    key = lambda r: tuple(r[c] for c in by)  # noqa: E731
    cells = [key(r) for _, r in hidden.iterrows()]
    published = {key(r): int(r["count"]) for _, r in table.dropna(subset=["count"]).iterrows()}
    margins = [((), lambda k: True)]
    for d, c in enumerate(by if len(by) > 1 else []):  # rows and columns (a one-way table: the total)
        for level in table[c].unique():
            margins.append(((c, level), lambda k, d=d, level=level: k[d] == level))
    A, b = [], []
    for _, inside in margins:
        total = int(sum(v for k, v in true.items() if inside(k if isinstance(k, tuple) else (k,))))
        row = [1.0 if inside(k) else 0.0 for k in cells]
        if any(row):
            A.append(row)
            b.append(total - sum(v for k, v in published.items() if inside(k)))
    A, b = np.array(A), np.array(b, float)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    free = null_space(A)
    return {k: round(float(x[j])) for j, k in enumerate(cells) if free.size == 0 or np.allclose(free[j], 0)}


def _frame(cells: dict) -> pd.DataFrame:
    rows = [k for k, n in cells.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["stage", "dead"])


CASES = {
    "one small cell": {("I", 0): 20, ("I", 1): 5, ("II", 0): 30, ("II", 1): 40, ("III", 0): 25, ("III", 1): 12},
    "a zero cell": {("I", 0): 20, ("I", 1): 15, ("II", 0): 30, ("II", 1): 40, ("III", 0): 25},
    "small in one column": {("I", 0): 3, ("I", 1): 50, ("II", 0): 30, ("II", 1): 40, ("III", 0): 25,
                            ("III", 1): 12, ("IV", 0): 60, ("IV", 1): 14},
    "many small": {("I", 0): 3, ("I", 1): 2, ("II", 0): 1, ("II", 1): 40, ("III", 0): 25, ("III", 1): 9,
                   ("IV", 0): 60, ("IV", 1): 14},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_suppressed_cell_is_recoverable_from_the_published_ones(case):
    df = _frame(CASES[case])
    t = aggregate_counts(df, ["stage", "dead"])
    assert len(t) == df["stage"].nunique() * 2  # every combination listed: absent rows do not say zero
    truth = df.groupby(["stage", "dead"]).size()
    shown = t.dropna(subset=["count"])
    assert (shown["count"] >= 11).all()
    assert all(int(r["count"]) == truth[(r["stage"], r["dead"])] for _, r in shown.iterrows())
    assert (t.loc[t["suppressed"] == "small", "count"].isna()).all()
    assert attacker_recovers(t, df, ["stage", "dead"]) == {}


def test_primary_suppression_alone_is_recoverable():
    """The check must be able to fail: without complementary suppression the attacker gets the cell back."""
    df = _frame(CASES["one small cell"])
    t = aggregate_counts(df, ["stage", "dead"])
    assert (t["suppressed"] == "complementary").sum() >= 3  # its row, its column, and one to close the cycle
    naive = t.copy()
    naive["count"] = pd.array([20, pd.NA, 30, 40, 25, 12], dtype="Int64")  # only the small cell withheld
    assert attacker_recovers(naive, df, ["stage", "dead"]) == {("I", 1): 5}


def test_one_way_table_and_zero_policy():
    df = pd.DataFrame({"race": ["a"] * 30 + ["b"] * 4 + ["c"] * 50})
    t = aggregate_counts(df, ["race"])
    assert t["count"].isna().sum() == 2 and set(t["suppressed"]) == {"small", "complementary", ""}
    assert attacker_recovers(t, df, ["race"]) == {}
    z = aggregate_counts(pd.DataFrame({"stage": ["I"] * 30 + ["II"] * 20, "dead": [0] * 30 + [1] * 20}),
                         ["stage", "dead"])
    zero = z[(z["stage"] == "I") & (z["dead"] == 1)]
    assert len(zero) == 1 and zero["count"].isna().all() and zero["suppressed"].iloc[0] == "small"


def test_random_tables_resist_recomputation():
    rng = np.random.default_rng(0)
    for _ in range(25):
        levels = rng.integers(2, 7)
        n = rng.integers(20, 200)
        df = pd.DataFrame({"stage": rng.choice([f"L{i}" for i in range(levels)], n, p=None),
                           "dead": rng.integers(0, 2, n)})
        t = aggregate_counts(df, ["stage", "dead"])
        assert attacker_recovers(t, df, ["stage", "dead"]) == {}


def test_small_cell_rule_for_report_figures():
    assert small_cell_safe([11, 40]) and not small_cell_safe([11, 10]) and not small_cell_safe([])


def test_real_curve_points_need_11_at_risk():
    durations = np.arange(1, 31, dtype=float)  # 30 patients, one leaving per month
    keep = curve_points_safe(np.array([0.0, 10.0, 20.0, 21.0, 25.0]), durations)
    assert keep.tolist() == [True, True, True, False, False]  # 11 at risk at t=20, 10 at t=21
