"""Training: a falling loss, the right parameters train, exact resume after SIGKILL/SIGTERM, torchrun."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import torch

from tad_backbone import read_checkpoint
from tad_eval import InputError
from tad_train import (
    EXIT_PREEMPTED,
    Trainer,
    build_model,
    read_resume_checkpoint,
    setup_runtime,
    write_checkpoint,
)
from tad_train.trainer import _accumulation_group_size

#: Short runs for the subprocess tests: 3 epochs of 3 iterations, last.pt after every iteration, and
#: stochastic depth on, so a resume must restore the random streams too.
SHORT = (
    "schedule.max_epochs=3",
    "trainer.checkpoint_steps=1",
    "backbone.drop_path_rate=0.1",
    "projection.path_pdrop=0.1",
)


def _metrics(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _environment() -> dict[str, str]:
    # One thread per process: bitwise-equal arithmetic between runs, and no oversubscription on 2 cores.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _train_command(tiny_yaml: Path, root: Path, out: Path, *extra: str) -> list[str]:
    sets = [item for pair in zip(["--set"] * len(SHORT), SHORT, strict=True) for item in pair]
    return [
        sys.executable,
        "-m",
        "tad_train",
        "train",
        str(tiny_yaml),
        "--set",
        f"data.root={root}",
        *sets,
        "--out",
        str(out),
        *extra,
    ]


def _weights(run: Path) -> dict:
    payload = read_checkpoint(run / "checkpoints" / "last.pt")
    return {"model": payload["model"], "ema": payload["ema"], "step": payload["step"]}


def _assert_bitwise_equal(a: dict, b: dict, context: str = "") -> None:
    assert a["step"] == b["step"], context
    for part in ("model", "ema"):
        assert a[part].keys() == b[part].keys()
        different = [k for k in a[part] if not torch.equal(a[part][k], b[part][k])]
        assert not different, f"{context} {part}: {len(different)} tensors differ, e.g. {different[:3]}"


@pytest.fixture(scope="module")
def uninterrupted(tiny_yaml, synthetic_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(
        _train_command(tiny_yaml, synthetic_root, out), check=True, env=_environment(), capture_output=True
    )
    return out


@pytest.mark.slow
def test_the_tiny_experiment_learns(trained_tiny) -> None:
    records = [r for r in _metrics(trained_tiny) if "loss" in r]
    assert len(records) == 30  # 10 epochs x 3 iterations, one line each (log_interval 1)
    third = len(records) // 3
    first, last = (sum(r["loss"] for r in part) / third for part in (records[:third], records[-third:]))
    assert last < 0.7 * first, (first, last)
    assert records[0]["lr"]["backbone"] == 0.0  # the warm-up starts from zero, as OpenTAD's
    assert (trained_tiny / "config.yaml").is_file() and (trained_tiny / "tensorboard").is_dir()
    final = _metrics(trained_tiny)[-1]
    assert final["event"] == "done" and len(final["rank_digests"]) == 1
    payload = read_checkpoint(trained_tiny / "checkpoints" / "last.pt")  # weights_only=True
    assert {"model", "ema", "optimizer", "scheduler", "scaler", "epoch", "step", "rng", "config_hash"} <= set(
        payload
    )
    assert sorted(p.name for p in (trained_tiny / "checkpoints").iterdir()) == sorted(
        ["last.pt"] + [f"epoch_{e}.pt" for e in range(1, 11)]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "trains"),
    [
        ("frozen", lambda name: False),
        ("adapter", lambda name: ".adapter." in name),
        ("side", lambda name: name.startswith("ladders.")),
        ("full", lambda name: True),
    ],
)
def test_only_what_should_train_changes(
    mode, trains, tiny_config, train, tmp_path, restore_determinism
) -> None:
    config = tiny_config(f"backbone.mode={mode}", "schedule.max_epochs=1", "schedule.warmup_epochs=0")
    torch.manual_seed(42)  # the trainer seeds the same way: this is its initial model
    before = build_model(config).state_dict()
    after = train(config, tmp_path).model.state_dict()
    for name, value in before.items():
        if name.startswith("backbone.") and not name.endswith("pos_embed"):
            changed = not torch.equal(value, after[name])
            assert changed == trains(name.removeprefix("backbone.")), f"{mode}: {name} changed={changed}"
    # The detector always trains (a few parameters of coarse levels without positives may get no gradient).
    for name in ("detector.projection.embed.0.conv.weight", "detector.rpn_head.cls_head.weight"):
        assert not torch.equal(before[name], after[name]), name


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [2, 3])  # of 3 epochs x 3 iterations: inside an epoch, at its end
def test_resume_after_sigkill_is_bitwise_exact(
    kill_at: int, tiny_yaml, synthetic_root, uninterrupted, tmp_path
) -> None:
    out = tmp_path / "killed"
    process = subprocess.Popen(
        _train_command(tiny_yaml, synthetic_root, out),
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not any(r.get("step", 0) >= kill_at for r in _metrics(out)) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(
        _train_command(tiny_yaml, synthetic_root, out, "--resume", "auto"),
        env=_environment(),
        capture_output=True,
        text=True,
    )
    context = f"killed at step {kill_at}:"
    assert resumed.returncode == 0, f"{context} {resumed.stderr[-2000:]}"
    assert "resumed from" in resumed.stderr, f"{context} {resumed.stderr[-500:]}"
    _assert_bitwise_equal(_weights(out), _weights(uninterrupted), context)


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_and_exits_for_requeue(
    tiny_yaml, synthetic_root, uninterrupted, tmp_path
) -> None:
    out = tmp_path / "preempted"
    process = subprocess.Popen(
        _train_command(tiny_yaml, synthetic_root, out),
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not any(r.get("step", 0) >= 4 for r in _metrics(out)):
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_PREEMPTED, stderr[-1000:]
    position = read_checkpoint(out / "checkpoints" / "last.pt")
    assert 4 <= position["step"] < 9 and "stopped by signal" in stderr
    resumed = subprocess.run(
        _train_command(tiny_yaml, synthetic_root, out, "--resume", "auto"),
        env=_environment(),
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_bitwise_equal(_weights(out), _weights(uninterrupted))


def _training_checkpoint(epoch: int, step: int) -> dict:
    return {
        "model": {},
        "ema": None,
        "optimizer": {},
        "scheduler": {},
        "scaler": {},
        "epoch": epoch,
        "step_in_epoch": 0,
        "step": step,
        "rng": [],
        "config_hash": "x",
    }


def test_a_half_written_or_damaged_checkpoint_is_never_picked(tmp_path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    write_checkpoint(folder / "epoch_2.pt", _training_checkpoint(2, 6))
    write_checkpoint(folder / "epoch_1.pt", _training_checkpoint(1, 3))
    write_checkpoint(folder / "epoch_3.pt", {"model": {}, "ema": None, "epoch": 3})  # not a training one
    data = (folder / "epoch_2.pt").read_bytes()
    (folder / "last.pt").write_bytes(data[: len(data) // 2])  # truncated (a copy interrupted by hand)
    (folder / ".last.pt.x1y2.tmp").write_bytes(data)  # what a killed atomic write leaves behind
    path, payload = read_resume_checkpoint(folder)
    assert path == folder / "epoch_2.pt" and payload == _training_checkpoint(2, 6)
    assert read_resume_checkpoint(tmp_path / "nothing") is None


def test_resume_reads_last_pt_alone_when_it_is_good(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "checkpoints"
    for epoch in (1, 2, 9, 10):
        write_checkpoint(folder / f"epoch_{epoch}.pt", _training_checkpoint(epoch, 3 * epoch))
    read = []
    monkeypatch.setattr(
        "tad_train.checkpoints.read_checkpoint", lambda path: read.append(path.name) or read_checkpoint(path)
    )
    assert read_resume_checkpoint(folder)[0] == folder / "epoch_10.pt"  # by number: 10 after 9
    assert read == ["epoch_10.pt"]
    write_checkpoint(folder / "last.pt", _training_checkpoint(10, 31))
    read.clear()
    assert read_resume_checkpoint(folder)[1]["step"] == 31 and read == ["last.pt"]


def test_a_checkpoint_goes_straight_to_disk_and_atomically(tmp_path) -> None:
    weights = torch.arange(4 * 2**20, dtype=torch.float32)  # 16 MiB
    tracemalloc.start()
    try:
        write_checkpoint(tmp_path / "last.pt", {"model": {"w": weights}})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < weights.nbytes // 4, f"{peak} bytes: a copy of the checkpoint was made in memory"
    assert torch.equal(read_checkpoint(tmp_path / "last.pt")["model"]["w"], weights)
    with pytest.raises((AttributeError, pickle.PicklingError)):  # a local function does not pickle
        write_checkpoint(tmp_path / "last.pt", {"model": {"w": weights[:1]}, "hook": lambda: None})
    assert torch.equal(read_checkpoint(tmp_path / "last.pt")["model"]["w"], weights)
    assert [path.name for path in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.slow
def test_a_different_configuration_does_not_resume_silently(
    tiny_yaml, synthetic_root, uninterrupted, tmp_path
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "last.pt").write_bytes((uninterrupted / "checkpoints" / "epoch_2.pt").read_bytes())
    described = (uninterrupted / "config.yaml").read_text()  # what the checkpoints were trained with
    (out / "config.yaml").write_text(described)
    changed = subprocess.run(
        _train_command(tiny_yaml, synthetic_root, out, "--resume", "auto", "--set", "optimizer.lr=5e-4"),
        env=_environment(),
        capture_output=True,
        text=True,
    )
    assert changed.returncode == 2
    error = changed.stderr.strip().splitlines()[-1]  # after the resolved configuration printed at start
    assert error.startswith("tad-train train: error: ") and error.endswith("or pass --force-resume")
    assert "last.pt: config_hash: written by another configuration (changed: optimizer.lr)" in error
    assert (out / "config.yaml").read_text() == described
    forced = subprocess.run(
        _train_command(
            tiny_yaml, synthetic_root, out, "--resume", "auto", "--set", "optimizer.lr=5e-4", "--force-resume"
        ),
        env=_environment(),
        capture_output=True,
        text=True,
    )
    assert forced.returncode == 0 and "resumed from" in forced.stderr
    assert "lr: 0.0005" in (out / "config.yaml").read_text() and "lr: 0.0005" not in described


def test_a_head_for_another_class_count_is_refused_before_training(
    tiny_config, tmp_path, restore_determinism
) -> None:
    with pytest.raises(InputError, match=r"head\.num_classes: 5, but \S+annotations\.json has 3 classes"):
        Trainer(tiny_config("head.num_classes=5"), tmp_path, setup_runtime("cpu"))


def test_a_checkpoint_of_another_architecture_or_layout_is_one_line_naming_the_file(
    tiny_config, tmp_path, restore_determinism
) -> None:
    runtime = setup_runtime("cpu")
    Trainer(tiny_config(), tmp_path, runtime)._save("last.pt")
    narrower = Trainer(tiny_config("projection.embed_dim=32"), tmp_path / "narrower", runtime)
    shape = r"shape \[[\d, ]+\] in the weights but \[[\d, ]+\] in the AdaTAD"
    narrower.checkpoint_dir.mkdir(parents=True)
    (narrower.checkpoint_dir / "last.pt").write_bytes((tmp_path / "checkpoints" / "last.pt").read_bytes())
    with pytest.raises(InputError, match=rf"last\.pt: detector\.\S+: {shape}"):
        narrower.fit("auto", force_resume=True)
    # The EMA is checked the same way: a checkpoint whose EMA is of the narrower model.
    payload = read_checkpoint(tmp_path / "checkpoints" / "last.pt")
    write_checkpoint(tmp_path / "checkpoints" / "last.pt", {**payload, "ema": narrower.ema.state_dict()})
    with pytest.raises(InputError, match=rf"last\.pt: detector\.\S+: {shape}"):
        Trainer(tiny_config(), tmp_path, runtime).fit("auto")
    # Random streams not listed by process (one dict, as development versions of the trainer wrote).
    write_checkpoint(tmp_path / "checkpoints" / "last.pt", {**payload, "rng": payload["rng"][0]})
    with pytest.raises(InputError, match=r"last\.pt: rng: expected the random streams of every process"):
        Trainer(tiny_config(), tmp_path, runtime).fit("auto")


def test_a_short_last_accumulation_group_averages_over_its_own_batches() -> None:
    # 7 batches in groups of 3: [1 2 3] [4 5 6] [7]; the last group's one loss is not divided by 3.
    assert [_accumulation_group_size(batch, 7, 3) for batch in range(1, 8)] == [3, 3, 3, 3, 3, 3, 1]
    assert [_accumulation_group_size(batch, 6, 4) for batch in range(1, 7)] == [4, 4, 4, 4, 2, 2]
    # Without accumulation every loss is divided by 1, as before (bitwise the same training).
    assert {_accumulation_group_size(batch, 5, 1) for batch in range(1, 6)} == {1}


#: Two processes on this machine (gloo on the CPU), then the program and its arguments.
_TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _torchrun(*args: str) -> list[str]:
    return [*_TORCHRUN, "-m", "tad_train", *args]


@pytest.mark.slow
def test_two_process_training_keeps_the_ranks_identical(tiny_yaml, synthetic_root, tmp_path) -> None:
    out = tmp_path / "ddp"
    command = _train_command(tiny_yaml, synthetic_root, out)[3:]  # after "python -m tad_train"
    finished = subprocess.run(
        _torchrun(*command), env=_environment(), capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    final = _metrics(out)[-1]
    assert final["event"] == "done" and len(final["rank_digests"]) == 2
    assert final["rank_digests"][0] == final["rank_digests"][1]
    assert final["step"] == 9  # 6 videos, global batch 2 = 1 per rank: 3 iterations per epoch, as one process


#: A training process of a torchrun job whose ranks draw from different random streams (as ranks do once
#: anything rank-dependent draws); with STOP_AT > 0 it stops as on SIGUSR1 after that many iterations.
_RANKED_TRAINING = """
import signal, sys
import torch
from tad_train import Trainer, load_config, setup_runtime, shutdown_runtime

