"""FisioFlow: open-source multi-tenant clinic platform for physiotherapy and therapy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fisioflow")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"
