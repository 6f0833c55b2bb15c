"""Helpers for the tests that submit jobs to the real Slurm cluster: submit, poll, read the accounting."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "scripts" / "tad-train-job"
TINY = REPO / "libs" / "tad-train" / "examples" / "tiny.yaml"
#: Hang guard for one job or one Snakemake run: far above what any of them needs on two busy cores.
JOB_TIMEOUT = 900.0


def job_environment() -> dict[str, str]:
    """The environment jobs inherit (sbatch --export=ALL): this interpreter's tools, one thread."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TAD_PYTHON"] = sys.executable
    env["OMP_NUM_THREADS"] = "1"
    return env


def run(command: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a Slurm command; with `check`, a failure shows its output."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)
    assert not check or done.returncode == 0, f"{shlex.join(command)}: {done.stdout}{done.stderr}"
    return done


def wait_until(condition: Callable[[], bool], what: str, timeout: float = JOB_TIMEOUT) -> None:
    """Poll `condition` every 0.2 s; fail naming `what` if it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")
        time.sleep(0.2)


def accounting(job: str) -> list[tuple[str, str]]:
    """(State, ExitCode) of every run of the job, oldest first (a requeued job has one per run)."""
    out = run(["sacct", "--duplicates", "-X", "-n", "-P", "-o", "State,ExitCode", "-j", job]).stdout
    return [tuple(line.split("|")) for line in out.splitlines() if line]  # type: ignore[misc]


def job_finished(job: str) -> bool:
    """True once the job has left the queue for good (not while it waits to run again after a requeue)."""
    if run(["squeue", "-h", "-j", job, "-o", "%T"], check=False).stdout.strip():
        return False
    runs = accounting(job)
    return bool(runs) and runs[-1][0].split()[0] not in {"PENDING", "RUNNING", "REQUEUED", "COMPLETING"}


def wait_for_end(job: str) -> str:
    """Wait until the job is over; return its final state (COMPLETED, CANCELLED, FAILED, ...)."""
    wait_until(lambda: job_finished(job), f"Slurm job {job} ends")
    return accounting(job)[-1][0].split()[0]


@dataclass
class TrainingJob:
    """A tad-train run submitted through scripts/tad-train-job."""

    job: str
    out: Path
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def steps(self) -> list[int]:
        """The iterations metrics.jsonl has logged, in order (a resumed run appends)."""
        path = self.out / "metrics.jsonl"
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [record["step"] for record in records if "event" not in record]

    def done(self) -> dict:
        """The last line of metrics.jsonl: {"event": "done", ..., "rank_digests": [...]}."""
        last = json.loads((self.out / "metrics.jsonl").read_text().splitlines()[-1])
        assert last.get("event") == "done", f"{self.out}: training did not finish:\n{self.text()[-3000:]}"
        return last

    def resumed_iterations(self) -> list[int]:
        """The iteration each resumed run started from, from the trainer's 'resumed from' lines."""
        return [int(n) for n in re.findall(r"resumed from .*, iteration (\d+)", self.text())]

    def wait_for_resumes(self, count: int) -> None:
        """Wait until the job has been resumed `count` times (or has ended: then the count is checked)."""
        wait_until(
            lambda: len(self.resumed_iterations()) >= count or job_finished(self.job),
            f"job {self.job} resumes",
        )
        assert len(self.resumed_iterations()) == count, f"job {self.job} did not resume:\n{self.text()}"

    def wait_for_step_after(self, iteration: int) -> None:
        """Wait until the running training has logged an iteration beyond `iteration`."""
        wait_until(
            lambda: any(step > iteration for step in self.steps()) or job_finished(self.job),
            f"job {self.job} trains past iteration {iteration}",
        )
        assert not job_finished(self.job), f"job {self.job} ended before the signal:\n{self.text()}"
