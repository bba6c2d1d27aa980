"""Exports: formats round-trip, FHIR validates, the gate holds, interrupted exports leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syntwin.errors import OutputError, PrivacyGateError, StageError
from syntwin.export import (
    aggregate_counts,
    check_no_models,
    export_run,
    export_twins,
    read_table,
    releasable,
    write_fhir_ndjson,
    write_parquet,
)
from syntwin.export.fhir import fhir_resources, validate_resource
from syntwin.io import sha256_file, sha256_tree, write_json


def make_run(root: Path, cohort, result, twins: pd.DataFrame, *, site: str = "breast") -> Path:
    """A run directory as `syntwin run` leaves it (manifest, schema, scenario, export/twins.parquet)."""
    run = root / "run"
    schema = cohort["schema"]
    (run / "cohort").mkdir(parents=True)
    schema.save(run / "cohort" / "schema.json")
    export_twins(twins, schema, run / "export", ["parquet"], release=result["release"])
    write_json(run / "scenario.json", {"cohort": {"simulate": {"site": site, "n": 4500}}})
    manifest = {
        "scenario": "test",
        "kind": "cohort",
        "seed": 3,
        "config_sha256": "c0ffee",
        "versions": {"syntwin": "0"},
        "metrics": {
            "synthesis": {"rows": len(twins), "quality": 0.9, "seconds": 1.0},
            "privacy": {"figures": result["figures"], "gate": result["gate"], "release": result["release"]},
        },
        "outputs": {
            "twins_parquet": {
                "path": "export/twins.parquet",
                "sha256": sha256_tree(run / "export" / "twins.parquet"),
            }
        },
    }
    write_json(run / "manifest.json", manifest)
    return run


@pytest.fixture()
def honest_run(tmp_path, cohort, honest):
    s = cohort["schema"]
    return make_run(tmp_path, cohort, honest["result"], honest["twins"][s.columns])


def test_releasable_drops_identifiers_extras_and_small_classes(cohort, results):
    s, twins = cohort["schema"], cohort["independent"]
    assert "patient_id" in twins.columns and "vital_status" in twins.columns
    plain = releasable(twins, s)
    assert list(plain.columns) == s.modelled and len(plain) == len(twins)
    rel = results["independent"]["release"]
    released = releasable(twins, s, rel)
    share = results["independent"]["figures"]["k_suppressed_share"]
    assert len(twins) - len(released) == round(share * len(twins))
    assert len(releasable(released, s, rel)) == len(released)  # idempotent: now k-anonymous


def test_parquet_and_csv_round_trip(tmp_path, cohort):
    s = cohort["schema"]
    twins = cohort["independent"][s.modelled]
    written = export_twins(twins, s, tmp_path, ["parquet", "csv"])
    parquet, back = read_table(written["parquet"]), read_table(written["csv"])
    pd.testing.assert_frame_equal(parquet, twins, check_dtype=False)
    pd.testing.assert_frame_equal(back, twins, check_dtype=False)
    # whole-number columns are released as integers (no "2004.0"), the others keep their floats
    integral = [c for c in twins.columns if pd.api.types.is_float_dtype(twins[c])
                and np.allclose(twins[c].dropna() % 1, 0)]
    assert integral, "the fixture should hold a whole-number float column"
    for table in (parquet, back):
        assert all(pd.api.types.is_integer_dtype(table[c]) for c in integral), table.dtypes
    # partitioned Parquet for large tables
    parts = write_parquet(twins, tmp_path / "big.parquet", rows_per_file=400)
    assert parts.is_dir() and len(list(parts.glob("part-*.parquet"))) == 4
    pd.testing.assert_frame_equal(read_table(parts), twins)
    pd.testing.assert_frame_equal(pd.read_parquet(parts), twins)


def test_fhir_resources_validate_and_carry_the_values(tmp_path, cohort):
    s = cohort["schema"]
    twins = cohort["independent"][s.modelled].head(300)
    written = write_fhir_ndjson(twins, tmp_path, validate=None, event=s.event, site="breast")
    lines = {k: [json.loads(x) for x in p.read_text().splitlines()] for k, p in written.items()}
    assert len(lines["Patient"]) == len(lines["Condition"]) == 300
    # stage, grade, size, ER, PR, HER2 per patient (no missing values in the simulator)
    assert len(lines["Observation"]) == 6 * 300
    p0, row = lines["Patient"][0], twins.iloc[0]
    assert p0["id"] == "twin-1" and p0["gender"] == row["sex"].lower()
    assert p0["birthDate"] == f"{int(row['year_of_diagnosis'] - row['age']):04d}"
    dead = {p["id"] for p in lines["Patient"] if p.get("deceasedBoolean")}
    assert len(dead) == int(twins[s.event].sum())
    cond = lines["Condition"][0]
    assert (
        cond["bodySite"][0]["coding"][0]["code"] == "C50.9"
        and cond["subject"]["reference"] == "Patient/twin-1"
    )
    size = next(o for o in lines["Observation"] if o["id"] == "twin-1-tumor-size")
    assert (
        size["valueQuantity"]["value"] == row["tumor_size_mm"]
        and size["code"]["coding"][0]["code"] == "21889-1"
    )
    er = next(o for o in lines["Observation"] if o["id"] == "twin-1-er")
    assert er["valueCodeableConcept"]["text"] == row["er_status"]
    for kind in lines:  # every line re-validates against fhir.resources
        for res in lines[kind][:50]:
            validate_resource(res)
    with pytest.raises(StageError, match="does not validate"):
        validate_resource({**lines["Observation"][0], "status": None})


def test_fhir_icdo3_histology_for_lung():
    df = pd.DataFrame(
        {
            "histology": ["Adenocarcinoma", "8070/3 squamous", "Other"],
            "age": [60.0, 70.0, 50.0],
            "sex": ["Male", "Female", "Male"],
        }
    )
    conds = [r for r in fhir_resources(df, site="lung") if r["resourceType"] == "Condition"]
    assert [c["code"]["coding"][0]["code"] for c in conds] == ["8140/3", "8070/3", "363346000"]
    for r in fhir_resources(df, site="lung"):
        validate_resource(r)


def test_aggregates_suppress_cells_below_11():
    df = pd.DataFrame(
        {"stage": ["I"] * 30 + ["II"] * 11 + ["IV"] * 10, "dead": [0] * 20 + [1] * 10 + [0] * 21}
    )
    t = aggregate_counts(df, ["stage", "dead"])
    got = {(r.stage, r.dead): (None if pd.isna(r.count) else int(r.count)) for r in t.itertuples()}
    # zero cells are listed and withheld like small ones; (I, 0) and (II, 0) close the subtraction
    assert got == {("I", 0): None, ("I", 1): None, ("II", 0): None, ("II", 1): None, ("IV", 0): None,
                   ("IV", 1): None}
    assert (t["suppressed"] == "small").sum() == 4


def test_export_run_writes_every_format_and_a_checksummed_manifest(honest_run, cohort, honest):
    manifest = export_run(honest_run, ["parquet", "csv", "fhir", "aggregates"], fhir_validate=100)
    out = honest_run / "release"
    assert json.loads((out / "manifest.json").read_text()) == json.loads(json.dumps(manifest))
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert files == set(manifest["files"])
    for rel, entry in manifest["files"].items():
        assert sha256_file(out / rel) == entry["sha256"]
    assert {
        "twins.parquet",
        "twins.csv",
        "fhir/Patient.ndjson",
        "aggregates/stage_by_cancer_death.csv",
    } <= files
    gate = manifest["privacy"]["gate"]
    assert gate["mia_distance_auroc"]["threshold"] == 0.6 and gate["k_anonymity"]["op"] == ">="
    assert manifest["run"]["seed"] == 3 and manifest["run"]["config_sha256"] == "c0ffee"
    n = len(honest["twins"])
    assert manifest["fidelity"]["synthesis"] == {"rows": n, "quality": 0.9}
    released = read_table(out / "twins.parquet")
    assert "patient_id" not in released.columns and "vital_status" not in released.columns
    share = honest["result"]["figures"]["k_suppressed_share"]
    assert manifest["rows"] == len(released) == n - round(share * n)  # suppressed when the run exported
    assert manifest["rows_suppressed"] == 0
    agg = pd.read_csv(out / "aggregates" / "sex_by_cancer_death.csv")
    assert (agg["count"].dropna() >= 11).all()
    with pytest.raises(OutputError, match="not empty"):
        export_run(honest_run, ["csv"])


@pytest.mark.parametrize("fail_on", ["twins.csv", "Observation.ndjson", "stage_by_cancer_death.csv"])
def test_interrupted_export_leaves_no_manifest_and_no_partial_file(honest_run, fail_on):
    def boom(path: Path) -> None:
        if fail_on.split(".")[0] in path.name:
            raise OSError("disk full (injected)")

    with pytest.raises(OSError, match="injected"):
        export_run(honest_run, ["parquet", "csv", "fhir", "aggregates"], on_write=boom, fhir_validate=10)
    assert not (honest_run / "release").exists()
    leftovers = [p for p in honest_run.rglob("*") if ".partial" in str(p) or p.name.endswith(".tmp")]
    assert leftovers == []


def test_failed_or_incomplete_gate_refuses_export(tmp_path, cohort, results):
    s = cohort["schema"]
    leaky = make_run(tmp_path, cohort, results["copies"], cohort["train"][s.columns])
    with pytest.raises(PrivacyGateError, match="exact_copy_share = 1.0") as err:
        export_run(leaky, ["csv"])
    assert "mia_distance_auroc" in str(err.value)
    assert not (leaky / "release").exists()
    # a run gated on fewer checks than required cannot be exported
    m = json.loads((leaky / "manifest.json").read_text())
    m["metrics"]["privacy"]["gate"] = {
        "dcr_train_share": {"value": 0.5, "threshold": 0.6, "op": "<=", "passed": True}
    }
    write_json(leaky / "manifest.json", m)
    with pytest.raises(PrivacyGateError, match="exact_copy_share was not checked"):
        export_run(leaky, ["csv"])
    with pytest.raises(StageError, match="not a run directory"):
        export_run(tmp_path / "nowhere", ["csv"])


def test_twins_changed_after_the_gate_are_refused(honest_run, cohort):
    path = honest_run / "export" / "twins.parquet"
    df = pd.read_parquet(path)
    df.iloc[0] = cohort["train"][df.columns].iloc[0]  # slip a training patient in
    df.to_parquet(path, index=False)
    with pytest.raises(PrivacyGateError, match="changed after the privacy gate"):
        export_run(honest_run, ["csv"])


def test_sdv_metadata_and_pickles_never_leave(honest_run, tmp_path):
    sdv_meta = pytest.importorskip("sdv.metadata")
    from sdv.single_table import GaussianCopulaSynthesizer

    train = pd.read_parquet(honest_run / "export" / "twins.parquet").head(200)
    md = sdv_meta.Metadata.detect_from_dataframes({"t": train})
    (honest_run / "synthesis").mkdir()
    md.save_to_json(honest_run / "synthesis" / "metadata.json")
    synth = GaussianCopulaSynthesizer(md)
    synth.fit({"t": train})
    synth.save(honest_run / "synthesis" / "model.pkl")
    assert "range_max" in (honest_run / "synthesis" / "metadata.json").read_text()  # real min/max inside
    export_run(honest_run, ["parquet", "csv", "fhir", "aggregates"], fhir_validate=0)
    out_files = [p for p in (honest_run / "release").rglob("*") if p.is_file()]
    assert not [p for p in out_files if p.suffix in (".pkl", ".pickle")]
    for p in out_files:
        if p.suffix == ".json":
            text = p.read_text()
            assert "METADATA_SPEC_VERSION" not in text and "sdtype" not in text
    # and the guard refuses a folder that holds either
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text((honest_run / "synthesis" / "metadata.json").read_text())
    with pytest.raises(OutputError, match="SDV metadata"):
        check_no_models(bad)
    (bad / "meta.json").unlink()
    (bad / "m.pkl").write_bytes(b"\x80\x04.")
    with pytest.raises(OutputError, match="fitted models"):
        check_no_models(bad)


def test_unknown_format(tmp_path, cohort):
    with pytest.raises(ValueError, match="unknown export format"):
        export_twins(cohort["independent"], cohort["schema"], tmp_path, ["xlsx"])
    assert np.isfinite(0)


def test_chance_copies_are_dropped_from_the_release(cohort, kwargs):
    """Twins that hit 5 training patients: counted (and judged: memorisation) as generated; those 5 never leave."""
    from syntwin.privacy import evaluate_privacy

    s, train = cohort["schema"], cohort["train"]
    twins = pd.concat([cohort["independent"][s.modelled], train[s.modelled].iloc[:5]], ignore_index=True)
    r = evaluate_privacy(twins, train, cohort["holdout"], **kwargs)
    f = r["figures"]
    assert f["exact_copies"] == 5 and f["exact_copies_released"] == 0
    assert r["gate"]["exact_copy_share"]["passed"]  # 0.3 % copies: within the share allowed by chance...
    assert r["gate"]["memorisation_ratio"]["status"] != "pass"  # ...but copies of training patients, none of held-out

    released = releasable(twins, s, r["release"])
    merged = released.merge(train[s.modelled].iloc[:5], how="inner")
    assert merged.empty
    assert len(released) == len(twins) - 5 - round(f["k_suppressed_share"] * len(twins))


def test_privacy_table_of_a_run(honest_run, tmp_path):
    from syntwin.privacy import privacy_table

    t = privacy_table(honest_run)
    assert list(t.columns) == ["metric", "value", "op", "threshold", "status", "passed", "ci_low", "ci_high", "n",
                               "baseline", "detectable"]
    row = t.set_index("metric").loc["mia_distance_auroc"]
    assert row["op"] == "<=" and row["threshold"] == 0.6 and bool(row["passed"]) and row["status"] == "pass"
    assert row["ci_low"] < row["value"] < row["ci_high"] <= 0.6 and row["baseline"] == 0.5
    inf = t.set_index("metric").loc["inference_risk"]
    assert inf["n"] >= 2000 and 0 < inf["detectable"] < 0.2 and 0 < inf["baseline"] < 1  # control success rate
    assert pd.isna(t.set_index("metric").loc["holdout_copy_share", "threshold"])  # reported, not gated
    # the flat layout (figures beside the gate) reads too
    flat = tmp_path / "flat"
    flat.mkdir()
    write_json(
        flat / "manifest.json",
        {
            "metrics": {
                "privacy": {
                    "exact_copies": 0,
                    "dcr_train_share": 0.51,
                    "seconds": 2.0,
                    "gate": {"exact_copies": {"value": 0, "threshold": 0, "op": "<=", "passed": True}},
                }
            }
        },
    )
    t2 = privacy_table(flat).set_index("metric")
    assert set(t2.index) == {"exact_copies", "dcr_train_share"} and bool(t2.loc["exact_copies", "passed"])
    with pytest.raises(FileNotFoundError):
        privacy_table(tmp_path / "none")
