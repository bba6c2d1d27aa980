"""Clusters for syntwin runs: a local scheduler with N workers, or SLURM/PBS jobs through dask-jobqueue.

Configuration is Dask's own: ``~/.config/dask/*.yaml`` (or ``$DASK_CONFIG``), ``/etc/dask`` and
``DASK_*`` environment variables (``DASK_JOBQUEUE__SLURM__WALLTIME=04:00:00``), read by
``dask.config`` as usual. An extra YAML file in the same format (``cluster/slurm/jobqueue.yaml``)
may be layered on top; environment variables still win over it, as they do over Dask's files.

A running cluster is *served*: its scheduler address is printed and written to a scheduler file
(JSON with ``address``, the format ``distributed.Client(scheduler_file=...)`` reads), and the
process waits until SIGINT/SIGTERM, then closes the cluster. ``syntwin run --scheduler ADDRESS``
(or a Client with ``scheduler_file=``) uses it from another shell or batch step.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dask.config
import yaml
from distributed import LocalCluster

from syntwin.errors import ScenarioError
from syntwin.io import atomic_write

#: Batch systems supported through dask-jobqueue: name -> cluster class name.
JOBQUEUE_SYSTEMS: dict[str, str] = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}

#: Deprecated dask-jobqueue keys, passed on only when set (dask-jobqueue then warns about them).
_DEPRECATED = {"extra", "env_extra", "job_extra", "header_skip", "project"}


def _say(line: str) -> None:
    print(line, flush=True)  # flushed: the address must reach a log file or pipe while the cluster runs


def start_local(
    workers: int = 2,
    *,
    threads_per_worker: int = 1,
    memory_limit: str = "auto",
    host: str = "127.0.0.1",
    port: int = 8786,
    dashboard: str | None = ":8787",
) -> LocalCluster:
    """Start a scheduler and ``workers`` worker processes on this machine.

    Args:
        workers: Worker processes.
        threads_per_worker: Threads per worker (1 keeps pandas/NumPy work predictable).
        memory_limit: Per-worker memory limit in Dask syntax (``"4GiB"``, ``"auto"``).
        host: Interface the scheduler listens on; ``0.0.0.0`` lets other machines' workers join.
        port: Scheduler port (0 picks a free one).
        dashboard: Dashboard address (``":8787"``), or None for no dashboard.

    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=True,
                        memory_limit=memory_limit, host=host, scheduler_port=port,
                        dashboard_address=dashboard, silence_logs=logging.ERROR)


