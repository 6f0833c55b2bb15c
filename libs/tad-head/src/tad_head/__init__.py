"""ActionFormer detection head, label assignment, losses, vectorised NMS family and classifier fusion.

Everything works in feature-grid units of the level-0 sequence; tad-data converts detections to seconds.
Names are imported on first use, so ``tad-head fuse`` (numpy only) starts without loading torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Type checkers and IDEs read these imports; at run time each name is imported on first use through
# _MODULE_OF below. tests/test_workspace.py checks that these, _MODULE_OF and __all__ list the same names.
if TYPE_CHECKING:
    from tad_head.actionformer import (
        ActionFormer,
        ActionFormerHead,
        FPNIdentity,
        HeadConfig,
        HeadOutput,
        Projection,
        ProjectionConfig,
        concat_levels,
        convert_opentad_state,
        detector_param_groups,
        max_div_factor,
        opentad_loss_normalizer,
        pad_to_valid_length,
    )
    from tad_head.fusion import VideoClassifier, fuse_classifier, load_classifier
    from tad_head.losses import (
        DetectionLosses,
        LossConfig,
        LossNormalizer,
        detection_loss,
        diou_loss,
        sigmoid_focal_loss,
    )
    from tad_head.nms import Detections, NMSConfig, batched_nms, segment_voting
    from tad_head.postprocessing import (
        POSTPROCESS_PRESETS,
        PostProcessConfig,
        decode_valid,
        merge_windows,
        postprocess,
        select_candidates,
    )
    from tad_head.presets import DETECTOR_PRESETS, DetectorPreset, DetectorRecipe, detector_preset
    from tad_head.targets import TargetConfig, assign_targets, decode_segments, make_points

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.2.0"

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

__all__ = [
    "__version__",
    "ActionFormer",
    "ActionFormerHead",
    "DETECTOR_PRESETS",
    "DetectionLosses",
    "Detections",
    "DetectorPreset",
    "DetectorRecipe",
    "FPNIdentity",
    "HeadConfig",
    "HeadOutput",
    "LossConfig",
    "LossNormalizer",
    "NMSConfig",
    "POSTPROCESS_PRESETS",
    "PostProcessConfig",
    "Projection",
    "ProjectionConfig",
    "TargetConfig",
    "VideoClassifier",
    "assign_targets",
    "batched_nms",
    "concat_levels",
    "convert_opentad_state",
    "decode_segments",
    "decode_valid",
    "detection_loss",
    "detector_param_groups",
    "detector_preset",
    "diou_loss",
    "fuse_classifier",
    "load_classifier",
    "make_points",
    "max_div_factor",
    "merge_windows",
    "opentad_loss_normalizer",
    "pad_to_valid_length",
    "postprocess",
    "segment_voting",
    "select_candidates",
    "sigmoid_focal_loss",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tad_head' has no attribute {name!r}")
    return getattr(import_module(f"tad_head.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return __all__
