"""render_report on hand-made, real cohort and real crowd run directories: sections, gaps, no web access."""

import base64
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from syntwin.errors import SyntwinError
from syntwin.report import build_page, load_run, render_report

from .conftest import make_cohort_run

IMG = re.compile(r'<img class="figure" src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def figures(html: str) -> list[tuple[str, Image.Image]]:
    return [(alt, Image.open(io.BytesIO(base64.b64decode(b64)))) for b64, alt in IMG.findall(html)]


def assert_self_contained(html: str) -> None:
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "<script src" not in html and "@import" not in html and "url(" not in html
    n = int(re.search(r'data-expected="(\d+)"', html).group(1))
    assert html.count('<img class="figure"') == n == len(IMG.findall(html))


def test_hand_made_run_has_every_cohort_section(hand_run):
    path = render_report(hand_run)
    assert path == hand_run / "report.html"
    html = path.read_text()
    assert_self_contained(html)
    page = build_page(load_run(hand_run))
    assert [s.id for s in page.sections] == ["prediction", "fidelity", "privacy", "cohort", "km", "graph",
                                             "synthesis", "other", "outputs"]
    # the hand-made run's scenario asks for no counterfactuals: that section is left out, nothing is missing
    assert page.missing == []
    synth = next(s for s in page.sections if s.id == "synthesis").body
    assert "<td>generator</td><td>latent_class</td>" in synth
    figs = figures(html)
    assert [a for a, _ in figs] == ["ROC curves", "calibration", "Kaplan-Meier real vs twins",
                                    "distributions real vs twins", "Kaplan-Meier curves", "community graph",
                                    "diagnostics"]
    assert all(im.size[0] > 100 and im.size[1] > 100 for _, im in figs)
    # privacy: the failed check is shown failed, with its threshold
    priv = next(s for s in page.sections if s.id == "privacy").body
    assert re.search(r'dcr train share</td><td class="num">0.52</td><td>–</td><td>&lt;= 0.5</td><td>–</td>'
                     r'<td><span class="fail">fail', priv)
    assert 'Release gate: <span class="fail">refused' in priv
    # graph: the 5-patient community is left out, the three planted ones are drawn
    graph = next(s for s in page.sections if s.id == "graph").body
    assert "<td>communities drawn</td><td class=\"num\">3</td>" in graph
    # Kaplan-Meier: real and synthetic curves from cohort/km.parquet plus the twins' own curve
    km = next(s for s in page.sections if s.id == "km").body
    for name in ("synthetic twins", "real", "synthetic"):
        assert f"<td>{name}</td>" in km
    # S(60) of the km.parquet curve "real" is exp(-60/150) read off the step at t = 60
    assert f"{np.exp(-60 / 150):.4g}" in km


def test_headline_box_says_what_a_clinician_needs(hand_run, tmp_path):
    html = render_report(hand_run).read_text()
    box = html[html.index('id="headline"'):html.index("</div>\n", html.index('class="warnings"'))]
    assert "400 patients" in box and "300 twins" in box and "release refused" in box
    assert "logistic regression (real): AUROC 0.750" in box
    assert "twins did not beat logistic regression (real)" in box
    assert "1 fidelity warning" in box and "grade II" in box
    assert "abab" not in html.split('id="headline"')[0] + box  # no raw hash in the header or the box
    pred = html[html.index('id="prediction"'):html.index('id="fidelity"')]
    assert '<td class="fail">worse</td>' in pred and "−0.140" in pred.replace("-", "−")
    assert "4.0" not in box


def test_refused_gate_run_without_export(tmp_path):
    """Issue 10 publishes refused runs without export/: the report says nothing was released."""
    run = make_cohort_run(tmp_path / "refused", twins=False)
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["metrics"]["export"]
    manifest["metrics"]["privacy"]["passed"] = False
    (run / "manifest.json").write_text(json.dumps(manifest))
    html = render_report(run).read_text()
    box = html[html.index('id="headline"'):]
    assert "nothing" in box[:2000] and "the privacy gate refused the release" in box[:2000]


def test_same_run_same_report_bytes(hand_run, tmp_path):
    a = render_report(hand_run, tmp_path / "a.html").read_bytes()
    b = render_report(hand_run, tmp_path / "b.html").read_bytes()
    assert a == b


def test_missing_parts_are_listed_not_fatal(tmp_path):
    run = make_cohort_run(tmp_path / "bare", graph=False, scores=False, twins=False)
    page = build_page(load_run(run))
    missing = dict(page.missing)
    # listed: what the run should have and lacks; not what the scenario never asked for (no counterfactual section)
    assert set(missing) == {"Kaplan–Meier curves", "Community graph"}
    assert all(s.id != "counterfactual" for s in page.sections)
    assert "graph is not in the run directory" in missing["Community graph"]
    pred = next(s for s in page.sections if s.id == "prediction")
    assert pred.figures == 0 and "prediction/scores.parquet is not in the run directory" in pred.body
    html = render_report(run).read_text()
    assert 'id="missing"' in html and "Not in this report" in html
    assert_self_contained(html)
    # a manifest without metrics at all: every section is listed as missing, the page still renders
    (run / "manifest.json").write_text(json.dumps({"scenario": "x", "kind": "cohort"}))
    page = build_page(load_run(run))
    assert {t for t, _ in page.missing} >= {"Cohort summary", "Outcome prediction", "Privacy"}


def test_not_a_run_directory(tmp_path):
    with pytest.raises(SyntwinError, match="no manifest.json"):
        render_report(tmp_path)
    (tmp_path / "manifest.json").write_text("{oops")
    with pytest.raises(SyntwinError, match="not valid JSON"):
        render_report(tmp_path)


def test_real_cohort_run(real_run):
    html = render_report(real_run).read_text()
    assert_self_contained(html)
    page = build_page(load_run(real_run))
    ids = [s.id for s in page.sections]
    # the clinician reads the verdicts first (prediction, fidelity, privacy), then the cohort behind them
    assert ids[:7] == ["prediction", "fidelity", "privacy", "cohort", "km", "graph", "synthesis"]
    assert page.missing == []
    manifest = json.loads((real_run / "manifest.json").read_text())
    scores = pd.read_parquet(real_run / "prediction/scores.parquet")
    pred = next(s for s in page.sections if s.id == "prediction").body
    for method in ("twin_knn", "real_knn", "logistic"):
        auroc = manifest["metrics"]["prediction"][method]["auroc"]
        # the ROC curves are drawn from scores.parquet: it must give the manifest's AUROC
        assert roc_auc_score(scores["label"], scores[method]) == pytest.approx(auroc, abs=1e-9)
        assert f"<td class=\"num\">{auroc:.3f}</td>" in pred
    graph = manifest["metrics"]["graph"]
    body = next(s for s in page.sections if s.id == "graph").body
    assert f"<td>edges</td><td class=\"num\">{graph['edges']:,}</td>" in body
    # the fidelity stage publishes outcome rates per community, no community below the small-cell rule shown
    communities = pd.read_parquet(real_run / "cohort/communities.parquet")
    assert "Outcome by community" in body and (communities["size"].dropna() >= 11).all()
    # ROC + calibration, twins' KM and distributions, the KM of the cohort, the community graph: each section's count
    assert len(figures(html)) == sum(s.figures for s in page.sections) >= 5


def test_real_crowd_run(crowd_run):
    html = render_report(crowd_run).read_text()
    assert_self_contained(html)
    page = build_page(load_run(crowd_run))
    ids = [s.id for s in page.sections]
    assert ids == ["crowd", "costs", "occupancy", "series", "outputs"]
    assert [t for t, _ in page.missing] == ["Live-data forecast"]
    # the runner's PNGs are embedded byte for byte
    heat = base64.b64encode((crowd_run / "crowd/occupancy_heatmap.png").read_bytes()).decode()
    assert heat in html
    summary = pd.read_parquet(crowd_run / "crowd/summary.parquet")
    crowd = page.sections[0].body
    for arm in summary["arm"].unique():
        assert f"<th>{arm}</th>" in crowd


def test_series_drawn_from_parquet_when_png_absent(crowd_run, tmp_path):
    import shutil

    run = tmp_path / "crowd"
    shutil.copytree(crowd_run, run)
    (run / "crowd/metric_series.png").unlink()
    page = build_page(load_run(run))
    series = next(s for s in page.sections if s.id == "series")
    assert series.figures == 1 and "metric time series" in series.body
