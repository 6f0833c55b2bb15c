"""Fixtures of the tad-train tests: the synthetic dataset of the tiny experiment and a model trained on it.

The tiny experiment (libs/tad-train/examples/tiny.yaml) on `tad-data synth --videos 8 --classes 3 --seed 0`
is exactly what the README and the outside checks run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from tad_train import ExperimentConfig, Trainer, load_config, setup_runtime

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "libs" / "tad-train" / "examples" / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny_config(synthetic_root: Path) -> Callable[..., ExperimentConfig]:
    """``tiny_config("schedule.max_epochs=2", ...)``: the tiny experiment on the synthetic videos."""

    def load(*overrides: str) -> ExperimentConfig:
        return load_config(TINY, [f"data.root={synthetic_root}", *overrides])

    return load


@pytest.fixture
def restore_determinism() -> Iterator[None]:
    """The trainer switches on deterministic algorithms process-wide (OpenTAD's default); undo it."""
    yield
    torch.use_deterministic_algorithms(False)


@pytest.fixture(scope="session")
def tiny_yaml() -> Path:
    return TINY


def train_in_process(config: ExperimentConfig, out: Path, resume: str | None = None) -> Trainer:
    """Train ``config`` into ``out`` in this process (CPU, one thread) and return the finished trainer.

    Session fixtures run before the suite's one-thread fixture; two OpenMP threads on a busy 2-core machine
    made this 20x slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(config, out, setup_runtime("cpu"))
        assert trainer.fit(resume) == 0
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
    return trainer


@pytest.fixture(scope="session")
def train() -> Callable[..., Trainer]:
    """``train(config, out, resume=None)``: a finished in-process training run."""
    return train_in_process


@pytest.fixture(scope="session")
def trained_tiny(
    tiny_config: Callable[..., ExperimentConfig], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The run folder of the tiny experiment trained once for the session (10 epochs, ~20 s)."""
    out = tmp_path_factory.mktemp("tiny_run")
    train_in_process(tiny_config(), out)
    return out
