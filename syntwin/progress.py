"""What a running scenario tells its user: stage k of N, a bar per long part, or a JSON line stream.

A run reports through :class:`~syntwin.pipeline.context.RunContext`: each stage start calls the
reporter with the stage name (``reporter("graph")``), and long parts of a stage announce a counted
step and advance it (``reporter.step("communities", 12)``, ``reporter.advance()``), fed by Dask
futures as they complete. Three reporters share that protocol:

* :class:`RichReporter` — a line per finished stage with its time, a live ``[k/N] stage`` line and a
  bar (done/total, elapsed, remaining) for the current step (a terminal; plain lines otherwise);
* :class:`JsonReporter` — one JSON object per line (``{"event": "stage", "stage": "graph",
  "index": 2, "total": 7, "elapsed_s": 3.1}``), for batch systems;
* :class:`NullReporter` — nothing (``-q``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: The stages each scenario kind runs, in order (a stage not listed still shows; N then grows).
STAGES: dict[str, tuple[str, ...]] = {
    "cohort": ("cohort", "graph", "synthesis", "fidelity", "prediction", "privacy", "export"),
    "crowd": ("crowd",),
}


#: Optional stages: name -> (scenario section that switches it on, the stage it follows).
OPTIONAL: dict[str, tuple[str, str]] = {"counterfactual": ("counterfactual", "prediction"), "live": ("live", "crowd")}


def planned_stages(scenario: Any) -> list[str]:
    """The stage names a scenario's run will go through (optional ones when their section is set)."""
    stages = list(STAGES.get(getattr(scenario, "kind", ""), ()))
    for name, (section, after) in OPTIONAL.items():
        if after in stages and getattr(scenario, section, None) is not None:
            stages.insert(stages.index(after) + 1, name)
    return stages


class _Reporter:
    """Bookkeeping shared by the reporters: stage index, step counts, timings."""

    def __init__(self, stages: list[str] | tuple[str, ...] = ()) -> None:
        self.stages = list(stages)
        self.stage: str | None = None
        self.index = 0
        self.step_name: str | None = None
        self.done = 0
        self.total: int | None = None
        self.start = time.perf_counter()
        self.stage_start = self.start
        self._lock = threading.Lock()

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Finish the display."""

    @property
    def n_stages(self) -> int:
        return max(len(self.stages), self.index)

    def __call__(self, text: str) -> None:
        """A stage starts (``"graph"``, or ``"graph (resumed)"`` when an earlier attempt finished it)."""
        with self._lock:
            name = text.split(" (")[0]
            if self.stage is not None:
                self._stage_done(self.stage, time.perf_counter() - self.stage_start)
            self.index = self.stages.index(name) + 1 if name in self.stages else self.index + 1
            self.stage, self.stage_start = text, time.perf_counter()
            self.step_name, self.done, self.total = None, 0, None
            self._stage_started(text)

    def step(self, name: str, total: int | None = None) -> None:
        """A counted part of the current stage begins (``total`` items; ``None`` if not known yet)."""
        with self._lock:
            self.step_name, self.done, self.total = name, 0, total
            self._step_started()
            self._stepped()

    def advance(self, n: int = 1, *, total: int | None = None) -> None:
        """``n`` more items of the current step are done (``total`` sets a total learnt late)."""
        with self._lock:
            if total is not None:
                self.total = total
            self.done += n
            self._stepped()

    def finish(self, status: str = "done") -> None:
        """The run is over (``done``, ``refused`` or ``failed``): close the last stage.

        A failed run's last stage is not reported as finished: the error says what went wrong.
        """
        with self._lock:
            if self.stage is not None and status != "failed":
                self._stage_done(self.stage, time.perf_counter() - self.stage_start)
                self.stage = None
            self._finished(status, time.perf_counter() - self.start)

    # hooks of the concrete reporters
    def _stage_started(self, text: str) -> None: ...
    def _stage_done(self, text: str, seconds: float) -> None: ...
    def _step_started(self) -> None: ...
    def _stepped(self) -> None: ...
    def _finished(self, status: str, seconds: float) -> None: ...


class NullReporter(_Reporter):
    """Reports nothing (``syntwin run -q``)."""


class JsonReporter(_Reporter):
    """One JSON object per line on ``stream`` (default stdout): ``stage``, ``step``, ``advance``, ``done``.

    Every object has ``event``, ``elapsed_s`` (seconds since the run started) and, inside a stage,
    ``stage``, ``index`` and ``total`` (stage k of N); step events add ``step``, ``done`` and ``of``.
    """

    def __init__(self, stages=(), stream: IO[str] | None = None) -> None:
        super().__init__(stages)
        self.stream = stream or sys.stdout

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event line (and flush, so a batch system sees it at once)."""
        record = {"event": event, "elapsed_s": round(time.perf_counter() - self.start, 3), **fields}
        self.stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.stream.flush()

    def _where(self) -> dict[str, Any]:
        return {"stage": self.stage, "index": self.index, "total": self.n_stages}

    def _stage_started(self, text: str) -> None:
        self.emit("stage", **self._where())

    def _stage_done(self, text: str, seconds: float) -> None:
        self.emit("stage_done", **self._where(), seconds=round(seconds, 3))

    def _stepped(self) -> None:
        self.emit("step" if self.done == 0 else "advance", **self._where(), step=self.step_name,
                  done=self.done, of=self.total)

    def _finished(self, status: str, seconds: float) -> None:
        self.emit("done", status=status, seconds=round(seconds, 3))


