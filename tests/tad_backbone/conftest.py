"""Fixtures of the tad-backbone tests; the fake official checkpoints come from tests/official_layouts.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from official_layouts import make_official_checkpoint


@pytest.fixture(scope="session")
def official_checkpoint() -> Callable[..., dict[str, object]]:
    """Builder of fake official checkpoints: ``official_checkpoint(source, variant=..., ...)``."""
    return make_official_checkpoint


def randomize_adapters(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every adapter a non-zero up-projection so it is no longer the identity."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "up_proj" in name:
                param.copy_(0.05 * torch.randn(param.shape, generator=generator))


@pytest.fixture
def nonzero_adapters() -> Callable[..., None]:
    """``nonzero_adapters(model)``: make the adapters act (fresh ones are the identity)."""
    return randomize_adapters


@pytest.fixture
def tiny_config() -> Callable[..., object]:
    """A narrow 4-block ViT-S for fast behavioural tests: ``tiny_config(mode=..., depth=...)``."""
    from tad_backbone import videomae_config

    def build(**overrides: object) -> object:
        return videomae_config("s", **({"embed_dim": 64, "num_heads": 2, "depth": 4} | overrides))

    return build


@pytest.fixture
def random_video() -> Callable[..., torch.Tensor]:
    """``random_video(batch, frames, size, seed)``: uint8 ``[B, 3, T, H, W]``."""

    def build(batch: int = 1, frames: int = 32, size: int = 32, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randint(0, 256, (batch, 3, frames, size, size), dtype=torch.uint8, generator=generator)

    return build
