"""``tad-backbone``: convert official checkpoints, count parameters, extract features, plan memory.

Commands::

    tad-backbone convert --from {videomae,mmaction,videomaev2,opentad} --arch {s,b,l,h,g} IN OUT
    tad-backbone info --arch ARCH [--adapter-index 20:40] [--mode adapter|side] [--adapter-ratio R] [--json]
    tad-backbone extract --weights W --frames F.npy [--mode frozen|adapter|side] [--length N]
                         [--batch-chunks K] [--device cpu|cuda|cuda:N|mps] [--amp fp16|bf16] --out feats.npy
    tad-backbone plan --arch g --frames 1536 --img 224 --adapter-index 20:40 --batch 1 [--dtype fp16] [--json]

``--help``, ``--version``, ``info`` and ``plan`` import neither torch nor timm (counting parameters and
planning memory is arithmetic on configurations); ``convert`` and ``extract`` import them when they run.
Every flag is checked when the command line is parsed; bad input exits with code 2 and one line naming
the flag and its value, or the file and the field.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, get_args

from tad_backbone import __version__
from tad_backbone.config import ARCHITECTURES, Source, VideoMAEConfig, videomae_config
from tad_backbone.memory import TrainerProfile, plan_training_memory
from tad_eval.errors import InputError

if TYPE_CHECKING:
    from tad_backbone.extract import ArrayFrames, FrameSource
    from tad_backbone.videomae import VideoMAE

__all__ = [
    "add_extract_options",
    "build_parser",
    "device_name",
    "main",
    "parse_adapter_index",
    "positive_int",
    "run_extract",
    "unit_ratio",
]

_EXAMPLES = """\
examples:
  tad-backbone convert --from opentad --arch s adatad_thumos_s.pth adatad_s.safetensors
  tad-backbone info --arch g --adapter-index 20:40
  tad-backbone plan --arch g --frames 1536 --img 224 --adapter-index 20:40 --batch 1
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line naming the flag and its value, with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An integer of at least 1 (frames, pixels, videos, steps, chunks)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def unit_ratio(text: str) -> float:
    """A number in (0, 1], e.g. the adapter bottleneck width as a fraction of the token width."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:  # also false for NaN
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def parse_adapter_index(text: str) -> tuple[int, ...]:
    """``"20:40"`` -> blocks 20..39; ``"3,5,7,11"`` -> those blocks (increasing, from 0); no flag: all."""
    try:
        if ":" in text:
            start, stop = text.split(":")
            blocks = tuple(range(int(start or 0), int(stop)))
        else:
            blocks = tuple(int(part) for part in text.split(","))
    except ValueError:
        blocks = ()
    if not blocks or blocks[0] < 0 or list(blocks) != sorted(set(blocks)):
        raise argparse.ArgumentTypeError(
            f"expected START:STOP or an increasing comma list of block numbers from 0, got {text!r}"
        )
    return blocks


def device_name(text: str) -> str:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, available on this machine (imports torch to ask)."""
    match = re.fullmatch(r"(cpu|cuda|mps)(?::(\d+))?", text)
    if match is None or (match.group(2) is not None and match.group(1) != "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or mps, got {text!r}")
    import torch

    kind, index = match.group(1), int(match.group(2) or 0)
    if kind == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: CUDA is not available on this machine; use --device cpu")
    if kind == "cuda" and index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"{text!r}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: MPS is not available on this machine; use --device cpu")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all four commands."""
    parser = _Parser(
        prog="tad-backbone",
        description="VideoMAE / VideoMAEv2 backbones with AdaTAD adapters: convert official checkpoints,\n"
        "count parameters, extract features, plan training memory.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    _add_convert(commands)
    _add_info(commands)
    _add_extract(commands)
    _add_plan(commands)
    return parser


def _add_convert(commands: argparse._SubParsersAction) -> None:
    convert = commands.add_parser(
        "convert",
        help="convert an official checkpoint to safetensors",
        description="Convert an official VideoMAE, mmaction2, VideoMAEv2 or OpenTAD checkpoint to this "
        "library's safetensors format (the description of the weights in its header, a JSON copy beside "
        "it), after checking every key and shape against the architecture. Checkpoints are loaded without "
        "running code from them.",
    )
    convert.add_argument(
        "--from", dest="source", choices=get_args(Source), required=True, help="layout of the checkpoint"
    )
    _add_arch(convert)
    convert.add_argument(
        "--adapter-index",
        type=parse_adapter_index,
        help="blocks the adapters or ladders belong to, e.g. 20:40 or 6,8,10 "
        "(default: what the keys say; ladders: the last blocks)",
    )
    convert.add_argument(
        "--img-size", type=positive_int, help="input size in pixels the weights were trained at (recorded)"
    )
    convert.add_argument(
        "input", type=Path, metavar="IN", help="the official checkpoint (.pth, or safetensors)"
    )
    convert.add_argument("output", type=Path, metavar="OUT", help="the .safetensors file to write (not IN)")


def _add_info(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser(
        "info",
        help="ViT and adapter parameter counts",
        description="Print the parameter counts of an architecture: the ViT and the adapters (or ladders).",
    )
    _add_arch(info)
    info.add_argument(
        "--adapter-index", type=parse_adapter_index, help="blocks with adapters, e.g. 20:40 (default: all)"
    )
    info.add_argument(
        "--mode",
        choices=("adapter", "side"),
        default="adapter",
        help="in-block adapters (AdaTAD) or ladders beside the ViT (AdaTAD side variant); default adapter",
    )
    info.add_argument(
        "--adapter-ratio",
        type=unit_ratio,
        default=0.25,
        help="adapter bottleneck width as a fraction of the token width, in (0, 1] (default 0.25)",
    )
    info.add_argument("--json", action="store_true", help='print {"vit_params": N, "adapter_params": N}')


def _add_extract(commands: argparse._SubParsersAction) -> None:
    extract = commands.add_parser(
        "extract",
        help="pooled features of one video's frames, [C, N] float32 .npy",
        description="Run converted weights over the frames of one video in bounded memory and write the "
        "pooled features; the result equals one whole-video forward pass. Videos are decoded, resized and "
        "cropped by `tad-train extract VIDEO`.",
    )
    extract.add_argument(
        "--frames",
        type=Path,
        required=True,
        help="uint8 .npy, [3, T, H, W] or [T, H, W, 3], H and W multiples of the patch size",
    )
    add_extract_options(extract)


def add_extract_options(extract: argparse.ArgumentParser) -> None:
    """The options of an extract command other than its frames: the weights, how they run, the output
    (``tad-backbone extract`` reads an array, ``tad-train extract`` a video file; :func:`run_extract`)."""
    extract.add_argument("--weights", type=Path, required=True, help="converted .safetensors weights")
    extract.add_argument(
        "--mode", choices=("frozen", "adapter", "side"), help="default: the weights' own mode"
    )
    extract.add_argument(
        "--length", type=positive_int, help="interpolate to N steps (default: ceil(T / 2), one per tubelet)"
    )
    extract.add_argument(
        "--batch-chunks",
        type=positive_int,
        default=4,
        help="16-frame chunks per forward pass; bounds the memory (default 4)",
    )
    extract.add_argument(
        "--device", type=device_name, help="cpu, cuda, cuda:N or mps (default: cuda when available, else cpu)"
    )
    extract.add_argument(
        "--amp", choices=("fp32", "fp16", "bf16"), default="fp32", help="autocast dtype (default fp32)"
    )
    extract.add_argument("--out", type=Path, required=True, help="the .npy file to write")


def _add_plan(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser(
        "plan",
        help="estimate the peak training memory per GPU",
        description="Estimate the peak GPU memory of one training step (comparable with "
        "torch.cuda.max_memory_allocated) and its breakdown, following OpenTAD's AdaTAD recipe.",
    )
    _add_arch(plan)
    plan.add_argument("--frames", type=positive_int, required=True, help="frames per video")
    plan.add_argument("--img", type=positive_int, required=True, help="input size in pixels (square)")
    plan.add_argument("--batch", type=positive_int, default=1, help="videos per GPU (default 1)")
    plan.add_argument(
        "--adapter-index", type=parse_adapter_index, help="blocks with adapters, e.g. 20:40 (default: all)"
    )
    plan.add_argument(
        "--adapter-ratio",
        type=unit_ratio,
        default=0.25,
        help="adapter bottleneck width as a fraction of the token width, in (0, 1] (default 0.25)",
    )
    plan.add_argument(
        "--mode",
        choices=("frozen", "full", "adapter", "side"),
        default="adapter",
        help="what trains: nothing, everything, in-block adapters or ladders (default adapter)",
    )
    plan.add_argument("--no-checkpointing", action="store_true", help="disable activation checkpointing")
    plan.add_argument(
        "--dtype", choices=("fp16", "bf16", "fp32"), default="fp16", help="autocast dtype (default fp16)"
    )
    plan.add_argument("--length", type=positive_int, help="detector sequence length (default: frames / 2)")
    plan.add_argument("--no-ema", action="store_true", help="the trainer keeps no EMA copy on the GPU")
    plan.add_argument(
        "--ddp-buckets",
        choices=("none", "trainable", "all"),
        default="all",
        help="parameters covered by DDP's gradient buckets (default all, as OpenTAD)",
    )
    plan.add_argument("--no-detector", action="store_true", help="backbone only, no ActionFormer detector")
    plan.add_argument("--json", action="store_true", help='print {"peak_bytes": N, ...}')


def _add_arch(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--arch",
        choices=tuple(ARCHITECTURES),
        required=True,
        help="VideoMAE S, B, L, H (patch 16) or VideoMAEv2 g (patch 14)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input prints one line on stderr and returns 2."""
    args = build_parser().parse_args(argv)
    handler = {"convert": _convert, "info": _info, "extract": _extract, "plan": _plan}[args.command]
    try:
        _check_against_arch(args)
        return handler(args)
    except (ValueError, OSError) as error:
        print(f"tad-backbone {args.command}: error: {error}".replace("\n", " "), file=sys.stderr)
        return 2


