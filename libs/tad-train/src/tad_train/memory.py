"""The memory planner (``tad_backbone.plan_training_memory``) applied to an experiment, as on a CUDA GPU.

One place turns an experiment into the planner's arguments, for ``tad-train plan`` and for the batch size
``tad-train new-experiment`` chooses for a given GPU.
"""

from __future__ import annotations

from tad_backbone import MemoryPlan, TrainerProfile, plan_training_memory
from tad_train.config import ExperimentConfig

__all__ = ["AMP_PLAN_DTYPES", "experiment_memory_plan"]

#: ``trainer.amp`` -> the planner's dtype on a CUDA GPU (fp16 and bf16 autocast there; "off" is fp32).
AMP_PLAN_DTYPES = {"fp16": "fp16", "bf16": "bf16", "off": "fp32"}


def experiment_memory_plan(
    config: ExperimentConfig, batch_per_gpu: int, gpus: int = 1, dtype: str | None = None
) -> MemoryPlan:
    """The planner's peak of one training step of ``config`` on each of ``gpus`` CUDA GPUs.

    Args:
        config: the experiment (backbone, window frames, crop size, detector width, EMA, AMP).
        batch_per_gpu: videos per GPU and step.
        gpus: processes the global batch is split over (DDP keeps gradient buckets of the trainable weights).
        dtype: the autocast dtype the step runs in (``fp16``, ``bf16``, ``fp32``); None: ``trainer.amp`` on
            a CUDA GPU.
    """
    profile = TrainerProfile(
        ema=config.trainer.ema_decay is not None,
        ddp_buckets="trainable" if gpus > 1 else "none",
        detector_dim=config.projection.embed_dim,
        detector_heads=config.projection.num_heads,
    )
    return plan_training_memory(
        config.backbone.model,
        config.window.frames,
        config.augment.crop_size,
        batch_per_gpu,
        dtype or AMP_PLAN_DTYPES[config.trainer.amp],
        profile,
        config.window.size,
    )
