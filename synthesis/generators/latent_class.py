"""Latent class model (mixture of product multinomials): SynTwin's generator, in numpy.

Every column is discretised to a categorical code ``x_j`` (numeric → quantile bins, missing →
its own code; the survival pair → one joint ``(time bin, event)`` cell), and the table is modelled
as a mixture of ``K`` classes within which the columns are independent:

.. math::
    p(x) = \\sum_{k=1}^{K} \\pi_k \\prod_{j} \\theta_{k j x_j}

(Dunson & Xing, JASA 2009; SynTwin, Moore et al., PSB 2024, used K=30 fitted by Gibbs sampling).
Here the parameters are the MAP estimate by EM with a Dirichlet prior shrinking each class towards
the column marginals, ``θ_kjl = (N_kjl + α m_jl) / (N_k + α)``, which is fast and deterministic.
Sampling draws a class, then each code; a bin code becomes a value drawn from the training values in
that bin (a joint survival cell gives a training time with that event status in that time bin), so
times are never negative and events never fall outside the observed follow-up pattern.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import logsumexp

from ._table import CATEGORICAL, EVENT, NUMERIC, ORDINAL, TIME
from .base import Generator, seed_rng


class _BinnedValues:
    """Quantile bins of a numeric column and the training values inside each bin (NaN = last code)."""

    _transient = ("codes",)  # per-training-row codes: needed while fitting only, never saved

    def __init__(self, x: np.ndarray, n_bins: int, group: np.ndarray | None = None) -> None:
        ok = ~np.isnan(x)
        uniq = np.unique(x[ok])
        if len(uniq) <= n_bins:
            self.edges = (uniq[:-1] + uniq[1:]) / 2.0
        else:
            q = np.quantile(x[ok], np.linspace(0.0, 1.0, n_bins + 1))[1:-1]
            self.edges = np.unique(q)
        n_value_bins = len(self.edges) + 1
        code = self._raw_code(x, n_value_bins)
        if group is not None:  # joint cell (bin, group), e.g. (time bin, event)
            code = code * 2 + group
            n_value_bins *= 2
        # compact to observed cells so the model never wastes mass on impossible ones
        self.cells, self.codes = np.unique(code, return_inverse=True)
        order = np.lexsort((x, self.codes))
        self.sorted_values = x[order]
        counts = np.bincount(self.codes, minlength=len(self.cells))
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.count = counts

    def _raw_code(self, x: np.ndarray, n_value_bins: int) -> np.ndarray:
        ok = ~np.isnan(x)
        code = np.full(len(x), n_value_bins, dtype=np.int64)
        code[ok] = np.searchsorted(self.edges, x[ok], side="right")
        return code

    @property
    def n_codes(self) -> int:
        return len(self.cells)

    def code_of(self, x: np.ndarray) -> np.ndarray:
        """Compact code of new values (no group); -1 where the bin was never observed."""
        raw = self._raw_code(np.asarray(x, dtype=np.float64), len(self.edges) + 1)
        pos = np.clip(np.searchsorted(self.cells, raw), 0, len(self.cells) - 1)
        return np.where(self.cells[pos] == raw, pos, -1)

    def fraction_at_most(self, h: float) -> np.ndarray:
        """Per code, the share of its training values that are <= h."""
        out = np.empty(len(self.cells))
        for i, (a, n) in enumerate(zip(self.start, self.count)):
            out[i] = np.searchsorted(self.sorted_values[a:a + n], h, side="right") / n
        return out

    def draw(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One training value from the bin of each code."""
        pick = self.start[codes] + np.floor(rng.random(len(codes)) * self.count[codes]).astype(np.int64)
        return self.sorted_values[pick]


