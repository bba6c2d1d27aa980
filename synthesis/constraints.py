"""Rules a synthetic patient must keep (the data's logical constraints), checked and enforced in one place.

Three kinds, declared as plain dicts (scenario files, cohort schemas):

* ``{"kind": "inequality", "low": a, "high": b}`` — ``a <= b`` row-wise (positive nodes ≤ examined nodes);
* ``{"kind": "range", "column": c, "min": lo, "max": hi}`` — ``lo <= c <= hi`` (either bound may be left out);
* ``{"kind": "follow_up", "time": t, "diagnosis_year": y, "cutoff": "YYYY-MM-DD"}`` — follow-up in whole
  months no longer than the study cutoff minus the earliest diagnosis date of year ``y`` (1 January):
  ``t <= floor((cutoff − y-01-01) / (365.25 / 12 days))``.

Missing values never count as violations. :func:`sample_within` is the one generic enforcement: rejection
sampling around any generator's ``sample(n, seed)``, counting the rejected rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Constraint", "parse_constraints", "rates_from_counts", "sample_within", "violation_counts",
           "violation_rates"]

DAYS_PER_MONTH = 365.25 / 12
_FIELDS = {
    "inequality": ({"low", "high"}, set()),
    "range": ({"column"}, {"min", "max"}),
    "follow_up": ({"time", "diagnosis_year", "cutoff"}, set()),
}


@dataclass(frozen=True)
class Constraint:
    """One rule; build it with :func:`parse_constraints`."""

    kind: str
    spec: tuple[tuple[str, object], ...]

    @property
    def fields(self) -> dict:
        return dict(self.spec)

    @property
    def columns(self) -> list[str]:
        f = self.fields
        return {"inequality": [f.get("low"), f.get("high")], "range": [f.get("column")],
                "follow_up": [f.get("time"), f.get("diagnosis_year")]}[self.kind]

    @property
    def name(self) -> str:
        f = self.fields
        if self.kind == "inequality":
            return f"{f['low']} <= {f['high']}"
        if self.kind == "range":
            lo, hi = f.get("min"), f.get("max")
            return " ".join(p for p in (f"{lo} <=" if lo is not None else "", f["column"],
                                        f"<= {hi}" if hi is not None else "") if p)
        return f"{f['time']} <= months from 1 Jan {f['diagnosis_year']} to {f['cutoff']}"

    def violated(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean per row: the rule is broken (missing values never break it)."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(f"constraint {self.name!r} names columns absent from the table: {missing}")
        f = self.fields
        with np.errstate(invalid="ignore"):
            if self.kind == "inequality":
                a, b = (pd.to_numeric(df[c], errors="coerce").to_numpy(float) for c in (f["low"], f["high"]))
                return a > b
            if self.kind == "range":
                x = pd.to_numeric(df[f["column"]], errors="coerce").to_numpy(float)
                bad = np.zeros(len(x), bool)
                if f.get("min") is not None:
                    bad |= x < float(f["min"])
                if f.get("max") is not None:
                    bad |= x > float(f["max"])
                return bad
            t = pd.to_numeric(df[f["time"]], errors="coerce").to_numpy(float)
            return t > self.max_follow_up(df)

    def max_follow_up(self, df: pd.DataFrame) -> np.ndarray:
        """Longest possible follow-up (whole months) of each row under a ``follow_up`` rule."""
        f = self.fields
        year = pd.to_numeric(df[f["diagnosis_year"]], errors="coerce").to_numpy(float)
        cutoff = pd.Timestamp(str(f["cutoff"]))
        start = pd.to_datetime({"year": np.nan_to_num(year, nan=1970).astype(int), "month": 1, "day": 1})
        days = (cutoff - start).dt.days.to_numpy(float)
        return np.where(np.isfinite(year), np.floor(days / DAYS_PER_MONTH), np.inf)

    def to_dict(self) -> dict:
        return {"kind": self.kind, **self.fields}


def parse_constraints(specs: Iterable[Mapping | Constraint] | None) -> list[Constraint]:
    """Validate constraint declarations (dicts) into :class:`Constraint` objects; ``ValueError`` names the fix."""
    out = []
    for i, spec in enumerate(specs or ()):
        if isinstance(spec, Constraint):
            out.append(spec)
            continue
        spec = dict(spec)
        kind = spec.pop("kind", None)
        if kind not in _FIELDS:
            raise ValueError(f"constraint {i}: kind must be one of {sorted(_FIELDS)}, got {kind!r}")
        required, optional = _FIELDS[kind]
        missing, unknown = required - set(spec), set(spec) - required - optional
        if missing or unknown:
            raise ValueError(f"constraint {i} ({kind}): missing {sorted(missing)}, unknown {sorted(unknown)}; "
                             f"fields are {sorted(required | optional)}")
        if kind == "range" and spec.get("min") is None and spec.get("max") is None:
            raise ValueError(f"constraint {i} (range): give min, max or both")
        if kind == "follow_up":
            try:
                pd.Timestamp(str(spec["cutoff"]))
            except ValueError:
                raise ValueError(f"constraint {i} (follow_up): cutoff must be a date YYYY-MM-DD, "
                                 f"got {spec['cutoff']!r}") from None
        c = Constraint(kind, tuple(sorted(spec.items())))
        if c not in out:
            out.append(c)
    return out


def violation_counts(df: pd.DataFrame, constraints: Iterable[Mapping | Constraint]) -> dict[str, int]:
    """Rows of ``df`` breaking each constraint (by its readable name): counts of parts of a table add up."""
    return {c.name: int(c.violated(df).sum()) for c in parse_constraints(constraints)}


def violation_rates(df: pd.DataFrame, constraints: Iterable[Mapping | Constraint]) -> dict[str, float]:
    """Share of rows of ``df`` breaking each constraint (by its readable name)."""
    return rates_from_counts(violation_counts(df, constraints), len(df))


def rates_from_counts(counts: Mapping[str, int], n: int) -> dict[str, float]:
    """:func:`violation_rates` from summed :func:`violation_counts` over ``n`` rows (0 for an empty table)."""
    return {name: float(k) / n if n else 0.0 for name, k in counts.items()}


def sample_within(draw: Callable[[int, int], pd.DataFrame], n: int, constraints, seed: int, *,
                  child_seed: Callable[[int, int], int], max_rounds: int = 30) -> tuple[pd.DataFrame, int]:
    """``n`` rows of ``draw(n, seed)`` that keep every constraint, by rejection sampling.

    Round 0 draws ``n`` rows with ``seed`` itself (so without constraints, or when none is broken, the rows
    are those of the unconstrained draw); later rounds draw ``child_seed(seed, round)`` rows, sized by the
    acceptance rate seen so far. Raises ``ValueError`` when too few rows pass after ``max_rounds``.

    Returns:
        ``(rows, rejected)``: the accepted rows (fresh index) and how many drawn rows were rejected.
    """
    rules = parse_constraints(constraints)
    rows = draw(int(n), int(seed))
    if not rules or n == 0:
        return rows, 0

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        bad = np.zeros(len(frame), bool)
        for rule in rules:
            bad |= rule.violated(frame)
        return frame[~bad]

    accepted, drawn = [keep(rows)], len(rows)
    have = len(accepted[0])
    for r in range(1, max_rounds + 1):
        if have >= n:
            break
        rate = max(have / drawn, 0.01)
        extra = draw(int(np.ceil((n - have) / rate * 1.1)) + 10, int(child_seed(seed, r)))
        drawn += len(extra)
        accepted.append(keep(extra))
        have += len(accepted[-1])
    if have < n:
        raise ValueError(f"only {have} of {drawn} sampled rows keep the constraints "
                         f"({', '.join(c.name for c in rules)}); the generator cannot respect them — check "
                         "that the real rows keep them")
    out = pd.concat(accepted, ignore_index=True).iloc[: int(n)].reset_index(drop=True)
    return out, drawn - have
