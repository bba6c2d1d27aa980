import numpy as np
import pandas as pd
import pytest

from syntwin.graphs import SimilarityGraph, build_graph


@pytest.fixture(scope="module")
def graph():
    X = np.random.default_rng(1).random((300, 5), dtype=np.float32)
    g = build_graph(X, k=6, multiplicity=np.arange(300) % 3 + 1)
    g.membership = np.arange(300) % 4
    return g


def test_parquet_round_trip(graph, tmp_path):
    out = graph.save(tmp_path / "g")
    assert sorted(p.name for p in out.iterdir()) == ["edges.parquet", "graph.json", "nodes.parquet"]
    back = SimilarityGraph.load(out)
    pd.testing.assert_frame_equal(back.edges, graph.edges)
    assert back.n_nodes == 300 and back.meta == graph.meta
    assert (back.membership == graph.membership).all() and (back.multiplicity == graph.multiplicity).all()
    graph.save(out)  # overwriting an existing graph directory works
    assert SimilarityGraph.load(out).n_edges == graph.n_edges
    assert repr(back) == f"SimilarityGraph(nodes=300, edges={graph.n_edges}, communities=4, patients=600)"
    with pytest.raises(ValueError, match="not a saved SimilarityGraph"):
        SimilarityGraph.load(tmp_path)


def test_to_igraph(graph):
    g = graph.to_igraph()
    assert g.vcount() == 300 and g.ecount() == graph.n_edges and not g.is_directed()
    e = graph.edges.iloc[7]
    eid = g.get_eid(int(e.src), int(e.dst))
    assert g.es[eid]["weight"] == pytest.approx(e.weight)
    assert g.es[eid]["distance"] == pytest.approx(e.distance)
    assert g.vs["multiplicity"][:3] == [1, 2, 3]
    light = graph.to_igraph(attributes=("weight",))
    assert light.es.attributes() == ["weight"] and light.get_edgelist() == g.get_edgelist()
    with pytest.raises(ValueError, match="unknown edge attributes"):
        graph.to_igraph(attributes=("colour",))


def test_to_networkx_and_refusal(graph):
    g = graph.to_networkx()
    assert g.number_of_nodes() == 300 and g.number_of_edges() == graph.n_edges
    e = graph.edges.iloc[3]
    assert g[int(e.dst)][int(e.src)]["weight"] == pytest.approx(e.weight)
    with pytest.raises(ValueError, match="above max_edges=100"):
        graph.to_networkx(max_edges=100)


def test_to_pyg(graph):
    torch = pytest.importorskip("torch")
    feats = np.random.default_rng(0).random((300, 3))
    data = graph.to_pyg(features=feats)
    assert data.num_nodes == 300 and data.edge_index.shape == (2, 2 * graph.n_edges)
    assert data.edge_index.dtype == torch.int64 and data.edge_weight.shape == (2 * graph.n_edges,)
    assert data.is_undirected()
    assert data.x.dtype == torch.float32 and data.x.shape == (300, 3)
    assert (data.y.numpy() == graph.membership).all()
    with pytest.raises(ValueError, match="features must have shape"):
        graph.to_pyg(features=feats[:10])


def test_invalid_graphs():
    e = pd.DataFrame({"src": [1], "dst": [0], "distance": [0.1], "weight": [1.0]})
    with pytest.raises(ValueError, match="src < dst"):
        SimilarityGraph(2, e)
    with pytest.raises(ValueError, match="endpoints"):
        SimilarityGraph(1, e.assign(src=0, dst=1))
    with pytest.raises(ValueError, match="lack columns"):
        SimilarityGraph(2, e[["src", "dst"]])
    with pytest.raises(ValueError, match="membership must have shape"):
        SimilarityGraph(2, e.assign(src=0, dst=1), membership=np.zeros(3))
