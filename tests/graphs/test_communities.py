import networkx as nx
import numpy as np
import pandas as pd
import pytest

from syntwin.graphs import SimilarityGraph, community_stats, leiden, louvain, modularity, resolution_scan


def planted(n_blocks=6, size=30, p_in=0.3, p_out=0.005, seed=0):
    """Stochastic block model as a SimilarityGraph (weights 1)."""
    g = nx.stochastic_block_model([size] * n_blocks, np.where(np.eye(n_blocks) > 0, p_in, p_out).tolist(),
                                  seed=seed)
    e = np.array(sorted((min(a, b), max(a, b)) for a, b in g.edges()))
    edges = pd.DataFrame({"src": e[:, 0], "dst": e[:, 1], "distance": 0.0, "weight": 1.0})
    return SimilarityGraph(n_blocks * size, edges), np.repeat(np.arange(n_blocks), size)


def same_partition(a, b):
    return len(set(zip(a, b))) == len(set(a)) == len(set(b))


@pytest.mark.parametrize("find", [leiden, louvain])
def test_recovers_planted_blocks_deterministically(find):
    g, truth = planted()
    m = find(g, seed=1)
    assert same_partition(m, truth)
    assert (find(g, seed=1) == m).all()
    assert m[0] == 0 and np.bincount(m).argmax() == 0  # canonical labels: 0 is the largest


def test_modularity_matches_networkx():
    g, truth = planted()
    nxg = g.to_networkx()
    blocks = [set(np.flatnonzero(truth == c)) for c in range(6)]
    assert modularity(g, truth) == pytest.approx(nx.community.modularity(nxg, blocks, weight="weight"))


def test_community_stats_hand_case():
    labels, mult = np.array([0, 0, 1, 2, 2, 2]), np.array([5, 6, 3, 1, 1, 9])
    stats = community_stats(labels, multiplicity=mult, min_size=10)
    assert stats == {"communities": 3, "kept": 2, "coverage": pytest.approx(22 / 25), "largest": 11}


def test_resolution_scan_picks_most_kept_communities():
    g, _ = planted(n_blocks=8, size=20)
    df = resolution_scan(g, [0.05, 1.0, 20.0], min_size=10, seed=0)
    assert list(df.columns) == ["resolution", "communities", "kept", "coverage", "largest", "modularity",
                                "best"]
    assert df.loc[df.best, "resolution"].item() == 1.0
    assert df.loc[1, "kept"] == 8 and df.loc[1, "coverage"] == 1.0
    assert df.loc[0, "communities"] < 8 and df.loc[2, "coverage"] < 1.0
    assert resolution_scan(g, [1.0], method="louvain").loc[0, "kept"] == 8


def test_bad_community_parameters():
    g, _ = planted()
    with pytest.raises(ValueError, match="resolution"):
        leiden(g, resolution=0)
    with pytest.raises(ValueError, match="objective"):
        leiden(g, objective="surprise")
    with pytest.raises(ValueError, match="method"):
        resolution_scan(g, [1.0], method="spectral")
    with pytest.raises(TypeError, match="SimilarityGraph or igraph"):
        leiden(np.zeros((3, 3)))
