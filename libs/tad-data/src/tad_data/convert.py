"""``tad-data convert``: official annotation files -> internal annotation file + class list.

    tad-data convert --dataset NAME --src PATH... [--videos DIR] [--blocked FILE] --out anno.json

writes ``anno.json`` and its class list ``anno.classes.txt`` (EPIC-KITCHENS-100 writes
``anno_verb.json`` / ``anno_noun.json``, each with its class list); with ``--videos`` also
``anno.missing.txt``, the ids of annotated videos with no readable file.
"""

from __future__ import annotations

import argparse

from tad_data.annotations import class_list_path
from tad_data.converters import DATASETS, convert_dataset, missing_list_path, output_path, write_conversion
from tad_eval import load_blocked

__all__ = ["add_command", "run_convert"]


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``convert`` on the ``tad-data`` parser."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a dataset's official annotation files to the internal format",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--dataset", required=True, help=f"one of: {', '.join(DATASETS)}")
    parser.add_argument("--src", required=True, nargs="+", help="official annotation files or folders")
    parser.add_argument(
        "--videos", help="folder of the videos: fills durations/fps/frame counts, lists missing ones"
    )
    parser.add_argument("--blocked", help="video ids to leave out (JSON list or one id per line)")
    parser.add_argument("--out", required=True, help="output annotation file (JSON)")
    parser.set_defaults(run=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """Convert, write, and print one summary line per file written."""
    blocked = load_blocked(args.blocked)
    conversion = convert_dataset(args.dataset, args.src, videos_dir=args.videos, blocked=blocked)
    write_conversion(conversion, args.out)
    for key, written in conversion.outputs.items():
        annotation_path = output_path(args.out, key)
        per_subset = ", ".join(f"{subset} {len(written.subset(subset))}" for subset in written.subsets)
        print(
            f"wrote {annotation_path}: {len(written.videos)} videos ({per_subset}), {written.num_instances} "
            f"instances, {len(written.classes)} classes in {class_list_path(annotation_path)}"
        )
    if conversion.missing_videos is not None:
        print(f"wrote {missing_list_path(args.out)}: {len(conversion.missing_videos)} missing videos")
    return 0
