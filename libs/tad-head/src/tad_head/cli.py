"""The ``tad-head`` command line: ``tad-head fuse`` (video-classifier fusion of class-agnostic detections).

Bad input exits with code 2 and one line on stderr naming the file and the field.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tad_eval import InputError, load_predictions, write_predictions
from tad_head import __version__
from tad_head.fusion import fuse_classifier, list_ids, load_classifier

__all__ = ["main"]

_FUSE_EXAMPLES = """\
examples:
  tad-head fuse --pred anet_agnostic.json --classifier cuhk_val_simp_share.json --mode product \\
                --out anet_fused.json
  tad-head fuse --pred anet_agnostic.json --classifier internvideo2_anet_val.json --mode sqrt --topk 2 \\
                --softmax --allow-missing --out anet_fused.json
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tad-head",
        description="Detection-head tools: video-classifier fusion of class-agnostic detections.",
        epilog=_FUSE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tad-head {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fuse = commands.add_parser(
        "fuse",
        help="label class-agnostic detections with each video's top-k classifier classes",
        description="Copy every segment once per top-k class of its video, scored det*cls (product, CUHK)\n"
        "or sqrt(det*cls) (sqrt, InternVideo/InternVideo2). Input labels are ignored.\n",
        epilog=_FUSE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fuse.add_argument(
        "--pred",
        required=True,
        metavar="FILE",
        help="class-agnostic detections (tad-eval predictions JSON/CSV)",
    )
    fuse.add_argument(
        "--classifier",
        required=True,
        metavar="FILE",
        help='classifier scores: {"results": {video: [scores]}, "class"|"classes": [...]}',
    )
    fuse.add_argument("--topk", type=int, default=2, metavar="K", help="classes per video (default 2)")
    fuse.add_argument("--mode", required=True, choices=["product", "sqrt"], help="score fusion")
    fuse.add_argument("--softmax", action="store_true", help="softmax the classifier scores first")
    fuse.add_argument(
        "--allow-missing",
        action="store_true",
        help="drop videos the classifier lacks (with a warning naming how many) instead of failing",
    )
    fuse.add_argument("--out", required=True, metavar="FILE", help="fused predictions JSON (tad-eval format)")
    return parser


def _fuse(args: argparse.Namespace) -> None:
    predictions = load_predictions(args.pred)
    classifier = load_classifier(args.classifier)
    fused, dropped = fuse_classifier(
        predictions, classifier, args.topk, args.mode, softmax=args.softmax, allow_missing=args.allow_missing
    )
    if dropped:
        print(
            f"tad-head fuse: warning: dropped {len(dropped)} video(s) missing from {args.classifier}: "
            f"{list_ids(dropped, limit=10)}",
            file=sys.stderr,
        )
    try:
        write_predictions(args.out, fused)
    except OSError as error:  # e.g. a read-only or non-directory destination
        raise InputError(args.out, "file", f"cannot be written ({error.strerror or error})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        _fuse(args)
    except InputError as error:
        print(f"tad-head {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