def jobqueue_config(
    system: str = "slurm",
    *,
    config_file: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Resolve the ``jobqueue.<system>`` section into dask-jobqueue keyword arguments.

    Layers, lowest first: dask-jobqueue's defaults, Dask's config files (``~/.config/dask``,
    ``$DASK_CONFIG``, ``/etc/dask``) and ``DASK_*`` variables as loaded by ``dask.config``,
    ``config_file``, then ``env`` (default ``os.environ``) ``DASK_*`` variables again so that they
    override the file. ``None`` values (unset) are dropped; ``name`` becomes ``job_name``.

    Args:
        system: ``slurm`` or ``pbs``.
        config_file: Extra YAML in Dask's format (top-level ``jobqueue:`` key).
        env: Environment to read ``DASK_*`` variables from.

    """
    _jobqueue_class(system)  # validates ``system`` and registers dask-jobqueue's defaults
    layers: list[dict] = [dask.config.config]
    if config_file is not None:
        layers.append(_read_config_file(Path(config_file)))
    layers.append(dask.config.collect_env(dict(os.environ if env is None else env)))
    section = dask.config.merge(*layers).get("jobqueue", {}).get(system, {})
    out: dict[str, Any] = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if value is None or (name in _DEPRECATED and not value):
            continue
        out["job_name" if name == "name" else name] = value
    return out


def jobqueue_cluster(
    system: str = "slurm",
    *,
    config_file: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
):
    """Build a dask-jobqueue cluster (``SLURMCluster``/``PBSCluster``) from Dask config and ``overrides``.

    The scheduler runs in this process (submit it as a batch job of its own, see
    ``cluster/slurm/run_scenario.sbatch``); ``cluster.scale(jobs=n)`` submits worker jobs.
    Every resolved setting is passed explicitly, so jobs submitted later use the same values.

    Args:
        system: ``slurm`` or ``pbs``.
        config_file: Extra YAML in Dask's format layered over Dask's own config.
        env: Environment for ``DASK_*`` overrides (default ``os.environ``).
        **overrides: dask-jobqueue keyword arguments (``cores=8``, ``walltime="04:00:00"``), winning
            over every configuration layer.

    """
    cls = _jobqueue_class(system)
    kwargs = {**jobqueue_config(system, config_file=config_file, env=env), **overrides}
    accepted = _accepted_kwargs(cls)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ScenarioError(f"unknown jobqueue.{system} settings: {unknown}",
                            file=str(config_file or "dask config"),
                            hint=f"valid settings: {', '.join(sorted(accepted))}")
    return cls(**kwargs)


def job_script(
    system: str = "slurm",
    *,
    config_file: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> str:
    """Return the worker job script dask-jobqueue would submit (a scheduler is started to fill it in)."""
    options = {"dashboard_address": None, **overrides.pop("scheduler_options", {})}
    cluster = jobqueue_cluster(system, config_file=config_file, env=env, scheduler_options=options,
                               **overrides)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def serve(
    cluster: Any,
    *,
    scheduler_file: str | os.PathLike | None = None,
    stop: threading.Event | None = None,
    echo: Callable[[str], None] = _say,
) -> None:
    """Publish ``cluster``'s address and block until SIGINT/SIGTERM (or ``stop`` is set); then close it.

    Args:
        cluster: A started cluster (``start_local``, ``jobqueue_cluster``).
        scheduler_file: Where to write ``{"address": ..., "dashboard": ...}`` (removed on exit).
        stop: Event ending the wait (for callers that manage the process themselves).
        echo: Receives one line with the address and how to connect.

    """
    stop = stop or threading.Event()
    path = Path(scheduler_file) if scheduler_file is not None else None
    restore = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            restore[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        address = cluster.scheduler_address
        if path is not None:
            info = {"address": address, "dashboard": cluster.dashboard_link or None, "pid": os.getpid()}
            atomic_write(path, lambda tmp: tmp.write_text(json.dumps(info, indent=2) + "\n"))
        echo(f"Dask scheduler at {address} - use: syntwin run SCENARIO --scheduler {address} "
             "(Ctrl-C stops the cluster)")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in restore.items():
            signal.signal(sig, handler)
        cluster.close()
        if path is not None:
            path.unlink(missing_ok=True)


def serve_local(workers: int = 2, *, scheduler_file: str | os.PathLike | None = None,
                stop: threading.Event | None = None, echo: Callable[[str], None] = _say,
                **kwargs: Any) -> None:
    """Run ``syntwin cluster local``: :func:`start_local` (gets ``kwargs``), then :func:`serve`."""
    serve(start_local(workers, **kwargs), scheduler_file=scheduler_file, stop=stop, echo=echo)


def serve_jobqueue(system: str = "slurm", *, jobs: int = 1, maximum_jobs: int | None = None,
                   config_file: str | os.PathLike | None = None, scheduler_file: str | os.PathLike | None = None,
                   stop: threading.Event | None = None, echo: Callable[[str], None] = _say,
                   **overrides: Any) -> None:
    """Start a jobqueue cluster keeping ``jobs`` to ``maximum_jobs`` worker jobs, and :func:`serve` it.

    The cluster is adaptive (``adapt(minimum_jobs=jobs, maximum_jobs=...)``), not scaled once: a
    worker that retires at its ``--lifetime`` (before its job's walltime) is replaced by a new job,
    so a run longer than one walltime goes on; ``scale(jobs=n)`` would not resubmit it.
    """
    maximum_jobs = jobs if maximum_jobs is None else maximum_jobs
    if jobs < 1 or maximum_jobs < jobs:
        raise ValueError(f"need 1 <= jobs <= maximum_jobs, got jobs={jobs}, maximum_jobs={maximum_jobs}")
    cluster = jobqueue_cluster(system, config_file=config_file, **overrides)
    cluster.adapt(minimum_jobs=jobs, maximum_jobs=maximum_jobs)
    serve(cluster, scheduler_file=scheduler_file, stop=stop, echo=echo)


def _jobqueue_class(system: str):
    if system not in JOBQUEUE_SYSTEMS:
        raise ScenarioError(f"unknown batch system {system!r}", field="system",
                            hint=f"use one of: {', '.join(JOBQUEUE_SYSTEMS)}")
    try:
        import dask_jobqueue
    except ImportError:
        raise ScenarioError("dask-jobqueue is not installed", field="system",
                            hint="pip install 'syntwin[cluster]'") from None
    return getattr(dask_jobqueue, JOBQUEUE_SYSTEMS[system])


def _accepted_kwargs(cls) -> set[str]:
    names: set[str] = set()
    for klass in (*cls.__mro__, *cls.job_cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is not None:
            names |= {p.name for p in inspect.signature(init).parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - {"self", "scheduler", "name", "job_cls", "loop", "asynchronous"}


def _read_config_file(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ScenarioError("jobqueue config file not found", file=str(path),
                            hint="give a YAML file in Dask's format, see cluster/slurm/jobqueue.yaml") \
            from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("jobqueue", {}), dict):
        raise ScenarioError("expected a mapping with a top-level 'jobqueue:' key", file=str(path),
                            hint="see cluster/slurm/jobqueue.yaml")
    return data


__all__ = ["start_local", "serve", "serve_local", "serve_jobqueue", "jobqueue_config", "jobqueue_cluster",
           "job_script", "JOBQUEUE_SYSTEMS"]
