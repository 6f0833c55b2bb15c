"""Fixtures for the tad-head tests: tiny detector configs and a deterministic torch seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tad_head import HeadConfig, ProjectionConfig


@pytest.fixture(autouse=True)
def _seed_and_one_thread() -> Iterator[None]:
    """Seed torch, and run single-threaded: these tensors are tiny, and on a busy 2-core machine OpenMP
    threads waiting on each other made a 40 ms forward take seconds."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_projection() -> ProjectionConfig:
    """THUMOS layout (2, 2, 5), global attention, at width 32 and length 64."""
    return ProjectionConfig(in_channels=24, embed_dim=32, max_seq_len=64)


@pytest.fixture
def tiny_head() -> HeadConfig:
    """Three classes on the default six levels, width 32."""
    return HeadConfig(num_classes=3, embed_dim=32)
