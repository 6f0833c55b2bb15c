"""ActionFormer detection head, label assignment, losses, vectorised NMS family and classifier fusion.

Everything works in feature-grid units of the level-0 sequence; tad-data converts detections to seconds.
"""

from importlib.metadata import version as _version

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
from tad_head.postprocess import (
    POSTPROCESS_PRESETS,
    PostProcessConfig,
    decode_valid,
    merge_windows,
    postprocess,
    select_candidates,
)
from tad_head.presets import DETECTOR_PRESETS, DetectorPreset, detector_preset
from tad_head.targets import TargetConfig, assign_targets, decode_segments, make_points

__version__ = _version("tad-head")

__all__ = [
    "DETECTOR_PRESETS",
    "POSTPROCESS_PRESETS",
    "ActionFormer",
    "ActionFormerHead",
    "DetectionLosses",
    "Detections",
    "DetectorPreset",
    "FPNIdentity",
    "HeadConfig",
    "HeadOutput",
    "LossConfig",
    "LossNormalizer",
    "NMSConfig",
    "PostProcessConfig",
    "Projection",
    "ProjectionConfig",
    "TargetConfig",
    "VideoClassifier",
    "__version__",
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
