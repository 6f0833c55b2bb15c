"""Temporal action detection evaluation: ActivityNet-exact mAP, Ego4D recall, proposal AR@AN; numpy only.

Importing this package never imports torch or matplotlib (plots live in :mod:`tad_eval.plot`).
"""

from tad_eval.checkpoints import StateMismatch, state_mismatches, strip_ddp_prefix, unwrap_state
from tad_eval.datasets import DATASETS, canonical_dataset
from tad_eval.detection import DetectionResult, average_precision, check_thresholds, evaluate_detection
from tad_eval.diagnose import CHARACTERISTIC_SCALES, Diagnosis, diagnose_detection
from tad_eval.errors import InputError
from tad_eval.files import atomic_write
from tad_eval.ground_truth import (
    DUPLICATE_TOLERANCE_S,
    GroundTruth,
    SubsetError,
    clean_instances,
    load_blocked,
    load_ground_truth,
    read_thumos_txt,
)
from tad_eval.matching import segment_iou
from tad_eval.numerics import sinusoid_table
from tad_eval.predictions import Predictions, load_predictions, write_predictions
from tad_eval.presets import PRESETS, DatasetPreset, parse_tiou
from tad_eval.recall import ProposalResult, TopKRecallResult, evaluate_proposals, topk_recall

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.2.0"

__all__ = [
    "CHARACTERISTIC_SCALES",
    "DATASETS",
    "DUPLICATE_TOLERANCE_S",
    "PRESETS",
    "DatasetPreset",
    "DetectionResult",
    "Diagnosis",
    "GroundTruth",
    "InputError",
    "Predictions",
    "ProposalResult",
    "StateMismatch",
    "SubsetError",
    "TopKRecallResult",
    "__version__",
    "atomic_write",
    "average_precision",
    "canonical_dataset",
    "check_thresholds",
    "clean_instances",
    "diagnose_detection",
    "evaluate_detection",
    "evaluate_proposals",
    "load_blocked",
    "load_ground_truth",
    "load_predictions",
    "parse_tiou",
    "read_thumos_txt",
    "segment_iou",
    "sinusoid_table",
    "state_mismatches",
    "strip_ddp_prefix",
    "topk_recall",
    "unwrap_state",
    "write_predictions",
]
