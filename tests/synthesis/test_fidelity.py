import warnings

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.fidelity import quality_score, sdmetrics_quality
from syntwin.synthesis.generators import make_generator

from .conftest import ROLES, make_table


@pytest.fixture(scope="module")
def pair():
    real = make_table(1000, 0)
    return real, {n: make_generator(n).fit(real, seed=0, **ROLES).sample(1000, seed=0)
                  for n in ("latent_class", "independent")}


def test_matches_sdmetrics_quality_report(pair):
    pytest.importorskip("sdmetrics")
    real, syns = pair
    for syn in syns.values():
        ours = quality_score(real, syn, **ROLES)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = sdmetrics_quality(real, syn, **ROLES)
        for k in ("score", "column_shapes", "column_pair_trends"):
            assert ours[k] == pytest.approx(ref[k], abs=1e-9), k


def test_associations_count(pair):
    real, syns = pair
    lc = quality_score(real, syns["latent_class"], **ROLES)
    ind = quality_score(real, syns["independent"], **ROLES)
    assert lc["column_shapes"] > 0.95 and ind["column_shapes"] > 0.95
    assert lc["column_pair_trends"] > ind["column_pair_trends"] + 0.08
    assert ("stage", "dead") in lc["pairs"] and ("age", "race") not in lc["pairs"]
    everything = quality_score(real, syns["latent_class"], correlation_threshold=0, association_threshold=0,
                               **ROLES)
    assert len(everything["pairs"]) == 28


def test_hand_case():
    real = pd.DataFrame({"x": ["a", "a", "b", "b"], "y": ["u", "u", "v", "v"]})
    syn = pd.DataFrame({"x": ["a", "b", "b", "b"], "y": ["u", "v", "v", "u"]})
    q = quality_score(real, syn, categorical=["x", "y"])
    # shapes: x TVD .25 -> .75; y identical -> 1. pair: joint real {au:.5, bv:.5}, syn {au:.25, bv:.5, bu:.25}
    assert q["shapes"] == {"x": 0.75, "y": 1.0}
    assert q["pairs"][("x", "y")] == pytest.approx(0.75)
    assert q["score"] == pytest.approx((0.875 + 0.75) / 2)
    assert quality_score(real, real, categorical=["x", "y"])["score"] == 1.0
    with pytest.raises(ValueError, match="lacks"):
        quality_score(real, syn[["x"]], categorical=["x", "y"])
    assert np.isfinite(q["score"])
