"""Fidelity of synthetic twins: an SDMetrics-style quality score, in numpy.

Follows the definitions of SDMetrics' single-table ``QualityReport`` (DataCebo, MIT licence):

* column shapes — numeric: KSComplement ``1 − KS(real, syn)``; categorical: TVComplement
  ``1 − ½ Σ_c |p_real(c) − p_syn(c)|`` (missing values dropped);
* column pair trends — numeric × numeric: CorrelationSimilarity ``1 − |ρ_real − ρ_syn| / 2``
  (Pearson); any pair with a categorical column: ContingencySimilarity ``1 − ½ Σ |p_real(a,b) −
  p_syn(a,b)|`` (missing = a level), numeric columns binned on ten equal-width bins
  of each table's own range (as SDMetrics' report does). As in SDMetrics ≥ 0.2x, only pairs that
  are associated in the real data count: ``|ρ_real| > 0.5`` or Cramér's ``V_real > 0.3`` (set both
  thresholds to 0 to count every pair, the older SDMetrics behaviour);
* score = mean of the two property averages (the shapes average alone if no pair counts).

Everything is computed from sufficient statistics of each table (:func:`table_counts`, then
:func:`pair_counts` once the numeric bin edges are known), which add up over disjoint parts of a table, so
the score of a table kept as partitions on Dask workers is that of the whole table:

* KS from the counts of every distinct value (both empirical CDFs evaluated at every observed value, as
  scipy's ``ks_2samp`` does) — exact;
* TVD from value counts and joint (binned) value counts — exact; Cramér's V from the same contingency table;
* Pearson ρ from per-part co-moments merged with Chan, Golub & LeVeque's update (1983): equal to
  ``np.corrcoef`` up to floating-point rounding (~1e-15), not to the bit.

``sdmetrics_quality`` runs the real SDMetrics report when it is installed, for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

__all__ = ["TableCounts", "merge_pair_counts", "merge_table_counts", "numeric_bin_edges", "pair_counts",
           "quality_columns", "quality_from_counts", "quality_score", "sdmetrics_quality", "table_counts"]


def _roles(numeric, ordinal, categorical, time, event) -> tuple[list[str], list[str]]:
    num = [*numeric, *([time] if time else [])]
    cat = [*(ordinal or {}), *categorical, *([event] if event else [])]
    return num, cat


def quality_columns(columns: Iterable[str], *, numeric: Iterable[str] = (), ordinal: Mapping | None = None,
                    categorical: Iterable[str] = (), time: str | None = None,
                    event: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """``(cols, num, cat)``: the scored columns in table order and the numeric / categorical roles."""
    num, cat = _roles(tuple(numeric), ordinal, tuple(categorical), time, event)
    return [c for c in columns if c in num or c in cat], num, cat


@dataclass
class TableCounts:
    """Sufficient statistics of one table (or of a part of it) for :func:`quality_from_counts`.

    Attributes:
        n: Rows.
        values: numeric column -> ``(distinct values ascending, float64; their counts, int64)``, missing dropped.
        levels: categorical column -> counts per raw value (missing dropped), a Series.
        missing: column -> rows with a missing value.
        moments: numeric pair -> ``[n, mean_a, mean_b, S_aa, S_bb, S_ab]`` over the rows where both are present
            (``S`` = sums of centred products).
    """

    n: int
    values: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    levels: dict[str, pd.Series] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    moments: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def sample(self, column: str) -> int:
        """Rows with ``column`` present."""
        return self.n - self.missing[column]


def _moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if not len(a):
        return np.zeros(6)
    ma, mb = a.mean(), b.mean()
    da, db = a - ma, b - mb
    return np.array([len(a), ma, mb, da @ da, db @ db, da @ db], dtype=np.float64)


def _merge_moments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Chan, Golub & LeVeque (1983) pairwise update of counts, means and centred (co-)moments."""
    n1, n2 = x[0], y[0]
    if n1 == 0 or n2 == 0:
        return (y if n1 == 0 else x).copy()
    n = n1 + n2
    da, db = y[1] - x[1], y[2] - x[2]
    f = n1 * n2 / n
    return np.array([n, x[1] + da * n2 / n, x[2] + db * n2 / n, x[3] + y[3] + da * da * f,
                     x[4] + y[4] + db * db * f, x[5] + y[5] + da * db * f])


