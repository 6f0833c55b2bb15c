"""The memory planner against measurements of the real model and against public training logs."""

from __future__ import annotations

import json

import pytest
import torch

from tad_backbone import (
    PeakMemoryMeter,
    SavedTensorMeter,
    TrainerProfile,
    VideoMAE,
    plan_training_memory,
    saved_activation_bytes,
    videomae_config,
)
from tad_backbone.cli import main

MODES = [
    ("full", False),
    ("full", True),
    ("adapter", True),
    ("adapter", False),
    ("side", True),
    ("side", False),
]


def _run_step(model: VideoMAE, video: torch.Tensor, dtype: str) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        out = model(video)
    out.float().square().mean().backward()


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
@pytest.mark.parametrize(("mode", "checkpointing"), MODES)
def test_saved_activation_formula_matches_the_model(tiny_config, mode, checkpointing, dtype) -> None:
    config = tiny_config(
        mode=mode, grad_checkpointing=checkpointing, adapter_index=(1, 3) if mode == "side" else None
    )
    model = VideoMAE(config).train()
    weight_shapes = {tuple(p.shape) for p in model.parameters()} | {
        tuple(p.shape)[::-1] for p in model.parameters()
    }
    video = torch.randint(0, 256, (1, 3, 48, 32, 32), dtype=torch.uint8)
    with SavedTensorMeter(
        exclude=[*model.parameters(), *model.buffers()], exclude_shapes=weight_shapes
    ) as meter:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            model(video)
    assert meter.bytes == saved_activation_bytes(config, frames=48, img=32, dtype=dtype)


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "checkpointing"), MODES)
def test_planned_peak_matches_the_measured_peak(mode, checkpointing) -> None:
    """The per-block working-set model, checked on ViT-S at 64 px (bf16 autocast on the CPU)."""
    config = videomae_config(
        "s", mode=mode, grad_checkpointing=checkpointing, drop_path_rate=0.0,
        adapter_index=range(6, 12) if mode == "side" else None,
    )  # fmt: skip
    model = VideoMAE(config).train()
    video = torch.randint(0, 256, (1, 3, 64, 64, 64), dtype=torch.uint8)
    with PeakMemoryMeter() as meter:
        _run_step(model, video, "bf16")
    plan = plan_training_memory(
        config, 64, 64, 1, "bf16", TrainerProfile(ema=False, ddp_buckets="none", detector=False)
    )
    before_step = (
        plan.breakdown["weights"] + plan.breakdown["optimizer_state"] + plan.breakdown["input_video"]
    )
    # What the meter sees: tensors created during the step (not the weights, optimizer state or input).
    planned = max(plan.phase_bytes["forward"], plan.phase_bytes["backward"]) - before_step
    assert 0.95 < planned / meter.peak < 1.3


# Public OpenTAD training logs (``mem=`` is torch.cuda.max_memory_allocated in MiB; read as GiB here):
# arch, frames, image size, adapter blocks, logged GiB.
LOGGED = [
    ("g", 768, 160, None, 30.7),  # VideoMAEv2-g THUMOS 768x1 at 160 px, fp16, checkpointing
    ("l", 768, 224, None, 13.3),  # VideoMAE-L, 768 frames at 224 px
    ("b", 768, 160, None, 5.0),  # VideoMAE-B, THUMOS setting
]


@pytest.mark.parametrize(("arch", "frames", "img", "index", "logged_gib"), LOGGED)
def test_plan_is_within_a_quarter_of_logged_peaks(arch, frames, img, index, logged_gib) -> None:
    config = videomae_config(arch, mode="adapter", adapter_index=index)
    plan = plan_training_memory(config, frames, img, batch=1, dtype="fp16", length=768)
    assert abs(plan.peak_bytes / 2**30 / logged_gib - 1) < 0.25


def test_modes_order_and_trainer_terms() -> None:
    peaks = []
    for mode in ("frozen", "side", "adapter", "full"):
        config = videomae_config("b", mode=mode, adapter_index=range(6, 12) if mode == "side" else None)
        peaks.append(plan_training_memory(config, 768, 160).peak_bytes)
    assert peaks == sorted(peaks)
    config = videomae_config("b", mode="adapter")
    with_ema = plan_training_memory(config, 768, 160)
    without = plan_training_memory(config, 768, 160, trainer=TrainerProfile(ema=False))
    assert with_ema.breakdown["ema"] > 0 and "ema" in without.breakdown and without.breakdown["ema"] == 0
    assert with_ema.peak_bytes - without.peak_bytes == with_ema.breakdown["ema"]


def test_plan_cli(capsys) -> None:
    args = [
        "plan",
        "--arch",
        "g",
        "--frames",
        "1536",
        "--img",
        "224",
        "--adapter-index",
        "20:40",
        "--batch",
        "1",
    ]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    config = videomae_config("g", mode="adapter", adapter_index=range(20, 40))
    assert result["peak_bytes"] == plan_training_memory(config, 1536, 224, 1, "fp16").peak_bytes
    assert sum(result["breakdown"].values()) == result["peak_bytes"]
    assert main([*args, "--dtype", "fp32"]) == 0
    assert "GiB" in capsys.readouterr().out


# Planned peaks and saved activations of 0.1.0, when the planner built the model on the meta device to
# count parameters and read drop-path rates (identical on 2,560 configurations when it became arithmetic).
PINNED = [
    ("g", "adapter", True, "fp16", 1536, True, 0.25, 0.1, True, 78_605_496_544, 10_729_095_168),
    ("s", "full", False, "fp32", 17, False, 0.25, 0.1, False, 2_421_843_808, 477_849_776),
    ("b", "side", True, "fp16", 1536, True, 0.125, 0.0, True, 13_333_788_228, 1_415_577_600),
    ("h", "frozen", True, "fp16", 1536, False, 0.25, 0.1, True, 16_151_855_296, 0),
]


@pytest.mark.parametrize(
    (
        "arch",
        "mode",
        "ckpt",
        "dtype",
        "frames",
        "last_half",
        "ratio",
        "drop_path",
        "detector",
        "peak",
        "saved",
    ),
    PINNED,
)
def test_planned_numbers_are_pinned(
    arch, mode, ckpt, dtype, frames, last_half, ratio, drop_path, detector, peak, saved
) -> None:
    depth = videomae_config(arch).depth
    config = videomae_config(
        arch, mode=mode, grad_checkpointing=ckpt, adapter_ratio=ratio, drop_path_rate=drop_path,
        adapter_index=range(depth // 2, depth) if last_half else None,
    )  # fmt: skip
    trainer = TrainerProfile(detector=detector, ddp_buckets="trainable")
    assert plan_training_memory(config, frames, 224, 2, dtype, trainer).peak_bytes == peak
    assert saved_activation_bytes(config, frames, 160, 1, dtype) == saved
