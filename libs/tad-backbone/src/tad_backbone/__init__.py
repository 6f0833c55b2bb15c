"""VideoMAE / VideoMAEv2 ViT backbones with AdaTAD temporal-informative adapters, checkpoint conversion and a memory planner."""

from importlib.metadata import version as _version

__version__ = _version("tad-backbone")

__all__ = ["__version__"]
