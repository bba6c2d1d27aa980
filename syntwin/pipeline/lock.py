"""The run lock: one live run per output directory, whoever and wherever it runs.

A run into ``OUT`` holds ``.OUT.lock`` beside it for its whole life: an exclusive ``flock`` on that
file (released by the kernel when the process dies, so the lock of a killed run is stale by
construction and simply taken over), and in the file who holds it — host, pid, start time,
command — for the message that refuses a second run. On filesystems without ``flock`` (some
cluster filesystems mount without it) the recorded holder decides instead: a lock of this host
whose process is gone is stale; a lock of another host is honoured until removed by hand.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from syntwin.errors import OutputError

#: errno values meaning "this filesystem cannot flock", not "someone else holds it".
_NO_FLOCK = {errno.ENOLCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


def lock_path(out: Path) -> Path:
    """The lock file of a run into ``out`` (a hidden sibling, outside the directories a run replaces)."""
    return out.with_name(f".{out.name}.lock")


def _holder() -> dict:
    me = psutil.Process()
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(me.create_time())), "process_start": me.create_time(),
        "command": " ".join(sys.argv)[:300]}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _alive(holder: dict) -> bool:
    """Whether the recorded holder still runs (only decidable on its own host)."""
    if holder.get("host") != socket.gethostname():
        return bool(holder)  # another host's lock: cannot check its process, so it stands
    try:
        proc = psutil.Process(int(holder["pid"]))
        return abs(proc.create_time() - float(holder.get("process_start", 0))) < 1.0
    except (KeyError, ValueError, psutil.Error):
        return False


def _refuse(path: Path, holder: dict, out: Path) -> OutputError:
    who = (f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, started {holder.get('started', '?')}"
           if holder else "a process that has not written its name yet")
    return OutputError(f"another run is writing this output ({who})", file=str(out),
                       hint=f"wait for it, choose another --out, or, if that run is dead, remove {path}")


@contextlib.contextmanager
def run_lock(out: str | Path) -> Iterator[Path]:
    """Hold the lock of a run into ``out`` for the duration of the block.

    Raises:
        OutputError: another live run holds it (the message names host, pid and start time), or
            the lock file cannot be created.
    """
    out = Path(out).absolute()
    path = lock_path(out)
    while True:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create the run lock: {exc.strerror}", file=str(path),
                              hint="choose a writable --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in _NO_FLOCK:
                raise _refuse(path, _read(path), out) from None
            holder = _read(path)
            if _alive(holder):
                raise _refuse(path, holder, out) from None
            fd = os.open(path, os.O_RDWR)  # no flock here: the recorded holder is the lock
        try:  # the file may have been removed (a run finished) between open and flock: start again
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                os.close(fd)
                continue
        except FileNotFoundError:
            os.close(fd)
            continue
        break
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_holder(), indent=2) + "\n").encode(), 0)
        os.fsync(fd)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)  # releases the flock after the name is gone, so no one locks a removed file


__all__ = ["run_lock", "lock_path"]
