"""Shared pieces of every scenario file: strict sections, the runtime and the common header."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A scenario section: unknown keys are errors, values are validated, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RuntimeSection(Section):
    """Where the run executes: a LocalCluster of processes by default, or an existing scheduler."""

    workers: int = Field(2, ge=1, le=512)
    """Worker processes of the LocalCluster started for the run (ignored with ``scheduler``)."""
    threads_per_worker: int = Field(1, ge=1, le=64)
    """Threads per worker process."""
    memory_limit: str = "auto"
    """Memory limit per worker (Dask syntax, e.g. ``4GiB``); ``auto`` shares the machine's memory."""
    scheduler: str | None = None
    """Address of an existing Dask scheduler (``tcp://host:8786``); no local cluster is started."""


class ScenarioHeader(Section):
    """Fields every scenario kind has."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.\- ]+$")
    """Scenario name, recorded in the manifest."""
    description: str = ""
    """Free text for humans."""
    seed: int = Field(0, ge=0, lt=2**32)
    """The one seed all randomness of the run is derived from."""
    runtime: RuntimeSection = RuntimeSection()
    """Dask runtime."""


__all__ = ["Section", "RuntimeSection", "ScenarioHeader"]
