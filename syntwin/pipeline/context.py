"""The run context: where a run writes, how its stages are timed and checkpointed, and what goes into its manifest.

Every stage of every scenario kind runs through :meth:`RunContext.checkpointed`: it declares its
name and the in-memory artifacts later stages need (each with an :class:`Artifact` saying how it is
kept on disk). A finished stage leaves ``.checkpoints/<name>.json`` (its metrics and outputs, written
last, so its presence means the stage is complete) and ``.checkpoints/<name>/`` (its artifacts);
a resumed run skips it and loads those instead.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from distributed import Client

from syntwin.graphs.knn import index_directory
from syntwin.io import sha256_tree, write_json

#: Folder of the (unpublished) run directory holding finished-stage records and scratch artifacts.
CHECKPOINTS = ".checkpoints"


@dataclass(frozen=True)
class Artifact:
    """How one in-memory stage result is written to and read back from its checkpoint file.

    Attributes:
        suffix: File name suffix (``.parquet``).
        save: ``save(value, path)``.
        load: ``load(path) -> value``.
    """

    suffix: str
    save: Callable[[Any, Path], None]
    load: Callable[[Path], Any]


def _save_array(value: np.ndarray, path: Path) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.asarray(value), allow_pickle=False)


#: A pandas DataFrame (Parquet, index dropped).
FRAME = Artifact(".parquet", lambda v, p: v.to_parquet(p, index=False), pd.read_parquet)
#: A NumPy array of a plain dtype (``.npy``).
ARRAY = Artifact(".npy", _save_array, lambda p: np.load(p, allow_pickle=False))
#: JSON-compatible data (NumPy scalars and arrays become numbers and lists).
JSON = Artifact(".json", lambda v, p: write_json(p, v), lambda p: json.loads(p.read_text()))


@dataclass
class RunContext:
    """Everything a stage runner needs besides its scenario section.

    Runners write only below ``work`` (a temporary directory that becomes the run directory
    when the whole run succeeds), put figures into ``metrics`` and register files with
    :meth:`record_output`.

    Attributes:
        work: Temporary run directory (renamed to the final ``--out`` at the end).
        seed: The run's seed (scenario seed, or ``--seed``).
        client: Connected Dask client.
        source: Path of the scenario file, for error messages.
        metrics: Nested figures per stage, written to ``manifest.json``.
        outputs: Output name -> relative path, checksummed into the manifest.
        progress: Callable receiving a short status line per stage (the CLI shows it).
            A :mod:`syntwin.progress` reporter also receives :meth:`step` and :meth:`advance`.
    """

    work: Path
    seed: int
    client: Client | None
    source: str = "<scenario>"
    metrics: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    progress: Any = None
    resumed_stages: list[str] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        """Absolute path inside the run directory (parents created)."""
        p = self.work / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def record_output(self, name: str, relative: str) -> None:
        """Register ``relative`` (file or directory) as output ``name``."""
        if not (self.work / relative).exists():
            raise FileNotFoundError(f"output {name!r} was not written: {relative}")
        self.outputs[name] = relative

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a stage; yields its metrics dict (``metrics[name]``), adds ``seconds``."""
        if self.progress:
            self.progress(name)
        metrics = self.metrics.setdefault(name, {})
        start = time.perf_counter()
        yield metrics
        metrics["seconds"] = round(time.perf_counter() - start, 3)
        write_json(self.work / CHECKPOINTS / f"{name}.json",
                   {"metrics": metrics, "outputs": {k: v for k, v in self.outputs.items()}})

    def resumed(self, name: str) -> bool:
        """True when stage ``name`` finished in an earlier attempt of this run (``--resume``).

        Its metrics and outputs are restored; the caller then loads the stage's artifacts from
        the run directory instead of recomputing them.
        """
        path = self.work / CHECKPOINTS / f"{name}.json"
        if not path.exists():
            return False
        saved = json.loads(path.read_text())
        self.metrics[name] = saved["metrics"]
        self.outputs.update(saved["outputs"])
        self.resumed_stages.append(name)
        if self.progress:
            self.progress(f"{name} (resumed)")
        return True

    def checkpointed(self, name: str, compute: Callable[[dict[str, Any]], dict[str, Any] | None],
                     **artifacts: Artifact) -> dict[str, Any]:
        """Run stage ``name`` once per run: skipped on resume, its artifacts then loaded from its checkpoint.

        Args:
            name: Stage name (``metrics[name]``, ``.checkpoints/<name>.json``).
            compute: ``compute(metrics) -> {artifact name: value}``; it writes its published outputs
                itself (:meth:`record_output`) and its figures into ``metrics``.
            **artifacts: The values ``compute`` returns that later stages need, with how each is kept.

        Returns:
            The artifacts, always as read back from the checkpoint, so a fresh run and a resumed one
            continue from identical values.
        """
        folder = self.work / CHECKPOINTS / name
        if not self.resumed(name):
            shutil.rmtree(folder, ignore_errors=True)  # leftovers of an attempt that did not finish
            # kNN indexes of the stage's distributed searches are files in the run directory (no scatter)
            with self.stage(name) as metrics, index_directory(self.scratch("knn")):
                values = compute(metrics) or {}
                if set(values) != set(artifacts):
                    raise TypeError(f"stage {name!r} returned {sorted(values)}, declared {sorted(artifacts)}")
                folder.mkdir(parents=True, exist_ok=True)
                for key, kind in artifacts.items():
                    kind.save(values[key], folder / f"{key}{kind.suffix}")
        return {key: kind.load(folder / f"{key}{kind.suffix}") for key, kind in artifacts.items()}

    def scratch(self, relative: str) -> Path:
        """Path for intermediate artifacts kept for resuming but never published (e.g. unreleased twins)."""
        return self.path(f"{CHECKPOINTS}/{relative}")

    # -- progress within a stage (a reporter of syntwin.progress; a plain callable ignores these) --
    def step(self, name: str, total: int | None = None) -> None:
        """A counted part of the current stage begins, e.g. ``step("communities", 12)``."""
        if hasattr(self.progress, "step"):
            self.progress.step(name, total)

    def advance(self, n: int = 1, *, total: int | None = None) -> None:
        """``n`` more items of the current step are done (``total`` when it is learnt late)."""
        if hasattr(self.progress, "advance"):
            self.progress.advance(n, total=total)

    def on_done(self, done: int, total: int) -> None:
        """Callback for stage libraries: item ``done`` of ``total`` finished (``as_completed`` order)."""
        self.advance(1, total=total)

    def output_entries(self) -> dict[str, dict[str, str]]:
        """Outputs with their checksums, for the manifest."""
        return {
            name: {"path": rel, "sha256": sha256_tree(self.work / rel)}
            for name, rel in sorted(self.outputs.items())
        }


__all__ = ["RunContext", "Artifact", "FRAME", "ARRAY", "JSON", "CHECKPOINTS"]
