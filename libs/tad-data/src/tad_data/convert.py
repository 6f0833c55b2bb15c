"""``tad-data convert``: official annotation files -> internal annotation file + class list.

    tad-data convert --dataset NAME --src PATH... [--videos DIR] [--blocked FILE] [--task T] --out anno.json

writes ``anno.json`` and its class list ``anno.classes.txt`` (EPIC-KITCHENS-100 writes
``anno_verb.json`` / ``anno_noun.json``, each with its class list, or with ``--task`` that one task as
``anno.json``); with ``--videos`` also ``anno.missing.txt``, the ids of annotated videos with no readable
file.
"""

from __future__ import annotations

import argparse

from tad_data.annotations import class_list_path
from tad_data.converters import (
    DATASETS,
    convert_dataset,
    missing_list_path,
    only_task,
    output_path,
    write_conversion,
)
from tad_eval import load_blocked
from tad_eval.datasets import dataset_argument

__all__ = ["add_command", "run_convert"]

_DESCRIPTION = """\
Convert a dataset's official annotation files into the internal annotation file and its class list
(EPIC-KITCHENS-100: a verb and a noun file, each with its class list); with --videos also
<out>.missing.txt, the ids of annotated videos without a readable file. The files of one conversion
are written together: all of them appear, or none does.
"""

_EXAMPLES = """\
examples:
  tad-data convert --dataset thumos14 --src TH14_Temporal_annotations_test/annotations \\
                   --out data/thumos14/anno.json
  tad-data convert --dataset anet --src activity_net.v1-3.min.json --videos data/anet/videos \\
                   --blocked data/anet/blocked.json --out data/anet/anno.json
  tad-data convert --dataset epic --src EPIC_100_annotations --out data/epic/anno.json
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``convert`` on the ``tad-data`` parser."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a dataset's official annotation files to the internal format",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset",
        required=True,
        type=dataset_argument,
        metavar="DATASET",
        help=f"one of: {', '.join(DATASETS)} (aliases such as anet, thumos, epic, ego4d are accepted)",
    )
    parser.add_argument(
        "--src", required=True, nargs="+", metavar="PATH", help="official annotation files or folders"
    )
    parser.add_argument(
        "--videos",
        metavar="DIR",
        help="folder of the videos: fills durations/fps/frame counts, lists missing ones",
    )
    parser.add_argument(
        "--blocked", metavar="FILE", help="video ids to leave out (JSON list or one id per line)"
    )
    parser.add_argument(
        "--task",
        metavar="TASK",
        help="datasets with several tasks (EPIC-KITCHENS-100: verb, noun): write only this one, as --out",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="output annotation file (JSON)")
    parser.set_defaults(run=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """Convert, write, and print one summary line per file written."""
    blocked = load_blocked(args.blocked)
    conversion = convert_dataset(args.dataset, args.src, videos_dir=args.videos, blocked=blocked)
    if args.task is not None:
        conversion = only_task(conversion, args.task, args.dataset)
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
