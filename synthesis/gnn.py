"""Transductive outcome prediction with GraphSAGE on a patient-similarity kNN graph.

Nodes are real training patients, optional synthetic twins and the held-out query patients; every node
carries its encoded feature vector, only training (and validation) nodes carry a label. Edges are the
symmetrised kNN lists weighted by similarity ``1 - d / max d`` (:func:`knn_adjacency`), so a query
patient's prediction mixes its own features with those of its labelled and unlabelled neighbours.

torch and torch_geometric are imported lazily, so ``import syntwin.synthesis`` stays light.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

__all__ = ["GraphSAGEClassifier", "knn_adjacency", "knn_graph_union"]

AGGRS = ("mean", "max")
MONITORS = ("auroc", "loss")
_DEFAULTS = dict(hidden=64, layers=2, dropout=0.2, lr=0.01, weight_decay=5e-4, epochs=200, patience=20,
                 tol=1e-4, aggr="mean", monitor="auroc", threads=None, seed=0)


def knn_graph_union(blocks: list[np.ndarray], k: int, *, metric: str = "l1", method: str = "auto",
                    client=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """KNN lists of every node over all nodes of the stacked blocks, each node excluding itself.

    Node ``i`` of the result is row ``i`` of ``np.vstack(blocks)`` (e.g. real training patients, then
    twins, then queries). Thin wrapper over :func:`syntwin.graphs.knn.nearest` with ``exclude_self``.

    Args:
        blocks: 2-D float arrays with one column count.
        k: neighbours per node (``1 <= k < total rows``).
        metric: as in :func:`~syntwin.graphs.knn.nearest`.
        method: as in :func:`~syntwin.graphs.knn.nearest`.
        client: as in :func:`~syntwin.graphs.knn.nearest`.
        seed: as in :func:`~syntwin.graphs.knn.nearest`.

    Returns:
        ``(neighbors int64 (n, k), distances float32 (n, k))``.

    """
    from syntwin.graphs.knn import nearest

    if not isinstance(blocks, (list, tuple)) or not blocks:
        raise ValueError("blocks must be a non-empty list of 2-D arrays")
    widths = {np.shape(b)[1] if np.ndim(b) == 2 else None for b in blocks}
    if len(widths) != 1 or None in widths:
        raise ValueError(f"blocks must be 2-D arrays with one column count, got shapes "
                         f"{[np.shape(b) for b in blocks]}")
    x = np.ascontiguousarray(np.vstack(blocks), dtype=np.float32)
    return nearest(x, None, k, metric=metric, method=method, client=client, seed=seed, exclude_self=True)


def knn_adjacency(neighbors: np.ndarray, distances: np.ndarray | None = None, *, normalize: bool = True):
    """Symmetrised, similarity-weighted, row-normalised adjacency as a ``torch.sparse_csr_tensor``.

    Edge ``{i, j}`` exists when ``j`` is among the neighbours of ``i`` or ``i`` among those of ``j``
    (one edge, at the smaller distance). With ``d_max`` the largest distance over all edges,

    .. math::
        s_{ij} = 1 - d_{ij} / d_{\\max}, \\qquad A_{ij} = s_{ij} \\big/ \\textstyle\\sum_{l} s_{il}

    (``s = 1`` when ``distances`` is None or ``d_max = 0``; a row whose similarities are all 0 gets
    uniform weights). Negative indices, non-finite distances and self loops are dropped.

    Args:
        neighbors: ``(n, k)`` integer node indices in ``[0, n)`` (negative = missing).
        distances: ``(n, k)`` distances, or None for uniform weights.
        normalize: row-normalise (rows sum to 1; rows without edges stay 0); else the symmetric ``s``.

    Returns:
        ``(n, n)`` float32 ``torch.sparse_csr_tensor``; row ``i`` holds the weights of ``i``'s neighbours.

    """
    import torch

    nb = _check_neighbors(neighbors)
    n, k = nb.shape
    d = _check_distances(distances, nb.shape)
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = nb.reshape(-1)
    dist = d.reshape(-1)
    ok = (dst >= 0) & (dst != src) & np.isfinite(dist)
    rows = np.concatenate([src[ok], dst[ok]])
    cols = np.concatenate([dst[ok], src[ok]])
    dist = np.concatenate([dist[ok], dist[ok]])
    key = rows * n + cols
    order = np.argsort(key, kind="stable")
    key, dist = key[order], dist[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    dist = np.minimum.reduceat(dist, starts) if len(dist) else dist
    key = key[starts]
    rows, cols = key // n, key % n
    dmax = float(dist.max()) if len(dist) else 0.0
    w = np.ones(len(dist)) if dmax <= 0 else 1.0 - dist.astype(np.float64) / dmax
    if normalize:
        tot = np.bincount(rows, weights=w, minlength=n)
        dead = tot[rows] <= 0
        w[dead] = 1.0  # all neighbours at d_max: fall back to uniform weights
        tot = np.bincount(rows, weights=w, minlength=n)
        w = w / tot[rows]
    crow = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=crow[1:])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols),
                                       torch.from_numpy(w.astype(np.float32)), (n, n),
                                       check_invariants=True)


class GraphSAGEClassifier:
    """Binary node classifier: GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017), full batch, transductive.

    Layer ``l`` (``l = 1..L``, ``h^0`` = standardised features) and the output:

    .. math::
        h_i^{l} = \\mathrm{ReLU}\\Big(W_r^{l} h_i^{l-1} + W_n^{l} \\sum_j A_{ij} h_j^{l-1} + b^{l}\\Big),
        \\qquad \\hat p_i = \\sigma\\big(w^\\top h_i^{L} + c\\big)

    with ``A`` from :func:`knn_adjacency` (``aggr="mean"``: similarity-weighted mean of the neighbours;
    ``aggr="max"``: element-wise max over the neighbours, unweighted). The layers are PyG's ``SAGEConv``,
    which in torch_geometric 2.8 accepts a ``torch.sparse_csr_tensor`` adjacency and aggregates with
    ``torch.sparse.mm`` (checked: forward and backward, ``sum`` and ``max``); "mean" runs SAGEConv's
    ``sum`` over the row-normalised ``A``. Dropout precedes every layer and the head.

    Training minimises the (optionally ``sample_weight``-weighted) binary cross-entropy on the
    ``train_mask`` nodes with Adam; after every epoch the validation AUROC (``monitor="auroc"``) or loss
    on the ``val_mask`` nodes is measured, training stops after ``patience`` epochs without an
    improvement larger than ``tol`` and the best epoch's weights are restored. Features are standardised
    over all nodes (no labels used).
    Runs are reproducible: the global torch RNG is forked and seeded from ``seed``, and torch's thread
    count is set to ``threads`` (when given) and restored afterwards.

    Fitted attributes: ``model_`` (torch module), ``adjacency_`` (CSR tensor), ``best_epoch_`` (0-based),
    ``val_auroc_``, ``val_loss_`` (at the best epoch), ``history_`` (dict of per-epoch lists
    ``train_loss``, ``val_loss``, ``val_auroc``), ``n_nodes_``.
    """

    def __init__(self, *, hidden: int = 64, layers: int = 2, dropout: float = 0.2, lr: float = 0.01,
                 weight_decay: float = 5e-4, epochs: int = 200, patience: int = 20, aggr: str = "mean",
                 monitor: str = "auroc", threads: int | None = None, seed: int = 0,
                 tol: float = 1e-4) -> None:
        self.hidden, self.layers, self.dropout, self.lr = hidden, layers, dropout, lr
        self.weight_decay, self.epochs, self.patience, self.aggr = weight_decay, epochs, patience, aggr
        self.monitor, self.threads, self.seed, self.tol = monitor, threads, seed, tol

    def get_params(self) -> dict:
        """Return the constructor parameters as a dict."""
        return {name: getattr(self, name) for name in _DEFAULTS}

    def __repr__(self) -> str:
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != _DEFAULTS[k])
        return f"GraphSAGEClassifier({changed})"

    def _check_params(self) -> None:
        def integer(name: str, low: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")

        for name in ("hidden", "layers", "epochs", "patience"):
            integer(name, 1)
        integer("seed", 0)
        if self.threads is not None:
            integer("threads", 1)
        if self.aggr not in AGGRS:
            raise ValueError(f"unknown aggr {self.aggr!r}; valid: {list(AGGRS)}")
        if self.monitor not in MONITORS:
            raise ValueError(f"unknown monitor {self.monitor!r}; valid: {list(MONITORS)}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")

    def fit(self, x: np.ndarray, neighbors: np.ndarray, distances: np.ndarray | None, y: np.ndarray, *,
            train_mask: np.ndarray, val_mask: np.ndarray,
            sample_weight: np.ndarray | None = None) -> GraphSAGEClassifier:
        """Train on the labelled nodes of one graph.

        Args:
            x: ``(n, f)`` float node features (all nodes: labelled, unlabelled and queries).
            neighbors: ``(n, k)`` kNN node indices (e.g. from :func:`knn_graph_union`; negative = missing).
            distances: ``(n, k)`` distances, or None for uniform edge weights.
            y: ``(n,)`` labels, 0/1 on train and validation nodes; ignored elsewhere (may be NaN or -1).
            train_mask: ``(n,)`` bool, nodes whose labels are fitted.
            val_mask: ``(n,)`` bool, disjoint from ``train_mask``, nodes for early stopping.
            sample_weight: ``(n,)`` non-negative weights of the training losses (e.g. < 1 for twins).

        Returns:
            self.

        """
        import torch
        import torch.nn.functional as F

        from .evaluate import auroc

        self._check_params()
        x = _check_features(x)
        n = len(x)
        nb = _check_neighbors(neighbors)
        if len(nb) != n:
            raise ValueError(f"neighbors must have one row per node of x ({n}), got shape {nb.shape}")
        tr = _check_mask(train_mask, n, "train_mask")
        va = _check_mask(val_mask, n, "val_mask")
        if not tr.any():
            raise ValueError("train_mask selects no node")
        if not va.any():
            raise ValueError("val_mask selects no node")
        if (tr & va).any():
            raise ValueError(f"train_mask and val_mask overlap on {int((tr & va).sum())} nodes; they must be "
                             "disjoint")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {y.shape}")
        if not np.isin(y[tr | va], (0.0, 1.0)).all():
            raise ValueError("y must be 0/1 on the train_mask and val_mask nodes")
        if self.monitor == "auroc" and len(np.unique(y[va])) < 2:
            raise ValueError("the val_mask nodes hold one class only, so AUROC is undefined; pass "
                             "monitor='loss' or a validation set with both classes")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w[tr].sum() <= 0:
            raise ValueError(f"sample_weight must be a finite non-negative ({n},) array with a positive sum "
                             "over the train_mask nodes")
        adj = self._adjacency(nb, distances)
        self.d_max_ = _edge_distance_max(nb, distances)
        mu, sd = x.mean(axis=0), x.std(axis=0)
        xt = torch.from_numpy(((x - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32))
        yt = torch.from_numpy(y.astype(np.float32))
        tr_t, va_t = torch.from_numpy(tr), torch.from_numpy(va)
        wt = torch.from_numpy((w[tr] / w[tr].sum()).astype(np.float32))
        y_va = y[va].astype(np.int64)
        history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_auroc": []}
        old_threads = torch.get_num_threads()
        try:
            if self.threads is not None:
                torch.set_num_threads(int(self.threads))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.seed))
                model = _make_net(x.shape[1], int(self.hidden), int(self.layers), float(self.dropout),
                                  self.aggr)
                opt = torch.optim.Adam(model.parameters(), lr=float(self.lr),
                                       weight_decay=float(self.weight_decay))
                best, best_epoch, best_state, stale = None, 0, None, 0
                for epoch in range(int(self.epochs)):
                    model.train()
                    opt.zero_grad()
                    logits = model(xt, adj)[tr_t]
                    loss = (F.binary_cross_entropy_with_logits(logits, yt[tr_t], reduction="none") * wt).sum()
                    loss.backward()
                    opt.step()
                    model.eval()
                    with torch.no_grad():
                        z = model(xt, adj)[va_t]
                        v_loss = float(F.binary_cross_entropy_with_logits(z, yt[va_t]))
                    v_auc = auroc(y_va, z.numpy())
                    history["train_loss"].append(float(loss.detach()))
                    history["val_loss"].append(v_loss)
                    history["val_auroc"].append(v_auc)
                    score = v_auc if self.monitor == "auroc" else -v_loss
                    if best is None or score > best:
                        if best is None or score > best + self.tol:
                            stale = 0  # a real improvement; smaller gains keep the best weights only
                        else:
                            stale += 1
                        best, best_epoch = score, epoch
                        best_state = copy.deepcopy(model.state_dict())
                    else:
                        stale += 1
                        if stale >= self.patience:
                            break
                model.load_state_dict(best_state)
                model.eval()
        finally:
            torch.set_num_threads(old_threads)
        self.model_, self.adjacency_, self.history_ = model, adj, history
        self.best_epoch_ = best_epoch
        self.val_auroc_ = history["val_auroc"][best_epoch]
        self.val_loss_ = history["val_loss"][best_epoch]
        self.n_nodes_ = n
        self._x, self._mu, self._sd = xt, mu, np.where(sd > 0, sd, 1.0)
        return self

    def attached_scorer(self):
        """An :class:`~syntwin.synthesis.gnn_attach.AttachedScorer`: new patients scored through their
        neighbours among this fitted graph's nodes (inductive, block by block, e.g. on Dask workers)."""
        import torch

        from .gnn_attach import AttachedScorer

        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this GraphSAGEClassifier is not fitted yet; call fit(x, neighbors, ...) "
                                 "first")
        states, h = [], self._x
        self.model_.eval()
        with torch.no_grad():
            for conv in self.model_.convs:
                states.append(h.numpy().copy())
                h = conv(h, self.adjacency_).relu()
        net = (states[0].shape[1], int(self.hidden), int(self.layers), float(self.dropout), self.aggr)
        return AttachedScorer(copy.deepcopy(self.model_.state_dict()), net, states, self._mu, self._sd,
                              self.d_max_, self.threads)

    def _adjacency(self, neighbors: np.ndarray, distances: np.ndarray | None):
        """Build the aggregation matrix of ``aggr``: weighted row-normalised ("mean"), 0/1 support ("max")."""
        adj = knn_adjacency(neighbors, distances, normalize=self.aggr == "mean")
        return _ones_like_csr(adj) if self.aggr == "max" else adj

    def predict_proba(self, x: np.ndarray | None = None, neighbors: np.ndarray | None = None,
                      distances: np.ndarray | None = None) -> np.ndarray:
        """P(y = 1) of every node, in node order, as a float64 ``(n,)`` array.

        Without arguments: the nodes of the fitted graph (transductive). With ``x`` and ``neighbors``
        (and ``distances``) of another graph — e.g. the training nodes plus new query patients — the
        trained layers run once over that graph (inductive, as GraphSAGE was designed), with features
        standardised by the training graph's mean and standard deviation.
        """
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this GraphSAGEClassifier is not fitted yet; call fit(x, neighbors, ...) "
                                 "first")
        import torch

        if x is None and neighbors is None:
            xt, adj = self._x, self.adjacency_
        elif x is None or neighbors is None:
            raise ValueError("give both x and neighbors of the graph to predict on, or neither")
        else:
            x = _check_features(x)
            if x.shape[1] != self._mu.shape[0]:
                raise ValueError(f"x has {x.shape[1]} features; the model was fitted on {self._mu.shape[0]}")
            nb = _check_neighbors(neighbors)
            if nb.shape[0] != x.shape[0] or (nb >= x.shape[0]).any():
                raise ValueError(f"neighbors must be ({x.shape[0]}, k) with indices < {x.shape[0]}, got "
                                 f"shape {nb.shape}")
            if distances is not None:
                distances = _check_distances(distances, nb.shape)
            adj = self._adjacency(nb, distances)
            xt = torch.from_numpy(((x - self._mu) / self._sd).astype(np.float32))
        old_threads = torch.get_num_threads()
        try:
            if self.threads is not None:
                torch.set_num_threads(int(self.threads))
            self.model_.eval()
            with torch.no_grad():
                return torch.sigmoid(self.model_(xt, adj)).numpy().astype(np.float64)
        finally:
            torch.set_num_threads(old_threads)


