"""The Dask runtime: a LocalCluster of processes by default, or an existing scheduler by address."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from distributed import Client, LocalCluster

from syntwin.errors import SyntwinError


@contextlib.contextmanager
def dask_client(
    *,
    workers: int = 2,
    threads_per_worker: int = 1,
    memory_limit: str = "auto",
    scheduler: str | None = None,
    timeout: float = 30,
) -> Iterator[Client]:
    """Yield a connected ``distributed.Client``; close what was started on exit.

    Args:
        workers: Worker processes of the LocalCluster (ignored with ``scheduler``).
        threads_per_worker: Threads per worker process.
        memory_limit: Per-worker memory limit in Dask syntax.
        scheduler: Address of an existing scheduler (``tcp://host:8786``).
        timeout: Seconds to wait for the scheduler.
    """
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise SyntwinError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                field="--scheduler",
                hint="check the address, or omit --scheduler to start a local cluster",
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    # a worker's errors reach the caller as the task's exception; shutdown races on a busy machine (a missed
    # heartbeat) would otherwise print tracebacks beside the CLI's one-line message
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


__all__ = ["dask_client"]
