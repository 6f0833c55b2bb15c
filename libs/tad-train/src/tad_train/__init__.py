"""AdaTAD end to end: composes tad-data, tad-backbone and tad-head into a model, a trainer and inference."""

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.1.0"

__all__ = ["__version__"]
