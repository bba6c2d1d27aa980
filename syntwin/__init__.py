"""syntwin: graph-based synthetic patients and population simulation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syntwin")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
