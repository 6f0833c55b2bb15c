"""AdaTAD end to end: composes tad-data, tad-backbone, tad-head and tad-eval into a model, a trainer and
inference.

Names are imported on first use, so ``import tad_train``, ``tad-train --help`` and ``tad-train report`` start
without loading torch. ``config`` and ``plan`` load it: the experiment configuration is built from tad-data's
and tad-head's configuration classes, whose modules import torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Type checkers and IDEs read these imports; at run time each name is imported on first use through
# _MODULE_OF below. tests/test_workspace.py checks that these, _MODULE_OF and __all__ list the same names.
if TYPE_CHECKING:
    from tad_train.checkpoints import (
        read_resume_checkpoint,
        read_training_checkpoint,
        write_checkpoint,
    )
    from tad_train.config import (
        BackboneConfig,
        ClassifierConfig,
        DataConfig,
        EvaluationConfig,
        ExperimentConfig,
        OptimizerConfig,
        ScheduleConfig,
        TrainerConfig,
        WindowConfig,
        config_hash,
        config_to_dict,
        dump_config,
        load_config,
        parse_overrides,
    )
    from tad_train.evaluate import (
        evaluate_model,
        evaluate_results,
        fuse_results,
        run_inference,
    )
    from tad_train.inference import (
        AGNOSTIC_LABEL,
        WindowCandidates,
        gather_windows,
        predict_windows,
        video_results,
    )
    from tad_train.model import (
        AdaTAD,
        ImportedWeights,
        build_model,
        convert_opentad_checkpoint,
    )
    from tad_train.runtime import (
        Runtime,
        setup_runtime,
        shutdown_runtime,
    )
    from tad_train.schedule import (
        WarmupCosineSchedule,
    )
    from tad_train.trainer import (
        EXIT_PREEMPTED,
        Trainer,
    )
    from tad_train.video import (
        VideoFrames,
    )

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.1.0"

_MODULE_OF = {
    "read_resume_checkpoint": "checkpoints",
    "read_training_checkpoint": "checkpoints",
    "write_checkpoint": "checkpoints",
    "BackboneConfig": "config",
    "ClassifierConfig": "config",
    "DataConfig": "config",
    "EvaluationConfig": "config",
    "ExperimentConfig": "config",
    "OptimizerConfig": "config",
    "ScheduleConfig": "config",
    "TrainerConfig": "config",
    "WindowConfig": "config",
    "config_hash": "config",
    "config_to_dict": "config",
    "dump_config": "config",
    "load_config": "config",
    "parse_overrides": "config",
    "evaluate_model": "evaluate",
    "evaluate_results": "evaluate",
    "fuse_results": "evaluate",
    "run_inference": "evaluate",
    "AGNOSTIC_LABEL": "inference",
    "WindowCandidates": "inference",
    "gather_windows": "inference",
    "predict_windows": "inference",
    "video_results": "inference",
    "AdaTAD": "model",
    "ImportedWeights": "model",
    "build_model": "model",
    "convert_opentad_checkpoint": "model",
    "Runtime": "runtime",
    "setup_runtime": "runtime",
    "shutdown_runtime": "runtime",
    "WarmupCosineSchedule": "schedule",
    "EXIT_PREEMPTED": "trainer",
    "Trainer": "trainer",
    "VideoFrames": "video",
}

__all__ = [
    "__version__",
    "AGNOSTIC_LABEL",
    "AdaTAD",
    "BackboneConfig",
    "ClassifierConfig",
    "DataConfig",
    "EXIT_PREEMPTED",
    "EvaluationConfig",
    "ExperimentConfig",
    "ImportedWeights",
    "OptimizerConfig",
    "Runtime",
    "ScheduleConfig",
    "Trainer",
    "TrainerConfig",
    "VideoFrames",
    "WarmupCosineSchedule",
    "WindowCandidates",
    "WindowConfig",
    "build_model",
    "config_hash",
    "config_to_dict",
    "convert_opentad_checkpoint",
    "dump_config",
    "evaluate_model",
    "evaluate_results",
    "fuse_results",
    "gather_windows",
    "load_config",
    "parse_overrides",
    "predict_windows",
    "read_resume_checkpoint",
    "read_training_checkpoint",
    "run_inference",
    "setup_runtime",
    "shutdown_runtime",
    "video_results",
    "write_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tad_train' has no attribute {name!r}")
    return getattr(import_module(f"tad_train.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return __all__
