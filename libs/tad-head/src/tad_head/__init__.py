"""ActionFormer detection head, label assignment, losses, vectorised NMS family and classifier fusion.

Everything works in feature-grid units of the level-0 sequence; tad-data converts detections to seconds.
Names are imported on first use, so ``tad-head fuse`` (numpy only) starts without loading torch.
"""

from importlib import import_module
from importlib.metadata import version as _version
from typing import Any

__version__ = _version("tad-head")

_MODULE_OF = {
    "ActionFormer": "actionformer",
    "ActionFormerHead": "actionformer",
    "FPNIdentity": "actionformer",
    "HeadConfig": "actionformer",
    "HeadOutput": "actionformer",
    "Projection": "actionformer",
    "ProjectionConfig": "actionformer",
    "concat_levels": "actionformer",
    "convert_opentad_state": "actionformer",
    "detector_param_groups": "actionformer",
    "max_div_factor": "actionformer",
    "opentad_loss_normalizer": "actionformer",
    "pad_to_valid_length": "actionformer",
    "VideoClassifier": "fusion",
    "fuse_classifier": "fusion",
    "load_classifier": "fusion",
    "DetectionLosses": "losses",
    "LossConfig": "losses",
    "LossNormalizer": "losses",
    "detection_loss": "losses",
    "diou_loss": "losses",
    "sigmoid_focal_loss": "losses",
    "Detections": "nms",
    "NMSConfig": "nms",
    "batched_nms": "nms",
    "segment_voting": "nms",
    "POSTPROCESS_PRESETS": "postprocessing",
    "PostProcessConfig": "postprocessing",
    "decode_valid": "postprocessing",
    "merge_windows": "postprocessing",
    "postprocess": "postprocessing",
    "select_candidates": "postprocessing",
    "DETECTOR_PRESETS": "presets",
    "DetectorPreset": "presets",
    "DetectorRecipe": "presets",
    "detector_preset": "presets",
    "TargetConfig": "targets",
    "assign_targets": "targets",
    "decode_segments": "targets",
    "make_points": "targets",
}

__all__ = ["__version__", *sorted(_MODULE_OF)]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tad_head' has no attribute {name!r}")
    return getattr(import_module(f"tad_head.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return __all__
