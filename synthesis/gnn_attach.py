"""Inductive GraphSAGE scores of new patients attached to a fitted training graph, block by block.

A new node ``q`` joins the fitted graph through its ``k`` nearest training nodes only (edges from ``q`` to
training nodes; none back, none between new nodes), GraphSAGE's inductive setting (Hamilton, Ying & Leskovec,
NeurIPS 2017, §3.1). The training nodes' layer states ``H^l`` are those of the fitted graph, so they do not
depend on which or how many patients are scored, and for ``l = 1..L``

.. math::
    h_q^{l} = \\mathrm{ReLU}\\Big(W_r^{l} h_q^{l-1} + W_n^{l} \\sum_j a_{qj} H_j^{l-1} + b^{l}\\Big), \\qquad
    a_{qj} = s_{qj} \\big/ \\textstyle\\sum_{j'} s_{qj'}, \\quad s_{qj} = \\max(0,\\ 1 - d_{qj} / d_{\\max})

with ``d_max`` the fitted graph's largest edge distance (the one its own weights use; uniform weights where
all ``s`` are 0, as in :func:`~syntwin.synthesis.gnn.knn_adjacency`); ``aggr="max"`` takes the element-wise
maximum over the neighbours instead. A score depends only on the patient's own row and its neighbours, so
query blocks can be scored on any worker: with a fixed block size and thread count, the same bytes.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["AttachedScorer"]


class AttachedScorer:
    """The fitted network with the training graph's layer inputs ``H^0..H^{L-1}``: scores new patients.

    Made by :meth:`~syntwin.synthesis.gnn.GraphSAGEClassifier.attached_scorer`; holds numpy arrays, the
    network's ``state_dict`` and its shape (``net``: the arguments of ``_make_net``), so it pickles (one copy
    per Dask worker when passed as a future); the network is rebuilt on first use.
    """

    def __init__(self, state: dict, net: tuple, states: list[np.ndarray], mu: np.ndarray, sd: np.ndarray,
                 d_max: float, threads: int | None) -> None:
        self.state, self.net, self.states, self.mu, self.sd = state, net, states, mu, sd
        self.d_max, self.aggr, self.threads = float(d_max), net[-1], threads
        self._model = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_model": None}

    @property
    def model(self):
        """The fitted network (eval mode), rebuilt from ``state`` in this process."""
        if self._model is None:
            from .gnn import _make_net

            self._model = _make_net(*self.net)
            self._model.load_state_dict(self.state)
            self._model.eval()
        return self._model

    @property
    def n_nodes(self) -> int:
        """Training nodes the new patients attach to."""
        return len(self.states[0])

    def adjacency(self, neighbors: np.ndarray, distances: np.ndarray | None):
        """``(m, n_nodes)`` CSR aggregation matrix of the queries: row-normalised ``s`` ("mean"), 0/1 ("max").

        Negative indices and non-finite distances are dropped; a query left without a neighbour aggregates
        nothing (its score then rests on its own features).
        """
        import torch

        nb = np.asarray(neighbors, dtype=np.int64)
        m, k = nb.shape
        if nb.size and nb.max() >= self.n_nodes:
            raise ValueError(f"neighbors holds node {int(nb.max())} but the graph has {self.n_nodes} nodes")
        d = np.zeros(nb.shape) if distances is None else np.asarray(distances, dtype=np.float64)
        ok = (nb >= 0) & np.isfinite(d)
        rows = np.repeat(np.arange(m, dtype=np.int64), k).reshape(m, k)[ok]
        cols = nb[ok]
        if self.aggr == "max":
            w = np.ones(len(cols))
        else:
            s = np.ones(len(cols)) if self.d_max <= 0 else np.maximum(0.0, 1.0 - d[ok] / self.d_max)
            tot = np.bincount(rows, weights=s, minlength=m)
            s = np.where(tot[rows] > 0, s, 1.0)  # all neighbours at or beyond d_max: uniform weights
            w = s / np.bincount(rows, weights=s, minlength=m)[rows]
        crow = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=m), out=crow[1:])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols),
                                           torch.from_numpy(w.astype(np.float32)), (m, self.n_nodes))

    def predict_proba(self, x: np.ndarray, neighbors: np.ndarray, distances: np.ndarray | None = None,
                      *, adjacency=None) -> np.ndarray:
        """P(y = 1) of each query row of ``x`` (float64), from its ``neighbors`` among the training nodes.

        ``adjacency`` (an ``(m, n_nodes)`` CSR tensor) replaces the one built from ``neighbors`` and
        ``distances``:
        with the fitted graph's own rows it gives the fitted graph's transductive scores.
        """
        import torch

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mu):
            raise ValueError(f"x must be (m, {len(self.mu)}), got shape {x.shape}")
        adj = self.adjacency(neighbors, distances) if adjacency is None else adjacency
        h = torch.from_numpy(((x - self.mu) / self.sd).astype(np.float32))
        old = torch.get_num_threads()
        try:
            if self.threads is not None:
                torch.set_num_threads(int(self.threads))
            self.model.eval()
            with torch.no_grad():
                for conv, state in zip(self.model.convs, self.states, strict=True):
                    h = conv((torch.from_numpy(state), h), adj).relu()
                return torch.sigmoid(self.model.head(h).squeeze(-1)).numpy().astype(np.float64)
        finally:
            torch.set_num_threads(old)
