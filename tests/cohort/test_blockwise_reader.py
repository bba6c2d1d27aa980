"""The blockwise reader (syntwin.cohort.blocks): blocks parsed and cleaned on the workers, equal to the sequential
reader row for row, errors at the right global row, the same part bytes on 1 and 2 workers."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from distributed import Client, LocalCluster, get_task_stream

from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.presets import resolve_mapping
from syntwin.cohort.readers import _read_streamed, read_cohort
from syntwin.errors import CohortError
from syntwin.sample_data import shared_data

from .seer_stat_listing import listing, write_listing
from .test_readers import HEADER, SMALL_YAML

SHARED = shared_data("seer_breast_cancer.csv")


@pytest.fixture
def small() -> SchemaMapping:
    return SchemaMapping.model_validate(yaml.safe_load(SMALL_YAML))


def sequential(path: Path, mapping, n: int):
    """The reader as it was: the file streamed in this process, every cleaned chunk kept, then concatenated."""
    m = resolve_mapping(mapping)
    data, plan, report, kept, missing = _read_streamed(Path(path), str(path), m, n, None)
    return data().compute(), report


def same_as_sequential(path: Path, mapping, n: int, **kw):
    c = read_cohort(path, mapping, rows_per_partition=n, **kw)
    if "folder" not in kw:  # blockwise: partitions that parse their block, not the sequential reader's frames
        assert c.data._name.startswith("read-cohort") and b"block_frame" in pickle.dumps(c.data.__dask_graph__())
    got = c.data.compute()
    want, report = sequential(path, mapping, n)
    pd.testing.assert_frame_equal(got, want)  # values, dtypes, order and the global index
    assert list(c.report.rules.items())[: len(report.rules)] == list(report.rules.items())
    assert c.report.rows_dropped == report.rows_dropped
    assert c.report.missing == {f: int(k) for f in c.schema.features if (k := want[f].isna().sum())}
    return c, got


def messy_lines(n: int) -> list[str]:
    """A small-mapping CSV with spaces, recodes, 'Unknown', quoted values holding the delimiter, blank lines."""
    stages = ["T1", " t2", "1", "T3", "T4 "]
    marital = ["Married", "Single ", "Unknown", '"Married, again"', ""]
    out = [HEADER]
    for i in range(n):
        out.append(f"a{i},{40 + i % 37},{stages[i % 5]},{marital[i % 4 if i % 11 else 4]},{i % 90},"
                   f"{'Dead' if i % 3 == 0 else 'Alive'}")
        if i % 13 == 5:
            out.append("")  # blank lines: skipped, not numbered
    return out


def write(path: Path, lines: list[str], end: str = "\r\n", encoding: str = "utf-8") -> Path:
    path.write_bytes(end.join(lines).encode(encoding))
    return path


# ------------------------------------------------------------------ equal to the sequential reader


@pytest.mark.skipif(not SHARED.exists(), reason="shared SEER CSV absent")
def test_real_seer_subset_on_the_workers_equals_the_sequential_reader(dask_client, tmp_path):
    with get_task_stream(dask_client) as ts:
        c, got = same_as_sequential(SHARED, "seer_breast_csv", 700, client=dask_client, folder=tmp_path / "parts")
    assert len([t for t in ts.data if str(t["key"]).startswith("read-block-")]) == 6
    assert len(got) == 4024 and c.data.npartitions == 6  # ceil(4024 / 700) blocks of the file
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [f"part.{i:05d}.parquet" for i in range(6)]


@pytest.mark.parametrize("end, encoding", [("\r\n", "utf-8"), ("\n", "latin-1")])
def test_messy_multi_block_csv_equals_the_sequential_reader(tmp_path, small, end, encoding):
    lines = messy_lines(200)
    lines[5] = lines[5].replace("Married", "Mari\xe9e")  # data row 5
    p = write(tmp_path / "messy.csv", lines, end=end, encoding=encoding)
    c, got = same_as_sequential(p, small, 9)
    assert c.data.npartitions == 23 and len(got) == 200  # ceil(200 / 9) blocks, the blank lines not counted
    assert c.report.rules["blank lines skipped"] == 15
    assert got["marital_status"].iloc[4] == "Mariée" and got["marital_status"].iloc[3] == "Married, again"


def test_seer_stat_listing_in_blocks_on_the_workers(dask_client, tmp_path):
    p = write_listing(tmp_path / "listing.csv", listing(900, seed=5))
    c, got = same_as_sequential(p, "seer_stat", 128, client=dask_client)
    assert c.report.rows_dropped > 0 and len(got) == 900 - c.report.rows_dropped
    assert c.report.missing  # Blank(s) and Unknown kept as missing, counted over all blocks
    tab = tmp_path / "listing.txt"
    pd.read_csv(p, dtype=str, keep_default_na=False).to_csv(tab, sep="\t", index=False)
    same_as_sequential(tab, "seer_stat", 100, client=dask_client)


def test_parquet_files_and_row_groups_in_blocks(dask_client, tmp_path):
    df = listing(500, seed=2)
    folder = tmp_path / "pq"
    folder.mkdir()
    for i, part in enumerate((df.iloc[:230], df.iloc[230:])):
        pq.write_table(pa.Table.from_pandas(part.astype(str), preserve_index=False), folder / f"p{i}.parquet",
                       row_group_size=60)
    c, got = same_as_sequential(folder, "seer_stat", 100, client=dask_client)
    assert c.data.npartitions == 6  # 230 rows: 100, 100, 30; 270 rows: 100, 100, 70


# ------------------------------------------------------------------ errors at the global row


def test_value_error_in_a_late_block_names_the_global_row(dask_client, tmp_path, small):
    lines = messy_lines(120)
    row = 117
    lines = [x for x in lines if x]  # no blank line: data row r is line r + 1
    lines[row] = lines[row].replace(",Alive", ",Lost").replace(",Dead", ",Lost")
    p = write(tmp_path / "late.csv", lines)
    with pytest.raises(CohortError) as seq:
        sequential(p, small, 10)
    parts = tmp_path / "parts"
    with pytest.raises(CohortError) as blocks:
        read_cohort(p, small, rows_per_partition=10, client=dask_client, folder=parts)
    assert blocks.value.row == seq.value.row == row and blocks.value.field == "Status"
    assert str(blocks.value) == str(seq.value)
    assert not parts.exists()  # nothing half-written


def test_duplicates_across_blocks_first_in_file_order(dask_client, tmp_path, small):
    lines = [x for x in messy_lines(90) if x]
    lines[61] = lines[61].replace("a60,", "a3,")   # data row 61 repeats row 4's id
    lines[80] = lines[80].replace("a79,", "a10,")  # and row 80 repeats row 11's
    p = write(tmp_path / "dups.csv", lines)
    with pytest.raises(CohortError) as err:
        read_cohort(p, small, rows_per_partition=8, client=dask_client)
    with pytest.raises(CohortError) as seq:
        sequential(p, small, 8)
    assert err.value.row == 61 and str(err.value) == str(seq.value) and "2 duplicate rows" in str(err.value)


def test_structural_problem_in_a_late_block_falls_back_to_the_strict_path(tmp_path, small):
    lines = [x for x in messy_lines(60) if x]
    lines[50] += ",extra"  # data row 50, line 51: one field too many
    p = write(tmp_path / "width.csv", lines)
    parts = tmp_path / "parts"
    with pytest.raises(CohortError) as err:
        read_cohort(p, small, rows_per_partition=7, folder=parts)
    assert err.value.row == 50 and "line 51 has 7 fields but the header has 6" in str(err.value)
    assert not parts.exists()
    lines[50] = lines[50].removesuffix(",extra")
    lines[21] = lines[21].replace("Married", '"Mar\nried"')  # a quoted line break: the strict path, spilled
    c = read_cohort(write(tmp_path / "quoted.csv", lines), small, rows_per_partition=7, folder=tmp_path / "q")
    assert c.data.compute()["marital_status"].iloc[20] == "Mar\nried" and len(c.data.compute()) == 60
    assert len(list((tmp_path / "q").glob("part.*.parquet"))) == c.data.npartitions == 9


def test_cli_read_of_a_bad_late_row_exits_2_and_writes_nothing(tmp_path, small):
    from ..spine.test_failing_well import one_line, syntwin

    lines = [x for x in messy_lines(300) if x]
    lines[290] = lines[290].replace(",T", ",T9")
    p = write(tmp_path / "bad.csv", lines)
    (tmp_path / "m.yaml").write_text(SMALL_YAML)
    out = tmp_path / "out"
    proc = syntwin("cohort", "read", str(p), "--mapping", str(tmp_path / "m.yaml"), "--out", str(out))
    assert "row 290" in one_line(proc, 2, "T Stage")
    assert not out.exists()


# ------------------------------------------------------------------ the cluster's work, not the client's


def test_blocks_run_on_the_workers_and_the_graph_holds_no_rows(dask_client, tmp_path):
    p = write_listing(tmp_path / "listing.csv", listing(1200, seed=9))
    with get_task_stream(dask_client) as ts:
        c = read_cohort(p, "seer_stat", rows_per_partition=150, client=dask_client, folder=tmp_path / "parts")
    ran = [t for t in ts.data if str(t["key"]).startswith("read-block-")]
    workers = set(dask_client.scheduler_info()["workers"])
    assert len(ran) == 8 and {t["worker"] for t in ran} <= workers
    assert c.data.npartitions == 8
    graph = pickle.dumps(dict(c.data.__dask_graph__()))
    assert b"Dead (attributable" not in graph  # no row values in the graph: the partitions read part files
    assert len(graph) < c.data.compute().memory_usage(deep=True).sum() / 4


def test_same_part_bytes_on_one_and_two_workers(dask_client, tmp_path):
    p = write_listing(tmp_path / "listing.csv", listing(1000, seed=4))
    read_cohort(p, "seer_stat", rows_per_partition=120, client=dask_client, folder=tmp_path / "two")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as one:
        read_cohort(p, "seer_stat", rows_per_partition=120, client=one, folder=tmp_path / "one")
    read_cohort(p, "seer_stat", rows_per_partition=120, folder=tmp_path / "here")
    names = sorted(f.name for f in (tmp_path / "two").iterdir())
    assert len(names) == 9
    for folder in ("one", "here"):
        assert sorted(f.name for f in (tmp_path / folder).iterdir()) == names
        for name in names:
            assert (tmp_path / folder / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