def _check_against_arch(args: argparse.Namespace) -> None:
    """Flags whose valid values depend on ``--arch``: block numbers, the adapter width, the image size."""
    if getattr(args, "arch", None) is None:
        return
    config = ARCHITECTURES[args.arch]
    index = args.adapter_index
    if index is not None and index[-1] >= config.depth:
        raise ValueError(
            f"argument --adapter-index: block {index[-1]} is not in architecture {args.arch} "
            f"(blocks 0 to {config.depth - 1})"
        )
    ratio = getattr(args, "adapter_ratio", None)
    if ratio is not None and int(config.embed_dim * ratio) < 1:
        raise ValueError(
            f"argument --adapter-ratio: {ratio} leaves no bottleneck channel in architecture {args.arch} "
            f"(int({config.embed_dim} * {ratio}) = 0)"
        )
    img = getattr(args, "img", None)
    if img is not None and img < config.patch_size:
        raise ValueError(
            f"argument --img: {img} px is smaller than the {config.patch_size} px patch of architecture "
            f"{args.arch}"
        )


def _convert(args: argparse.Namespace) -> int:
    from tad_backbone.weights import convert_checkpoint

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
    vit, adapters = config.parameter_counts()
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
    return run_extract(args, lambda model: _open_frames(args.frames, model.config))


