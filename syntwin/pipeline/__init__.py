"""The spine's pipelines: compose the stage libraries into runs of scenario files."""

from syntwin.pipeline.context import RunContext
from syntwin.pipeline.run import run_scenario

__all__ = ["RunContext", "run_scenario"]
