"""Fixtures for the tad-head tests: tiny detector configs and a deterministic torch seed."""

from __future__ import annotations

import pytest
import torch

from tad_head import HeadConfig, ProjectionConfig


@pytest.fixture(autouse=True)
def _seed() -> None:
    """Seed torch, so random inputs are the same on every run."""
    torch.manual_seed(0)


@pytest.fixture
def tiny_projection() -> ProjectionConfig:
    """THUMOS layout (2, 2, 5), global attention, at width 32 and length 64."""
    return ProjectionConfig(in_channels=24, embed_dim=32, max_seq_len=64)


@pytest.fixture
def tiny_head() -> HeadConfig:
    """Three classes on the default six levels, width 32."""
    return HeadConfig(num_classes=3, embed_dim=32)