def table_counts(df: pd.DataFrame, cols: Sequence[str], num: Sequence[str]) -> TableCounts:
    """Value counts of every column of ``cols`` (``num`` ones as float64), and co-moments of numeric pairs."""
    out = TableCounts(n=len(df))
    arrays = {}
    for c in cols:
        if c in num:
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
            arrays[c] = v
            present = v[~np.isnan(v)]
            values, counts = np.unique(present, return_counts=True)
            out.values[c] = (values, counts.astype(np.int64))
            out.missing[c] = int(len(v) - len(present))
        else:
            out.levels[c] = df[c].value_counts(dropna=True, sort=False)
            out.missing[c] = int(df[c].isna().sum())
    for a, b in combinations([c for c in cols if c in num], 2):
        out.moments[(a, b)] = _moments(arrays[a], arrays[b])
    return out


def merge_table_counts(parts: Sequence[TableCounts]) -> TableCounts:
    """The counts of the whole table from those of its parts (in part order: the result never depends on
    which worker summarised which part)."""
    if not parts:
        raise ValueError("no table counts to merge")
    first = parts[0]
    out = TableCounts(n=sum(p.n for p in parts))
    for c in first.values:
        values = np.concatenate([p.values[c][0] for p in parts])
        counts = np.concatenate([p.values[c][1] for p in parts])
        distinct, inverse = np.unique(values, return_inverse=True)
        total = np.zeros(len(distinct), np.int64)
        np.add.at(total, inverse.ravel(), counts)
        out.values[c] = (distinct, total)
    for c in first.levels:
        series = [p.levels[c] for p in parts if len(p.levels[c])]
        out.levels[c] = (pd.concat(series).groupby(level=0, sort=False).sum() if series
                         else first.levels[c].iloc[:0])
    for c in first.missing:
        out.missing[c] = sum(p.missing[c] for p in parts)
    for key in first.moments:
        acc = first.moments[key]
        for p in parts[1:]:
            acc = _merge_moments(acc, p.moments[key])
        out.moments[key] = acc
    return out


def numeric_bin_edges(counts: TableCounts) -> dict[str, np.ndarray]:
    """SDMetrics' ten equal-width bins over each numeric column's own range (``np.histogram_bin_edges``, which
    depends on the range only)."""
    edges = {}
    for c, (values, _) in counts.values.items():
        span = np.array([values[0], values[-1]]) if len(values) else np.zeros(0)
        edges[c] = np.histogram_bin_edges(span)
    return edges