def _make_net(n_in: int, hidden: int, layers: int, dropout: float, aggr: str):
    """SAGEConv stack + linear head (built lazily so torch_geometric is imported only when used)."""
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import SAGEConv

    class _SAGENet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            conv_aggr = "sum" if aggr == "mean" else "max"  # "mean" = sum over the row-normalised A
            self.convs = torch.nn.ModuleList(
                SAGEConv(n_in if i == 0 else hidden, hidden, aggr=conv_aggr) for i in range(layers))
            self.head = torch.nn.Linear(hidden, 1)

        def forward(self, h, adj):
            for conv in self.convs:
                h = F.dropout(h, dropout, self.training)
                h = conv(h, adj).relu()
            return self.head(F.dropout(h, dropout, self.training)).squeeze(-1)

    return _SAGENet()


def _edge_distance_max(neighbors: np.ndarray, distances: np.ndarray | None) -> float:
    """The largest distance over the graph's edges (valid, non-self, finite): ``d_max`` of its weights."""
    d = _check_distances(distances, neighbors.shape)
    ok = (neighbors >= 0) & (neighbors != np.arange(len(neighbors))[:, None]) & np.isfinite(d)
    return float(d[ok].max()) if ok.any() else 0.0


def _ones_like_csr(adj):
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(adj.crow_indices(), adj.col_indices(), torch.ones_like(adj.values()),
                                       adj.shape, check_invariants=True)