def run_extract(args: argparse.Namespace, open_frames: Callable[[VideoMAE], FrameSource]) -> int:
    """Load ``--weights`` on ``--device``, stream the frames ``open_frames(model)`` gives through them and
    write the features to ``--out`` (the options of :func:`add_extract_options`)."""
    import torch

    from tad_backbone.extract import extract_to_file
    from tad_backbone.weights import load_backbone

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    amp = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.amp]
    model = load_backbone(args.weights, mode=args.mode).to(device)
    frames = open_frames(model)
    features = extract_to_file(model, frames, args.out, args.batch_chunks, args.length, amp)
    print(
        f"{args.out}: features {tuple(features.shape)} from {frames.num_frames} frames ({model.config.mode})"
    )
    return 0


def _open_frames(path: Path, config: VideoMAEConfig) -> ArrayFrames:
    """The memory-mapped frames of ``--frames``, used as they are: H and W must be multiples of the patch."""
    import numpy as np

    from tad_backbone.extract import ArrayFrames

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InputError(path, "file", f"not a readable .npy array ({error})") from None
    if array.dtype != np.uint8 or array.ndim != 4:
        raise InputError(
            path, "array", f"expected uint8 [3, T, H, W] or [T, H, W, 3], got {array.dtype} {array.shape}"
        )
    if array.shape[0] == 3 and array.shape[-1] != 3:
        layout, height, width = "cthw", array.shape[2], array.shape[3]
    elif array.shape[-1] == 3 and array.shape[0] != 3:
        layout, height, width = "thwc", array.shape[1], array.shape[2]
    else:
        raise InputError(
            path, "array", f"shape {array.shape} is ambiguous between [3, T, H, W] and [T, H, W, 3]"
        )
    patch = config.patch_size
    if height % patch or width % patch:
        raise InputError(
            path,
            "array",
            f"frames of {height}x{width} px are not multiples of the {patch} px patch; resize and crop "
            "them first (tad-train extract VIDEO does it while decoding)",
        )
    return ArrayFrames(array, layout)


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
