r"""Scoring probabilistic count forecasts, and the baselines a crowd twin must beat.

CRPS (Matheson & Winkler 1976; Gneiting & Raftery 2007, JASA 102:359) of a predictive distribution ``F``
for an outcome ``y``: ``CRPS = ∫ (F(x) - 1\{y ≤ x\})^2 dx``. For an ensemble ``X_1..X_m``
``CRPS = E|X - y| - ½ E|X - X'|``; for a distribution on the integers ``0..K`` it is
``Σ_k (F(k) - 1\{y ≤ k\})^2``; for a point forecast it is the absolute error.

Baselines (each a distribution on counts ``0..K``):
- persistence: the count now, with certainty;
- climatology: the empirical distribution of counts at the target's time of day (``bin_min`` bins)
  on the training days;
- blend: the mixture ``w · persistence + (1 - w) · climatology``, ``w`` tuned on the training days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def crps_ensemble(ensemble: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of each row's ensemble ``(n, m)`` against ``y`` ``(n,)`` (sorted-sample formula, O(m log m))."""
    x = np.sort(np.asarray(ensemble, float), axis=1)
    m = x.shape[1]
    first = np.abs(x - np.asarray(y, float)[:, None]).mean(axis=1)
    k = np.arange(1, m + 1)
    spread = ((2 * k - m - 1) * x).sum(axis=1) / m**2  # = ½ E|X - X'|
    return first - spread