experiment, root, out, resume, stop_at, *overrides = sys.argv[1:]
runtime = setup_runtime("cpu")
trainer = Trainer(load_config(experiment, [f"data.root={root}", *overrides]), out, runtime)
torch.manual_seed(1000 + runtime.rank)
optimizer_step = trainer._optimizer_step


def step_then_stop():
    optimizer_step()
    if runtime.is_main and trainer.step == int(stop_at):
        signal.raise_signal(signal.SIGUSR1)


trainer._optimizer_step = step_then_stop
try:
    status = trainer.fit(None if resume == "none" else resume)
finally:
    shutdown_runtime()
sys.exit(status)
"""


@pytest.mark.slow
def test_two_processes_resume_bitwise_exactly_each_from_its_own_random_streams(
    tiny_yaml, synthetic_root, tmp_path
) -> None:
    script = tmp_path / "ranked_training.py"
    script.write_text(_RANKED_TRAINING)

    def train(out: Path, resume: str, stop_at: int) -> subprocess.CompletedProcess:
        command = [str(script), str(tiny_yaml), str(synthetic_root), str(out), resume, str(stop_at), *SHORT]
        return subprocess.run(
            [*_TORCHRUN, *command], env=_environment(), capture_output=True, text=True, timeout=600
        )

    whole = train(tmp_path / "whole", "none", 0)
    assert whole.returncode == 0, whole.stderr[-3000:]
    stopped = train(tmp_path / "stopped", "none", 4)  # in the second epoch; both processes exit 75
    assert "stopped by signal" in stopped.stderr, stopped.stderr[-3000:]
    checkpoint = read_checkpoint(tmp_path / "stopped" / "checkpoints" / "last.pt")
    assert checkpoint["step"] == 4 and [sorted(state) for state in checkpoint["rng"]] == 2 * [
        ["cuda", "numpy", "python", "torch"]
    ]
    assert not torch.equal(checkpoint["rng"][0]["torch"], checkpoint["rng"][1]["torch"])
    resumed = train(tmp_path / "stopped", "auto", 0)
    assert resumed.returncode == 0 and "resumed from" in resumed.stderr, resumed.stderr[-3000:]
    _assert_bitwise_equal(_weights(tmp_path / "stopped"), _weights(tmp_path / "whole"))


@pytest.mark.slow
def test_two_process_inference_writes_the_same_file(
    tiny_yaml, synthetic_root, trained_tiny, tmp_path
) -> None:
    common = [
        "infer",
        str(tiny_yaml),
        "--set",
        f"data.root={synthetic_root}",
        "--set",
        "trainer.test_batch_size=1",
        "--checkpoint",
        str(trained_tiny / "checkpoints" / "last.pt"),
    ]
    one = subprocess.run(
        [sys.executable, "-m", "tad_train", *common, "--out", str(tmp_path / "one.json")],
        env=_environment(),
        capture_output=True,
        text=True,
    )
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(
        _torchrun(*common, "--out", str(tmp_path / "two.json")),
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


@pytest.mark.slow
def test_in_training_evaluation_scores_the_ema_weights(
    tiny_config, train, tmp_path, restore_determinism
) -> None:
    config = tiny_config("schedule.max_epochs=2", "trainer.val_start_epoch=2", "trainer.val_interval=1")
    trainer = train(config, tmp_path)
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["epoch_2.json"]  # from epoch 2 only
    evaluations = [r for r in _metrics(tmp_path) if "eval" in r]
    assert [r["epoch"] for r in evaluations] == [2]
    assert set(evaluations[0]["eval"]["mAP"]) == {"0.3", "0.4", "0.5", "0.6", "0.7"}
    from tad_train import evaluate_results

    predictions = json.loads((tmp_path / "eval" / "epoch_2.json").read_text())["results"]
    rescored = evaluate_results(config, predictions).average_mAP
    assert evaluations[0]["eval"]["average_mAP"] == pytest.approx(rescored)
    # The evaluation ran after the last epoch: its predictions are the EMA model's, not the raw model's.
    from tad_train import run_inference, setup_runtime

    runtime = setup_runtime("cpu")
    with_ema = run_inference(config, trainer.ema, runtime, progress=False)
    assert json.loads(json.dumps(with_ema)) == predictions
    assert run_inference(config, trainer.model, runtime, progress=False) != with_ema
