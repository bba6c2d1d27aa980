"""Atomic file writing and checksums: a failed write never leaves a half-written file."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_tree(path: str | Path) -> str:
    """SHA-256 of a file, or of a directory's files (relative names and contents, sorted).

    Raises:
        FileNotFoundError: ``path`` does not exist (a missing output is never hashed as empty).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"cannot checksum a missing path: {path}")
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def finite(obj: Any) -> Any:
    """``obj`` with every NaN/inf float (also NumPy scalars and arrays) replaced by ``None``.

    JSON has no NaN: a figure that is undefined on the data is written as ``null``; the stage that
    computed it says why beside it (a ``*_reason`` key, see :func:`explain_undefined`).
    """
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def explain_undefined(metrics: dict[str, Any], reason: str = "not defined on this data (NaN or infinite)") -> dict:
    """Add ``KEY_reason`` beside every NaN/inf figure of a nested metrics dict that has none yet."""
    for key, value in list(metrics.items()):
        if isinstance(value, dict):
            explain_undefined(value, reason)
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            metrics.setdefault(f"{key}_reason", reason)
    return metrics


def to_json(obj: Any) -> str:
    """Stable JSON (sorted keys, NumPy scalars allowed, NaN/inf written as ``null``)."""
    return json.dumps(finite(obj), indent=2, sort_keys=True, default=_json_default, allow_nan=False)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as stable JSON, atomically."""
    text = to_json(obj)
    return atomic_write(path, lambda p: p.write_text(text + "\n"))


__all__ = ["sha256_file", "sha256_tree", "atomic_write", "to_json", "write_json", "finite", "explain_undefined"]
