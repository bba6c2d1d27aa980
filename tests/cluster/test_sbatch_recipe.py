"""cluster/slurm/run_scenario.sbatch end to end, with stand-ins for `sbatch`/`scancel` that run worker jobs
as local background processes: the batch script starts the scheduler, dask-jobqueue submits a worker job
from the recipe's jobqueue.yaml, and `syntwin run --scheduler` finishes a scenario on it."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests import small_runs
from tests.small_runs import cli_sets

pytest.importorskip("dask_jobqueue")

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

FAKE_SBATCH = """#!/usr/bin/env bash
# stand-in for sbatch: keep a copy of the job script, run it detached, print SLURM's answer
set -e
script="${@: -1}"
n=$(ls "$FAKE_SLURM" | grep -c '^job-.*\\.sh$' || true)
cp "$script" "$FAKE_SLURM/job-$n.sh"
setsid bash "$FAKE_SLURM/job-$n.sh" > "$FAKE_SLURM/job-$n.log" 2>&1 < /dev/null &
echo $! >> "$FAKE_SLURM/pids"
echo "Submitted batch job $!"
"""
FAKE_SCANCEL = """#!/usr/bin/env bash
for id in "$@"; do kill -TERM -- "-$id" 2>/dev/null || true; echo "$id" >> "$FAKE_SLURM/cancelled"; done
"""


@pytest.mark.heavy
@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid")
def test_run_scenario_sbatch_with_fake_slurm(tmp_path):
    fake = tmp_path / "slurm"
    bindir = tmp_path / "bin"
    fake.mkdir()
    bindir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env.update({
        "PATH": f"{bindir}:{VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", "FAKE_SLURM": str(fake),
        "SYNTWIN_VENV": str(VENV), "SYNTWIN_JOBQUEUE": str(ROOT / "cluster/slurm/jobqueue.yaml"),
        # a small worker job for this machine; everything else comes from the recipe
        "DASK_JOBQUEUE__SLURM__CORES": "2", "DASK_JOBQUEUE__SLURM__PROCESSES": "2",
        "DASK_JOBQUEUE__SLURM__MEMORY": "4GiB", "TMPDIR": str(tmp_path),
        "SYNTWIN_RUN_ARGS": " ".join(cli_sets([*small_runs.SMALL, small_runs.CHEAP_METHODS])),
        "NO_COLOR": "1",
    })
    out = tmp_path / "runs/demo"
    try:
        proc = subprocess.run(["bash", str(ROOT / "cluster/slurm/run_scenario.sbatch"), "seer_breast_twins",
                               str(out), "1"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
        logs = "".join(p.read_text()[-1500:] for p in sorted(fake.glob("job-*.log")))
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:] + logs
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["metrics"]["cohort"]["rows"] == 3000
        job = (fake / "job-0.sh").read_text()
        assert "#SBATCH -J syntwin-worker" in job and "--nworkers 2" in job and "--lifetime 230m" in job
        assert "source \"${SYNTWIN_VENV:-$HOME/syntwin-venv}/bin/activate\"" in job
        # the run's tasks ran on the job's workers: the worker log shows them joining the scheduler
        assert "Registered to" in (fake / "job-0.log").read_text()
        # the cluster was shut down: its worker job cancelled, the scheduler file removed
        assert (fake / "cancelled").read_text().split() == (fake / "pids").read_text().split()
        assert not Path(f"{out}.scheduler.json").exists()
    finally:
        for pid in (fake / "pids").read_text().split() if (fake / "pids").exists() else []:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("script, system", [("slurm/run_scenario.sbatch", "slurm"),
                                            ("pbs/run_scenario.pbs", "pbs")])
def test_batch_scripts_parse_and_use_their_system(script, system):
    path = ROOT / "cluster" / script
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    text = path.read_text()
    assert f"serve_jobqueue('{system}'" in text and f"cluster/{system}/jobqueue.yaml" in text
    assert 'syntwin run "$SCENARIO" --out "$OUT" --scheduler "$ADDRESS"' in text
    assert os.access(path, os.X_OK)
    other = {"slurm": ("#PBS", "PBS_O_WORKDIR"), "pbs": ("#SBATCH", "SLURM_")}[system]
    assert not any(word in text for word in other)
