"""Tests of the calibrated SEER-like cohort simulator (syntwin.cohort.simulate)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from syntwin.cohort import _sites
from syntwin.cohort._seer_codes import AGE_GROUPS, age_group, seer_columns
from syntwin.cohort.simulate import (
    CALIBRATION_TARGETS,
    SITES,
    calibrate,
    calibration_table,
    km_survival,
    read_simulated,
    simulate_cohort,
    simulate_partition,
    site_schema,
    write_cohort,
)
from syntwin.errors import CohortError

N_CAL = 200_000


@pytest.fixture(scope="module")
def big():
    """200k patients per site, built through the public Dask API (synchronous scheduler)."""
    return {s: simulate_cohort(N_CAL, s, seed=11, rows_per_partition=100_000).data.compute(scheduler="sync")
            for s in SITES}


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).values.tobytes()).hexdigest()


# ----------------------------------------------------------------------------- schema & dtypes
@pytest.mark.parametrize("site", SITES)
def test_schema_and_dtypes(site):
    schema = site_schema(site)
    df = simulate_partition(2_000, site, seed=3, partition=0, id_offset=0)
    assert list(df.columns) == schema.columns
    assert schema.time == "survival_months" and schema.event == "cancer_death"
    assert schema.identifiers == ("patient_id",) and schema.extra == ("vital_status", *seer_columns(site))
    assert {"age", "sex", "race", "year_of_diagnosis"} <= set(schema.quasi_identifiers)
    assert schema.ordinal["stage"] == ("I", "II", "III", "IV")
    assert schema.ordinal["grade"] == ("I", "II", "III", "IV")
    for c in [*schema.numeric, "survival_months"]:
        assert df[c].dtype == np.float64, c
    for c, levels in schema.ordinal.items():
        assert df[c].dtype == object and set(df[c]) <= set(levels), c
    for c in [*schema.categorical, *schema.extra]:
        assert df[c].dtype == object and all(type(v) is str for v in df[c]), c
    assert df["cancer_death"].dtype == np.int64 and set(df["cancer_death"]) <= {0, 1}
    assert df["patient_id"].dtype == np.int64 and df["patient_id"].tolist() == list(range(1, 2_001))
    assert set(df["summary_stage"]) <= {"Localized", "Regional", "Distant"}
    assert set(df["vital_status"]) == {"Alive", "Dead"}


def test_site_specific_columns():
    assert {"er_status", "pr_status", "her2_status"} <= set(site_schema("breast").categorical)
    assert "histology" in site_schema("lung").categorical
    pro = site_schema("prostate")
    assert "psa_ng_ml" in pro.numeric and "tumor_size_mm" not in pro.numeric
    assert pro.ordinal["gleason_score"] == ("6", "7", "8", "9-10")


@pytest.mark.parametrize("call", [
    lambda: simulate_cohort(10, "pancreas"),
    lambda: site_schema("Breast"),
    lambda: simulate_partition(10, "liver", 0, 0, 0),
])
def test_unknown_site_lists_valid_sites(call):
    with pytest.raises(ValueError) as err:
        call()
    assert isinstance(err.value, CohortError)
    for s in SITES:
        assert s in str(err.value)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": -5}, {"n": 2.5}, {"n": 10, "rows_per_partition": 0},
                                    {"n": 10, "seed": -1}, {"n": 10, "seed": "7"}])
def test_invalid_sizes_and_seeds(kwargs):
    with pytest.raises(ValueError, match="must be an integer >= [01]"):
        simulate_cohort(site="lung", **kwargs)


def test_partitions_follow_n_and_rows_per_partition():
    cohort = simulate_cohort(1_050, "colorectal", seed=2, rows_per_partition=500)
    assert cohort.data.npartitions == 3
    assert cohort.data.divisions == (0, 500, 1000, 1049)
    assert cohort.report.source == "simulated:colorectal" and cohort.report.rows_read == 1_050
    df = cohort.data.compute(scheduler="sync")
    assert df["patient_id"].tolist() == list(range(1, 1_051))
    assert df.index.tolist() == list(range(1_050))
    # each partition is simulate_partition with its own seed key
    part2 = simulate_partition(50, "colorectal", 2, 2, 1_000)
    pd.testing.assert_frame_equal(df.iloc[1_000:], part2)
    assert repr(cohort).startswith("Cohort(source='simulated:colorectal', npartitions=3")


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = simulate_cohort(3_000, "breast", seed=5, rows_per_partition=1_000)
    b = simulate_cohort(3_000, "breast", seed=5, rows_per_partition=1_000)
    c = simulate_cohort(3_000, "breast", seed=6, rows_per_partition=1_000)
    da, db, dc = (x.data.compute(scheduler="sync") for x in (a, b, c))
    assert _digest(da) == _digest(db)
    assert _digest(da) != _digest(dc)
    assert (da["age"].to_numpy() != dc["age"].to_numpy()).mean() > 0.5
    write_cohort(a, tmp_path / "a")
    write_cohort(b, tmp_path / "b")
    for f in sorted((tmp_path / "a").glob("part.*.parquet")):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()


def test_independent_of_scheduler_and_workers(dask_client):
    cohort = simulate_cohort(4_000, "prostate", seed=9, rows_per_partition=1_000)
    on_cluster = dask_client.compute(cohort.data).result()
    local = cohort.data.compute(scheduler="sync")
    pd.testing.assert_frame_equal(on_cluster, local)
    assert on_cluster["race"].dtype == object


# ----------------------------------------------------------------------------- calibration
def test_km_matches_lifelines():
    rng = np.random.default_rng(0)
    t = np.floor(rng.exponential(40.0, 3_000))
    e = rng.random(3_000) < 0.6
    kmf = KaplanMeierFitter().fit(t, e)
    for at in (0.0, 12.0, 60.0, 61.5):
        ref = float(kmf.survival_function_at_times(at).iloc[0])
        assert km_survival(t, e, at) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("site", SITES)
def test_calibration_targets(big, site):
    df = big[site]
    tgt = CALIBRATION_TARGETS[site]
    assert sum(tgt["stage_distribution"].values()) == pytest.approx(1.0)
    assert len(tgt["sources"]) >= 1
    shares = df["stage"].value_counts(normalize=True)
    table = calibration_table(df, site)
    for stage, share in tgt["stage_distribution"].items():
        assert abs(shares[stage] - share) < 0.02, (stage, shares[stage], share)
        sub = df[df["stage"] == stage]
        css = 100.0 * km_survival(sub["survival_months"], sub["cancer_death"], 60.0)
        assert abs(css - tgt["css_5yr"][stage]) < 3.0, (stage, css, tgt["css_5yr"][stage])
        assert table.loc[stage, "css_5yr"] == css and table.loc[stage, "n"] == len(sub)
        assert table.loc[stage, "target_css_5yr"] == tgt["css_5yr"][stage]


@pytest.mark.parametrize(("site", "key"), [("breast", "summary_stage_distribution"),
                                         ("prostate", "summary_stage_distribution"),
                                         ("lung", "summary_stage_small_cell")])
def test_summary_stage_cross_checks(big, site, key):
    """Published summary-stage shares the simulator is not fitted to, within 4 points."""
    df = big[site]
    if key.endswith("small_cell"):
        df = df[df["histology"] == "Small cell"]
    shares = df["summary_stage"].value_counts(normalize=True)
    for level, share in CALIBRATION_TARGETS[site][key].items():
        assert abs(shares[level] - share) < 0.04, (level, shares[level], share)


@pytest.mark.parametrize("site", SITES)
def test_hardcoded_scales_are_the_fit(site):
    """The Weibull scales in _sites are exactly what calibrate() returns."""
    assert calibrate(site) == _sites.SITE_PARAMS[site].weibull_scale


def test_survival_ordered_by_stage_grade_and_age(big):
    df = big["breast"]
    km = lambda d: km_survival(d["survival_months"], d["cancer_death"], 60.0)  # noqa: E731
    css = [km(df[df["stage"] == s]) for s in ("I", "II", "III", "IV")]
    assert css == sorted(css, reverse=True)
    st2 = df[df["stage"] == "II"]
    assert km(st2[st2["grade"] == "I"]) > km(st2[st2["grade"] == "III"])
    assert km(st2[st2["er_status"] == "Positive"]) > km(st2[st2["er_status"] == "Negative"])
    # other-cause mortality rises with age: deaths not from cancer by age band
    other = (df["vital_status"] == "Dead") & (df["cancer_death"] == 0)
    bands = pd.cut(df["age"], [17, 49, 69, 100])
    rates = other.groupby(bands, observed=True).mean().to_numpy()
    assert rates[0] < rates[1] < rates[2] and rates[2] > 0.2


# ----------------------------------------------------------------------------- coherence
@pytest.mark.parametrize("site", SITES)
def test_coherence(big, site):
    df = big[site]
    assert (df["survival_months"] >= 0).all()
    max_fu = np.floor(12.0 * (2021.0 - df["year_of_diagnosis"]))
    assert (df["survival_months"] <= max_fu).all()
    assert (df.loc[df["cancer_death"] == 1, "vital_status"] == "Dead").all()
    assert (df["nodes_positive"] <= df["nodes_examined"]).all()
    assert ((df["stage"] == "IV") == (df["summary_stage"] == "Distant")).all()
    st1 = df[df["stage"] == "I"]
    assert (st1["summary_stage"] == "Localized").all() and (st1["nodes_positive"] == 0).all()
    assert ((df["surgery"] == "No") <= (df["nodes_examined"] == 0)).all()
    assert df["age"].between(18, 100).all() and (df["age"] == df["age"].round()).all()
    assert df["year_of_diagnosis"].between(2004, 2015).all()
    assert set(df["year_of_diagnosis"]) == set(range(2004, 2016))
    censored_alive = df[df["vital_status"] == "Alive"]
    assert (censored_alive["cancer_death"] == 0).all()
    if site != "prostate":
        assert df["tumor_size_mm"].between(1, 250).all()


def test_site_specific_coherence(big):
    br = big["breast"]
    assert abs((br["sex"] == "Female").mean() - 0.99) < 0.005
    assert (br.loc[br["stage"] == "I", "tumor_size_mm"] <= 20).all()
    assert (br.loc[br["stage"] == "II", "tumor_size_mm"] <= 50).all()
    assert 0.75 < (br["er_status"] == "Positive").mean() < 0.88
    assert (br.loc[br["er_status"] == "Negative", "pr_status"] == "Negative").mean() > 0.85
    pro = big["prostate"]
    assert (pro["sex"] == "Male").all()
    assert pro["psa_ng_ml"].between(0.1, 98.0).all()
    assert pro.groupby("stage")["psa_ng_ml"].median().is_monotonic_increasing
    crc = big["colorectal"]
    operated_iii = crc[(crc["stage"] == "III") & (crc["surgery"] == "Yes")]
    assert (operated_iii["nodes_positive"] >= 1).all()
    assert (crc.loc[crc["stage"].isin(["I", "II"]), "nodes_positive"] == 0).all()
    lung = big["lung"]
    assert (lung.loc[lung["stage"] == "I", "tumor_size_mm"] <= 50).all()
    sc = lung["histology"] == "Small cell"
    assert (lung.loc[sc, "stage"] == "IV").mean() > (lung.loc[~sc, "stage"] == "IV").mean()


@pytest.mark.parametrize("site", SITES)
def test_seer_coding_is_coherent(big, site):
    """SEER-coded extra columns restate the drawn values: age group holds the age, CS size code is the
    size, and (breast) the AJCC 6th-ed T/N/stage group follow the size, nodes and stage."""
    df = big[site]
    lo = df["age_group"].map({g: int(g[:2]) for g in AGE_GROUPS})
    assert set(df["age_group"]) <= set(AGE_GROUPS)
    assert ((lo <= df["age"]) & ((df["age"] <= lo + 4) | (df["age_group"] == "85+ years"))).all()
    if site != "prostate":
        assert (df["cs_tumor_size"].astype(int) == df["tumor_size_mm"]).all()
        assert (df["cs_tumor_size"].str.len() == 3).all()
    if site != "breast":
        return
    assert (df["stage_6th"].str.rstrip("ABC") == df["stage"]).all()
    t4 = (df["stage"] == "III") & (df["n_stage"] == "N0")
    assert ((df["t_stage"] == "T4") == t4).all()
    by_size = pd.cut(df["tumor_size_mm"], [0, 20, 50, 1e9], labels=["T1", "T2", "T3"]).astype(str)
    assert (df.loc[~t4, "t_stage"] == by_size[~t4]).all()
    operated = df["surgery"] == "Yes"
    by_nodes = pd.cut(df["nodes_positive"], [-1, 0, 3, 9, 1e9], labels=["N0", "N1", "N2", "N3"]).astype(str)
    assert (df.loc[operated, "n_stage"] == by_nodes[operated]).all()
    assert (df.loc[(df["stage_6th"] == "IIIC"), "n_stage"] == "N3").all()


# ----------------------------------------------------------------------------- Parquet I/O
def test_write_read_roundtrip_and_overwrite(tmp_path):
    cohort = simulate_cohort(2_500, "lung", seed=4, rows_per_partition=1_000)
    out = tmp_path / "cohort"
    write_cohort(cohort, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "part.0.parquet", "part.1.parquet", "part.2.parquet", "report.json", "schema.json"]
    back = read_simulated(out)
    assert back.schema == cohort.schema
    assert back.report.to_dict() == cohort.report.to_dict()
    assert back.data.npartitions == 3
    got = back.data.compute(scheduler="sync")
    pd.testing.assert_frame_equal(got, cohort.data.compute(scheduler="sync"), check_names=False)
    assert got["histology"].dtype == object
    # overwrite in place with another cohort; no temp dirs left behind
    write_cohort(simulate_cohort(10, "lung", seed=1), out)
    assert len(read_simulated(out).data.compute(scheduler="sync")) == 10
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_failed_write_leaves_nothing(tmp_path):
    cohort = simulate_cohort(100, "breast", seed=0, rows_per_partition=50)

    def boom(df):
        raise RuntimeError("disk on fire")

    cohort.data = cohort.data.map_partitions(boom, meta=cohort.data._meta)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_cohort(cohort, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_read_rejects_non_cohort_dir(tmp_path):
    with pytest.raises(CohortError, match="schema.json"):
        read_simulated(tmp_path)


# ----------------------------------------------------------------------------- real SEER subset
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "seer_breast_cancer.csv"


@pytest.mark.skipif(not REAL.is_file(), reason="real SEER breast subset not available")
def test_breast_marginals_close_to_real_seer_subset(big):
    """Same selection as the IEEE Dataport SEER subset (women 30-69, diagnosed 2006-2010, AJCC
    stage II-III, operated, node-positive): demographic and nodal marginals must be close."""
    real = pd.read_csv(REAL)
    real.columns = [c.strip() for c in real.columns]
    sim = big["breast"]
    sim = sim[sim["stage"].isin(["II", "III"]) & sim["year_of_diagnosis"].between(2006, 2010)
              & (sim["sex"] == "Female") & (sim["surgery"] == "Yes") & (sim["nodes_positive"] > 0)
              & sim["age"].between(30, 69)]
    assert len(sim) > 5_000
    assert abs(sim["age"].mean() - real["Age"].mean()) < 2.0
    assert abs(sim["age"].std() - real["Age"].std()) < 1.5
    assert abs(sim["nodes_examined"].median() - real["Regional Node Examined"].median()) <= 2
    assert abs(sim["nodes_positive"].median() - real["Reginol Node Positive"].median()) <= 1
    assert abs(sim["nodes_positive"].mean() - real["Reginol Node Positive"].mean()) < 0.6
    assert abs(sim["tumor_size_mm"].median() - real["Tumor Size"].median()) <= 5
    married = lambda s: (s.str.strip() == "Married").mean()  # noqa: E731
    assert abs(married(sim["marital_status"]) - married(real["Marital Status"])) < 0.05
    white = lambda s: (s == "White").mean()  # noqa: E731
    assert abs(white(sim["race"]) - white(real["Race"])) < 0.08
    grade1 = (real["Grade"].astype(str).str.strip() == "1").mean()
    assert abs((sim["grade"] == "I").mean() - grade1) < 0.05
    # SEER coding: AJCC 6th-ed stage group, T and N shares, and how often a coded profile is shared
    for col, real_col, tol in (("stage_6th", "6th Stage", 0.07), ("n_stage", "N Stage", 0.05),
                               ("t_stage", "T Stage", 0.10)):
        s_share = sim[col].value_counts(normalize=True)
        for level, share in real[real_col].str.strip().value_counts(normalize=True).items():
            assert abs(s_share.get(level, 0.0) - share) < tol, (col, level, s_share.get(level, 0.0), share)
    real["age_group"] = age_group(real["Age"])
    profile = ["age_group", "race", "marital_status", "stage_6th", "t_stage", "n_stage", "er_status", "pr_status",
               "grade"]
    real_profile = ["age_group", "Race", "Marital Status", "6th Stage", "T Stage", "N Stage", "Estrogen Status",
                    "Progesterone Status", "Grade"]
    dup_real = real.duplicated(real_profile, keep=False).mean()
    dup_sim = sim.sample(len(real), random_state=0).duplicated(profile, keep=False).mean()
    assert dup_real > 0.5 and abs(dup_sim - dup_real) < 0.08, (dup_sim, dup_real)


def test_other_cause_deaths_follow_the_life_table():
    """Deaths from other causes come from the US life table 2011 (syntwin.cohort._lifetable): its
    published life expectancy at birth, and the simulated 5-year other-cause mortality of women aged
    68-72 with little cancer hazard (stage I breast, frailty 1.0) is the table's."""
    from syntwin.cohort import _lifetable as L

    assert len(L.Q_FEMALE) == len(L.Q_MALE) == 100
    for male, e0 in ((False, 81.1), (True, 76.3)):  # NVSR 64(11): e_0 in 2011
        ages = np.arange(0.0, 150.0, 0.01)
        assert abs(np.exp(-np.interp(ages, *L._CUM[male])).sum() * 0.01 - e0) < 0.1
    rng = np.random.default_rng(0)
    e = rng.standard_exponential(400_000)
    years = L.other_cause_years(np.full(e.size, 70.0), np.zeros(e.size, bool), e, 1.0)
    assert abs((years > 5).mean() - L.survival(70.0, 5.0)) < 0.003
    assert 0.90 < L.survival(70.0, 5.0) < 0.92 and L.survival(70.0, 5.0, male=True) < L.survival(70.0, 5.0)
    # ~6,500 women aged 68-72 (SE 0.004); the Gompertz law used before gives 0.117 against the table's 0.092
    df = simulate_partition(200_000, "breast", 5, 0, 0)
    old = df[df["age"].between(68, 72) & (df["stage"] == "I") & (df["year_of_diagnosis"] <= 2010)]
    other = (old["vital_status"] == "Dead") & (old["cancer_death"] == 0) & (old["survival_months"] < 60)
    assert abs(other.mean() - (1 - L.survival(70.0, 5.0))) < 0.015, (other.mean(), len(old))
