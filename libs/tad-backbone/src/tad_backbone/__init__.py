"""VideoMAE / VideoMAEv2 ViT backbones with AdaTAD temporal-informative adapters, checkpoint conversion,
feature extraction and a training-memory planner."""

from tad_backbone.adapters import TemporalAdapter, adapter_hidden_dim
from tad_backbone.extract import ArrayFrames, FrameSource, extract_features
from tad_backbone.memory import (
    MemoryPlan,
    PeakMemoryMeter,
    SavedTensorMeter,
    TrainerProfile,
    activation_bytes_per_token,
    plan_training_memory,
    saved_activation_bytes,
)
from tad_backbone.videomae import (
    ARCHITECTURES,
    ConvertedWeights,
    VideoMAE,
    VideoMAEConfig,
    checkpoint_filter_fn,
    count_parameters,
    detect_source,
    is_adapter_key,
    load_state_dict_checked,
    unwrap_checkpoint,
    videomae_base,
    videomae_config,
    videomae_huge,
    videomae_large,
    videomae_small,
    videomaev2_giant,
)
from tad_backbone.weights import (
    convert_checkpoint,
    load_backbone,
    read_backbone_weights,
    read_checkpoint,
    save_backbone_weights,
    sidecar_path,
)

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.1.0"

__all__ = [
    "__version__",
    # model
    "ARCHITECTURES",
    "TemporalAdapter",
    "VideoMAE",
    "VideoMAEConfig",
    "adapter_hidden_dim",
    "count_parameters",
    "is_adapter_key",
    "videomae_base",
    "videomae_config",
    "videomae_huge",
    "videomae_large",
    "videomae_small",
    "videomaev2_giant",
    # weights
    "ConvertedWeights",
    "checkpoint_filter_fn",
    "convert_checkpoint",
    "detect_source",
    "load_backbone",
    "load_state_dict_checked",
    "read_backbone_weights",
    "read_checkpoint",
    "save_backbone_weights",
    "sidecar_path",
    "unwrap_checkpoint",
    # feature extraction
    "ArrayFrames",
    "FrameSource",
    "extract_features",
    # memory
    "MemoryPlan",
    "PeakMemoryMeter",
    "SavedTensorMeter",
    "TrainerProfile",
    "activation_bytes_per_token",
    "plan_training_memory",
    "saved_activation_bytes",
]