class LatentClassGenerator(Generator):
    """Mixture of product multinomials over discretised columns (see the module docstring).

    Args:
        n_components: Number of latent classes ``K`` (SynTwin: 30).
        n_bins: Quantile bins per numeric column (columns with fewer distinct values keep them all).
        n_time_bins: Quantile bins of the survival time (joint with the event); default ``n_bins``.
        alpha: Dirichlet prior strength pulling each class towards the column marginals.
        max_iter: Maximum EM iterations.
        tol: Stop when the mean log-likelihood improves by less than this.
        n_init: EM restarts from different random starts; the best log-likelihood wins.

    Attributes:
        weights_: Class weights ``π`` (K,).
        probs_: Per column, class-conditional code probabilities ``θ`` (K, L_j).
        log_likelihood_: Mean log-likelihood per row of the retained fit.
        n_iter_: EM iterations of the retained fit.
    """

    def __init__(
        self,
        n_components: int = 30,
        *,
        n_bins: int = 10,
        n_time_bins: int | None = None,
        alpha: float = 1.0,
        max_iter: int = 300,
        tol: float = 1e-6,
        n_init: int = 1,
    ) -> None:
        self.n_components = n_components
        self.n_bins = n_bins
        self.n_time_bins = n_time_bins
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init

    # -- discretisation -------------------------------------------------------------------------
    def _discretise(self, codes: dict[str, np.ndarray]) -> None:
        spec = self.codec_.spec
        self.features_: list[str] = []  # modelled units: column names, or time for the survival cell
        self.binned_: dict[str, _BinnedValues] = {}
        self.n_codes_: list[int] = []
        X = []
        for c in self.codec_.columns:
            kind = spec.kind(c)
            if kind == EVENT and spec.time is not None:
                continue  # modelled jointly with time
            if kind in (ORDINAL, CATEGORICAL):
                X.append(codes[c])
                self.n_codes_.append(self.codec_.n_codes(c))
            elif kind == EVENT:
                X.append(codes[c])
                self.n_codes_.append(2)
            else:
                group = codes[spec.event] if (kind == TIME and spec.event is not None) else None
                nb = self.n_time_bins if (kind == TIME and self.n_time_bins) else self.n_bins
                b = _BinnedValues(codes[c], int(nb), group)
                self.binned_[c] = b
                X.append(b.codes)
                self.n_codes_.append(b.n_codes)
            self.features_.append(c)
        self._X = np.column_stack(X).astype(np.int64)

    # -- EM ---------------------------------------------------------------------------------------
    def _onehot(self, X: np.ndarray) -> sp.csr_matrix:
        offsets = np.concatenate([[0], np.cumsum(self.n_codes_)[:-1]])
        n, J = X.shape
        cols = (X + offsets).ravel()
        rows = np.repeat(np.arange(n), J)
        return sp.csr_matrix((np.ones(n * J), (rows, cols)), shape=(n, int(np.sum(self.n_codes_))))

    def _m_step(self, H: sp.csr_matrix, R: np.ndarray, marg: np.ndarray, bounds) -> tuple:
        Nk = R.sum(axis=0)
        counts = np.asarray(H.T @ R).T  # (K, D)
        theta = np.empty_like(counts)
        for a, b in bounds:
            theta[:, a:b] = (counts[:, a:b] + self.alpha * marg[a:b]) / (Nk[:, None] + self.alpha)
        w = (Nk + 1.0) / (Nk.sum() + len(Nk))
        return np.log(w), np.log(np.maximum(theta, 1e-300))

    def _em(self, H, marg, bounds, rng) -> tuple:
        K, (n, D) = int(self.n_components), H.shape
        # start: each class's θ drawn around the marginals (breaks the symmetry of equal classes)
        log_theta = np.empty((K, D))
        for a, b in bounds:
            log_theta[:, a:b] = np.log(rng.dirichlet(marg[a:b] * (b - a) + 1e-3, size=K) + 1e-12)
        log_w = np.full(K, -np.log(K))
        prev, ll, it = -np.inf, -np.inf, 0
        for it in range(1, int(self.max_iter) + 1):
            L = H @ log_theta.T + log_w  # (n, K)
            norm = logsumexp(L, axis=1, keepdims=True)
            ll = float(norm.mean())
            R = np.exp(L - norm)
            log_w, log_theta = self._m_step(H, R, marg, bounds)
            if ll - prev < self.tol:
                break
            prev = ll
        return ll, it, log_w, log_theta

    def _fit(self, codes: dict[str, np.ndarray], df: pd.DataFrame, seed: int) -> None:
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        if int(self.n_bins) < 1 or float(self.alpha) < 0:
            raise ValueError(f"n_bins must be >= 1 and alpha >= 0, got {self.n_bins}, {self.alpha}")
        self._discretise(codes)
        H = self._onehot(self._X)
        ends = np.cumsum(self.n_codes_)
        bounds = list(zip(np.concatenate([[0], ends[:-1]]), ends))
        marg = np.asarray(H.sum(axis=0)).ravel() / H.shape[0]
        best = None
        for i in range(max(1, int(self.n_init))):
            res = self._em(H, marg, bounds, seed_rng(seed, 1, i))
            if best is None or res[0] > best[0]:
                best = res
        ll, it, log_w, log_theta = best
        self.log_likelihood_, self.n_iter_ = ll, it
        self.weights_ = np.exp(log_w)
        theta = np.exp(log_theta)
        self.probs_ = [theta[:, a:b] / theta[:, a:b].sum(axis=1, keepdims=True) for a, b in bounds]
        del self._X

    # -- sampling ---------------------------------------------------------------------------------
    def _sample(self, n: int, seed: int) -> dict[str, np.ndarray]:
        rng = seed_rng(seed, 2)
        z = rng.choice(len(self.weights_), size=n, p=self.weights_ / self.weights_.sum())
        spec, out = self.codec_.spec, {}
        for c, P in zip(self.features_, self.probs_):
            cdf = np.cumsum(P[z], axis=1)
            code = np.minimum((rng.random(n)[:, None] * cdf[:, -1:] > cdf).sum(axis=1), P.shape[1] - 1)
            kind = spec.kind(c)
            if kind in (NUMERIC, TIME):
                b = self.binned_[c]
                out[c] = b.draw(code, rng)
                if kind == TIME and spec.event is not None:
                    out[spec.event] = b.cells[code] % 2
            else:
                out[c] = code
        return out

    # -- prediction -------------------------------------------------------------------------------
    def event_proba(self, df: pd.DataFrame, *, horizon: float | None = None) -> np.ndarray:
        """P(event | features) under the fitted model: the twin-kNN limit of infinitely many twins.

        .. math::
            P(E{=}1, T{\\le}h \\mid x) = \\sum_k P(k \\mid x)\\, \\sum_{c:\\,e(c)=1} \\theta_{k,c}\\, F_c(h),
            \\qquad P(k \\mid x) \\propto \\pi_k \\prod_{j \\in x} \\theta_{k j x_j}

        over the columns of ``df`` that the model knows (others, and the survival pair, are
        marginalised; unseen levels and never-observed bins are skipped), with ``F_c(h)`` the share of
        training times ``<= h`` in survival cell ``c`` (1 when ``horizon`` is None).

        Returns:
            (n,) probabilities.
        """
        if not hasattr(self, "weights_"):
            raise ValueError("LatentClassGenerator is not fitted: call fit(df, ...) first")
        spec = self.codec_.spec
        if spec.event is None:
            raise ValueError("event_proba needs a model fitted with event=")
        log_post = np.tile(np.log(self.weights_), (len(df), 1))
        target = None
        for c, P in zip(self.features_, self.probs_):
            if c in (spec.time, spec.event):
                target = (c, P)
                continue
            if c not in df.columns:
                continue
            kind = spec.kind(c)
            if kind in (NUMERIC, TIME):
                code = self.binned_[c].code_of(df[c].to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                code = self.codec_.encode_column(c, df[c], unknown=-1)
            known = code >= 0
            logp = np.log(np.maximum(P, 1e-300))
            log_post[known] += logp[:, code[known]].T
        post = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
        c, P = target
        if c == spec.event:
            if horizon is not None:
                raise ValueError("a horizon needs a model fitted with time= as well as event=")
            per_class = P[:, 1]
        else:
            b = self.binned_[c]
            weight = (b.cells % 2 == 1).astype(np.float64)
            if horizon is not None:
                weight = weight * b.fraction_at_most(float(horizon))
            per_class = P @ weight
        return post @ per_class
