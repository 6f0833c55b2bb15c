"""Temporal action detection evaluation: ActivityNet-exact mAP, Ego4D recall, proposal AR@AN; numpy only.

Importing this package never imports torch or matplotlib.
"""

from importlib.metadata import version as _version

from tad_eval.errors import InputError
from tad_eval.files import atomic_write
from tad_eval.ground_truth import (
    GroundTruth,
    clean_instances,
    load_blocked,
    load_ground_truth,
    read_thumos_txt,
)
from tad_eval.predictions import Predictions, load_predictions, write_predictions

__version__ = _version("tad-eval")

__all__ = [
    "GroundTruth",
    "InputError",
    "Predictions",
    "__version__",
    "atomic_write",
    "clean_instances",
    "load_blocked",
    "load_ground_truth",
    "load_predictions",
    "read_thumos_txt",
    "write_predictions",
]
