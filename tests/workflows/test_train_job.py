"""scripts/tad-train-job outside Slurm: which command it starts for training and for inference, and with
which interpreter (TAD_PYTHON here: a stand-in that records how it was called)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "scripts" / "tad-train-job"


def launch(tmp_path: Path, *arguments: str) -> tuple[subprocess.CompletedProcess[str], list[str], int]:
    """Run the launcher with a stand-in interpreter; return the run, the stand-in's arguments and its
    parent's process id."""
    record = tmp_path / "called.txt"
    python = tmp_path / "python"
    python.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$PPID" "$@" > {record}\n')
    python.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    env["TAD_PYTHON"] = str(python)
    done = subprocess.run([str(LAUNCHER), *arguments], capture_output=True, text=True, env=env, timeout=60)
    if not record.exists():
        return done, [], 0
    parent, *called = record.read_text().splitlines()
    return done, called, int(parent)


def test_a_training_resumes_and_runs_under_torchrun_with_several_processes(tmp_path: Path) -> None:
    done, called, _ = launch(tmp_path, "train", "e.yaml", "--out", "run")
    assert done.returncode == 0, done.stderr
    assert called == ["-m", "tad_train", "train", "e.yaml", "--out", "run", "--resume", "auto"]
    done, called, _ = launch(tmp_path, "--nproc-per-task", "2", "train", "e.yaml", "--out", "run")
    assert called[:4] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert called[4:] == ["-m", "tad_train", "train", "e.yaml", "--out", "run", "--resume", "auto"]


def test_an_inference_starts_like_a_training_without_resume_or_requeue(tmp_path: Path) -> None:
    done, called, parent = launch(tmp_path, "--nproc-per-task", "2", "infer", "e.yaml", "--out", "p.json")
    assert done.returncode == 0, done.stderr
    assert called == [
        *("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"),
        *("-m", "tad_train", "infer", "e.yaml", "--out", "p.json"),  # no --resume: nothing to resume
    ]
    assert parent == os.getpid()  # exec: no signal handling or requeue around an inference


def test_an_unknown_command_is_refused(tmp_path: Path) -> None:
    done, called, _ = launch(tmp_path, "e.yaml", "--out", "run")
    assert done.returncode == 2 and not called
    assert "expected the command train or infer, got 'e.yaml'" in done.stderr
