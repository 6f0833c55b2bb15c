"""AdaTAD end to end: composes tad-data, tad-backbone, tad-head and tad-eval into a model, a trainer and
inference."""

from tad_train.checkpoints import find_resume_checkpoint, write_checkpoint
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
from tad_train.evaluate import evaluate_model, evaluate_results, fuse_results, run_inference
from tad_train.inference import (
    AGNOSTIC_LABEL,
    WindowCandidates,
    gather_windows,
    predict_windows,
    video_results,
)
from tad_train.model import AdaTAD, ImportedWeights, build_model, convert_opentad_checkpoint
from tad_train.runtime import Runtime, setup_runtime, shutdown_runtime
from tad_train.schedule import WarmupCosineSchedule
from tad_train.trainer import EXIT_PREEMPTED, Trainer
from tad_train.video import VideoFrames

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.1.0"

__all__ = [
    "AGNOSTIC_LABEL",
    "EXIT_PREEMPTED",
    "AdaTAD",
    "BackboneConfig",
    "ClassifierConfig",
    "DataConfig",
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
    "__version__",
    "build_model",
    "config_hash",
    "config_to_dict",
    "convert_opentad_checkpoint",
    "dump_config",
    "evaluate_model",
    "evaluate_results",
    "find_resume_checkpoint",
    "fuse_results",
    "gather_windows",
    "load_config",
    "parse_overrides",
    "predict_windows",
    "run_inference",
    "setup_runtime",
    "shutdown_runtime",
    "video_results",
    "write_checkpoint",
]
