"""Running a scenario: open the Dask runtime, call the kind's runner, write the manifest, publish atomically."""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import syntwin
from syntwin.errors import OutputError
from syntwin.io import to_json, write_json
from syntwin.pipeline.context import RunContext
from syntwin.runtime import dask_client

#: Scenario kind -> "module:function" running it (imported lazily).
RUNNERS: dict[str, str] = {
    "cohort": "syntwin.pipeline.cohort:run_cohort",
}

KEY_PACKAGES = ("numpy", "pandas", "dask", "distributed", "pyarrow", "scikit-learn", "faiss-cpu", "igraph",
                "sdv", "mesa", "torch", "torch-geometric", "pydantic")


def package_versions() -> dict[str, str]:
    """Versions of syntwin, Python and the key packages (absent ones omitted)."""
    out = {"syntwin": syntwin.__version__, "python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def config_sha256(scenario: BaseModel) -> str:
    """SHA-256 of the validated scenario (defaults filled in), independent of YAML formatting."""
    return hashlib.sha256(to_json(scenario.model_dump(mode="json")).encode()).hexdigest()


def _runner(kind: str):
    module, _, name = RUNNERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _prepare_out(out: Path, overwrite: bool) -> Path:
    """Check ``out`` can be (re)written and return a fresh temporary sibling to work in."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("output directory exists and is not empty", file=str(out),
                          hint="choose another --out or pass --overwrite")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write the output directory: {exc.strerror}", file=str(parent),
                          hint="choose a writable --out") from None
    free = shutil.disk_usage(parent).free
    if free < 200 * 2**20:
        shutil.rmtree(work, ignore_errors=True)
        raise OutputError(f"only {free // 2**20} MiB free on the output disk", file=str(parent),
                          hint="free some space or choose another --out")
    return work


def _publish(work: Path, out: Path) -> None:
    """Replace ``out`` by ``work`` (one rename; an old run is removed only after)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(work, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_scenario(
    scenario: BaseModel,
    out: str | Path,
    *,
    source: str = "<scenario>",
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Run a validated scenario into ``out`` and return its manifest.

    The run works in a temporary sibling of ``out`` and renames it into place only when every
    stage succeeded and the manifest is written: a failed run leaves nothing at ``out``.

    Args:
        scenario: A validated scenario (``load_scenario``).
        out: Run directory to create.
        source: Scenario file path (relative paths inside the scenario resolve against it).
        workers: Override ``runtime.workers``.
        scheduler: Override ``runtime.scheduler`` (an existing Dask scheduler's address).
        seed: Override the scenario seed.
        overwrite: Replace an existing non-empty ``out``.
        progress: Callable receiving each stage's name.
    """
    out = Path(out).absolute()
    runtime = scenario.runtime
    seed = scenario.seed if seed is None else seed
    if seed != scenario.seed:
        scenario = scenario.model_copy(update={"seed": seed})
    work = _prepare_out(out, overwrite)
    try:
        with dask_client(
            workers=workers or runtime.workers,
            threads_per_worker=runtime.threads_per_worker,
            memory_limit=runtime.memory_limit,
            scheduler=scheduler or runtime.scheduler,
        ) as client:
            ctx = RunContext(work=work, seed=seed, client=client, source=source, progress=progress)
            _runner(scenario.kind)(scenario, ctx)
        write_json(work / "scenario.json", scenario.model_dump(mode="json"))
        ctx.record_output("scenario", "scenario.json")
        manifest = {
            "scenario": scenario.name,
            "kind": scenario.kind,
            "seed": seed,
            "config_sha256": config_sha256(scenario),
            "versions": package_versions(),
            "metrics": ctx.metrics,
            "outputs": ctx.output_entries(),
        }
        write_json(work / "manifest.json", manifest)
        _publish(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


__all__ = ["run_scenario", "package_versions", "config_sha256", "RUNNERS"]
