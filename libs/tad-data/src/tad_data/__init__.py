"""Video loading (decord), official TAD annotation converters, window samplers, frame-consistent augmentation and a synthetic dataset."""

from importlib.metadata import version as _version

__version__ = _version("tad-data")

__all__ = ["__version__"]
