"""Training memory of the four backbone modes, measured on ViT-S, as ratios to full fine-tuning.

For VideoMAE-S at a small image size and T = 64 ... 256 frames, each mode runs one forward pass in
training mode and counts the bytes of distinct storages saved for backward
(``torch.autograd.graph.saved_tensors_hooks``; parameters themselves are not counted; with
non-reentrant checkpointing this sees what each checkpointed region keeps, i.e. its input). One real
backward pass and AdamW step per mode measure the parameter-gradient and optimizer-state bytes.

Modes: ``full`` (no checkpointing, the baseline), ``full+ckpt``, ``adapter`` (AdaTAD: TIA in all 12
blocks, checkpointing from the first adapter on) and ``side`` (AdaTAD†: ladders on blocks 6-11 as in
the official S side config). A second table compares the analytic planner
(``tad_backbone.plan_training_memory``) with public OpenTAD training-log peaks.

    python benchmarks/backbone_memory.py [--img 96] [--frames 64 128 192 256] [--dtype fp32|bf16]

Goals: adapter <= 1/3 of full, side <= 1/10 of full (saved + gradients + AdamW state).
"""

from __future__ import annotations

import argparse

import torch

from tad_backbone import (
    SavedTensorMeter,
    VideoMAE,
    plan_training_memory,
    saved_activation_bytes,
    videomae_config,
)

MODES = {
    "full": {"mode": "full", "grad_checkpointing": False},
    "full+ckpt": {"mode": "full", "grad_checkpointing": True},
    "adapter": {"mode": "adapter", "grad_checkpointing": True},
    "side": {"mode": "side", "grad_checkpointing": True, "adapter_index": range(6, 12)},
}
# Public OpenTAD training logs (mem= is torch.cuda.max_memory_allocated in MiB; read here as GiB).
LOGGED = [
    ("VideoMAEv2-g, 768 frames, 160 px, adapters in all 40 blocks", "g", 768, 160, 30.7),
    ("VideoMAE-L, 768 frames, 224 px, adapters in all 24 blocks", "l", 768, 224, 13.3),
    ("VideoMAE-B, THUMOS 768 frames, 160 px, all 12 blocks", "b", 768, 160, 5.0),
]
MIB = 2**20


def saved_bytes(model: VideoMAE, video: torch.Tensor, dtype: str) -> int:
    """Bytes saved for backward by one training-mode forward pass."""
    with SavedTensorMeter(exclude=[*model.parameters(), *model.buffers()]) as meter:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            model(video)
    return meter.bytes


def gradient_and_optimizer_bytes(model: VideoMAE, video: torch.Tensor) -> tuple[int, int]:
    """Bytes of parameter gradients and AdamW state after one real step."""
    params = [p for _, p in model.trainable_parameters()]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    model(video).square().mean().backward()
    optimizer.step()
    grads = sum(p.grad.numel() * p.grad.element_size() for p in params)
    state = sum(
        t.numel() * t.element_size() for s in optimizer.state.values() for t in s.values() if t.ndim > 0
    )
    return grads, state


def measure(img: int, frames_list: list[int], dtype: str) -> None:
    print(f"ViT-S at {img} px, {dtype}; MiB; ratio = total / total of full at the same T")
    columns = ("saved", "planned", "grads", "adamw", "total", "ratio")
    print(f"{'T':>5} {'mode':<10}" + "".join(f"{c:>9}" for c in columns))
    static: dict[str, tuple[int, int]] = {}
    ratios: dict[str, list[float]] = {name: [] for name in MODES}
    for frames in frames_list:
        video = torch.randint(0, 256, (1, 3, frames, img, img), dtype=torch.uint8)
        totals = {}
        for name, fields in MODES.items():
            torch.manual_seed(0)
            config = videomae_config("s", **fields)
            model = VideoMAE(config).train()
            saved = saved_bytes(model, video, dtype)
            if name not in static:
                static[name] = gradient_and_optimizer_bytes(model, video[:, :, :16])
            grads, state = static[name]
            totals[name] = saved + grads + state
            ratio = totals[name] / totals["full"]
            ratios[name].append(ratio)
            planned = saved_activation_bytes(config, frames, img, 1, dtype)
            values = (saved / MIB, planned / MIB, grads / MIB, state / MIB, totals[name] / MIB)
            print(f"{frames:>5} {name:<10}" + "".join(f"{v:9.1f}" for v in values) + f"{ratio:9.3f}")
    for name, goal, text in (("adapter", 1 / 3, "1/3"), ("side", 0.1, "1/10")):
        worst = max(ratios[name])
        verdict = "met" if worst <= goal else "MISSED"
        print(f"goal {name} <= {text} of full: worst ratio {worst:.3f} -> {verdict}")
    print("('planned' is the saved activations predicted by the planner; the measured column also holds")
    print(" autocast's half-precision weight copies in bf16)")


def compare_planner() -> None:
    print("\nplanner (fp16, checkpointing, EMA, DDP buckets, ActionFormer detector) vs public logs, GiB")
    for label, arch, frames, img, logged in LOGGED:
        plan = plan_training_memory(videomae_config(arch, mode="adapter"), frames, img, 1, "fp16", length=768)
        planned = plan.peak_bytes / 2**30
        print(f"  {label:<60} planned {planned:6.2f}  logged {logged:5.1f}  ratio {planned / logged:.2f}")
    plan = plan_training_memory(videomae_config("g", mode="adapter", adapter_index=range(20, 40)), 1536, 224)
    print(f"  {'VideoMAEv2-g, 1536 frames, 224 px, adapters 20-39 (run on 80 GB GPUs)':<60} "
          f"planned {plan.peak_bytes / 2**30:6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--img", type=int, default=96, help="input size (multiple of 16)")
    parser.add_argument("--frames", type=int, nargs="+", default=[64, 128, 192, 256])
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    measure(args.img, args.frames, args.dtype)
    compare_planner()


if __name__ == "__main__":
    main()
