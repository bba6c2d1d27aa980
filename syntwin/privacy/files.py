"""What stays on the machine: run directories readable by their owner only.

A run directory holds patient-level files (the graph of real patients, checkpoints, Kaplan–Meier
points of real patients, the twins before the gate), so every file is written ``0600`` inside ``0700``
folders: the run sets the process umask to ``077`` while it works (Dask workers started by it inherit
it) and :func:`restrict_tree` enforces the modes once the run is published (covering files a library
created with its own mode, or workers that did not inherit the umask).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FILE_MODE, DIR_MODE, UMASK = 0o600, 0o700, 0o077


def owner_only_umask() -> int:
    """Set the process umask to ``077`` (files 0600, folders 0700); return the previous umask."""
    return os.umask(UMASK)


def restrict_tree(root: str | Path) -> None:
    """Make ``root`` and everything below it owner-only: folders 0700, files 0600 (symlinks untouched)."""
    root = Path(root)
    if not root.exists():
        return
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, DIR_MODE)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, FILE_MODE)


def loose_modes(root: str | Path) -> list[str]:
    """Paths below ``root`` whose mode grants anything to group or others (empty when all are private)."""
    out = []
    for p in [Path(root), *Path(root).rglob("*")]:
        if p.is_symlink():
            continue
        if stat.S_IMODE(p.stat().st_mode) & 0o077:
            out.append(str(p))
    return out


def write_private_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write patient rows (index dropped) owner-only and atomically: ``.tmp``, mode 0600, then rename."""
    tmp = f"{path}.tmp"
    frame.reset_index(drop=True).to_parquet(tmp, index=False)
    os.chmod(tmp, FILE_MODE)  # owner-only, whatever the worker process's umask
    os.replace(tmp, path)


__all__ = ["write_private_parquet", "owner_only_umask", "restrict_tree", "loose_modes", "FILE_MODE", "DIR_MODE"]
