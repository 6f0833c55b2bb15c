"""Fixtures shared by every library's tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import av  # noqa: F401 - before anything imports decord: decord loaded first breaks av's VP9 encoder
import pytest

# Helpers shared by several libraries' tests (e.g. official_layouts.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Real public annotation files (see ../shared/data/README.md); read in place, never copied.
#: TAD_SHARED_DATA points elsewhere when the checkout does not sit beside `shared/`.
SHARED_DATA = Path(os.environ.get("TAD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real annotation files; the test fails loudly when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real annotation data not found at {SHARED_DATA} (set TAD_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _single_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op thread in tests that use it, and restore the setting afterwards.

    Test tensors are tiny; on a busy 2-core machine OpenMP threads waiting on each other made them
    3-50x slower than one thread. Tests that never import torch are left alone (tad-eval has no torch).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tad-data synth --out DIR --videos 8 --classes 3 --seed 0` (6 training, 2 validation videos): the
    data of the tiny experiment (libs/tad-train/examples/tiny.yaml), for the tad-train and Slurm tests."""
    from tad_data import write_synthetic_dataset

    root = tmp_path_factory.mktemp("synth")
    write_synthetic_dataset(root, num_videos=8, num_classes=3, seed=0)
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `gpu` tests on machines without CUDA and `slurm` tests where no cluster answers."""
    has_cuda = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
    no_slurm = None  # why the `slurm` tests cannot run, if they cannot
    if any("slurm" in item.keywords for item in items):
        no_slurm = _why_no_slurm_cluster()
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA device"))
        if "slurm" in item.keywords and no_slurm:
            item.add_marker(pytest.mark.skip(reason=no_slurm))


def _why_no_slurm_cluster() -> str | None:
    """None when a Slurm cluster answers `sinfo` with a node ready for jobs, else the reason it does not."""
    import shutil
    import subprocess

    hint = "(.ci/run starts one: scripts/slurm-local start, as root)"
    if shutil.which("sinfo") is None:
        return f"no Slurm cluster: sinfo is not installed {hint}"
    try:
        answer = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return f"no Slurm cluster: sinfo did not answer within 20 s {hint}"
    if answer.returncode != 0:
        error = answer.stderr.strip().splitlines()[-1:] or ["no message"]
        return f"no Slurm cluster answers sinfo ({error[0]}) {hint}"
    states = set(answer.stdout.split())
    if not states & {"idle", "mixed", "allocated", "completing"}:
        return f"the Slurm cluster has no node ready for jobs (node states: {', '.join(sorted(states))})"
    return None
