"""Fixtures for the tests that run through a real Slurm cluster (`scripts/slurm-local start`).

Every test here is marked `slurm` and skipped where no cluster answers `sinfo` (tests/conftest.py). Jobs
run the tiny experiment of tad-train on one CPU thread per process; the runs live in pytest's temporary
folders, which the jobs see because the cluster is this machine.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The helpers module beside this file imports as a top-level module (like tests/official_layouts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from slurm_jobs import LAUNCHER, TINY, TrainingJob, job_environment, run  # noqa: E402


@pytest.fixture(scope="session")
def submit_training(synthetic_root: Path) -> Callable[..., TrainingJob]:
    """`submit_training(out, tasks=1, *overrides)`: sbatch the tiny experiment through the launcher.

    The batch script `exec`s the launcher, so the launcher is the job's shell (as in a script whose last
    line is `exec scripts/tad-train-job ...`). Each task gets one CPU; the node has two.
    """

    def submit(out: Path, *overrides: str, tasks: int = 1) -> TrainingJob:
        log = out.with_suffix(".log")
        sets = [f"data.root={synthetic_root}", *overrides]
        command = [
            str(LAUNCHER),
            "train",
            str(TINY),
            *(a for s in sets for a in ("--set", s)),
            "--out",
            str(out),
        ]
        submitted = run(
            [
                "sbatch",
                "--parsable",
                f"--job-name=tad-{out.name}",
                f"--output={log}",
                "--open-mode=append",  # every run of a requeued job in one log
                f"--ntasks={tasks}",
                "--cpus-per-task=1",
                "--mem-per-cpu=2000",
                f"--chdir={out.parent}",
                f"--wrap=exec {shlex.join(command)}",
            ],
            env=job_environment(),
        )
        return TrainingJob(submitted.stdout.strip().split(";")[0], out, log)

    return submit


@pytest.fixture(scope="session")
def single_reference(submit_training: Callable[..., TrainingJob], tmp_path_factory) -> TrainingJob:
    """The tiny experiment, one process, never interrupted: submitted once, awaited by whoever needs it
    (so it trains beside the test's own job)."""
    return submit_training(tmp_path_factory.mktemp("reference") / "single")
