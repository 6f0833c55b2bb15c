"""profiles/slurm through the real cluster: the workflow's smoke target, a failing rule, and training rules
(preempted; two Slurm tasks) in small workflows written here, the way the workflow's train rule runs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from slurm_jobs import (
    JOB_TIMEOUT,
    LAUNCHER,
    REPO,
    TINY,
    TrainingJob,
    accounting,
    job_environment,
    run,
    wait_for_end,
    wait_until,
)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PROFILE = REPO / "profiles" / "slurm"
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run Snakemake to the end, stdout and stderr together (the timeout only guards against a hang)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=job_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=JOB_TIMEOUT,
    )


def _workflow(folder: Path, rules: str) -> Path:
    """Write a small Snakefile into `folder`; LAUNCHER and TINY stand for their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    snakefile = folder / "Snakefile"
    snakefile.write_text(rules.replace("LAUNCHER", str(LAUNCHER)).replace("TINY", str(TINY)))
    return snakefile


def test_a_failing_rule_is_reported_with_its_slurm_log(tmp_path: Path) -> None:
    snakefile = _workflow(
        tmp_path,
        """
rule broken:
    output: "broken.txt"
    shell: "echo 'this rule fails on purpose' >&2; exit 3"
""",
    )
    finished = snakemake("--profile", str(PROFILE), "--snakefile", str(snakefile), cwd=tmp_path)
    assert finished.returncode != 0
    assert "Error in rule broken" in finished.stdout
    submissions = SUBMITTED.findall(finished.stdout)
    assert len(submissions) == 2  # the profile's one retry
    for job, log in submissions:
        assert f"SLURM-job '{job}' failed, SLURM status is: 'FAILED'" in finished.stdout
        assert "this rule fails on purpose" in Path(log).read_text()
        assert log in finished.stdout.split(f"SLURM-job '{job}' failed")[1]  # the message names the log
        assert accounting(job)[-1] == ("FAILED", "1:0")


def test_a_training_rule_survives_requeue_through_the_profile(
    single_reference: TrainingJob, synthetic_root: Path, tmp_path: Path
) -> None:
    """The train rule's pattern: the launcher resumes, Slurm requeues, Snakemake waits for the same job.
    Its output is a file written only at the end (not the run folder, which Snakemake would delete
    with the checkpoints when a job fails)."""
    snakefile = _workflow(
        tmp_path,
        f"""
rule train:
    output: "runs/tiny/done.json"
    log: "logs/train.log"
    resources: mem_mb=2000
    shell:
        "LAUNCHER train TINY --set data.root={synthetic_root} --out runs/tiny > {{log}} 2>&1"
        " && tail -n 1 runs/tiny/metrics.jsonl > {{output}}"
""",
    )
    output = tmp_path / "snakemake.out"
    command = [sys.executable, "-m", "snakemake", "--profile", str(PROFILE), "--snakefile", str(snakefile)]
    with open(output, "w") as sink:
        runner = subprocess.Popen(command, cwd=tmp_path, env=job_environment(), stdout=sink, stderr=sink)
        try:
            wait_until(lambda: SUBMITTED.search(output.read_text()) is not None, "the train job is submitted")
            job = SUBMITTED.search(output.read_text()).group(1)
            training = TrainingJob(job, tmp_path / "runs" / "tiny", tmp_path / "logs" / "train.log")
            training.wait_for_step_after(2)
            run(["scontrol", "requeue", job])
            assert runner.wait(timeout=JOB_TIMEOUT) == 0, output.read_text()[-5000:]
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    assert [state for state, _ in accounting(job)] == ["REQUEUED", "COMPLETED"]
    # Snakemake empties a job's log before each run: this is the resumed run's.
    assert len(training.resumed_iterations()) == 1
    done = json.loads((tmp_path / "runs" / "tiny" / "done.json").read_text())
    assert wait_for_end(single_reference.job) == "COMPLETED"
    assert done["rank_digests"] == single_reference.done()["rank_digests"]


def test_a_two_task_training_rule_runs_through_the_profile(synthetic_root: Path, tmp_path: Path) -> None:
    """Multi-node training from a rule: `mpi` makes the plugin run the shell line in the batch step (not
    under `srun -n1`), where the launcher starts one torchrun per task with srun."""
    snakefile = _workflow(
        tmp_path,
        f"""
rule train:
    output: "runs/tiny/done.json"
    log: "logs/train.log"
    threads: 1
    resources: mem_mb=4000, nodes=1, tasks=2, mpi="srun"
    shell:
        "LAUNCHER train TINY --set data.root={synthetic_root} --set schedule.max_epochs=2 --out runs/tiny"
        " > {{log}} 2>&1 && tail -n 1 runs/tiny/metrics.jsonl > {{output}}"
""",
    )
    finished = snakemake("--profile", str(PROFILE), "--snakefile", str(snakefile), cwd=tmp_path)
    assert finished.returncode == 0, finished.stdout[-5000:]
    ((job, _),) = SUBMITTED.findall(finished.stdout)
    assert f"--rdzv_id={job} " in (tmp_path / "logs" / "train.log").read_text()
    digests = json.loads((tmp_path / "runs" / "tiny" / "done.json").read_text())["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


# ----------------------------------------------------------------------------------------------------------
# The workflow's smoke target: skipped until the workflow defines results/demo_smoke.json.

SMOKE = "results/demo_smoke.json"


def _copy_repository(destination: Path) -> Path:
    """The checkout's files (tracked, and untracked but not ignored) without outputs or .venv."""
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def smoke_copies(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`smoke_copies(name)`: a fresh copy of the repository to run the smoke target in; fails every test
    that uses it when the target does not even plan locally (a broken workflow, not a cluster problem)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("the smoke target needs the repository's git checkout to copy")
    probe = _copy_repository(tmp_path_factory.mktemp("smoke_probe"))
    dry = snakemake("-n", "--profile", "profiles/local", SMOKE, cwd=probe)
    if dry.returncode != 0:
        last = [line for line in dry.stdout.splitlines() if line.strip()][-3:]
        pytest.fail(f"{SMOKE} does not plan locally (snakemake -n: {' | '.join(last)})")
    return lambda name: _copy_repository(tmp_path_factory.mktemp(name))


def test_smoke_target_runs_every_rule_as_a_slurm_job_and_equals_the_local_run(smoke_copies) -> None:
    local_root, slurm_root = smoke_copies("smoke_local"), smoke_copies("smoke_slurm")
    local = snakemake("--profile", "profiles/local", SMOKE, cwd=local_root)
    assert local.returncode == 0, local.stdout[-5000:]
    on_slurm = snakemake("--profile", "profiles/slurm", SMOKE, cwd=slurm_root)
    assert on_slurm.returncode == 0, on_slurm.stdout[-5000:]

    rules = re.findall(r"^(local)?rule (\w+):$", on_slurm.stdout, flags=re.MULTILINE)
    slurm_rules = [name for local_rule, name in rules if not local_rule]
    jobs = [job for job, _ in SUBMITTED.findall(on_slurm.stdout)]
    assert slurm_rules and len(jobs) == len(slurm_rules)  # every rule that ran here ran through sbatch
    for job in jobs:
        assert accounting(job)[-1][0] == "COMPLETED"
    local_result = json.loads((local_root / SMOKE).read_text())
    slurm_result = json.loads((slurm_root / SMOKE).read_text())
    assert slurm_result["mAP"] == local_result["mAP"]
