"""ActionFormer detection head, label assignment, losses, vectorised NMS family and classifier fusion."""

from importlib.metadata import version as _version

__version__ = _version("tad-head")

__all__ = ["__version__"]
