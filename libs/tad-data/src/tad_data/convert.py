"""``tad-data convert``: official annotation files or your own labels -> annotation file + class list.

    tad-data convert --dataset NAME --src PATH... [--videos DIR] [--blocked FILE] [--task T] --out anno.json
    tad-data convert --dataset csv --src labels.csv --videos DIR [--repair] [--seed N] --out anno.json

writes ``anno.json`` and its class list ``anno.classes.txt`` (EPIC-KITCHENS-100 writes
``anno_verb.json`` / ``anno_noun.json``, each with its class list, or with ``--task`` that one task as
``anno.json``); with ``--videos`` also ``anno.missing.txt``, the ids of annotated videos with no readable
file. ``csv`` is a format of one's own labels (`tad_data.converters.labels_csv`): every problem of the
file is one ``error:`` line, and ``--repair`` repairs the repairable ones (one ``warning:`` line each).
"""

from __future__ import annotations

import argparse
import sys

from tad_data.annotations import class_list_path
from tad_data.converters import (
    DATASETS,
    FORMATS,
    LabelProblems,
    convert_dataset,
    convert_labels,
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

--dataset csv converts your own labels: a CSV with the columns video,start,end,label (seconds, or
HH:MM:SS.ff) and optionally subset (train/val/test; without it a seeded 80/20 split by video). fps and
durations come from the videos (--videos is required). Unknown videos, an end not after the start,
times past the video's end and overlapping rows of one video and label are each reported on one line;
--repair drops, clips or merges them instead.
"""

_EXAMPLES = """\
examples:
  tad-data convert --dataset thumos14 --src TH14_Temporal_annotations_test/annotations \\
                   --out data/thumos14/anno.json
  tad-data convert --dataset anet --src activity_net.v1-3.min.json --videos data/anet/videos \\
                   --blocked data/anet/blocked.json --out data/anet/anno.json
  tad-data convert --dataset csv --src labels.csv --videos my_videos --out data/mine/anno.json
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
        type=_dataset_or_format,
        metavar="DATASET",
        help=f"one of: {', '.join(DATASETS)} (aliases such as anet, thumos, epic, ego4d are accepted), "
        f"or a format of your own labels: {', '.join(FORMATS)}",
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
    parser.add_argument(
        "--repair",
        action="store_true",
        help="csv: drop, clip or merge the repairable rows instead of stopping (official datasets are "
        "always repaired)",
    )
    parser.add_argument(
        "--seed", type=int, help="csv without a subset column: seed of the 80/20 video split (default 0)"
    )
    parser.set_defaults(run=run_convert)


def _dataset_or_format(text: str) -> str:
    """A format of `FORMATS` as it is, else the canonical dataset name (argparse ``type=``)."""
    return text.lower() if text.lower() in FORMATS else dataset_argument(text)


def run_convert(args: argparse.Namespace) -> int:
    """Convert, write, and print one summary line per file written."""
    if args.dataset in FORMATS:
        conversion = _convert_labels(args)
        if conversion is None:
            return 2
    else:
        for option, value in (("--repair", args.repair), ("--seed", args.seed is not None)):
            if value:
                print(f"tad-data: error: {option} applies to --dataset csv only", file=sys.stderr)
                return 2
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


def _convert_labels(args: argparse.Namespace):  # noqa: ANN202 - Conversion | None
    """Convert one's own labels; print every problem (one line each) and return None when there are some."""
    for problem, wrong in (
        (
            f"--dataset {args.dataset} needs --videos DIR (fps and durations are read from the videos)",
            not args.videos,
        ),
        (f"--dataset {args.dataset} takes one --src file, got {len(args.src)}", len(args.src) != 1),
        (f"--blocked does not apply to --dataset {args.dataset} (leave the rows out)", args.blocked),
        (
            f"--task does not apply to --dataset {args.dataset} (its labels are one task: one output)",
            args.task is not None,
        ),
    ):
        if wrong:
            print(f"tad-data: error: {problem}", file=sys.stderr)
            return None
    try:
        return convert_labels(args.dataset, args.src[0], args.videos, args.repair, args.seed or 0)
    except LabelProblems as problems:
        for problem in problems.problems:
            print(f"tad-data: error: {problem}", file=sys.stderr)
        print(f"tad-data: error: {problems.summary}", file=sys.stderr)
        return None
