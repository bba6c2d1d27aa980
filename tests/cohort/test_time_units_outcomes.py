"""Follow-up in days, weeks, months or years is converted once to months; rows without an outcome are an
error naming the row, or left out and counted, as the mapping says."""

from __future__ import annotations

import pytest

from syntwin.cohort.mapping import SchemaMapping
from syntwin.cohort.readers import read_cohort
from syntwin.errors import CohortError

ROWS = "age,t,status\n50,365.25,dead\n61,0,alive\n70,730.5,alive\n"


def mapping(**kw) -> SchemaMapping:
    return SchemaMapping(columns={"age": "age", "t": "t", "status": "status"}, numeric=["age"], time="t",
                         event={"column": "status", "positive": ["dead"], "negative": ["alive"]}, **kw)


@pytest.mark.parametrize("unit, months", [("days", [12.0, 0.0, 24.0]), ("weeks", [84.0, 0.0, 168.0]),
                                          ("months", [365.25, 0.0, 730.5]), ("years", [4383.0, 0.0, 8766.0])])
def test_time_unit_converted_once_and_reported(tmp_path, unit, months):
    p = tmp_path / "c.csv"
    p.write_text(ROWS)
    m = mapping() if unit == "months" else mapping(time_unit=unit)
    c = read_cohort(p, m)
    assert c.data.compute()["t"].tolist() == pytest.approx(months, abs=0.01)
    converted = [r for r in c.report.rules if "converted from" in r]
    assert converted == ([] if unit == "months" else [f"t: converted from {unit} to months "
                                                        f"(x {months[0] / 365.25:.6g})"])


def test_missing_outcome_error_or_counted_drop(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(ROWS + "55,,alive\n58,100,\n66,,\n")
    with pytest.raises(CohortError, match="2 rows have no value in required column 't'") as err:
        read_cohort(p, mapping())
    assert err.value.row == 4
    c = read_cohort(p, mapping(missing_outcome="drop"))
    assert len(c.data.compute()) == 3 and c.report.rows_dropped == 3 and c.report.rows_read == 3
    assert c.report.rules["rows left out (missing outcome with missing_outcome: drop, or event.exclude)"] == 3
    with pytest.raises(CohortError, match="no patient left"):
        (tmp_path / "none.csv").write_text("age,t,status\n50,,dead\n")
        read_cohort(tmp_path / "none.csv", mapping(missing_outcome="drop"))
