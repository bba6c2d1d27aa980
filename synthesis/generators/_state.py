"""A fitted generator as one ``.npz`` file: its arrays, plus a JSON header for everything else. No pickles.

The header (a UTF-8 JSON array stored as ``__header__``) holds the class, the constructor
parameters, the table codec and a skeleton of the learned state in which every NumPy array is a
reference ``{"__array__": "a7"}`` to an entry of the archive. Objects of the generators' own helper
classes (e.g. the latent class model's binned columns) are stored as their attributes and rebuilt
without calling their constructor; any other object is refused, so loading never runs code from
the file. Arrays of Python objects (category levels) go to the header as lists.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMAT = "syntwin-generator/1"
_PACKAGE = __name__.rpartition(".")[0]  # only helper classes of this package are rebuilt


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def pack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON skeleton of ``obj``; its numeric arrays go to ``arrays``."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return {"__objects__": [_plain(v) for v in obj.tolist()]}
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[pack(k, arrays), pack(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    cls = type(obj)
    if cls.__module__.startswith(_PACKAGE) and hasattr(obj, "__dict__"):
        skip = set(getattr(cls, "_transient", ()))
        attrs = {k: v for k, v in vars(obj).items() if k not in skip}
        return {"__object__": f"{cls.__module__}:{cls.__qualname__}", "attrs": pack(attrs, arrays)}
    raise TypeError(f"cannot save a {cls.__name__} without pickling it")


def unpack(node: Any, arrays: Any) -> Any:
    """The inverse of :func:`pack`."""
    if isinstance(node, list):
        return [unpack(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "__array__" in node:
        return arrays[node["__array__"]]
    if "__objects__" in node:
        return np.asarray(node["__objects__"], dtype=object)
    if "__tuple__" in node:
        return tuple(unpack(v, arrays) for v in node["__tuple__"])
    if "__dict__" in node:
        return {_hashable(unpack(k, arrays)): unpack(v, arrays) for k, v in node["__dict__"]}
    if "__object__" in node:
        cls = resolve(node["__object__"])
        obj = cls.__new__(cls)
        obj.__dict__.update(unpack(node["attrs"], arrays))
        return obj
    raise ValueError(f"unknown node in a saved generator: {sorted(node)}")


def resolve(qualified: str, allowed: tuple[type, ...] = ()) -> type:
    """The class ``module:Name`` of this package (or one of ``allowed``), never an arbitrary import."""
    module, _, name = qualified.partition(":")
    for cls in allowed:
        if f"{cls.__module__}:{cls.__qualname__}" == qualified:
            return cls
    if not module.startswith(_PACKAGE):
        raise ValueError(f"refusing to rebuild {qualified!r}: not a syntwin generator class")
    return getattr(importlib.import_module(module), name)


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def dtype_state(dtype: Any) -> Any:
    """A JSON form of a pandas/NumPy dtype."""
    if isinstance(dtype, pd.CategoricalDtype):
        return {"categories": [_plain(v) for v in dtype.categories.tolist()], "ordered": bool(dtype.ordered)}
    return str(dtype)


def dtype_from_state(state: Any) -> Any:
    """The inverse of :func:`dtype_state`."""
    if isinstance(state, dict):
        return pd.CategoricalDtype(state["categories"], ordered=state["ordered"])
    return pd.api.types.pandas_dtype(state)


def write(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``header`` and ``arrays`` to ``path`` (``.npz``, uncompressed)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    blob = np.frombuffer(json.dumps({"format": FORMAT, **header}).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, __header__=blob, **arrays)
    return path


def read(path: Path) -> tuple[dict[str, Any], Any]:
    """The header and the (lazily read) arrays of a saved generator."""
    archive = np.load(Path(path), allow_pickle=False)
    header = json.loads(bytes(archive["__header__"]).decode("utf-8"))
    if header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved syntwin generator (format {header.get('format')!r})")
    return header, archive


__all__ = ["pack", "unpack", "resolve", "dtype_state", "dtype_from_state", "write", "read", "FORMAT"]
