"""AdaTAD end to end: composes tad-data, tad-backbone and tad-head into a model, a trainer and inference."""

from importlib.metadata import version as _version

__version__ = _version("tad-train")

__all__ = ["__version__"]
