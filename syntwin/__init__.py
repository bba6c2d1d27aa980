"""syntwin: graph-based synthetic patients and population simulation.

The public Python API, imported lazily (``import syntwin`` loads none of Dask, torch or Mesa until a
name is used)::

    cohort = syntwin.simulate_cohort(5_000, site="breast", seed=1)   # or syntwin.read_cohort(path, mapping)
    encoder = syntwin.MixedEncoder(numeric=..., ordinal=..., categorical=...).fit(df)
    graph = syntwin.build_graph(encoder.transform(df), k=15, scale=encoder.scale_)
    communities = syntwin.leiden(graph, seed=1)
    twins = syntwin.make_generator("latent_class").fit(df, numeric=..., time=..., event=...).sample(5_000)
    privacy = syntwin.evaluate_privacy(twins, train, holdout, numeric=..., ...)
    manifest = syntwin.run_scenario(syntwin.load_scenario("scenario.yaml"), "runs/x")

See the README's "Python API" section and the API reference (``make docs``).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syntwin")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

#: Public name -> module defining it (imported on first use).
_API: dict[str, str] = {
    # cohorts
    "Cohort": "syntwin.cohort.cohort",
    "CohortSchema": "syntwin.cohort.schema",
    "simulate_cohort": "syntwin.cohort.simulate",
    "read_cohort": "syntwin.cohort.readers",
    # similarity graphs
    "MixedEncoder": "syntwin.graphs.encode",
    "build_graph": "syntwin.graphs.knn",
    "leiden": "syntwin.graphs.communities",
    "SimilarityGraph": "syntwin.graphs.store",
    # synthetic twins
    "Generator": "syntwin.synthesis.generators",
    "make_generator": "syntwin.synthesis.generators",
    "register_generator": "syntwin.synthesis.generators",
    "synthesize": "syntwin.synthesis.parallel",
    # privacy and release
    "evaluate_privacy": "syntwin.privacy.evaluate",
    "export_twins": "syntwin.export.run",
    # scenarios
    "load_scenario": "syntwin.scenario.load",
    "run_scenario": "syntwin.pipeline.run",
    # crowd twins
    "CrowdModel": "syntwin.agents.model",
    "CrowdConfig": "syntwin.agents.config",
    "canteen_plan": "syntwin.agents.layouts",
    "run_sweep": "syntwin.agents.sweep",
}


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'syntwin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = ["__version__", *_API]
