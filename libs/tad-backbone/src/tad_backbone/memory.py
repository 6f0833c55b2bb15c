"""Training-memory planning: an analytic peak for one training step, arithmetic on the configuration.

This module imports no torch (``tad-backbone plan`` answers at once); the meters that check it against the
real model are in :mod:`tad_backbone.meters`.

Planner (:func:`plan_training_memory`): peak memory of one training step on one GPU, built from what each
module of the model keeps. Per token (``C`` width, ``M`` MLP width, ``d`` adapter width, ``H`` heads,
``a`` bytes of an autocast activation — 2 for fp16/bf16, 4 for fp32 — and a float32 residual stream of
4 bytes):

====================================  ==============================================================
what a block keeps for backward        bytes per token
====================================  ==============================================================
trainable block (full)                 ``2*4C + a*(6C + 2M) + 16 + 4H`` (block input, norm outputs,
                                       q/k/v, attention output, MLP hidden before and after GELU,
                                       LayerNorm statistics, attention log-sum-exp)
frozen block (adapter, recomputed)     ``2*4C + a*(4C + M) + 16 + 4H`` (no weight gradients: linear
                                       inputs are not kept)
adapter                                ``a*(2C + 4d)``
checkpointed block                     ``4C`` (its input)
gradients beside an MLP's backward     ``4C + 2*a*M`` (incoming residual gradient, GELU gradients)
gradients beside an adapter's backward ``3*4C`` (float32 products with ``gamma`` and the residual)
one block run without a graph          ``2*4C + a*C + 2*a*M``
====================================  ==============================================================

These match the saved-tensor bytes measured on the real model (see the tests). Around them the planner
adds the step's other allocations: fp32 weights, the EMA copy (AdaTAD trains with an EMA of every
weight), DDP's flat gradient buckets (OpenTAD wraps the model in DDP before its forward freezes the ViT,
so the buckets cover every parameter), gradients and AdamW moments of what trains, the autocast cache
of fp16 weight copies, AdamW's temporaries in ``step``, the uint8 video and its normalised copy, and an
ActionFormer detector (THUMOS size: parameters from §2.6 of the reference, activations per level).
The peak is the largest of three phases: end of forward, the backward sweep over the blocks (stored
activations shrink while gradients grow), and the optimiser step. It models
``torch.cuda.max_memory_allocated`` (what OpenTAD logs as ``mem=``); the caching allocator's
fragmentation and the CUDA context come on top (reported as ``reserve_bytes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from tad_backbone.config import VideoMAEConfig

__all__ = [
    "MemoryPlan",
    "TrainerProfile",
    "activation_bytes_per_token",
    "plan_training_memory",
    "saved_activation_bytes",
]

DType = Literal["fp32", "fp16", "bf16"]
_RESIDUAL_BYTES = 4  # autocast adds half-precision branches to a float32 residual stream
_LN_STATS_BYTES = 16  # mean and rstd (float32) of two LayerNorms per token
_VALUE_BYTES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2}  # one activation value under each dtype


@dataclass(frozen=True)
class TrainerProfile:
    """What the training loop around the backbone allocates (defaults: OpenTAD's AdaTAD recipe)."""

    ema: bool = True  # an EMA copy of every weight on the GPU (ModelEma, decay 0.999)
    ddp_buckets: Literal["none", "trainable", "all"] = "all"  # DDP flat gradient buckets; OpenTAD: all
    detector: bool = True  # an ActionFormer detector on top (projection, FPN norms, heads)
    detector_dim: int = 512  # its width D (512 for THUMOS, 256 for ActivityNet)
    detector_heads: int = 4  # attention heads of its transformer blocks


@dataclass(frozen=True)
class MemoryPlan:
    """Estimated peak memory of one training step, with the terms at the peak phase."""

    peak_bytes: int  # comparable with torch.cuda.max_memory_allocated
    peak_phase: str  # "forward", "backward" or "optimizer step"
    breakdown: dict[str, int] = field(default_factory=dict)  # bytes per term at the peak phase
    phase_bytes: dict[str, int] = field(default_factory=dict)  # the total of every phase
    reserve_bytes: int = 0  # allocator fragmentation (10 %) and CUDA context (0.5 GiB) to budget on top

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view: ``{"peak_bytes": N, "peak_phase": ..., "breakdown": {...}, ...}``."""
        return {
            "peak_bytes": self.peak_bytes,
            "peak_phase": self.peak_phase,
            "reserve_bytes": self.reserve_bytes,
            "breakdown": dict(self.breakdown),
            "phase_bytes": dict(self.phase_bytes),
        }


@dataclass(frozen=True)
class _TokenCosts:
    """Bytes per token of each kind of stored or transient tensor set, see the module docstring."""

    trainable_block: int  # what a block with trainable weights keeps for backward
    frozen_block: int  # what a frozen block keeps for backward when its input needs gradients
    adapter: int  # what an adapter keeps for backward
    block_input: int  # the float32 residual stream: a checkpointed block's input
    mlp_backward: int  # gradients alive while the MLP runs backward (beyond the saved tensors)
    adapter_backward: int  # gradients alive while an adapter runs backward
    forward_work: int  # temporaries of one block run without a graph


def activation_bytes_per_token(config: VideoMAEConfig, dtype: DType) -> dict[str, int]:
    """The per-token byte costs of the table in the module docstring for ``config`` and ``dtype``."""
    return dict(vars(_token_costs(config, dtype)))


def _token_costs(config: VideoMAEConfig, dtype: DType) -> _TokenCosts:
    a = _VALUE_BYTES[dtype]
    r = _RESIDUAL_BYTES
    c, m, d, h = config.embed_dim, config.mlp_dim, config.adapter_dim, config.num_heads
    extras = _LN_STATS_BYTES + 4 * h
    return _TokenCosts(
        trainable_block=2 * r * c + a * (6 * c + 2 * m) + extras,
        frozen_block=2 * r * c + a * (4 * c + m) + extras,
        adapter=a * (2 * c + 4 * d),
        block_input=r * c,
        mlp_backward=r * c + 2 * a * m,
        adapter_backward=3 * r * c,
        forward_work=2 * r * c + a * c + 2 * a * m,
    )


def _tokens(config: VideoMAEConfig, frames: int, img: int, batch: int) -> int:
    grid = img // config.patch_size
    chunks = math.ceil(frames / config.chunk_frames)
    return batch * chunks * (config.chunk_frames // config.tubelet_size) * grid * grid


def saved_activation_bytes(
    config: VideoMAEConfig, frames: int, img: int, batch: int = 1, dtype: DType = "fp32"
) -> int:
    """Activation bytes kept for backward at the end of the forward pass (weights' copies excluded).

    This is what :class:`SavedTensorMeter` measures on the real model when parameter shapes are excluded.

    Args:
        config: backbone configuration (mode, adapters, checkpointing).
        frames: frames per video (a multiple of 16).
        img: square input size in pixels.
        batch: videos per step.
        dtype: ``fp32``, or the autocast dtype.
    """
    return sum(_stored_per_block(config, frames, img, batch, dtype)) + _patch_input_bytes(
        config, frames, img, batch, dtype
    )


def _patch_input_bytes(config: VideoMAEConfig, frames: int, img: int, batch: int, dtype: DType) -> int:
    """The normalised clip kept by the patch embedding when its weights train (full mode)."""
    if config.mode != "full":
        return 0
    return _VALUE_BYTES[dtype] * batch * 3 * frames * img * img


def _stored_per_block(config: VideoMAEConfig, frames: int, img: int, batch: int, dtype: DType) -> list[int]:
    """Bytes each block (or ladder) keeps for backward at the end of the forward pass."""
    tokens = _tokens(config, frames, img, batch)
    cost = _token_costs(config, dtype)
    ckpt = config.grad_checkpointing
    if config.mode == "frozen":
        return [0] * config.depth
    if config.mode == "side":
        return [tokens * (cost.block_input if ckpt else cost.adapter)] * len(config.adapter_blocks)
    masks = _drop_path_mask_bytes(config, frames, batch, dtype)
    if config.mode == "full":
        return [
            tokens * cost.block_input if ckpt else tokens * cost.trainable_block + masks[i]
            for i in range(config.depth)
        ]
    stored = []
    for index, (role, has_adapter) in enumerate(_adapter_mode_roles(config)):
        if role == "graph":
            kept = cost.block_input if ckpt else cost.frozen_block + (cost.adapter if has_adapter else 0)
            stored.append(tokens * kept + (0 if ckpt else masks[index]))
        else:
            stored.append(tokens * cost.adapter if role == "first" else 0)
    return stored


def _adapter_mode_roles(config: VideoMAEConfig) -> list[tuple[str, bool]]:
    """Each block's role in adapter mode and whether it has an adapter.

    ``idle``: before the first adapter, no graph at all; ``first``: the first adapter block, run without
    checkpointing (its input needs no gradient), only its adapter keeps tensors; ``graph``: every later
    block, whose input needs gradients (checkpointed when enabled).
    """
    first = config.adapter_blocks[0]
    roles = []
    for index in range(config.depth):
        role = "idle" if index < first else "first" if index == first else "graph"
        roles.append((role, index in config.adapter_blocks))
    return roles


def _drop_path_mask_bytes(config: VideoMAEConfig, frames: int, batch: int, dtype: DType) -> list[int]:
    """The two per-chunk stochastic-depth masks of each block with a non-zero drop rate.

    The rates rise linearly from 0 at block 0, so every later block has one when ``drop_path_rate > 0``.
    """
    chunks = batch * math.ceil(frames / config.chunk_frames)
    masks = 2 * chunks * _VALUE_BYTES[dtype]
    return [masks if index > 0 and config.drop_path_rate > 0 else 0 for index in range(config.depth)]


def _working_per_block(config: VideoMAEConfig, frames: int, img: int, batch: int, dtype: DType) -> list[int]:
    """Extra bytes alive while each block (or ladder) runs backward: its recomputation plus gradients.

    Two moments compete: the adapter's backward (everything recomputed is still alive) and the MLP's
    backward (the adapter's tensors are gone, the MLP-wide gradients are alive).
    """
    tokens = _tokens(config, frames, img, batch)
    cost = _token_costs(config, dtype)
    ckpt = config.grad_checkpointing
    copies = 0 if dtype == "fp32" or not ckpt else 2 * _block_matrix_params(config)
    if config.mode == "frozen":
        return [0] * config.depth
    if config.mode == "side":
        recompute = cost.adapter if ckpt else 0
        return [tokens * (recompute + cost.adapter_backward)] * len(config.adapter_blocks)
    if config.mode == "full":
        recompute = cost.trainable_block - cost.block_input if ckpt else 0
        return [tokens * (recompute + cost.mlp_backward) + copies] * config.depth
    work = []
    for role, has_adapter in _adapter_mode_roles(config):
        if role != "graph":
            work.append(tokens * cost.adapter_backward if role == "first" else 0)
            continue
        recompute = cost.frozen_block - cost.block_input if ckpt else 0
        adapter = (cost.adapter if ckpt else 0) + cost.adapter_backward if has_adapter else 0
        work.append(tokens * max(recompute + adapter, recompute + cost.mlp_backward) + copies)
    return work


def _weight_copies_per_block(config: VideoMAEConfig, dtype: DType) -> list[int]:
    """fp16 copies of block weights kept for backward until each block's backward has run.

    Without checkpointing, autocast's copies of trainable weights (full) and the per-use copies of frozen
    weights needed for input gradients (adapter) stay referenced by the saved tensors.
    """
    if dtype == "fp32" or config.grad_checkpointing or config.mode not in ("full", "adapter"):
        return [0] * (len(config.adapter_blocks) if config.mode == "side" else config.depth)
    copies = 2 * _block_matrix_params(config)
    if config.mode == "full":
        return [copies] * config.depth
    return [copies if role == "graph" else 0 for role, _ in _adapter_mode_roles(config)]


def _block_matrix_params(config: VideoMAEConfig) -> int:
    """Weights of one block's linear layers (their fp16 copies live while the block runs)."""
    c, m = config.embed_dim, config.mlp_dim
    return 4 * c * c + 2 * c * m


def _detector_params(config: VideoMAEConfig, trainer: TrainerProfile) -> int:
    """ActionFormer (THUMOS) parameters: 26.1 M plus the first projection conv ``3 * D * C`` (§2.6)."""
    if not trainer.detector:
        return 0
    return round(26.1e6 * (trainer.detector_dim / 512) ** 2) + 3 * trainer.detector_dim * config.embed_dim


def _detector_activation_bytes(length: int, trainer: TrainerProfile, dtype: DType) -> int:
    """ActionFormer activations: 7 transformer blocks over the pyramid plus 4 head convs on 6 levels.

    Each transformer position keeps about what a trainable ViT block keeps (width D, MLP 4D); global
    attention keeps its ``heads × l × l`` probabilities in float32 and their fp16 copy; each head conv
    keeps its input, LayerNorm statistics and ReLU output.
    """
    if not trainer.detector:
        return 0
    a = _VALUE_BYTES[dtype]
    dim, heads = trainer.detector_dim, trainer.detector_heads
    lengths = [length, length] + [max(1, length >> s) for s in range(1, 6)]  # 2 stem + 5 branch blocks
    per_position = 2 * _RESIDUAL_BYTES * dim + a * (6 * dim + 8 * dim)
    attention = sum(heads * n * n * (4 + a) for n in lengths)
    levels = sum(max(1, length >> s) for s in range(6))
    head_convs = levels * 4 * (_RESIDUAL_BYTES * dim + 2 * a * dim)
    return sum(lengths) * per_position + attention + head_convs


def plan_training_memory(
    config: VideoMAEConfig,
    frames: int,
    img: int,
    batch: int = 1,
    dtype: DType = "fp16",
    trainer: TrainerProfile | None = None,
    length: int | None = None,
) -> MemoryPlan:
    """Estimate the peak GPU memory of one training step of the backbone (and detector).

    Args:
        config: backbone configuration; its mode, adapters and checkpointing drive the estimate.
        frames: frames per video.
        img: square input size.
        batch: videos per GPU.
        dtype: ``fp16``/``bf16`` (autocast with fp32 weights, as AdaTAD) or ``fp32``.
        trainer: the surrounding training loop; defaults to OpenTAD's recipe.
        length: temporal length fed to the detector (default ``frames // 2``).
    """
    trainer = trainer or TrainerProfile()
    vit_params, adapter_params = config.parameter_counts()
    det_params = _detector_params(config, trainer)
    trainable = {"frozen": 0, "full": vit_params + adapter_params}.get(config.mode, adapter_params)
    bucket_params = {
        "none": 0,
        "trainable": trainable + det_params,
        "all": vit_params + adapter_params + det_params,
    }
    half = 0 if dtype == "fp32" else 2
    static = {
        "weights": 4 * (vit_params + adapter_params),
        "ema": 4 * (vit_params + adapter_params + det_params) if trainer.ema else 0,
        "ddp_buckets": 4 * bucket_params[trainer.ddp_buckets],
        "optimizer_state": 8 * (trainable + det_params),
        "detector_weights": 4 * det_params,
        "input_video": batch * 3 * frames * img * img,
    }
    stored = _stored_per_block(config, frames, img, batch, dtype)
    copies = _weight_copies_per_block(config, dtype)
    patch_input = _patch_input_bytes(config, frames, img, batch, dtype)
    detector_acts = _detector_activation_bytes(length or frames // 2, trainer, dtype)
    amp_copies = half * (trainable + det_params) + (sum(copies) if config.mode == "adapter" else 0)
    moments = _forward_moments(config, frames, img, batch, dtype, stored, patch_input, detector_acts)
    forward = {**static, "amp_weight_copies": amp_copies, **max(moments, key=lambda m: sum(m.values()))}
    phases = {
        "forward": forward,
        "backward": _backward_peak(
            config, frames, img, batch, dtype, static, stored, copies, patch_input, trainable, det_params
        ),
        "optimizer step": {
            **static,
            "gradients": 4 * (trainable + det_params),
            "working": 8 * (trainable + det_params),
        },
    }
    phase, terms = max(phases.items(), key=lambda item: sum(item[1].values()))
    peak = sum(terms.values())
    totals = {name: sum(values.values()) for name, values in phases.items()}
    return MemoryPlan(peak, phase, terms, totals, reserve_bytes=int(0.1 * peak) + 2**29)


def _forward_moments(
    config: VideoMAEConfig,
    frames: int,
    img: int,
    batch: int,
    dtype: DType,
    stored: list[int],
    patch_input: int,
    detector_acts: int,
) -> list[dict[str, int]]:
    """Candidate forward peaks: normalising the video, the last block, the ladders, the detector."""
    tokens = _tokens(config, frames, img, batch)
    cost = _token_costs(config, dtype)
    video = batch * 3 * frames * img * img
    kept = sum(stored) + patch_input
    moments = [{"working": (8 + (0 if dtype == "fp32" else 2)) * video}]  # uint8 -> float copies
    if config.mode == "side":  # the ladder inputs stay referenced until the ladders have run
        inputs = tokens * cost.block_input * len(config.adapter_blocks)
        kept = inputs + (0 if config.grad_checkpointing else kept)
        moments.append({"activations_stored": inputs, "working": tokens * cost.forward_work})
        moments.append({"activations_stored": kept, "working": tokens * cost.adapter_backward})
    else:
        moments.append({"activations_stored": kept, "working": tokens * cost.forward_work})
    moments.append({"activations_stored": kept, "detector_activations": detector_acts})
    return moments


def _backward_peak(
    config: VideoMAEConfig,
    frames: int,
    img: int,
    batch: int,
    dtype: DType,
    static: dict[str, int],
    stored: list[int],
    copies: list[int],
    patch_input: int,
    trainable: int,
    det_params: int,
) -> dict[str, int]:
    """The largest allocation during the backward sweep, last block (or ladder) first."""
    working = _working_per_block(config, frames, img, batch, dtype)
    grads_per_block = [0] * len(stored)
    if config.mode == "full":
        grads_per_block = [4 * (trainable // config.depth)] * config.depth
    elif trainable:
        grads_per_block[-1] = 4 * trainable  # adapters are small: count them all at once
    best: dict[str, int] = {}
    for index in reversed(range(len(stored))):
        terms = {
            **static,
            "activations_stored": sum(stored[: index + 1]) + patch_input,
            "amp_weight_copies": sum(copies[: index + 1]),
            "working": working[index],
            "gradients": sum(grads_per_block[index:]) + 4 * det_params,
        }
        if sum(terms.values()) > sum(best.values()):
            best = terms
    return best or {**static, "gradients": 4 * det_params}
