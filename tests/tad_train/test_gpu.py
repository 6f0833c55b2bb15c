"""Training on a CUDA device: autocast (fp16 with its gradient scaler, bf16 without) and a resume that
restores the scaler. Skipped on machines without CUDA (tests/conftest.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tad_backbone import read_checkpoint
from tad_train import ExperimentConfig, Trainer, setup_runtime


def _fit(config: ExperimentConfig, out: Path, resume: str | None = None) -> Trainer:
    trainer = Trainer(config, out, setup_runtime("cuda"))
    try:
        assert trainer.fit(resume) == 0
    finally:
        torch.use_deterministic_algorithms(False)
    return trainer


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_a_mixed_precision_epoch_on_the_gpu_trains_and_resumes(
    amp: str, tiny_config: Callable[..., ExperimentConfig], tmp_path: Path
) -> None:
    settings = ("schedule.max_epochs=2", "trainer.checkpoint_interval=1", "trainer.device=cuda")
    config = tiny_config(*settings, f"trainer.amp={amp}")
    trainer = _fit(config, tmp_path / "run")
    assert trainer.amp_dtype == {"fp16": torch.float16, "bf16": torch.bfloat16}[amp]
    payload = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    weights = [value for value in payload["model"].values() if value.is_floating_point()]
    assert all(torch.isfinite(value).all() for value in weights)
    # fp16 keeps the GradScaler's state (scale, growth tracker) for the resume; bf16 needs no scaler.
    assert ("scale" in payload["scaler"]) == (amp == "fp16")
    if amp == "fp16":
        assert math.isfinite(payload["scaler"]["scale"]) and payload["scaler"]["scale"] > 0

    # The second epoch again from the first one's checkpoint: scaler, optimizer and schedule continue.
    resumed = _fit(config, tmp_path / "again", resume=str(tmp_path / "run" / "checkpoints" / "epoch_1.pt"))
    assert (resumed.epoch, resumed.step) == (trainer.epoch, trainer.step)
    assert resumed.scaler.state_dict() == trainer.scaler.state_dict()