def crps_pmf(pmf: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of distributions on ``0..K`` (rows of ``pmf``) against integer outcomes ``y``."""
    cdf = np.cumsum(pmf, axis=1)
    k = np.arange(pmf.shape[1])
    return ((cdf - (np.asarray(y)[:, None] <= k)) ** 2).sum(axis=1)


def pmf_median(pmf: np.ndarray) -> np.ndarray:
    """Median of each row's distribution on ``0..K``."""
    return np.argmax(np.cumsum(pmf, axis=1) >= 0.5, axis=1).astype(float)


def point_mass(values: np.ndarray, k_max: int) -> np.ndarray:
    """Distributions on ``0..k_max`` putting all mass on ``values`` (clipped)."""
    v = np.clip(np.round(values).astype(int), 0, k_max)
    out = np.zeros((len(v), k_max + 1))
    out[np.arange(len(v)), v] = 1.0
    return out


class Climatology:
    """Empirical count distribution per time-of-day bin (with add-one smoothing toward the overall one)."""

    def __init__(self, bin_min: int = 30) -> None:
        self.bin_min = bin_min

    def _bins(self, index: pd.DatetimeIndex) -> np.ndarray:
        return ((index.hour * 60 + index.minute) // self.bin_min).to_numpy()

    def fit(self, counts: pd.Series, k_max: int) -> Climatology:
        """Learn from a minute series of counts (NaN = missing)."""
        c = counts.dropna()
        v = np.clip(c.to_numpy().astype(int), 0, k_max)
        nb = 1440 // self.bin_min
        table = np.zeros((nb, k_max + 1))
        np.add.at(table, (self._bins(c.index), v), 1.0)
        overall = table.sum(axis=0) / table.sum()
        self.k_max = k_max
        self.pmf_ = (table + overall) / (table.sum(axis=1, keepdims=True) + 1.0)
        return self

    def pmf(self, when: pd.DatetimeIndex) -> np.ndarray:
        """Distributions for the given target times."""
        return self.pmf_[self._bins(pd.DatetimeIndex(when))]


def baseline_pmfs(clim: Climatology, now_counts: np.ndarray, targets: pd.DatetimeIndex,
                  w: float) -> dict[str, np.ndarray]:
    """Persistence, climatology and their ``w``-blend as distributions on ``0..K``."""
    pers = point_mass(now_counts, clim.k_max)
    cl = clim.pmf(targets)
    return {"persistence": pers, "climatology": cl, "blend": w * pers + (1 - w) * cl}


def tune_blend(clim: Climatology, counts: pd.Series, horizon_min: int,
               grid: np.ndarray | None = None) -> dict[str, float]:
    """Blend weights minimising CRPS (mixture), MAE (mixture median) and MSE (weighted mean) on ``counts``.

    ``counts`` are the training days' minute counts; every observed minute with an observed target
    ``horizon_min`` later is a training forecast.
    """
    grid = np.linspace(0.0, 1.0, 21) if grid is None else grid
    c = counts.dropna()
    target = counts.reindex(c.index + pd.Timedelta(minutes=horizon_min)).to_numpy()
    ok = ~np.isnan(target)
    now, y, when = c.to_numpy()[ok], target[ok], (c.index + pd.Timedelta(minutes=horizon_min))[ok]
    pers, cl = point_mass(now, clim.k_max), clim.pmf(when)
    mean_cl = cl @ np.arange(clim.k_max + 1)
    scores = {"crps": [], "mae": [], "mse": []}
    for w in grid:
        mix = w * pers + (1 - w) * cl
        scores["crps"].append(crps_pmf(mix, y).mean())
        scores["mae"].append(np.abs(pmf_median(mix) - y).mean())
        scores["mse"].append(((w * now + (1 - w) * mean_cl - y) ** 2).mean())
    return {k: float(grid[int(np.argmin(v))]) for k, v in scores.items()}


def block_bootstrap_diff(a: np.ndarray, b: np.ndarray, blocks: np.ndarray, *, n_boot: int = 2000,
                         seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a - b`` and its 95 % interval, resampling whole blocks (e.g. hours) with replacement."""
    d = np.asarray(a, float) - np.asarray(b, float)
    ids = np.unique(blocks)
    sums = np.array([d[blocks == i].sum() for i in ids])
    sizes = np.array([(blocks == i).sum() for i in ids])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(ids), (n_boot, len(ids)))
    boot = sums[pick].sum(axis=1) / sizes[pick].sum(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(d.mean()), float(lo), float(hi)


def score_forecasts(table: pd.DataFrame, ensembles: dict[int, np.ndarray], train_counts: pd.Series, *,
                    bin_min: int = 30) -> pd.DataFrame:
    """Per-forecast scores of the twin's ensembles and of the three baselines on the same forecasts.

    Args:
        table: :func:`syntwin.agents.live.replay` forecast table (held-out rows only).
        ensembles: Its occupancy ensembles per horizon, rows in the table's order.
        train_counts: Minute counts of the training days (climatology and blend weights; nothing else).
        bin_min: Climatology time-of-day bin.

    Returns:
        One row per forecast x method: ``time, horizon_min, method, crps, abs_error`` (of the median),
        ``sq_error`` (of the mean), ``changed`` (target count differs from the count now), ``in_band``
        (twin: the 90 % band covers the outcome) and ``blend_weight``.
    """
    out = []
    for h, ens in ensembles.items():
        sel = (table["horizon_min"] == h).to_numpy()
        t = table[sel].reset_index(drop=True)
        ok = t["observed"].notna().to_numpy()
        t, e = t[ok].reset_index(drop=True), ens[ok]
        if not len(t):
            continue
        y, now = t["observed"].to_numpy(), t["persistence"].to_numpy()
        k_max = int(max(np.nanmax(train_counts), y.max(), now.max(), e.max()))
        clim = Climatology(bin_min).fit(train_counts, k_max)
        w = tune_blend(clim, train_counts, h)
        when = pd.DatetimeIndex(t["target_time"])
        base = baseline_pmfs(clim, now, when, w["crps"])
        cl_mean = base["climatology"] @ np.arange(k_max + 1)
        mae_mix = w["mae"] * base["persistence"] + (1 - w["mae"]) * base["climatology"]
        methods = {
            "twin": (crps_ensemble(e, y), np.median(e, axis=1), e.mean(axis=1)),
            "persistence": (np.abs(now - y), now, now),
            "climatology": (crps_pmf(base["climatology"], y), pmf_median(base["climatology"]), cl_mean),
            "blend": (crps_pmf(base["blend"], y), pmf_median(mae_mix), w["mse"] * now + (1 - w["mse"]) * cl_mean),
        }
        band = (y >= t["lower"].to_numpy()) & (y <= t["upper"].to_numpy())
        for name, (crps, med, mean) in methods.items():
            out.append(pd.DataFrame({
                "time": t["time"], "horizon_min": h, "method": name, "crps": crps, "abs_error": np.abs(med - y),
                "sq_error": (mean - y) ** 2, "changed": y != now,
                "in_band": band if name == "twin" else np.nan, "blend_weight": w["crps"] if name == "blend" else np.nan,
            }))
    return pd.concat(out, ignore_index=True)


def summarize_scores(scores: pd.DataFrame, *, block_min: int = 120, seed: int = 0) -> pd.DataFrame:
    """CRPS, MAE, RMSE per horizon x subset (``all``, ``changed``) x method, and the twin's paired CRPS
    difference to the best baseline with a block-bootstrap 95 % interval (blocks of ``block_min``)."""
    rows = []
    for (h, subset), part in [((h, sub), g[g["changed"]] if sub == "changed" else g)
                              for h, g in scores.groupby("horizon_min") for sub in ("all", "changed")]:
        if part.empty:
            continue
        means = part.groupby("method").agg(n=("crps", "size"), crps=("crps", "mean"), mae=("abs_error", "mean"),
                                           mse=("sq_error", "mean"), coverage=("in_band", "mean"))
        best = means.drop(index="twin")["crps"].idxmin()
        twin = part[part["method"] == "twin"].sort_values("time", kind="stable")
        other = part[part["method"] == best].sort_values("time", kind="stable")
        blocks = pd.DatetimeIndex(twin["time"]).asi8 // (block_min * 60 * 10**9)
        d, lo, hi = block_bootstrap_diff(twin["crps"].to_numpy(), other["crps"].to_numpy(), blocks, seed=seed)
        for method, r in means.iterrows():
            row = {"horizon_min": int(h), "subset": subset, "method": method, "n": int(r["n"]),
                   "crps": float(r["crps"]), "mae": float(r["mae"]), "rmse": float(np.sqrt(r["mse"]))}
            if method == "twin":
                row.update(coverage_90=float(r["coverage"]), best_baseline=best, crps_diff=d, crps_diff_lo=lo,
                           crps_diff_hi=hi)
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["score_forecasts", "summarize_scores", "crps_ensemble", "crps_pmf", "pmf_median", "point_mass", "Climatology", "baseline_pmfs",
           "tune_blend", "block_bootstrap_diff"]
