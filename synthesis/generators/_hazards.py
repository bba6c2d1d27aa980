"""Survival of a latent class: piecewise-constant hazards of the event and of censoring, and the study's end.

A follow-up time is the first of three times: the event ``T``, a censoring ``C`` (loss to follow-up, a
competing death) and the administrative end of follow-up ``A`` (the study cutoff minus the diagnosis date).
``T`` and ``C`` have per-class hazards constant on time bins ``[e_b, e_{b+1})`` (the last bin open):

.. math::
    \\hat\\lambda_{kb} = \\frac{\\sum_i r_{ik} d_{ib} + \\alpha D_b / n}{\\sum_i r_{ik} x_{ib} + \\alpha X_b / n},
    \\qquad
    \\hat\\mu_{kb} = \\frac{\\sum_i r_{ik} c_{ib} + \\alpha C_b / n}{\\sum_i r_{ik} x_{ib} + \\alpha X_b / n}

with ``r_ik`` the class responsibilities, ``x_ib`` the time patient ``i`` spent in bin ``b``, ``d_ib`` / ``c_ib``
an event / a censoring in the bin (the piecewise-exponential maximum likelihood, shrunk towards the pooled
hazards by ``α`` pseudo-patients). A patient censored by the study's end is exposure without a censoring:
``A`` is known from the diagnosis year, not modelled. Sampling walks the competing hazards (exact
inverse of the cumulative hazard) and stops at the twin's own ``A``, drawn from its diagnosis year with the
day uniform in the year — so a twin's follow-up depends on its year as a real patient's does, and never
exceeds the cutoff: the follow-up rule holds by construction, no draw is rejected. Without a follow-up rule
the longest observed follow-up plays ``A``'s part (twins never outlive the data).

Whole-month times (SEER's floor of the follow-up) are read as the middle of their month and floored back.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

DAYS_PER_MONTH = 365.25 / 12
GROUP_PRIOR = 20.0  # pseudo-patients pulling a (class, group) hazard towards its class's


def months_to_cutoff(year: np.ndarray, cutoff: str) -> np.ndarray:
    """Exact months from 1 January of ``year`` to ``cutoff`` (NaN year → +inf)."""
    year = np.asarray(year, dtype=np.float64)
    ok = np.isfinite(year)
    start = pd.to_datetime({"year": np.where(ok, year, 1970).astype(int), "month": 1, "day": 1})
    days = (pd.Timestamp(str(cutoff)) - start).dt.days.to_numpy(np.float64)
    return np.where(ok, days / DAYS_PER_MONTH, np.inf)


class CompetingHazards:
    """Per-class piecewise-constant event and censoring hazards (see the module docstring)."""

    _transient = ("design",)  # per-training-row design: fitting only

    def __init__(self, time: np.ndarray, event: np.ndarray, n_bins: int, admin: np.ndarray | None) -> None:
        time = np.asarray(time, dtype=np.float64)
        event = np.asarray(event, dtype=np.int64)
        self.integer = bool(np.all(time == np.round(time)))
        t = time + 0.5 if self.integer else time
        self.t_max = float(t.max()) if len(t) else 0.0
        # bins fine where the events are and where the follow-up ends (quantiles of the event times and of all
        # times); no event after the last observed one (the open last bin starts there, with no event in it)
        inner = np.linspace(0, 1, int(n_bins) + 1)[1:-1]
        q = [np.quantile(x, inner) + (0.5 if self.integer else 0.0) for x in (t[event == 1], t) if len(x)]
        last_event = [t[event == 1].max() + (0.5 if self.integer else 1e-9)] if event.any() else []  # in t's units
        self.edges = np.unique(np.concatenate([[0.0], *q, last_event]))
        last = np.searchsorted(self.edges, t, side="right") - 1  # each patient's last bin
        # censored within the last year of possible follow-up = censored by the study's end, not a loss
        by_study_end = np.zeros(len(t), bool) if admin is None else (event == 0) & (t >= admin - 12.0)
        died, lost = event == 1, (event == 0) & ~by_study_end
        # design: per patient, 1 / time spent / event / loss in its last bin (its bins before are whole)
        B, rows = len(self.edges), np.arange(len(t))
        values = np.column_stack([np.ones(len(t)), t - self.edges[last], died, lost]).ravel()
        cols = (last[:, None] + B * np.arange(4)).ravel()
        self.design = sp.csr_matrix((values, (np.repeat(rows, 4), cols)), shape=(len(t), 4 * B))
        self.design.eliminate_zeros()

    def _counts(self, resp: np.ndarray, design: sp.csr_matrix) -> np.ndarray:
        """(K, 4B) per class: patients ending in each bin, their time in it, events, losses.

        Over the rows of ``design``, each weighted by its row of ``resp``.
        """
        return np.asarray(design.T @ resp).T

    def _rates(self, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """(K, B) exposure, events and losses from the per-bin counts ``s`` of :meth:`_counts`."""
        B = len(self.edges)
        ending, partial, events, lost = (s[:, i * B:(i + 1) * B] for i in range(4))
        later = np.cumsum(ending[:, ::-1], axis=1)[:, ::-1] - ending  # patients ending after bin b
        exposure = later * np.append(np.diff(self.edges), 0.0) + partial
        return exposure, events, lost

    def _sums(self, resp: np.ndarray, design: sp.csr_matrix | None = None) -> tuple[np.ndarray, ...]:
        """(K, B) exposure, events and losses of the rows of ``design`` (all), weighted by ``resp`` (n, K)."""
        return self._rates(self._counts(resp, self.design if design is None else design))

    def fit(self, blocks: Iterable[tuple[slice, np.ndarray]], alpha: float, groups: np.ndarray | None = None,
            n_groups: int = 1) -> CompetingHazards:
        """Per-class hazards from the responsibilities, given as row blocks ``(rows, resp)`` in row order.

        ``resp`` is the block's (rows, K) responsibilities. With ``groups`` (codes of one column), per class
        and group too, each shrunk towards its class's hazards by :data:`GROUP_PRIOR` pseudo-patients.
        The counts are summed block by block, so only one block's responsibilities need to exist at a time
        (for a whole (n, K) array pass ``[(slice(0, n), resp)]``).
        """
        n = self.design.shape[0]
        s = Nk = None
        s_group: list = [None] * int(n_groups)
        for rows, resp in blocks:
            design = self.design[rows]
            part = self._counts(resp, design)
            s, Nk = (part, resp.sum(axis=0)) if s is None else (s + part, Nk + resp.sum(axis=0))
            if groups is None:
                continue
            g_rows = groups[rows]
            for g in range(int(n_groups)):
                # only the group's rows: the others would add exact zeros to the same sums
                sel = np.flatnonzero(g_rows == g)
                part = self._counts(resp[sel], design[sel])
                s_group[g] = part if s_group[g] is None else s_group[g] + part
        if s is None:
            raise ValueError("CompetingHazards.fit needs at least one block of responsibilities")
        X, D, C = self._rates(s)
        pooled = self._rates(np.asarray(self.design.sum(axis=0)))
        px, pd_, pc = (m[0] * alpha / max(n, 1) for m in pooled)
        denom = np.maximum(X + px, 1e-12)
        self.event_rate, self.censor_rate = (D + pd_) / denom, (C + pc) / denom
        self.group_event_rate = self.group_censor_rate = None
        if groups is not None:
            per_patient = X / np.maximum(Nk, 1e-12)[:, None]  # a class patient's mean exposure
            prior = GROUP_PRIOR * per_patient
            rates = []
            for g in range(int(n_groups)):
                if s_group[g] is None:
                    Xg = Dg = Cg = np.zeros_like(X)
                else:
                    Xg, Dg, Cg = self._rates(s_group[g])
                d = np.maximum(Xg + prior, 1e-12)
                rates.append(((Dg + prior * self.event_rate) / d, (Cg + prior * self.censor_rate) / d))
            self.group_event_rate = np.stack([r[0] for r in rates])  # (G, K, B)
            self.group_censor_rate = np.stack([r[1] for r in rates])
        return self

    def draw(self, z: np.ndarray, admin: np.ndarray | None, rng: np.random.Generator,
             groups: np.ndarray | None = None, rows: int = 262_144) -> tuple[np.ndarray, np.ndarray]:
        """(time, event) of twins of classes ``z`` (and ``groups``), followed until their study end ``admin``.

        The random numbers are drawn for all twins first; the (twins, bins) hazard arrays are then formed
        ``rows`` twins at a time (each twin's draw depends on its own row only: the same for any block size).
        """
        n = len(z)
        e, u = rng.standard_exponential(n), rng.random(n)
        end = np.full(n, self.t_max) if admin is None else np.minimum(admin, np.inf)
        end = np.where(np.isfinite(end), end, self.t_max)
        time, event = np.empty(n), np.empty(n, dtype=np.int64)
        for a in range(0, n, rows):
            block = slice(a, a + rows)
            g = None if groups is None else groups[block]
            time[block], event[block] = self._walk(z[block], g, e[block], u[block], end[block])
        if self.integer:
            time = np.floor(np.maximum(time, 0.0))
        return time, event

    def _walk(self, z: np.ndarray, groups: np.ndarray | None, e: np.ndarray, u: np.ndarray,
              end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact inverse of the cumulative competing hazard at ``e ~ Exp(1)``; the event if ``u·(λ+μ) < λ``."""
        n = len(z)
        if groups is None or self.group_event_rate is None:
            lam, mu = self.event_rate[z], self.censor_rate[z]  # (n, B)
        else:
            g = np.clip(groups, 0, len(self.group_event_rate) - 1)
            lam, mu = self.group_event_rate[g, z], self.group_censor_rate[g, z]
        rate = lam + mu
        width = np.diff(np.append(self.edges, np.inf))
        with np.errstate(invalid="ignore"):
            cum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(rate > 0, rate * width, 0.0), axis=1)], axis=1)
        b = np.minimum((e[:, None] >= cum[:, 1:]).sum(axis=1), len(self.edges) - 1)
        r = rate[np.arange(n), b]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(r > 0, self.edges[b] + (e - cum[np.arange(n), b]) / r, np.inf)
        is_event = u * r < lam[np.arange(n), b]
        stopped = t >= end
        return np.where(stopped, end, t), (is_event & ~stopped).astype(np.int64)

    def incidence(self, horizon: float | None) -> np.ndarray:
        """(K,) probability of an event by ``horizon`` (default: the longest follow-up) under each class.

        ``∫_0^h λ(t) exp(−∫_0^t (λ+μ)) dt``: the share of twins with an event by ``h`` when only censoring
        ``C`` stops follow-up (no study end).
        """
        h = self.t_max if horizon is None else float(horizon) + (1.0 if self.integer else 0.0)
        lo = self.edges
        dt = np.clip(np.minimum(np.append(lo[1:], np.inf), h) - lo, 0.0, None)  # time within each bin by h
        rate = self.event_rate + self.censor_rate
        before = np.concatenate([np.zeros((rate.shape[0], 1)), np.cumsum(rate * dt, axis=1)[:, :-1]], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(rate > 0, self.event_rate / rate, 0.0) * -np.expm1(-rate * dt)
        return (np.exp(-before) * share).sum(axis=1)
