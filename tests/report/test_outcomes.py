"""Outcome rates per community (small cells withheld) and privacy checks with intervals, computed and reported."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from syntwin.pipeline.fidelity import community_outcomes
from syntwin.report import render_report

from .conftest import SCHEMA, make_cohort_run


def cohort_with_communities(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Communities 0-1 large with many deaths; 2 has 4 deaths by 60 months; 3 has 7 patients; 4 all die early."""
    rng = np.random.default_rng(seed)
    sizes, hazards = [400, 250, 120, 7, 30], [1 / 80, 1 / 300, None, 1 / 50, 1 / 2]
    parts, membership = [], []
    for c, (n, h) in enumerate(zip(sizes, hazards)):
        if h is None:  # 4 deaths before 60 months, everyone else followed to 100 months alive
            months, dead = np.full(n, 100.0), np.zeros(n, int)
            months[:4], dead[:4] = [5, 12, 30, 44], 1
        else:
            t, follow = rng.exponential(1 / h, n), rng.uniform(20, 120, n)
            months, dead = np.floor(np.minimum(t, follow)), (t <= follow).astype(int)
        parts.append(pd.DataFrame({"age": rng.normal(60, 10, n), "grade": "II", "er": "pos",
                                   "months": months, "dead": dead}))
        membership += [c] * n
    return pd.concat(parts, ignore_index=True), np.asarray(membership)


def test_rates_with_intervals_and_no_small_cell(tmp_path):
    train, membership = cohort_with_communities()
    out = community_outcomes(train, membership, SCHEMA, 60.0).set_index("community")
    # 2 (4 events), 3 (7 patients) and 4 (< 11 without the event by 60 months) are withheld, the rest shown
    assert out["suppressed"].tolist() == [False, False, True, True, True]
    assert out.loc[[2, 3, 4], "size"].isna().all() and out.loc[[2, 3, 4], "rate"].isna().all()
    # every published community has >= 11 patients with and >= 11 without the event by the horizon
    by_h = (train["dead"] == 1) & (train["months"] <= 60)
    for c in out.index[~out["suppressed"]]:
        k, n = int(by_h[membership == c].sum()), int((membership == c).sum())
        assert k >= 11 and n - k >= 11 and out.loc[c, "size"] == n
        assert out.loc[c, "ci_low"] < out.loc[c, "rate"] < out.loc[c, "ci_high"]
    # Kaplan–Meier by 60 months for community 0 (exponential, mean 80): 1 − exp(−60/80) ≈ 0.53
    assert abs(out.loc[0, "rate"] - (1 - np.exp(-60 / 80))) < 0.08
    crude = community_outcomes(train, membership, SCHEMA, None).set_index("community")
    assert crude.loc[0, "rate"] == train.loc[membership == 0, "dead"].mean()


def test_report_shows_community_rates_and_privacy_intervals(tmp_path):
    run = make_cohort_run(tmp_path / "run")
    train, membership = cohort_with_communities()
    community_outcomes(train, membership, SCHEMA, 60.0).assign(horizon=60.0).to_parquet(
        run / "cohort/communities.parquet", index=False)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["metrics"]["privacy"]["gate"]["inference_risk"] = {
        "value": 0.0769, "ci_low": 0.0015, "ci_high": 0.1522, "threshold": 0.1, "op": "<=", "n": 4999,
        "status": "inconclusive", "passed": False}
    (run / "manifest.json").write_text(json.dumps(manifest))
    html = render_report(run).read_text()
    graph = html[html.index('id="graph"'):]
    graph = graph[graph.index("Outcome by community"):graph.index("</section>")]
    assert "3 communities withheld" in graph
    cells = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([\d,]+)</td><td>([\d.]+%)</td><td>([\d.%–]+)</td></tr>",
                       graph)
    assert [(c, n) for c, n, *_ in cells] == [("0", "400"), ("1", "250")]
    for _, n, rate, ci in cells:
        lo, hi = (float(x.rstrip("%")) for x in ci.split("–"))
        assert lo < float(rate.rstrip("%")) < hi
    for n_small in ("120", "7", "30"):  # no withheld community's size anywhere in the section
        assert f">{n_small}<" not in graph
    privacy = html[html.index('id="privacy"'):]
    privacy = privacy[:privacy.index("</section>")]
    assert "95% interval" in privacy and "0.0015–0.152" in privacy and "inconclusive" in privacy
    assert "&lt;= 0.1" in privacy and "4,999" in privacy


def test_report_says_when_community_rates_are_absent(tmp_path):
    html = render_report(make_cohort_run(tmp_path / "run")).read_text()
    assert "cohort/communities.parquet is not in the run directory: no outcome rates per community" in html