def _keys(col: pd.Series, edges: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column and the string label of each code (``astype(str)`` of the binned/raw value)."""
    if edges is not None:  # numeric: bin index, missing values in bin len(edges) (np.digitize puts NaN last)
        codes = np.digitize(col.to_numpy(dtype=np.float64), edges)
        used = np.unique(codes)
        lookup = np.full(len(edges) + 1, -1, np.int64)
        lookup[used] = np.arange(len(used))
        return lookup[codes], pd.Series(used).astype(str).to_numpy(object)
    codes, _ = pd.factorize(col, use_na_sentinel=False)
    _, first = np.unique(codes, return_index=True)  # one row per code: its label from the column's own dtype
    return codes.astype(np.int64), col.iloc[first].astype(str).to_numpy(object)


def pair_counts(df: pd.DataFrame, cols: Sequence[str], num: Sequence[str],
                edges: Mapping[str, np.ndarray]) -> dict[tuple[str, str], pd.Series]:
    """Joint counts of every pair of ``cols`` with a categorical member, on string labels: numeric columns
    binned on ``edges`` (:func:`numeric_bin_edges` of the whole table), missing values a level.

    Returns:
        ``(a, b) -> Series`` of counts indexed by ``(label_a, label_b)``.
    """
    keys = {c: _keys(df[c], edges[c] if c in num else None) for c in cols}
    out = {}
    for a, b in combinations(cols, 2):
        if a in num and b in num:
            continue
        (ca, la), (cb, lb) = keys[a], keys[b]
        joint = np.bincount(ca * len(lb) + cb, minlength=len(la) * len(lb))
        hit = np.flatnonzero(joint)
        index = pd.MultiIndex.from_arrays([la[hit // len(lb)], lb[hit % len(lb)]])
        out[(a, b)] = pd.Series(joint[hit].astype(np.int64), index=index)
    return out


def merge_pair_counts(parts: Sequence[Mapping[tuple[str, str], pd.Series]]) -> dict[tuple[str, str], pd.Series]:
    """Pair counts of the whole table from those of its parts."""
    out = {}
    for key in (parts[0] if parts else {}):
        series = [p[key] for p in parts if len(p[key])]
        out[key] = pd.concat(series).groupby(level=[0, 1], sort=True).sum() if series else parts[0][key]
    return out


def _tvd_counts(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance of two distributions given as counts per level."""
    pa, pb = a / a.sum(), b / b.sum()
    idx = pa.index.union(pb.index)
    return 0.5 * float(np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def _ks_counts(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Two-sample KS statistic ``sup |F_a − F_b|`` from distinct values and counts: both empirical CDFs at every
    observed value, as ``scipy.stats.ks_2samp`` evaluates them (``searchsorted(side="right") / n``); for samples
    of at most 10,000 (its exact mode) scipy snaps the statistic to the lattice ``h / lcm(n_a, n_b)``, so
    this does too."""
    (va, ca), (vb, cb) = a, b
    grid = np.union1d(va, vb)
    fa = np.concatenate([[0], np.cumsum(ca)])[np.searchsorted(va, grid, side="right")] / ca.sum()
    fb = np.concatenate([[0], np.cumsum(cb)])[np.searchsorted(vb, grid, side="right")] / cb.sum()
    d = fa - fb
    stat = float(max(np.clip(-d.min(), 0, 1), d.max()))
    n1, n2 = int(ca.sum()), int(cb.sum())
    if max(n1, n2) <= 10_000:  # scipy's 'auto' -> 'exact' mode (_attempt_exact_2kssamp)
        lcm = (n1 // math.gcd(n1, n2)) * n2
        stat = int(np.round(stat * lcm)) * 1.0 / lcm
    return stat


def _joint_labels(pairs: pd.Series) -> pd.Series:
    """Counts per joint label ``a + "\\x1f" + b`` (the pandas path's joint string)."""
    joint = pairs.index.get_level_values(0).astype(str) + "\x1f" + pairs.index.get_level_values(1).astype(str)
    return pd.Series(pairs.to_numpy(), index=joint).groupby(level=0, sort=False).sum()


def _cramers_v_counts(pairs: pd.Series) -> float:
    from scipy.stats.contingency import association

    tab = pairs.unstack(fill_value=0).sort_index(axis=0).sort_index(axis=1).to_numpy(np.int64)
    return float(association(tab, method="cramer")) if min(tab.shape) >= 2 else float("nan")


def _correlation(m: np.ndarray) -> float:
    if m[0] < 2 or m[3] == 0 or m[4] == 0:
        return float("nan")
    return float(np.clip(m[5] / (np.sqrt(m[3]) * np.sqrt(m[4])), -1.0, 1.0))


def quality_from_counts(real: TableCounts, synthetic: TableCounts, real_pairs: Mapping, synthetic_pairs: Mapping,
                        cols: Sequence[str], num: Sequence[str], *, correlation_threshold: float = 0.5,
                        association_threshold: float = 0.3) -> dict:
    """:func:`quality_score` from the statistics of both tables (:func:`table_counts`, :func:`pair_counts`)."""
    shapes: dict[str, float] = {}
    for c in cols:
        if c in num:
            ok = len(real.values[c][0]) and len(synthetic.values[c][0])
            shapes[c] = 1.0 - _ks_counts(real.values[c], synthetic.values[c]) if ok else float("nan")
        else:
            shapes[c] = 1.0 - _tvd_counts(real.levels[c], synthetic.levels[c])
    pairs: dict[tuple[str, str], float] = {}
    for a, b in combinations(cols, 2):
        if a in num and b in num:
            rr, rs = _correlation(real.moments[(a, b)]), _correlation(synthetic.moments[(a, b)])
            if np.isfinite(rr) and abs(rr) > correlation_threshold:
                pairs[(a, b)] = 1.0 - abs(rr - rs) / 2.0 if np.isfinite(rs) else 0.5
        else:
            if association_threshold > 0 and not _cramers_v_counts(real_pairs[(a, b)]) > association_threshold:
                continue
            pairs[(a, b)] = 1.0 - _tvd_counts(_joint_labels(real_pairs[(a, b)]),
                                              _joint_labels(synthetic_pairs[(a, b)]))
    shape_avg = float(np.nanmean(list(shapes.values())))
    pair_avg = float(np.nanmean(list(pairs.values()))) if pairs else shape_avg
    return {"score": (shape_avg + pair_avg) / 2.0, "column_shapes": shape_avg, "column_pair_trends": pair_avg,
            "shapes": shapes, "pairs": pairs}


def quality_score(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    numeric: Iterable[str] = (),
    ordinal: Mapping[str, Sequence] | None = None,
    categorical: Iterable[str] = (),
    time: str | None = None,
    event: str | None = None,
    correlation_threshold: float = 0.5,
    association_threshold: float = 0.3,
) -> dict:
    """SDMetrics-style quality of ``synthetic`` against ``real`` (see the module docstring).

    Roles as in ``Generator.fit`` (time counts as numeric, ordinal and event as categorical).

    Returns:
        ``{"score", "column_shapes", "column_pair_trends", "shapes": {col: s}, "pairs": {(a, b): s}}``;
        ``pairs`` holds the counted pairs only.
    """
    cols, num, _ = quality_columns(real.columns, numeric=numeric, ordinal=ordinal, categorical=categorical,
                                   time=time, event=event)
    missing = [c for c in cols if c not in synthetic.columns]
    if missing:
        raise ValueError(f"synthetic table lacks columns {missing}")
    if not cols:
        raise ValueError("no column given a role: pass numeric=, categorical=, ... as for Generator.fit")
    rc, sc = table_counts(real, cols, num), table_counts(synthetic, cols, num)
    rp = pair_counts(real, cols, num, numeric_bin_edges(rc))
    sp = pair_counts(synthetic, cols, num, numeric_bin_edges(sc))
    return quality_from_counts(rc, sc, rp, sp, cols, num, correlation_threshold=correlation_threshold,
                               association_threshold=association_threshold)


def sdmetrics_quality(real: pd.DataFrame, synthetic: pd.DataFrame, **roles) -> dict:
    """The score of SDMetrics' ``QualityReport`` (needs ``sdmetrics``, installed with SDV).

    Raises:
        ImportError: sdmetrics is not installed.
    """
    from sdmetrics.reports.single_table import QualityReport

    num, cat = _roles(tuple(roles.get("numeric", ())), roles.get("ordinal"),
                      tuple(roles.get("categorical", ())), roles.get("time"), roles.get("event"))
    cols = [c for c in real.columns if c in num or c in cat]
    metadata = {"columns": {c: {"sdtype": "numerical" if c in num else "categorical"} for c in cols}}
    report = QualityReport()
    report.generate(real[cols], synthetic[cols], metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"score": float(report.get_score()), "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}
