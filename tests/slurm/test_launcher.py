"""scripts/tad-train-job through the real cluster: preemption and requeue, cancellation, two Slurm tasks
meeting through torchrun's c10d rendezvous."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from slurm_jobs import TrainingJob, accounting, run, wait_for_end

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _requeued_runs(job: str) -> int:
    return sum(state == "REQUEUED" for state, _ in accounting(job))


def test_preempted_training_is_requeued_and_ends_with_the_uninterrupted_weights(
    submit_training: Callable[..., TrainingJob], single_reference: TrainingJob, tmp_path: Path
) -> None:
    preempted = submit_training(tmp_path / "preempted")
    # 1. A warning to the batch shell only (what `sbatch --signal=B:USR1@300` sends before a time limit):
    #    the launcher passes it to the trainer, which checkpoints and exits 75; the launcher requeues.
    preempted.wait_for_step_after(1)
    run(["scancel", "--batch", "--signal=USR1", preempted.job])
    preempted.wait_for_resumes(1)
    # 2. Slurm's own preemption path: `scontrol requeue` sends SIGTERM to every process of the job,
    #    the trainer checkpoints, Slurm requeues the job.
    preempted.wait_for_step_after(preempted.resumed_iterations()[0])
    run(["scontrol", "requeue", preempted.job])

    assert wait_for_end(preempted.job) == "COMPLETED", preempted.text()
    log = preempted.text()
    assert "stopped by signal 10: checkpoint written, exit 75" in log  # SIGUSR1
    assert "stopped by signal 15: checkpoint written, exit 75" in log  # SIGTERM
    assert f"requeued Slurm job {preempted.job}" in log  # the launcher requeued after SIGUSR1
    first, second = preempted.resumed_iterations()
    assert 0 < first < second < preempted.done()["step"]  # both resumed mid-run, from later checkpoints
    assert _requeued_runs(preempted.job) == 2
    assert wait_for_end(single_reference.job) == "COMPLETED", single_reference.text()
    assert single_reference.resumed_iterations() == []
    assert preempted.done()["rank_digests"] == single_reference.done()["rank_digests"]
    assert preempted.done()["step"] == single_reference.done()["step"]


def test_a_cancelled_training_checkpoints_and_stays_cancelled(
    submit_training: Callable[..., TrainingJob], tmp_path: Path
) -> None:
    cancelled = submit_training(tmp_path / "cancelled")
    cancelled.wait_for_step_after(0)
    run(["scancel", cancelled.job])
    assert wait_for_end(cancelled.job) == "CANCELLED"
    log = cancelled.text()
    assert "stopped by signal 15: checkpoint written, exit 75" in log
    assert "requeued Slurm job" not in log
    assert _requeued_runs(cancelled.job) == 0
    assert (cancelled.out / "checkpoints" / "last.pt").is_file()


@pytest.fixture(scope="module")
def two_tasks(submit_training: Callable[..., TrainingJob], tmp_path_factory) -> TrainingJob:
    """The tiny experiment as one Slurm job of two tasks (one process each), never interrupted."""
    job = submit_training(tmp_path_factory.mktemp("two_tasks") / "two", tasks=2)
    assert wait_for_end(job.job) == "COMPLETED", job.text()
    return job


def test_two_slurm_tasks_train_with_world_size_two_and_identical_ranks(two_tasks: TrainingJob) -> None:
    log = two_tasks.text()
    # The multi-node command line: srun starts one torchrun per task; they meet at the first task's host.
    head = socket.gethostname().split(".")[0]
    assert "tad-train-job: srun --ntasks=2 --cpus-per-task=1 --ntasks-per-node=2 --kill-on-bad-exit=1 " in log
    assert "-m torch.distributed.run --nnodes=2 --nproc_per_node=1 --rdzv_backend=c10d" in log
    assert f"--rdzv_endpoint={head}:" in log and f"--rdzv_id={two_tasks.job} " in log
    steps = run(["sacct", "-j", f"{two_tasks.job}.0", "-n", "-P", "-o", "NTasks,State"]).stdout.split()
    assert steps == ["2|COMPLETED"]
    digests = two_tasks.done()["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


def test_a_preempted_two_task_training_resumes_to_the_same_weights(
    submit_training: Callable[..., TrainingJob], two_tasks: TrainingJob, tmp_path: Path
) -> None:
    preempted = submit_training(tmp_path / "two_preempted", tasks=2)
    preempted.wait_for_step_after(2)
    run(["scontrol", "requeue", preempted.job])
    assert wait_for_end(preempted.job) == "COMPLETED", preempted.text()
    assert "stopped by signal 15: checkpoint written, exit 75" in preempted.text()
    assert len(preempted.resumed_iterations()) == 1 and _requeued_runs(preempted.job) == 1
    assert preempted.done()["rank_digests"] == two_tasks.done()["rank_digests"]
