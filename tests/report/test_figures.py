"""Report figures: Kaplan–Meier against lifelines, the community aggregation against a hand count."""

import base64
import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from syntwin.report import figures as F


def test_kaplan_meier_matches_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(1)
    t = np.round(rng.exponential(40, 500))  # rounded: many ties
    e = rng.random(500) < 0.6
    ours = F.kaplan_meier(t, e).iloc[1:]  # row 0 is the start, S(0-) = 1
    assert (t == 0).any() and ours["time"].iat[0] == 0  # an event at time 0 is kept
    ref = KaplanMeierFitter().fit(t, e).survival_function_
    at = ref.loc[ours["time"].to_numpy(), "KM_estimate"].to_numpy()
    np.testing.assert_allclose(ours["survival"].to_numpy(), at, rtol=1e-12)


def test_kaplan_meier_hand_case():
    # times 1,2,2,3(censored),4 ; events at 1, 2, 2, 4: S = 4/5, then 4/5 * 2/4, then * 0/1
    km = F.kaplan_meier([1, 2, 2, 3, 4], [1, 1, 1, 0, 1])
    assert km["time"].tolist() == [0, 1, 2, 4]
    np.testing.assert_allclose(km["survival"], [1, 0.8, 0.4, 0.0])
    assert km["at_risk"].tolist() == [5, 5, 4, 1]
    with pytest.raises(ValueError, match="non-negative"):
        F.kaplan_meier([-1, 2], [1, 1])


def test_community_graph_hand_case():
    # communities: 0 = {0,1,2}, 1 = {3,4}, 2 = {5}; multiplicity doubles node 0
    membership = np.array([0, 0, 0, 1, 1, 2])
    edges = pd.DataFrame({"src": [0, 1, 0, 2, 3, 4], "dst": [1, 2, 3, 4, 4, 5],
                          "weight": [1.0, 0.5, 0.25, 0.75, 1.0, 0.5]})
    nodes, links = F.community_graph(edges, membership, np.array([2, 1, 1, 1, 1, 1]), min_size=1)
    assert nodes["community"].tolist() == [0, 1, 2] and nodes["size"].tolist() == [4, 2, 1]
    np.testing.assert_allclose(nodes["internal"], [1.5, 1.0, 0.0])
    # cohesion = internal / (internal + external / 2): 0 -> 1.5 / (1.5 + 0.5), 1 -> 1 / (1 + 0.75), 2 -> 0
    np.testing.assert_allclose(nodes["cohesion"], [0.75, 1 / 1.75, 0.0])
    assert links[["a", "b"]].values.tolist() == [[0, 1], [1, 2]]
    np.testing.assert_allclose(links["weight"], [1.0, 0.5])
    assert links["count"].tolist() == [2, 1]
    kept, kept_links = F.community_graph(edges, membership, None, min_size=2)
    assert kept["community"].tolist() == [0, 1] and kept_links[["a", "b"]].values.tolist() == [[0, 1]]


def test_layout_is_deterministic_and_finite():
    nodes = pd.DataFrame({"community": [0, 1, 2, 3], "size": [10, 20, 30, 40]})
    links = pd.DataFrame({"a": [0, 0, 1, 2], "b": [1, 2, 3, 3], "weight": [1.0, 2.0, 3.0, 0.5]})
    a, b = F.community_layout(nodes, links), F.community_layout(nodes, links)
    assert a.shape == (4, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_png_data_uri_decodes():
    fig = Figure(figsize=(2, 1.5))
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    uri = F.png_data_uri(fig, dpi=50)
    assert uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.size == (100, 75)
