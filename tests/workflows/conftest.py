"""The workflow tests run Snakemake on the repository's Snakefile in a scratch working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """`snakemake --snakefile REPO/Snakefile --directory WORKDIR --cores 1 ARGS...` (this venv on PATH)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


@pytest.fixture(scope="session")
def snakemake() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``snakemake(workdir, *args, timeout=600)``: see `run_snakemake`."""
    return run_snakemake
