"""syntwin.graphs: mixed-type encoding, kNN similarity graphs (faiss, Dask), communities, graph store."""

from .communities import community_stats, leiden, louvain, modularity, resolution_scan
from .dedup import Profiles, collapse_duplicates
from .encode import MixedEncoder, gower_distances
from .knn import build_graph, estimate_recall, nearest
from .store import SimilarityGraph

__all__ = ["MixedEncoder", "gower_distances", "collapse_duplicates", "Profiles", "nearest", "build_graph",
           "estimate_recall", "SimilarityGraph", "leiden", "louvain", "modularity", "community_stats",
           "resolution_scan"]
