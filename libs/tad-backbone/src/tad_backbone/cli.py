"""``tad-backbone``: convert official checkpoints, count parameters, extract features, plan memory.

Commands::

    tad-backbone convert --from {videomae,mmaction,videomaev2,opentad} --arch {s,b,l,h,g} IN OUT
    tad-backbone info --arch ARCH [--adapter-index 20:40] [--json]
    tad-backbone extract --weights W (--video V.mp4 | --frames F.npy) [--mode frozen|adapter|side]
                         [--img 160] [--length N] [--batch-chunks K] --out feats.npy
    tad-backbone plan --arch g --frames 1536 --img 224 --adapter-index 20:40 --batch 1 [--dtype fp16] [--json]

Bad input exits with code 2 and a one-line message naming the file and field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import torch

from tad_backbone.extract import ArrayFrames, FrameSource, extract_features
from tad_backbone.memory import TrainerProfile, plan_training_memory
from tad_backbone.videomae import ARCHITECTURES, Source, VideoMAE, count_parameters, videomae_config
from tad_backbone.weights import convert_checkpoint, load_backbone
from tad_eval.files import atomic_write

__all__ = ["main", "parse_adapter_index"]

_AMP = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def parse_adapter_index(text: str) -> tuple[int, ...]:
    """``"20:40"`` -> blocks 20..39; ``"3,5,7,11"`` -> those blocks; ``"all"`` is rejected (omit the flag)."""
    try:
        if ":" in text:
            start, stop = text.split(":")
            return tuple(range(int(start or 0), int(stop)))
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP or a comma list of block numbers, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all four commands."""
    parser = argparse.ArgumentParser(prog="tad-backbone", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert an official checkpoint to safetensors + JSON")
    convert.add_argument(
        "--from", dest="source", choices=get_args(Source), required=True, help="checkpoint layout"
    )
    convert.add_argument("--arch", choices=tuple(ARCHITECTURES), required=True, help="architecture")
    convert.add_argument("--adapter-index", type=parse_adapter_index, help="blocks of the adapters/ladders")
    convert.add_argument("--img-size", type=int, help="input size the weights were trained at (recorded)")
    convert.add_argument("input", type=Path, metavar="IN")
    convert.add_argument("output", type=Path, metavar="OUT")

    info = commands.add_parser("info", help="ViT and adapter parameter counts")
    info.add_argument("--arch", choices=tuple(ARCHITECTURES), required=True)
    info.add_argument("--adapter-index", type=parse_adapter_index, help="blocks with adapters (default: all)")
    info.add_argument("--mode", choices=("adapter", "side"), default="adapter")
    info.add_argument("--adapter-ratio", type=float, default=0.25, help="bottleneck width / C")
    info.add_argument("--json", action="store_true", help='print {"vit_params": N, "adapter_params": N}')

    extract = commands.add_parser("extract", help="pooled features of one video, [C, N] float32 .npy")
    extract.add_argument("--weights", type=Path, required=True, help="converted .safetensors")
    source = extract.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="video file (decoded with decord)")
    source.add_argument("--frames", type=Path, help="uint8 .npy, [3, T, H, W] or [T, H, W, 3]")
    extract.add_argument("--mode", choices=("frozen", "adapter", "side"), help="default: the weights' own")
    extract.add_argument(
        "--img", type=int, default=160, help="short-side resize and center crop (default 160)"
    )
    extract.add_argument("--length", type=int, help="interpolate to N steps (default ceil(T / 2))")
    extract.add_argument(
        "--batch-chunks", type=int, default=4, help="16-frame chunks per forward (memory bound)"
    )
    extract.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    extract.add_argument("--amp", choices=sorted(_AMP), default="fp32", help="autocast dtype")
    extract.add_argument("--out", type=Path, required=True, help="output .npy")

    plan = commands.add_parser("plan", help="estimate the peak training memory per GPU")
    plan.add_argument("--arch", choices=tuple(ARCHITECTURES), required=True)
    plan.add_argument("--frames", type=int, required=True, help="frames per video")
    plan.add_argument("--img", type=int, required=True, help="input size in pixels")
    plan.add_argument("--batch", type=int, default=1, help="videos per GPU")
    plan.add_argument("--adapter-index", type=parse_adapter_index, help="blocks with adapters (default: all)")
    plan.add_argument("--adapter-ratio", type=float, default=0.25)
    plan.add_argument("--mode", choices=("frozen", "full", "adapter", "side"), default="adapter")
    plan.add_argument("--no-checkpointing", action="store_true", help="disable activation checkpointing")
    plan.add_argument("--dtype", choices=("fp16", "bf16", "fp32"), default="fp16", help="autocast dtype")
    plan.add_argument("--length", type=int, help="detector sequence length (default frames / 2)")
    plan.add_argument("--no-ema", action="store_true", help="the trainer keeps no EMA copy on the GPU")
    plan.add_argument("--ddp-buckets", choices=("none", "trainable", "all"), default="all")
    plan.add_argument("--no-detector", action="store_true", help="backbone only")
    plan.add_argument("--json", action="store_true", help='print {"peak_bytes": N, ...}')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input prints one line on stderr and returns 2."""
    args = build_parser().parse_args(argv)
    handler = {"convert": _convert, "info": _info, "extract": _extract, "plan": _plan}[args.command]
    try:
        return handler(args)
    except (ValueError, OSError) as error:
        print(f"tad-backbone {args.command}: error: {error}".replace("\n", " "), file=sys.stderr)
        return 2


def _convert(args: argparse.Namespace) -> int:
    meta = convert_checkpoint(
        args.input, args.output, args.source, args.arch, args.adapter_index, args.img_size
    )
    adapters = f", {meta['adapter_params']:,} adapter parameters" if meta["adapter_params"] else ""
    print(
        f"{args.output}: {meta['arch']} {meta['mode']} from {meta['source']}, "
        f"{meta['vit_params']:,} ViT parameters{adapters}"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    config = videomae_config(
        args.arch, mode=args.mode, adapter_index=args.adapter_index, adapter_ratio=args.adapter_ratio
    )
    with torch.device("meta"):
        vit, adapters = count_parameters(VideoMAE(config))
    if args.json:
        print(json.dumps({"vit_params": vit, "adapter_params": adapters}))
        return 0
    count, kind = len(config.adapter_blocks), "in-block" if args.mode == "adapter" else "ladder"
    print(f"architecture {args.arch}: C={config.embed_dim}, depth {config.depth}, patch {config.patch_size}")
    print(f"ViT parameters:     {vit:>13,} ({vit / 1e6:.2f} M)")
    print(
        f"adapter parameters: {adapters:>13,} ({adapters / 1e6:.2f} M: {count} {kind} adapters of width "
        f"{config.adapter_dim}, {100 * adapters / vit:.1f}% of the ViT)"
    )
    return 0


def _extract(args: argparse.Namespace) -> int:
    model = load_backbone(args.weights, mode=args.mode).to(args.device)
    frames = _open_frames(args, model.config.patch_size)
    features = extract_features(model, frames, args.batch_chunks, args.length, _AMP[args.amp])
    with atomic_write(args.out, "wb") as handle:
        np.save(handle, features.numpy().astype(np.float32))
    print(
        f"{args.out}: features {tuple(features.shape)} from {frames.num_frames} frames ({model.config.mode})"
    )
    return 0


def _open_frames(args: argparse.Namespace, patch_size: int) -> FrameSource:
    """The frame source of ``--video`` (resized to ``--img``) or ``--frames`` (as is when patch-aligned)."""
    if args.img < patch_size:
        raise ValueError(f"--img {args.img} is smaller than the model's {patch_size} px patch")
    if args.video is not None:
        return _VideoFrames(args.video, _resize_to(args.img))
    try:
        array = np.load(args.frames, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{args.frames}: file: not a readable .npy array ({error})") from None
    if array.dtype != np.uint8 or array.ndim != 4:
        raise ValueError(
            f"{args.frames}: array: expected uint8 [3, T, H, W] or [T, H, W, 3], "
            f"got {array.dtype} {array.shape}"
        )
    if array.shape[0] == 3 and array.shape[-1] != 3:
        layout, height, width = "cthw", array.shape[2], array.shape[3]
    elif array.shape[-1] == 3 and array.shape[0] != 3:
        layout, height, width = "thwc", array.shape[1], array.shape[2]
    else:
        raise ValueError(
            f"{args.frames}: array: shape {array.shape} is ambiguous between [3, T, H, W] and [T, H, W, 3]"
        )
    aligned = height % patch_size == 0 and width % patch_size == 0
    return ArrayFrames(array, layout, None if aligned else _resize_to(args.img))


def _resize_to(size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    from tad_data import center_crop, resize_short_side

    return lambda clip: center_crop(resize_short_side(clip, size), size)


class _VideoFrames:
    """Frames decoded batch by batch from one open decord reader (memory bounded by the batch)."""

    def __init__(self, path: Path, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        from tad_data import open_video

        self.path = path
        self.reader = open_video(path)
        self.num_frames = len(self.reader)
        self.transform = transform

    def read(self, start: int, stop: int) -> torch.Tensor:
        from tad_data import read_frames

        frames = torch.from_numpy(read_frames(self.reader, np.arange(start, stop), self.path))
        return self.transform(frames.permute(3, 0, 1, 2))


def _plan(args: argparse.Namespace) -> int:
    config = videomae_config(
        args.arch,
        mode=args.mode,
        adapter_index=args.adapter_index,
        adapter_ratio=args.adapter_ratio,
        grad_checkpointing=not args.no_checkpointing,
    )
    trainer = TrainerProfile(ema=not args.no_ema, ddp_buckets=args.ddp_buckets, detector=not args.no_detector)
    plan = plan_training_memory(config, args.frames, args.img, args.batch, args.dtype, trainer, args.length)
    if args.json:
        print(json.dumps(plan.as_dict()))
        return 0
    gib = 2**30
    print(
        f"{args.arch} {args.mode}, {args.frames} frames at {args.img} px, batch {args.batch}, {args.dtype}: "
        f"peak {plan.peak_bytes / gib:.2f} GiB ({plan.peak_phase})"
    )
    for name, value in plan.breakdown.items():
        print(f"  {name:<22}{value / gib:8.2f} GiB")
    print(
        f"budget {(plan.peak_bytes + plan.reserve_bytes) / gib:.2f} GiB "
        "with allocator fragmentation and the CUDA context"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
