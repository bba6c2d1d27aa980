"""Kubernetes recipe (Dask operator): the DaskCluster/DaskJob manifests parse, name one image built by the
Dockerfile, run commands the installed Dask accepts, and the Dockerfile pins the same torch as syntwin."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from distributed.cli import dask_scheduler, dask_worker

import syntwin

K8S = Path(__file__).resolve().parents[2] / "cluster/kubernetes"
ROOT = K8S.parents[1]


def load(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def containers(spec: dict) -> dict[str, dict]:
    return {c["name"]: c for c in spec["spec"]["containers"]}


def cluster_specs() -> list[tuple[str, dict]]:
    (dc,) = load("daskcluster.yaml")
    job = next(d for d in load("daskjob.yaml") if d["kind"] == "DaskJob")
    return [(dc["metadata"]["name"], dc["spec"]), (job["metadata"]["name"], job["spec"]["cluster"]["spec"])]


def parse_dask(args: list[str]):
    assert args[0] == "dask", args
    cmd = {"worker": dask_worker.main, "scheduler": dask_scheduler.main}[args[1]]
    return cmd.make_context(f"dask {args[1]}", list(args[2:])).params


def gib(q: str) -> float:
    m = re.fullmatch(r"([\d.]+)\s*(Gi|GiB)", q)
    assert m, q
    return float(m.group(1))


def test_kinds_and_api_versions():
    (dc,) = load("daskcluster.yaml")
    assert (dc["apiVersion"], dc["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    kinds = [(d["apiVersion"], d["kind"]) for d in load("daskjob.yaml")]
    assert kinds == [("v1", "PersistentVolumeClaim"), ("kubernetes.dask.org/v1", "DaskJob")]


@pytest.mark.parametrize("which", [0, 1], ids=["daskcluster", "daskjob"])
def test_cluster_spec(which):
    name, spec = cluster_specs()[which]
    worker = containers(spec["worker"])["worker"]
    sched = containers(spec["scheduler"])["scheduler"]
    assert spec["worker"]["replicas"] >= 1
    # workers: single-threaded, memory limit below the pod's limit (room for the nanny and Python)
    params = parse_dask(worker["args"])
    assert params["nthreads"] == 1 and params["name"] == "$(DASK_WORKER_NAME)"
    assert params["scheduler"] is None  # taken from DASK_SCHEDULER_ADDRESS, set by the operator
    limit = gib(worker["resources"]["limits"]["memory"])
    assert 0.75 * limit <= gib(params["memory_limit"]) < limit
    assert worker["resources"]["limits"]["cpu"] == str(params["nthreads"])
    parse_dask(sched["args"])
    ports = {p["name"]: p["containerPort"] for p in sched["ports"]}
    assert ports == {"tcp-comm": 8786, "http-dashboard": 8787}
    service = spec["scheduler"]["service"]
    assert service["selector"] == {"dask.org/cluster-name": name, "dask.org/component": "scheduler"}
    assert {p["port"] for p in service["ports"]} == {8786, 8787}
    assert {p["targetPort"] for p in service["ports"]} == set(ports)


def test_one_image_everywhere_tagged_with_the_version():
    images = set()
    for _, spec in cluster_specs():
        images |= {c["image"] for part in ("worker", "scheduler") for c in spec[part]["spec"]["containers"]}
    job = next(d for d in load("daskjob.yaml") if d["kind"] == "DaskJob")
    images |= {c["image"] for c in job["spec"]["job"]["spec"]["containers"]}
    assert len(images) == 1, images
    (image,) = images
    assert image.rsplit(":", 1)[1] == syntwin.__version__
    docker = (K8S / "Dockerfile").read_text()
    assert f"syntwin:{syntwin.__version__} ." in docker  # the documented build command makes this tag


def test_job_runs_syntwin_against_the_operator_scheduler():
    docs = load("daskjob.yaml")
    pvc = docs[0]
    job = docs[1]["spec"]["job"]["spec"]
    (c,) = job["containers"]
    command = " ".join(c["args"])
    assert 'syntwin run seer_breast_twins --out /runs/' in command
    assert '--scheduler "$DASK_SCHEDULER_ADDRESS"' in command
    mount = c["volumeMounts"][0]
    assert mount["mountPath"] == "/runs"
    vol = next(v for v in job["volumes"] if v["name"] == mount["name"])
    assert vol["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert job["restartPolicy"] == "Never"


def test_dockerfile_pins_cpu_torch_first():
    lines = [ln.strip() for ln in (K8S / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_pin = next(d for d in deps if d.startswith("torch=="))
    torch_line = next(i for i, ln in enumerate(lines) if "pip install torch" in ln)
    assert f"pip install {torch_pin} --index-url https://download.pytorch.org/whl/cpu" in lines[torch_line]
    syntwin_line = next(i for i, ln in enumerate(lines) if 'pip install "/src"' in ln)
    assert torch_line < syntwin_line
    # everything the package needs is copied before it is installed (symlinked sub-packages included)
    copied = {ln.split()[-2] for ln in lines[:syntwin_line] if ln.startswith("COPY") and len(ln.split()) == 3}
    assert {"syntwin", "graphs", "synthesis", "agents", "scenarios"} <= copied
    for d in ("graphs", "synthesis", "agents"):
        assert (ROOT / "syntwin" / d).resolve() == (ROOT / d).resolve()
    assert any(ln.startswith("USER") and "root" not in ln for ln in lines)


def test_dockerfile_copies_enough_to_build_the_package(tmp_path):
    """Copy exactly what the Dockerfile COPYs (symlinks kept, as docker does) and build the wheel from it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for ln in (K8S / "Dockerfile").read_text().splitlines():
        parts = ln.split()
        if parts[:1] == ["COPY"]:
            for name in parts[1:-1]:
                p = ROOT / name
                if p.is_dir():
                    shutil.copytree(p, src / name, symlinks=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(p, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "wheel"), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("syntwin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("syntwin/cli.py", "syntwin/cluster.py", "syntwin/report/render.py",
                   "syntwin/graphs/store.py",
                   "syntwin/synthesis/__init__.py", "syntwin/agents/model.py",
                   "syntwin/scenarios/seer_breast_twins.yaml"):
        assert module in names, module


def test_job_pods_can_write_the_shared_run_volume():
    """The image's uid owns files on the volume (fsGroup), and workers see the run directory the job writes."""
    docs = load("daskjob.yaml")
    pvc, job = docs[0], docs[1]["spec"]
    uid = int(next(ln.split()[1] for ln in (K8S / "Dockerfile").read_text().splitlines() if ln.startswith("USER")))
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]  # the job pod and every worker mount it
    pods = {"job": job["job"]["spec"], "worker": job["cluster"]["spec"]["worker"]["spec"]}
    for name, pod in pods.items():
        sc = pod["securityContext"]
        assert sc["fsGroup"] == uid and sc["runAsUser"] == uid and sc["runAsNonRoot"], name
        (c,) = pod["containers"]
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/runs")
        vol = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert vol["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"], name


def test_dockerignore_keeps_runs_and_environments_out_but_not_what_is_copied():
    import fnmatch

    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    for excluded in (".git", ".venv", "runs", "syntwin/__pycache__"):
        assert any(fnmatch.fnmatch(excluded, p.removeprefix("**/")) or fnmatch.fnmatch(excluded, p)
                   for p in patterns), excluded
    copied = [name for ln in (K8S / "Dockerfile").read_text().splitlines() if ln.split()[:1] == ["COPY"]
              for name in ln.split()[1:-1]]
    for name in copied:
        assert not any(fnmatch.fnmatch(name, p) for p in patterns), name
