r"""The three WP29 re-identification risks measured by attacks, after Giomi et al. (PETS 2023).

Our own implementation of the attacks of the ``anonymeter`` package (which cannot be a dependency:
anonymeter 1.1 pins numpy < 1.27 and pyarrow < 22). Each attack is run on ``n_attacks`` training
patients (main attack) and on as many holdout patients (control attack); the synthetic twins are
all the attacker has. With success rates ``r_main`` and ``r_control`` (Wilson score estimates,
95 %), the risk is

.. math:: R = \\frac{r_{main} - r_{control}}{1 - r_{control}},

the share of successes that only knowledge of the training rows explains, with the error of
both rates propagated into a 95 % interval. The control and training sets are compared at equal size.

* **singling out** (multivariate): a predicate built from ``n_cols`` random attributes of a twin
  (``==`` for categories, ``<=``/``>=`` at the twin's value for numbers) that matches exactly one
  twin; success when it matches exactly one record of the attacked set.
* **linkability**: the attacker knows columns ``A`` of a target in one place and ``B`` in another;
  success when the ``n_neighbors`` nearest twins on ``A`` and on ``B`` share a twin (as anonymeter,
  default 10 neighbours; the twins are shuffled first, so ties are broken at random rather than by
  row order).
* **inference**: the attacker knows every column but ``secret``; the guess is the secret of the
  nearest twin on the known columns; success when equal (categories) or within a relative
  tolerance (numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from syntwin.graphs.encode import MixedEncoder
from syntwin.graphs.knn import nearest

Z95 = 1.959964
Z80 = 0.841621


@dataclass(frozen=True)
class Risk:
    """An attack-based risk with its 95 % interval and the raw counts."""

    risk: float
    ci_low: float
    ci_high: float
    main_rate: float
    control_rate: float
    n_main: int
    n_control: int
    error: float = 1.0
    """Propagated 95 % half-width before clipping (what attack sizing aims to shrink)."""

    @property
    def detectable(self) -> float:
        """Smallest risk this test detects with 80 % power at the 5 % level: ``(z_0.975 + z_0.8) se``."""
        return (Z95 + Z80) * self.error / Z95

    def to_dict(self) -> dict[str, float]:
        """Return a rounded plain form."""
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        return out | {"detectable": round(self.detectable, 4)}


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score centre and half-width of a success rate."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return float(centre), float(half)


def risk_from_counts(main_ok: int, n_main: int, control_ok: int, n_control: int) -> Risk:
    """Risk ``(r_main - r_control) / (1 - r_control)`` with a propagated 95 % interval, clipped to [0, 1]."""
    m, em = wilson(main_ok, n_main)
    c, ec = wilson(control_ok, n_control)
    c = min(c, 1 - 1e-9)
    r = (m - c) / (1 - c)
    err = float(np.hypot(em / (1 - c), (1 - m) * ec / (1 - c) ** 2))
    clip = lambda v: float(min(max(v, 0.0), 1.0))  # noqa: E731
    return Risk(clip(r), clip(r - err), clip(r + err), m, c, int(n_main), int(n_control), err)


# --------------------------------------------------------------------------- singling out
def _codes(frames: Sequence[pd.DataFrame], columns: Sequence[str], numeric: set[str]) -> list[np.ndarray]:
    """Each frame as a float matrix: numbers as such, categories as shared integer codes (NaN stays NaN)."""
    outs = [np.empty((len(f), len(columns)), dtype=np.float64) for f in frames]
    for j, c in enumerate(columns):
        if c in numeric:
            for o, f in zip(outs, frames, strict=True):
                o[:, j] = f[c].to_numpy(dtype=np.float64)
            continue
        cats = pd.Index(pd.unique(pd.concat([f[c].astype("string") for f in frames]).dropna()))
        for o, f in zip(outs, frames, strict=True):
            codes = cats.get_indexer(f[c].astype("string")).astype(np.float64)
            codes[f[c].isna().to_numpy()] = np.nan
            o[:, j] = codes
    return outs


def _match_counts(
    data: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """Rows of ``data`` matching each conjunctive query (op 0: ==, 1: <=, 2: >=; NaN matches NaN).

    Each predicate is the interval ``lo <= x <= hi`` (``lo = hi = v`` for ==), so one pass of two
    comparisons per attribute tests a chunk of queries against every row.
    """
    lo = np.where(ops == 1, -np.inf, vals).astype(np.float32)
    hi = np.where(ops == 2, np.inf, vals).astype(np.float32)
    data32 = data.astype(np.float32)
    has_nan = bool(np.isnan(vals).any())
    counts = np.empty(len(cols), dtype=np.int64)
    for s in range(0, len(cols), chunk):
        c, l_, h_ = cols[s : s + chunk], lo[s : s + chunk], hi[s : s + chunk]
        hit = np.ones((len(data32), len(c)), dtype=bool)
        for j in range(c.shape[1]):
            x = data32[:, c[:, j]]
            m = (x >= l_[:, j]) & (x <= h_[:, j])
            if has_nan:
                m |= np.isnan(x) & np.isnan(l_[:, j])
            hit &= m
        counts[s : s + chunk] = hit.sum(axis=0)
    return counts


def singling_out_risk(
    twins: pd.DataFrame,
    train: pd.DataFrame,
    control: pd.DataFrame,
    columns: Sequence[str],
    *,
    numeric: Sequence[str],
    rng: np.random.Generator,
    n_attacks: int = 2_000,
    n_cols: int = 3,
    max_rows: int = 10_000,
) -> Risk:
    """Multivariate singling-out risk (see the module docstring).

    ``train`` and ``control`` are cut to the same size (at most ``max_rows``); queries come from
    at most ``max_rows`` twins. Queries start with ``n_cols`` attributes; while fewer than
    ``n_attacks`` distinct queries single out a twin, the attacker adds attributes (as one would
    against data where short predicates rarely isolate anyone).
    """
    columns = list(columns)
    m = min(len(train), len(control), max_rows)
    tr = train.iloc[np.sort(rng.choice(len(train), m, replace=False))]
    co = control.iloc[np.sort(rng.choice(len(control), m, replace=False))]
    sy = (
        twins
        if len(twins) <= max_rows
        else twins.iloc[np.sort(rng.choice(len(twins), max_rows, replace=False))]
    )
    num = set(numeric)
    s_x, t_x, c_x = _codes([sy, tr, co], columns, num)
    is_num = np.array([c in num for c in columns])
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    seen: set[bytes] = set()
    have = 0
    width, tries = min(n_cols, len(columns)), 0
    while have < n_attacks and tries < 4 * len(columns):
        tries += 1
        batch = max(n_attacks - have, 256)
        rows = rng.integers(0, len(s_x), batch)
        cols = np.sort(np.argsort(rng.random((batch, len(columns))), axis=1)[:, :width], axis=1)
        ops = np.where(is_num[cols], rng.integers(1, 3, cols.shape), 0)
        vals = s_x[rows[:, None], cols]
        key = np.concatenate([cols, ops, np.nan_to_num(vals, nan=-1e300)], axis=1)
        new = [
            i
            for i in np.flatnonzero(_match_counts(s_x, cols, ops, vals) == 1)
            if (b := key[i].tobytes()) not in seen and not seen.add(b)
        ]
        parts.append((cols[new], ops[new], vals[new]))
        have += len(new)
        if len(new) < batch // 50 and width < len(columns):  # widen only when queries rarely single out
            width += 1
    main = ctrl = n = 0
    for cols, ops, vals in parts:
        cols, ops, vals = cols[: n_attacks - n], ops[: n_attacks - n], vals[: n_attacks - n]
        if len(cols):
            main += int((_match_counts(t_x, cols, ops, vals) == 1).sum())
            ctrl += int((_match_counts(c_x, cols, ops, vals) == 1).sum())
            n += len(cols)
    return risk_from_counts(main, n, ctrl, n)


# --------------------------------------------------------------------------- linkability, inference
def _encoder(columns: Sequence[str], numeric: set[str], frames: Sequence[pd.DataFrame]) -> MixedEncoder:
    """Fit a Gower encoder over ``columns`` (non-numeric ones as categories) fitted on all ``frames``."""
    enc = MixedEncoder(
        numeric=[c for c in columns if c in numeric], categorical=[c for c in columns if c not in numeric]
    )
    return enc.fit(pd.concat([f[list(columns)] for f in frames], ignore_index=True))


def _targets(
    train: pd.DataFrame, control: pd.DataFrame, n: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = min(n, len(train), len(control))
    return (
        train.iloc[np.sort(rng.choice(len(train), n, replace=False))],
        control.iloc[np.sort(rng.choice(len(control), n, replace=False))],
    )


def linkability_risk(
    twins: pd.DataFrame,
    train: pd.DataFrame,
    control: pd.DataFrame,
    aux_a: Sequence[str],
    aux_b: Sequence[str],
    *,
    numeric: Sequence[str],
    rng: np.random.Generator,
    n_attacks: int = 2_000,
    n_neighbors: int = 10,
    client: Any = None,
    encoder: Callable[[Sequence[str]], MixedEncoder] | None = None,
) -> Risk:
    """Linkability risk of records split into columns ``aux_a`` and ``aux_b`` (disjoint).

    ``encoder(columns)`` gives the fitted Gower encoder of a column set (default: fitted on the twins, ``train``
    and ``control`` together, numbers in ``numeric`` as such, other columns as categories).
    """
    if set(aux_a) & set(aux_b) or not aux_a or not aux_b:
        raise ValueError(f"linkability needs two non-empty disjoint column sets, got {aux_a} and {aux_b}")
    num = set(numeric)
    tr, co = _targets(train, control, n_attacks, rng)
    targets = pd.concat([tr, co], ignore_index=True)
    shuffled = twins.iloc[rng.permutation(len(twins))]  # random tie-breaking among equidistant twins
    nn = []
    for cols in (aux_a, aux_b):  # one search for both target sets: rows are searched independently
        enc = encoder(cols) if encoder else _encoder(cols, num, [twins, train, control])
        idx, _ = nearest(
            enc.transform(shuffled), enc.transform(targets), min(n_neighbors, len(twins)), client=client
        )
        nn.append(idx)
    linked = (nn[0][:, :, None] == nn[1][:, None, :]).any(axis=(1, 2))
    return risk_from_counts(int(linked[: len(tr)].sum()), len(tr), int(linked[len(tr) :].sum()), len(co))


def inference_risk(
    twins: pd.DataFrame,
    train: pd.DataFrame,
    control: pd.DataFrame,
    aux: Sequence[str],
    secret: str,
    *,
    numeric: Sequence[str],
    rng: np.random.Generator,
    n_attacks: int = 2_000,
    tolerance: float = 0.05,
    client: Any = None,
    encoder: Callable[[Sequence[str]], MixedEncoder] | None = None,
) -> Risk:
    """Measure the inference risk of ``secret`` from ``aux`` (numbers: within relative ``tolerance``).

    ``encoder`` as in :func:`linkability_risk`.
    """
    if secret in aux or not aux:
        raise ValueError(f"inference needs known columns without the secret {secret!r}, got {list(aux)}")
    num = set(numeric)
    enc = encoder(aux) if encoder else _encoder(aux, num, [twins, train, control])
    tr, co = _targets(train, control, n_attacks, rng)
    shuffled = twins.iloc[rng.permutation(len(twins))]  # the nearest of tied twins is a random one
    ref = enc.transform(shuffled)
    truth_syn = shuffled[secret].to_numpy()
    targets = pd.concat([tr, co], ignore_index=True)
    idx, _ = nearest(ref, enc.transform(targets), 1, client=client)
    guess, truth = truth_syn[idx[:, 0]], targets[secret].to_numpy()
    if secret in num:
        g, t = guess.astype(float), truth.astype(float)
        ok = np.abs(g - t) <= tolerance * np.abs(t)
    else:
        ok = pd.Series(guess).astype("string").to_numpy() == pd.Series(truth).astype("string").to_numpy()
    return risk_from_counts(int(ok[: len(tr)].sum()), len(tr), int(ok[len(tr) :].sum()), len(co))


def attacks_for_width(half_width: float, rate: float = 0.5) -> int:
    """Attacks per side so that each success rate's 95 % half-width is about ``half_width``."""
    return int(np.ceil(Z95**2 * rate * (1 - rate) / half_width**2))


__all__ = [
    "Risk",
    "wilson",
    "risk_from_counts",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "attacks_for_width",
]
