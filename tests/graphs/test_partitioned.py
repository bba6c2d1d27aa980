"""The graph built from partition files on the workers equals the in-memory one; the encoder from summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.graphs.coarsen import coarsened_leiden, coarsened_leiden_parts, modularity_from_edges
from syntwin.graphs.communities import leiden, modularity
from syntwin.graphs.encode import MixedEncoder
from syntwin.graphs.knn import build_graph
from syntwin.graphs.partitioned import build_graph_parts, leiden_from_parts, read_edge_parts
from syntwin.graphs.store import SimilarityGraph


def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.integers(20, 90, n).astype(float),
        "size": np.round(rng.gamma(2, 10, n), 1),
        "grade": rng.choice(["I", "II", "III"], n, p=[0.2, 0.5, 0.3]),
        "race": rng.choice(["White", "Black", "Other"], n),  # near-equal counts: the mode's tie order matters
        "site": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "never"]),
    })
    df.loc[rng.random(n) < 0.05, "size"] = np.nan
    df.loc[rng.random(n) < 0.05, "grade"] = None
    df.loc[rng.random(n) < 0.05, "race"] = None
    return df


@pytest.mark.parametrize("n", [3001, 3002])  # odd and even row counts: the median's two middle values
def test_encoder_fitted_from_partition_summaries_encodes_the_same_bytes(n):
    df = _mixed_frame(n, seed=n)
    enc = dict(numeric=["age", "size"], ordinal={"grade": ["I", "II", "III"]}, categorical=["race", "site"],
               categories={"race": ["Asian"]})
    whole = MixedEncoder(**enc).fit(df)
    cuts = [0, 1, 700, 701, 2000, n]  # uneven parts, one of a single row
    parts = MixedEncoder(**enc)
    summary = MixedEncoder.merge_summaries([parts.summarise(df.iloc[a:b]) for a, b in zip(cuts, cuts[1:])])
    parts.fit_summary(summary)
    for attr in ("mins_", "ranges_", "fill_", "indicators_", "categories_", "dim_", "scale_"):
        assert getattr(parts, attr) == getattr(whole, attr), attr
    assert parts.transform(df).tobytes() == whole.transform(df).tobytes()
    # the summary is of bounded size: distinct values, not rows
    assert len(summary["numeric"]["age"][0]) <= 70 and summary["rows"] == n


def test_encoder_summary_median_is_numpys():
    enc = MixedEncoder(numeric=["x"])
    for values in ([1.0, 5.0], [3.0, 1.0, 2.0], [7.0] * 4 + [1.0, 100.0, 100.0]):
        df = pd.DataFrame({"x": values + [np.nan]})
        s = MixedEncoder.merge_summaries([enc.summarise(df.iloc[:1]), enc.summarise(df.iloc[1:])])
        assert enc.fit_summary(s).fill_["x"] == float(np.median(values))


def _parts(x: np.ndarray, folder, cuts) -> list:
    folder.mkdir()
    files = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        files.append(folder / f"part.{i}.npy")
        np.save(files[-1], x[a:b])
    return files


def _clustered(n: int, d: int = 6) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(0, 8, (40, d))[rng.integers(0, 40, n)] + rng.normal(0, 1, (n, d))).astype(np.float32)


@pytest.mark.parametrize("method, n", [("exact", 4000), ("ivf", 24000)])
def test_graph_from_partition_files_equals_the_in_memory_graph(tmp_path, dask_client, method, n):
    x = _clustered(n)
    files = _parts(x, tmp_path / "x", [0, n // 3, n // 3 + 7, n - 5, n])
    args = dict(method=method, seed=3, scale=2.0, recall_sample=300, block_rows=1000)
    ref = build_graph(x, 10, client=dask_client, **args)
    got = build_graph_parts(files, tmp_path / "edges", client=dask_client, k=10, **args)
    assert [f.rsplit("/", 1)[1] for f in got["edge_files"]] == [f"part.{b:05d}.parquet" for b in range(4)]
    edges = read_edge_parts(got["edge_files"])
    pd.testing.assert_frame_equal(edges, ref.edges)  # same rows, same order, same float bits
    assert got["n_edges"] == ref.n_edges
    strip = lambda m: {k: v for k, v in m.items() if not k.startswith("seconds")}  # noqa: E731
    assert strip(got["meta"]) == strip(ref.meta) and got["meta"]["method"] == method
    assert not (tmp_path / ".edges.build").exists()  # the index file and pair files are removed
    membership, q = leiden_from_parts(got["edge_files"], n, client=dask_client, seed=5)
    assert np.array_equal(membership, leiden(ref, seed=5)) and q == pytest.approx(modularity(ref, membership))
    SimilarityGraph.save_parts(tmp_path / "graph", tmp_path / "edges", n_nodes=n, n_edges=got["n_edges"],
                               membership=membership, meta=strip(got["meta"]))
    back = SimilarityGraph.load(tmp_path / "graph")
    pd.testing.assert_frame_equal(back.edges, ref.edges)
    assert np.array_equal(back.membership, membership)


def test_coarsened_communities_from_partition_files(tmp_path, dask_client):
    n = 9000
    x = _clustered(n)
    files = _parts(x, tmp_path / "x", [0, 4000, 6500, n])
    got = build_graph_parts(files, tmp_path / "edges", client=dask_client, k=10, method="exact", seed=1)
    e = read_edge_parts(got["edge_files"])
    src, dst, w = e["src"].to_numpy(), e["dst"].to_numpy(), e["weight"].to_numpy()
    membership, q, info = coarsened_leiden_parts(files, got["edge_files"], client=dask_client, seed=2,
                                                 block_rows=3000)
    ref, ref_info = coarsened_leiden(x, src, dst, w, seed=2, block_rows=3000, client=dask_client)
    assert info["blocks"] == ref_info["blocks"] == 3
    assert info["inter_block_edge_share"] == ref_info["inter_block_edge_share"]
    assert q == pytest.approx(modularity_from_edges(src, dst, w, membership))
    # same blocks and block partitions; only the aggregate's float sums are added in another order
    assert np.array_equal(membership, ref) or abs(q - modularity_from_edges(src, dst, w, ref)) < 0.01
    assert q >= modularity(SimilarityGraph(n_nodes=n, edges=e), leiden(SimilarityGraph(n_nodes=n, edges=e),
                                                                          seed=2)) - 0.02
