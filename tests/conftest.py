"""Fixtures shared by every library's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Real public annotation files (see ../shared/data/README.md); read in place, never copied.
#: TAD_SHARED_DATA points elsewhere when the checkout does not sit beside `shared/`.
SHARED_DATA = Path(os.environ.get("TAD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real annotation files; the test fails loudly when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real annotation data not found at {SHARED_DATA} (expected ../shared/data beside the repo)")
    return SHARED_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `gpu` tests on machines without CUDA and `slurm` tests where no cluster answers."""
    import shutil
    import subprocess

    has_cuda = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
    has_slurm = False
    if any("slurm" in item.keywords for item in items) and shutil.which("sinfo"):
        has_slurm = subprocess.run(["sinfo"], capture_output=True, timeout=20).returncode == 0
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA device"))
        if "slurm" in item.keywords and not has_slurm:
            item.add_marker(pytest.mark.skip(reason="no Slurm cluster answers sinfo"))
