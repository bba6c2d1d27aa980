"""SLURM/PBS through dask-jobqueue: the worker job scripts generated from the recipes and from Dask's
standard configuration (files under $DASK_CONFIG, DASK_* variables), checked line by line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dask.config
import pytest

pytest.importorskip("dask_jobqueue")

from syntwin.cluster import job_script, jobqueue_cluster, jobqueue_config  # noqa: E402
from syntwin.errors import ScenarioError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SLURM = ROOT / "cluster/slurm/jobqueue.yaml"
PBS = ROOT / "cluster/pbs/jobqueue.yaml"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}


def worker_line(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if "distributed.cli.dask_worker" in ln]
    assert len(lines) == 1, script
    return lines[0].split()


def opt(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_slurm_recipe_job_script():
    script = job_script("slurm", config_file=SLURM, env=CLEAN_ENV)
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    directives = [ln for ln in lines if ln.startswith("#SBATCH")]
    assert directives == ["#SBATCH -J syntwin-worker", "#SBATCH -e logs/dask/syntwin-worker-%J.err",
                          "#SBATCH -o logs/dask/syntwin-worker-%J.out", "#SBATCH -n 1",
                          "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G", "#SBATCH -t 04:00:00"]
    body = lines[len(directives) + 2:]
    # the environment lines come before the worker command
    assert body[0] == 'source "${SYNTWIN_VENV:-$HOME/syntwin-venv}/bin/activate"'
    assert body[1] == "export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"
    argv = worker_line(script)
    assert argv[0] == sys.executable and argv[1:3] == ["-m", "distributed.cli.dask_worker"]
    assert re.fullmatch(r"tcp://[\d.]+:\d+", argv[3])
    # 8 cores in 8 processes -> 1 thread each; 32 GiB / 8 = 4 GiB per worker
    assert opt(argv, "--nthreads") == "1" and opt(argv, "--nworkers") == "8"
    assert opt(argv, "--memory-limit") == "4.00GiB"
    assert opt(argv, "--death-timeout") == "120" and opt(argv, "--local-directory") == "${TMPDIR:-/tmp}"
    # workers retire before the 4 h walltime
    assert opt(argv, "--lifetime") == "230m" and opt(argv, "--lifetime-stagger") == "5m"


def test_pbs_recipe_job_script():
    script = job_script("pbs", config_file=PBS, env=CLEAN_ENV)
    directives = [ln for ln in script.splitlines() if ln.startswith("#PBS")]
    assert "#PBS -N syntwin-worker" in directives
    assert "#PBS -l select=1:ncpus=8:mem=32GB" in directives
    assert "#PBS -l walltime=04:00:00" in directives
    argv = worker_line(script)
    assert opt(argv, "--nthreads") == "1" and opt(argv, "--nworkers") == "8"
    assert opt(argv, "--memory-limit") == "4.00GiB"


def test_environment_wins_over_the_file_and_overrides_over_both():
    env = {**CLEAN_ENV, "DASK_JOBQUEUE__SLURM__WALLTIME": "08:00:00", "DASK_JOBQUEUE__SLURM__QUEUE": "long",
           "DASK_JOBQUEUE__SLURM__CORES": "4", "DASK_JOBQUEUE__SLURM__PROCESSES": "2"}
    cfg = jobqueue_config("slurm", config_file=SLURM, env=env)
    assert cfg["walltime"] == "08:00:00" and cfg["queue"] == "long" and cfg["cores"] == 4
    script = job_script("slurm", config_file=SLURM, env=env, memory="8GiB", account="proj42")
    assert "#SBATCH -t 08:00:00" in script and "#SBATCH -p long" in script and "#SBATCH -A proj42" in script
    assert "#SBATCH --cpus-per-task=4" in script and "#SBATCH --mem=8G" in script
    argv = worker_line(script)
    assert opt(argv, "--nthreads") == "2" and opt(argv, "--nworkers") == "2"
    assert opt(argv, "--memory-limit") == "4.00GiB"


def test_standard_dask_config_directory(tmp_path):
    """Without any syntwin argument, a jobqueue.yaml in $DASK_CONFIG (like ~/.config/dask) is used."""
    (tmp_path / "jobqueue.yaml").write_text(
        "jobqueue:\n  slurm:\n    cores: 3\n    processes: 3\n    memory: 6GiB\n    walltime: '00:45:00'\n"
        "    python: /opt/venv/bin/python\n    job-script-prologue: ['module load python/3.11']\n")
    env = {**CLEAN_ENV, "DASK_CONFIG": str(tmp_path), "DASK_JOBQUEUE__SLURM__ACCOUNT": "acct1"}
    code = "from syntwin.cluster import job_script; print(job_script('slurm'))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    script = proc.stdout
    assert "#SBATCH --cpus-per-task=3" in script and "#SBATCH --mem=6G" in script
    assert "#SBATCH -t 00:45:00" in script and "#SBATCH -A acct1" in script
    assert "module load python/3.11" in script.splitlines()
    argv = worker_line(script)
    assert argv[0] == "/opt/venv/bin/python" and opt(argv, "--memory-limit") == "2.00GiB"


def test_jobs_submitted_later_use_the_resolved_settings():
    """Settings are passed explicitly, so scaling up after the config layer is gone gives the same script."""
    assert dask.config.get("jobqueue.slurm.cores") != 8  # the recipe is not in the global config
    cluster = jobqueue_cluster("slurm", config_file=SLURM, env=CLEAN_ENV,
                               scheduler_options={"dashboard_address": None})
    try:
        spec = cluster.new_spec
        job = spec["cls"](scheduler=cluster.scheduler.address, name="w-1", **spec["options"])
        script = job.job_script()
        assert "#SBATCH --cpus-per-task=8" in script and "#SBATCH -t 04:00:00" in script
        assert opt(worker_line(script), "--lifetime") == "230m"
    finally:
        cluster.close()


def test_bad_settings_give_clear_errors(tmp_path):
    with pytest.raises(ScenarioError, match="unknown batch system 'lsf'"):
        jobqueue_config("lsf")
    bad = tmp_path / "bad.yaml"
    bad.write_text("jobqueue:\n  slurm:\n    coers: 4\n")
    with pytest.raises(ScenarioError, match=r"unknown jobqueue.slurm settings: \['coers'\]") as info:
        jobqueue_cluster("slurm", config_file=bad, env=CLEAN_ENV)
    assert "cores" in info.value.hint
    with pytest.raises(ScenarioError, match="not found"):
        jobqueue_config("slurm", config_file=tmp_path / "nope.yaml")
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioError, match="top-level 'jobqueue:'"):
        jobqueue_config("slurm", config_file=bad)
