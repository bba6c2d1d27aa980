"""`syntwin validate` opens the cohort file's header and reports every problem at once, in user terms."""

from __future__ import annotations

from .test_failing_well import one_line, survival_csv, syntwin

MAPPING = """kind: cohort
name: checked
cohort:
  file: c.csv
  mapping:
    columns: {{{columns}}}
    numeric: [age]
    ordinal: {{grade: [I, II, III]}}
    categorical: [site]
    time: months
    event: {{column: status, positive: [dead], negative: [alive]}}
"""


def test_three_problems_at_once_with_did_you_mean(tmp_path):
    survival_csv(tmp_path / "c.csv", 60)
    cols = "agee: age, grade: grade, Site: site, months: months, status: status"
    (tmp_path / "s.yaml").write_text(MAPPING.format(columns=cols) + "graph: {k: 0}\n")
    line = one_line(syntwin("validate", str(tmp_path / "s.yaml")), 2, "3 problems")
    assert "graph.k" in line and "greater than or equal to 1" in line
    assert "`agee` is not a source header; did you mean `age`?" in line
    assert "`Site` is not a source header; did you mean `site`?" in line
    assert "function-after" not in line and "SchemaMapping" not in line


def test_roles_and_unmapped_headers(tmp_path):
    survival_csv(tmp_path / "c.csv", 60)
    cols = "age: age, grade: grade, months: months, status: status"  # site has a role but no source
    (tmp_path / "s.yaml").write_text(MAPPING.format(columns=cols))
    line = one_line(syntwin("validate", str(tmp_path / "s.yaml")), 2, "cohort.mapping", "['site']")
    assert "function-after" not in line and ".str" not in line
    ok = MAPPING.format(columns="age: age, grade: grade, months: months, status: status").replace(
        "    categorical: [site]\n", "")
    (tmp_path / "s.yaml").write_text(ok)
    proc = syntwin("validate", str(tmp_path / "s.yaml"))
    assert proc.returncode == 0 and "not in the mapping (ignored): site" in proc.stdout
