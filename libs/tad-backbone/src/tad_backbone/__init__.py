"""VideoMAE / VideoMAEv2 ViT backbones with AdaTAD temporal-informative adapters, checkpoint conversion,
feature extraction and a training-memory planner.

Names are imported from their modules on first use, so ``import tad_backbone`` (and with it
``tad-backbone --help``, ``info`` and ``plan``, which are arithmetic on configurations) loads neither
torch nor timm; ``from tad_backbone import VideoMAE`` loads them as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: The single source of the version; pyproject.toml reads it from here (no importlib.metadata at import).
__version__ = "0.2.0"

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
    "extract_to_file",
    # memory
    "MemoryPlan",
    "PeakMemoryMeter",
    "SavedTensorMeter",
    "TrainerProfile",
    "activation_bytes_per_token",
    "plan_training_memory",
    "saved_activation_bytes",
]

#: The modules that define the names above, the torch-free ones first, so that looking up a name of
#: ``config`` or ``memory`` never imports torch.
_MODULES = ("config", "memory", "adapters", "videomae", "weights", "extract", "meters")


def __getattr__(name: str) -> object:
    if name in __all__:
        for module_name in _MODULES:
            module = importlib.import_module(f"tad_backbone.{module_name}")
            if name in module.__all__:
                value = getattr(module, name)
                globals()[name] = value  # later look-ups do not come here
                return value
    raise AttributeError(f"module 'tad_backbone' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the same names for type checkers and editors (a test keeps them equal to __all__)
    from tad_backbone.adapters import TemporalAdapter
    from tad_backbone.config import ARCHITECTURES, VideoMAEConfig, adapter_hidden_dim, videomae_config
    from tad_backbone.extract import ArrayFrames, FrameSource, extract_features, extract_to_file
    from tad_backbone.memory import (
        MemoryPlan,
        TrainerProfile,
        activation_bytes_per_token,
        plan_training_memory,
        saved_activation_bytes,
    )
    from tad_backbone.meters import PeakMemoryMeter, SavedTensorMeter
    from tad_backbone.videomae import (
        ConvertedWeights,
        VideoMAE,
        checkpoint_filter_fn,
        count_parameters,
        detect_source,
        is_adapter_key,
        load_state_dict_checked,
        unwrap_checkpoint,
        videomae_base,
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