def _check_features(x) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x must be a 2-D numeric numpy array (n, f), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x needs at least 2 nodes and 1 feature, got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x has NaN or infinite values")
    return x


def _check_neighbors(neighbors) -> np.ndarray:
    nb = np.asarray(neighbors)
    if nb.ndim != 2 or not np.issubdtype(nb.dtype, np.integer):
        raise ValueError(f"neighbors must be a 2-D integer array (n, k), got dtype {nb.dtype}, "
                         f"shape {nb.shape}")
    if nb.size and nb.max() >= len(nb):
        raise ValueError(f"neighbors holds index {int(nb.max())} but there are only {len(nb)} nodes")
    return nb.astype(np.int64)


def _check_distances(distances, shape: tuple[int, int]) -> np.ndarray:
    if distances is None:
        return np.zeros(shape, dtype=np.float64)
    d = np.asarray(distances, dtype=np.float64)
    if d.shape != shape:
        raise ValueError(f"distances must have the shape of neighbors {shape}, got {d.shape}")
    if (d[np.isfinite(d)] < 0).any():
        raise ValueError("distances must be >= 0")
    return d


def _check_mask(mask, n: int, name: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"{name} must be a boolean array of shape ({n},), got dtype {m.dtype}")
    if m.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {m.shape}")
    return m
