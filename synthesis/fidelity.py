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

``sdmetrics_quality`` runs the real SDMetrics report when it is installed, for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

__all__ = ["quality_score", "sdmetrics_quality"]


def _roles(numeric, ordinal, categorical, time, event) -> tuple[list[str], list[str]]:
    num = [*numeric, *([time] if time else [])]
    cat = [*(ordinal or {}), *categorical, *([event] if event else [])]
    return num, cat


def _tvd(a: pd.Series, b: pd.Series, *, dropna: bool) -> float:
    if dropna:
        pa, pb = a.dropna().value_counts(normalize=True), b.dropna().value_counts(normalize=True)
    else:
        pa = a.astype(object).where(a.notna(), "__nan__").value_counts(normalize=True)
        pb = b.astype(object).where(b.notna(), "__nan__").value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return 0.5 * float(np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def _bins(x: pd.Series) -> pd.Series:
    v = x.to_numpy(dtype=np.float64)
    return pd.Series(np.digitize(v, np.histogram_bin_edges(v[~np.isnan(v)])), index=x.index)


def _discrete(real: pd.Series, syn: pd.Series) -> tuple[pd.Series, pd.Series]:
    return _bins(real), _bins(syn)


def _joint(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.astype(str) + "\x1f" + b.astype(str)


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    from scipy.stats.contingency import association

    tab = pd.crosstab(a.astype(str), b.astype(str)).to_numpy()
    return float(association(tab, method="cramer")) if min(tab.shape) >= 2 else float("nan")


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
    num, cat = _roles(tuple(numeric), ordinal, tuple(categorical), time, event)
    cols = [c for c in real.columns if c in num or c in cat]
    missing = [c for c in cols if c not in synthetic.columns]
    if missing:
        raise ValueError(f"synthetic table lacks columns {missing}")
    if not cols:
        raise ValueError("no column given a role: pass numeric=, categorical=, ... as for Generator.fit")
    shapes: dict[str, float] = {}
    for c in cols:
        if c in num:
            r, s = real[c].dropna(), synthetic[c].dropna()
            shapes[c] = 1.0 - float(ks_2samp(r, s).statistic) if len(r) and len(s) else float("nan")
        else:
            shapes[c] = 1.0 - _tvd(real[c], synthetic[c], dropna=True)
    disc = {c: _discrete(real[c], synthetic[c]) for c in cols if c in num}
    pairs: dict[tuple[str, str], float] = {}
    for a, b in combinations(cols, 2):
        if a in num and b in num:
            r = real[[a, b]].dropna().to_numpy(dtype=np.float64)
            s = synthetic[[a, b]].dropna().to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                rr, rs = np.corrcoef(r.T)[0, 1], np.corrcoef(s.T)[0, 1]
            if np.isfinite(rr) and abs(rr) > correlation_threshold:
                pairs[(a, b)] = 1.0 - abs(rr - rs) / 2.0 if np.isfinite(rs) else 0.5
        else:
            ra, sa = disc.get(a, (real[a], synthetic[a]))
            rb, sb = disc.get(b, (real[b], synthetic[b]))
            if association_threshold > 0 and not _cramers_v(ra, rb) > association_threshold:
                continue
            pairs[(a, b)] = 1.0 - _tvd(_joint(ra, rb), _joint(sa, sb), dropna=False)
    shape_avg = float(np.nanmean(list(shapes.values())))
    pair_avg = float(np.nanmean(list(pairs.values()))) if pairs else shape_avg
    return {"score": (shape_avg + pair_avg) / 2.0, "column_shapes": shape_avg, "column_pair_trends": pair_avg,
            "shapes": shapes, "pairs": pairs}


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