class RichReporter(_Reporter):
    """A live display on ``console``: finished stages as lines, ``[k/N] stage`` and the step's bar."""

    def __init__(self, stages=(), console: Console | None = None, title: str = "") -> None:
        super().__init__(stages)
        self.console = console or Console(stderr=True)
        self.title = title
        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=self.console,
            transient=True,
        )
        self._stage_task = self.bar.add_task(f"{title}: starting Dask", total=None)
        self._step_task = self.bar.add_task("", total=None, visible=False)
        self.bar.start()

    def close(self) -> None:
        """Stop the live display (its lines vanish; the stage lines stay)."""
        self.bar.stop()

    def _stage_started(self, text: str) -> None:
        self.bar.update(self._stage_task, description=f"[{self.index}/{self.n_stages}] {text}",
                        total=self.n_stages, completed=self.index - 1)
        self.bar.update(self._step_task, visible=False)
        self.bar.refresh()

    def _stage_done(self, text: str, seconds: float) -> None:
        self.bar.console.print(f"[green]✓[/green] [{self.index}/{self.n_stages}] {text}  "
                               f"[dim]{seconds:.1f} s[/dim]", highlight=False)

    def _step_started(self) -> None:
        # a fresh task: rich cannot set a known total back to "unknown"
        self.bar.remove_task(self._step_task)
        self._step_task = self.bar.add_task(f"    {self.step_name}", total=self.total)

    def _stepped(self) -> None:
        self.bar.update(self._step_task, description=f"    {self.step_name}", total=self.total,
                        completed=self.done, visible=True)
        self.bar.refresh()  # draw every step state, however short

    def _finished(self, status: str, seconds: float) -> None:
        self.bar.update(self._stage_task, completed=self.n_stages)


def make_reporter(mode: str, stages: list[str], *, console: Console | None = None, title: str = "",
                  stream: IO[str] | None = None) -> _Reporter:
    """The reporter of ``mode``: ``rich``, ``json`` or ``none``."""
    if mode == "json":
        return JsonReporter(stages, stream=stream)
    if mode == "none":
        return NullReporter(stages)
    if mode == "rich":
        return RichReporter(stages, console=console, title=title)
    raise ValueError(f"unknown progress mode {mode!r}; valid: rich, json, none")


__all__ = ["JsonReporter", "NullReporter", "RichReporter", "STAGES", "make_reporter", "planned_stages"]
