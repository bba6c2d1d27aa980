"""The export streamed per part of a twins dataset releases what the whole-table export releases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syntwin.export import export_twins, read_table, releasable
from syntwin.export.stream import export_parts

FORMATS = ["parquet", "csv", "fhir", "aggregates"]


def _twins(cohort, name):
    s = cohort["schema"]
    if name == "copies_10pct":
        n10 = len(cohort["independent"]) // 10
        return pd.concat([cohort["independent"][s.modelled].iloc[n10:], cohort["train"][s.modelled].iloc[:n10]],
                         ignore_index=True)
    return cohort["independent"][s.modelled]


def _write_parts(twins, folder, cuts=(0, 200, 201, 900)):
    folder.mkdir(parents=True)
    files = []
    for j, (a, b) in enumerate(zip(cuts, [*cuts[1:], len(twins)])):
        files.append(folder / f"part.{j:05d}.parquet")
        twins.iloc[a:b].to_parquet(files[-1], index=False)
    return files


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["copies_10pct", "independent", None])
def test_parts_export_equals_the_whole_table_export(tmp_path, cohort, results, name, dask_client):
    """Copies dropped, small classes suppressed across parts, ids numbered across parts: the same bytes."""
    s = cohort["schema"]
    twins = _twins(cohort, name or "independent")
    release = results[name]["release"] if name else None
    files = _write_parts(twins, tmp_path / "twins")
    got = export_parts(files, s, tmp_path / "parts", FORMATS, release=release, site="breast", client=dask_client,
                       fhir_validate=300)
    export_twins(twins, s, tmp_path / "whole", FORMATS, release=release, site="breast", fhir_validate=300)
    released = releasable(twins, s, release)
    assert got["rows"] == len(released) and got["rows_generated"] == len(twins)
    assert got["columns"] == list(released.columns)
    if name:
        assert 0 < len(released) < len(twins)  # something was withheld, so the global steps were exercised
    parts, whole = _tree(tmp_path / "parts"), _tree(tmp_path / "whole")
    assert set(parts) == set(whole)
    for rel in whole:
        if rel != "twins.parquet":  # CSV, FHIR NDJSON, aggregates: byte for byte
            assert parts[rel] == whole[rel], rel
    back = read_table(tmp_path / "parts" / "twins.parquet")
    pd.testing.assert_frame_equal(back, released)  # values and dtypes (whole numbers as integers)
    assert pd.read_parquet(tmp_path / "parts" / "twins.parquet").shape == released.shape
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "parts" / "twins.parquet").num_row_groups == 4  # one per part
    assert (tmp_path / "parts" / "fhir" / "Patient.ndjson").read_text().splitlines()[-1].startswith(
        f'{{"resourceType":"Patient","id":"twin-{len(released)}"')


def test_large_release_is_a_folder_of_parts_and_no_client_is_the_same(tmp_path, cohort, results):
    s = cohort["schema"]
    twins, release = _twins(cohort, "copies_10pct"), results["copies_10pct"]["release"]
    files = _write_parts(twins, tmp_path / "twins")
    got = export_parts(files, s, tmp_path / "out", ["parquet", "csv"], release=release, rows_per_file=500)
    folder = tmp_path / "out" / "twins.parquet"
    assert folder.is_dir() and [p.name for p in sorted(folder.iterdir())] == [f"part-{j:05d}.parquet"
                                                                             for j in range(4)]
    pd.testing.assert_frame_equal(read_table(folder), releasable(twins, s, release))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "twins.csv"), pd.read_csv(
        export_twins(twins, s, tmp_path / "w", ["csv"], release=release)["csv"]))
    assert got["rows"] == len(read_table(folder))
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no work folder left


def test_a_column_missing_only_in_some_parts_keeps_one_type(tmp_path, cohort):
    """Whole numbers become int64 / Int64 by the whole release, not part by part; all-missing parts unify."""
    s = cohort["schema"]
    twins = _twins(cohort, "independent").copy()
    num = next(c for c in s.numeric if pd.api.types.is_float_dtype(twins[c]) or True)
    twins[num] = twins[num].astype(float)
    twins.loc[:199, num] = np.nan  # part 0 has none of this column's values
    cat = s.categorical[0]
    twins[cat] = twins[cat].astype(object)
    twins.loc[:199, cat] = None
    files = _write_parts(twins, tmp_path / "twins")
    export_parts(files, s, tmp_path / "out", ["parquet", "csv"])
    released = releasable(twins, s)
    assert str(released[num].dtype) == "Int64"
    pd.testing.assert_frame_equal(read_table(tmp_path / "out" / "twins.parquet"), released)
    whole = export_twins(twins, s, tmp_path / "w", ["csv"])["csv"]
    assert (tmp_path / "out" / "twins.csv").read_bytes() == whole.read_bytes()


def test_unknown_format_is_refused(tmp_path, cohort):
    files = _write_parts(_twins(cohort, "independent"), tmp_path / "twins")
    with pytest.raises(ValueError, match="unknown export format"):
        export_parts(files, cohort["schema"], tmp_path / "out", ["xlsx"])
