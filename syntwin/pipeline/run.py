"""Running a scenario: open the Dask runtime, call the kind's runner, write the manifest, publish atomically."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import syntwin
from distributed import Client

from syntwin.errors import OutputError
from syntwin.io import explain_undefined, to_json, write_json
from syntwin.pipeline.context import CHECKPOINTS, RunContext
from syntwin.pipeline.lock import run_lock
from syntwin.runtime import dask_client

#: Scenario kind -> "module:function" running it (imported lazily).
RUNNERS: dict[str, str] = {
    "cohort": "syntwin.pipeline.cohort:run_cohort",
    "crowd": "syntwin.pipeline.crowd:run_crowd",
}

MIN_FREE_BYTES = 200 * 2**20  # refuse to start a run with less free space on the output disk

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


def resumable(exc: BaseException) -> bool:
    """True for failures that ``--resume`` can finish: an interrupt, a lost worker or connection.

    Everything else (bad input, a bug in a stage) removes the working directory, so a failed run
    never blocks the next one with a stale ``.OUT.partial``.
    """
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    return isinstance(exc, (KeyboardInterrupt, KilledWorker, CommClosedError, ConnectionError, TimeoutError))


def partial_dir(out: Path) -> Path:
    """Where a run into ``out`` works until it is published (kept after a crash for ``--resume``)."""
    return out.with_name(f".{out.name}.partial")


def _prepare_out(out: Path, overwrite: bool, resume: bool, config_hash: str) -> Path:
    """Check ``out`` can be (re)written; return the working directory (fresh, or the one to resume)."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("output directory exists and is not empty", file=str(out),
                          hint="choose another --out or pass --overwrite")
    work = partial_dir(out)
    stamp = work / CHECKPOINTS / "config_sha256"
    if work.exists():
        if resume:
            if not stamp.exists() or stamp.read_text() != config_hash:
                raise OutputError("the interrupted run was started with another scenario or seed", file=str(work),
                                  hint="resume with the same scenario, --set and --seed, or drop --resume")
            return work
        if not overwrite:
            raise OutputError("an interrupted run of this output exists", file=str(work),
                              hint="pass --resume to finish it, or --overwrite to start again")
        shutil.rmtree(work)
    elif resume:
        raise OutputError("nothing to resume", file=str(work), hint="run without --resume")
    try:
        (work / CHECKPOINTS).mkdir(parents=True)
        stamp.write_text(config_hash)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise OutputError(f"cannot write the output directory: {exc.strerror}", file=str(out.parent),
                          hint="choose a writable --out") from None
    free = shutil.disk_usage(work).free
    if free < MIN_FREE_BYTES:
        shutil.rmtree(work, ignore_errors=True)
        raise OutputError(f"only {free // 2**20} MiB free on the output disk", file=str(out.parent),
                          hint="free some space or choose another --out")
    return work


def _publish(work: Path, out: Path) -> None:
    """Replace ``out`` by ``work`` (one rename; an old run is removed only after)."""
    shutil.rmtree(work / CHECKPOINTS, ignore_errors=True)
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
    resume: bool = False,
    client: Client | None = None,
    progress: Any = None,
    report: bool = True,
) -> dict[str, Any]:
    """Run a validated scenario into ``out`` and return its manifest.

    The run works in ``.OUT.partial`` beside ``out`` and renames it into place only when every
    stage succeeded and the manifest is written. A run that fails (bad input, or a bug) removes
    its working directory; one that is interrupted (Ctrl-C, a lost worker, a killed process, see
    :func:`resumable`) leaves it, and ``resume=True`` finishes it, skipping the stages already done.
    A release refused by the privacy gate is not a failure: the run is published with
    ``metrics.privacy.passed: false`` and no ``export/`` (see :func:`refused`).

    Args:
        scenario: A validated scenario (``load_scenario``).
        out: Run directory to create.
        source: Scenario file path (relative paths inside the scenario resolve against it).
        workers: Override ``runtime.workers``.
        scheduler: Override ``runtime.scheduler`` (an existing Dask scheduler's address).
        seed: Override the scenario seed.
        overwrite: Replace an existing ``out`` (and an interrupted run of it).
        resume: Finish an interrupted run of the same scenario into ``out``.
        client: An already connected Dask client (e.g. shared by a batch); no cluster is started.
        progress: Callable receiving each stage's name.
        report: Render ``report.html`` into the run directory.
    """
    out = Path(out).absolute()
    seed = scenario.seed if seed is None else seed
    if seed != scenario.seed:
        scenario = scenario.model_copy(update={"seed": seed})
    config_hash = config_sha256(scenario)
    with run_lock(out):  # a second run into a live ``out`` is refused, naming the holder
        return _locked_run(scenario, out, config_hash, source=source, workers=workers, scheduler=scheduler,
                           seed=seed, overwrite=overwrite, resume=resume, client=client, progress=progress,
                           report=report)


def _locked_run(scenario: BaseModel, out: Path, config_hash: str, *, source: str, workers: int | None,
                scheduler: str | None, seed: int, overwrite: bool, resume: bool, client: Client | None,
                progress: Any, report: bool) -> dict[str, Any]:
    runtime = scenario.runtime
    work = _prepare_out(out, overwrite, resume, config_hash)
    try:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(
                    workers=workers or runtime.workers,
                    threads_per_worker=runtime.threads_per_worker,
                    memory_limit=runtime.memory_limit,
                    scheduler=scheduler or runtime.scheduler,
                ))
            ctx = RunContext(work=work, seed=seed, client=client, source=source, progress=progress)
            _runner(scenario.kind)(scenario, ctx)
        write_json(work / "scenario.json", scenario.model_dump(mode="json"))
        ctx.record_output("scenario", "scenario.json")
        manifest = {
            "scenario": scenario.name,
            "kind": scenario.kind,
            "seed": seed,
            "config_sha256": config_hash,
            "versions": package_versions(),
            "metrics": explain_undefined(ctx.metrics),
            "resumed": ctx.resumed_stages,
            "outputs": ctx.output_entries(),
        }
        write_json(work / "manifest.json", manifest)
        _publish(work, out)
    except BaseException as exc:
        if not resumable(exc):
            shutil.rmtree(work, ignore_errors=True)
        raise
    if report:
        from syntwin.report import render_report

        render_report(out)  # a view of the manifest and artifacts, not itself an output
    return manifest


def refused(manifest: dict[str, Any]) -> list[str] | None:
    """The privacy gate's reasons when it refused the run's release, else ``None``."""
    privacy = manifest.get("metrics", {}).get("privacy") or {}
    if privacy.get("passed", True):
        return None
    return list(privacy.get("reasons") or ["the privacy gate did not pass"])


__all__ = ["run_scenario", "partial_dir", "resumable", "refused", "package_versions", "config_sha256", "RUNNERS"]
