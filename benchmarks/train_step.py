"""Where a training step's time goes, and the memory planner against the measured peak, on this machine.

For the tiny experiment (libs/tad-train/examples/tiny.yaml) and for ViT-S with adapters at 64 frames
(160 px), one training step of tad-train's Trainer is split into data (the next batch from the
DataLoader: decode + augment), forward (the loss), backward, and optimizer (clip, AdamW, schedule, EMA);
each is printed as a share of the whole step, medians over a few steps after a warm-up one. Memory:
the tensor bytes alive at the step's peak — weights, EMA, optimizer state and gradients that exist before
it plus the peak of what the step allocates (tad_backbone.PeakMemoryMeter) — next to
tad_backbone.plan_training_memory for the same setting (fp32 on the CPU), printed as a ratio.

    python benchmarks/train_step.py [--steps 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch

from tad_backbone import PeakMemoryMeter
from tad_data import write_synthetic_dataset
from tad_train import Trainer, load_config, setup_runtime

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "libs" / "tad-train" / "examples" / "tiny.yaml"
SETTINGS = {
    "tiny (2 blocks, 64 frames, 32 px)": [],
    "ViT-S adapters (64 frames, 160 px)": [
        "backbone.arch=s",
        "backbone.drop_path_rate=0.1",
        "augment.short_side=182",
        "augment.crop_size=160",
        "eval_transform.short_side=160",
        "eval_transform.crop_size=160",
        "projection.embed_dim=512",
    ],
}


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def static_bytes(trainer: Trainer) -> int:
    """Weights, EMA, optimizer state and gradients alive before a step."""
    total = tensor_bytes(trainer.model.state_dict().values())
    if trainer.ema is not None:
        total += tensor_bytes(trainer.ema.state_dict().values())
    for state in trainer.optimizer.state.values():
        total += tensor_bytes(v for v in state.values() if isinstance(v, torch.Tensor) and v.dim() > 0)
    return total


def measure(config, out: Path, steps: int) -> tuple[dict[str, float], int, int]:
    with contextlib.redirect_stderr(io.StringIO()):  # the trainer prints its configuration
        trainer = Trainer(config, out, setup_runtime("cpu"))
    trainer.model.train()
    trainer.dataset.set_epoch(0)
    trainer.sampler.set_epoch(0)
    batches = iter(trainer.loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:
            batches = iter(trainer.loader)
            return next(batches)

    phases: dict[str, list[float]] = {"data": [], "forward": [], "backward": [], "optimizer": []}
    for step in range(steps + 1):
        start = time.perf_counter()
        batch = next_batch()
        loaded = time.perf_counter()
        losses = trainer.model.loss(batch)
        forward = time.perf_counter()
        losses.total.backward()
        backward = time.perf_counter()
        trainer._optimizer_step()  # clip, AdamW, schedule, EMA: what the trainer does per iteration
        done = time.perf_counter()
        if step:  # the first step warms caches and allocators up
            marks = [(start, loaded), (loaded, forward), (forward, backward), (backward, done)]
            for name, (a, b) in zip(phases, marks, strict=True):
                phases[name].append(b - a)
    # Memory in a step of its own: the meter sees every operator, which slows the step down.
    batch = next_batch()
    before = static_bytes(trainer)
    with PeakMemoryMeter() as meter:
        trainer.model.loss(batch).total.backward()
        trainer._optimizer_step()
    torch.use_deterministic_algorithms(False)
    medians = {name: statistics.median(values) for name, values in phases.items()}
    return medians, before + meter.peak, trainer.plan.peak_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="measured steps (after one warm-up step)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "synth"
        write_synthetic_dataset(root, num_videos=8, num_classes=3, seed=0, size=(180, 320))
        for name, overrides in SETTINGS.items():
            config = load_config(TINY, [f"data.root={root}", "trainer.log_interval=1000", *overrides])
            times, measured, planned = measure(config, Path(folder) / name.split()[0], args.steps)
            step = sum(times.values())
            shares = "  ".join(f"{phase} {value / step:.2f}" for phase, value in times.items())
            print(f"{name}: step {step:.3f} s = {shares} (shares of the step)")
            print(
                f"  memory: measured peak {measured / 2**20:.1f} MiB, planned {planned / 2**20:.1f} MiB, "
                f"planned / measured {planned / measured:.2f}"
            )


if __name__ == "__main__":
    main()
