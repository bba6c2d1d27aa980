"""What stays on the machine: owner-only modes (tests run as root, so the mode bits are tested, not access)."""

from __future__ import annotations

import json
import os
import stat

import pandas as pd

from syntwin.export.run import write_release_manifest
from syntwin.io import sha256_file
from syntwin.privacy.files import loose_modes, owner_only_umask, restrict_tree


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_umask_makes_new_files_private_and_restrict_tree_fixes_old_ones(tmp_path):
    old = tmp_path / "old"
    (old / "graph").mkdir(parents=True)
    (old / "graph" / "edges.parquet").write_text("x")
    os.chmod(old / "graph" / "edges.parquet", 0o644)
    os.chmod(old / "graph", 0o755)
    assert len(loose_modes(old)) >= 2  # the check sees loose modes (it can fail)
    restrict_tree(old)
    assert loose_modes(old) == []
    assert _mode(old / "graph") == 0o700 and _mode(old / "graph" / "edges.parquet") == 0o600
    previous = owner_only_umask()
    try:
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "scores.parquet").write_text("y")
        pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "new" / "t.parquet")
    finally:
        os.umask(previous)
    assert loose_modes(tmp_path / "new") == []


def test_release_manifest_lists_every_file_with_gate_and_dp(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(out / "twins.csv", index=False)
    privacy = {"passed": True, "gate": {"k_anonymity": {"value": 5, "passed": True}}}
    m = write_release_manifest(out, privacy=privacy, rows=2, rows_generated=3, columns=["a"],
                               dp={"epsilon": 1.0, "delta": 1e-8})
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(m))
    assert m["files"]["twins.csv"]["sha256"] == sha256_file(out / "twins.csv") and "manifest.json" not in m["files"]
    assert m["gate"]["passed"] and m["differential_privacy"]["epsilon"] == 1.0 and m["rows_withheld"] == 1
