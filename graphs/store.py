"""The similarity graph artifact: an undirected weighted edge list over Parquet, with conversions."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SimilarityGraph", "NETWORKX_MAX_EDGES"]

NETWORKX_MAX_EDGES = 2_000_000  # networkx stores ~1 KB per edge in Python dicts: 2M edges is already ~2 GB
_IGRAPH_CHUNK = 1 << 20
_COLUMNS = {"src": np.int64, "dst": np.int64, "distance": np.float32, "weight": np.float32}


@dataclass
class SimilarityGraph:
    """Undirected weighted graph over ``n_nodes`` nodes.

    Attributes:
        n_nodes: number of nodes (distinct profiles when built over collapsed duplicates).
        edges: DataFrame ``src < dst`` (int64, unique pairs), ``distance`` (float32), ``weight`` (float32).
        membership: optional community label per node (int64).
        multiplicity: optional number of patients each node stands for (int64).
        meta: JSON-serialisable description (k, metric, method, seed, recall, ...).
    """

    n_nodes: int
    edges: pd.DataFrame
    membership: np.ndarray | None = None
    multiplicity: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in _COLUMNS if c not in self.edges.columns]
        if missing:
            raise ValueError(f"edges lack columns {missing}; expected {list(_COLUMNS)}")
        self.edges = self.edges[list(_COLUMNS)].astype(_COLUMNS).reset_index(drop=True)
        self.n_nodes = int(self.n_nodes)
        if len(self.edges):
            src, dst = self.edges["src"].to_numpy(), self.edges["dst"].to_numpy()
            if src.min() < 0 or dst.max() >= self.n_nodes:
                raise ValueError(f"edge endpoints must lie in [0, {self.n_nodes})")
            if (src >= dst).any():
                raise ValueError("edges must satisfy src < dst (undirected, no self loops)")
        for name in ("membership", "multiplicity"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=np.int64)
                if v.shape != (self.n_nodes,):
                    raise ValueError(f"{name} must have shape ({self.n_nodes},), got {v.shape}")
                setattr(self, name, v)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return len(self.edges)

    @property
    def n_patients(self) -> int:
        """Number of patients the nodes stand for (sum of multiplicities, else ``n_nodes``)."""
        return self.n_nodes if self.multiplicity is None else int(self.multiplicity.sum())

    def __repr__(self) -> str:
        extra = "" if self.membership is None else f", communities={len(np.unique(self.membership))}"
        extra += "" if self.multiplicity is None else f", patients={self.n_patients}"
        return f"SimilarityGraph(nodes={self.n_nodes}, edges={self.n_edges}{extra})"

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``edges.parquet``, ``nodes.parquet``, ``graph.json`` into directory ``path`` (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        self.edges.to_parquet(tmp / "edges.parquet", index=False)
        return _publish(tmp, path, self.n_nodes, self.n_edges, self.membership, self.multiplicity, self.meta)

    @staticmethod
    def save_parts(path: str | os.PathLike, edges_dir: str | os.PathLike, *, n_nodes: int, n_edges: int,
                   membership: np.ndarray | None = None, meta: dict | None = None) -> Path:
        """Write a graph whose edges are already Parquet parts (``edges_dir/part.*.parquet``, moved in as
        ``path/edges/``) with ``nodes.parquet`` and ``graph.json``, atomically like :meth:`save`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        Path(edges_dir).rename(tmp / "edges")
        return _publish(tmp, path, n_nodes, n_edges, membership, None, meta or {})

    @classmethod
    def load(cls, path: str | os.PathLike) -> SimilarityGraph:
        """Read a graph written by :meth:`save`."""
        path = Path(path)
        if not (path / "graph.json").is_file():
            raise ValueError(f"{path} is not a saved SimilarityGraph (no graph.json)")
        info = json.loads((path / "graph.json").read_text())
        nodes = pd.read_parquet(path / "nodes.parquet")
        parts = sorted((path / "edges").glob("part.*.parquet"))  # a graph built on the workers (save_parts)
        edges = (pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True) if parts
                 else pd.read_parquet(path / "edges.parquet"))
        return cls(n_nodes=info["n_nodes"], edges=edges,
                   membership=nodes["membership"].to_numpy() if "membership" in nodes else None,
                   multiplicity=nodes["multiplicity"].to_numpy() if "multiplicity" in nodes else None,
                   meta=info.get("meta", {}))

    # ---------------------------------------------------------------- conversions
    def to_igraph(self, attributes: tuple[str, ...] = ("weight", "distance")):
        """``igraph.Graph`` with the given edge ``attributes`` (and vertex ``multiplicity``).

        igraph keeps attributes as Python floats (~32 bytes per edge each): community detection asks for
        ``("weight",)`` only.
        """
        import igraph as ig

        unknown = sorted(set(attributes) - {"weight", "distance"})
        if unknown:
            raise ValueError(f"unknown edge attributes {unknown}; choose among 'weight', 'distance'")
        g = ig.Graph(n=self.n_nodes, directed=False)
        pairs = self.edges[["src", "dst"]].to_numpy()
        for s in range(0, len(pairs), _IGRAPH_CHUNK):  # chunks: igraph converts edges through Python ints
            g.add_edges(pairs[s:s + _IGRAPH_CHUNK])
        del pairs
        for name in attributes:
            g.es[name] = self.edges[name].to_numpy(np.float64)
        if self.multiplicity is not None:
            g.vs["multiplicity"] = self.multiplicity.tolist()
        return g

    def to_networkx(self, max_edges: int = NETWORKX_MAX_EDGES):
        """``networkx.Graph`` with ``weight``/``distance`` edge attributes; refuses above ``max_edges``."""
        if self.n_edges > max_edges:
            raise ValueError(f"graph has {self.n_edges} edges, above max_edges={max_edges}: networkx needs "
                             f"~1 KB per edge (~{self.n_edges / 1e6:.1f} GB here); use to_igraph() or "
                             "to_pyg(), or raise max_edges if you have the memory")
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        e = self.edges
        g.add_edges_from((int(s), int(d), {"weight": float(w), "distance": float(x)}) for s, d, w, x in
                         zip(e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy(),
                             e["distance"].to_numpy()))
        return g

    def to_pyg(self, features: np.ndarray | None = None):
        """``torch_geometric.data.Data`` with both edge directions (``edge_index`` (2, 2E), ``edge_weight``).

        ``x`` is ``features`` (``(n_nodes, f)``) when given; ``y`` is ``membership`` when set.
        """
        import torch
        from torch_geometric.data import Data

        src = self.edges["src"].to_numpy()
        dst = self.edges["dst"].to_numpy()
        w = self.edges["weight"].to_numpy(np.float32)
        edge_index = torch.from_numpy(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]))
        data = Data(edge_index=edge_index, edge_weight=torch.from_numpy(np.concatenate([w, w])),
                    num_nodes=self.n_nodes)
        if features is not None:
            features = np.asarray(features)
            if features.ndim != 2 or len(features) != self.n_nodes:
                raise ValueError(f"features must have shape ({self.n_nodes}, f), got {features.shape}")
            data.x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        if self.membership is not None:
            data.y = torch.from_numpy(self.membership)
        return data


def _publish(tmp: Path, path: Path, n_nodes: int, n_edges: int, membership: np.ndarray | None,
             multiplicity: np.ndarray | None, meta: dict) -> Path:
    """Add ``nodes.parquet`` and ``graph.json`` to ``tmp`` (which holds the edges), then swap it in as ``path``."""
    nodes = pd.DataFrame({"node": np.arange(n_nodes, dtype=np.int64)})
    if membership is not None:
        nodes["membership"] = np.asarray(membership, dtype=np.int64)
    if multiplicity is not None:
        nodes["multiplicity"] = multiplicity
    nodes.to_parquet(tmp / "nodes.parquet", index=False)
    (tmp / "graph.json").write_text(json.dumps({"n_nodes": int(n_nodes), "n_edges": int(n_edges), "meta": meta},
                                               indent=2, default=_jsonable))
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old)
    else:
        tmp.rename(path)
    return path


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"meta value {v!r} is not JSON-serialisable")
