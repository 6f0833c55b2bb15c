"""Temporal action detection evaluation: ActivityNet-exact mAP, Ego4D recall, proposal AR@AN; numpy only."""

from importlib.metadata import version as _version

__version__ = _version("tad-eval")

__all__ = ["__version__"]
