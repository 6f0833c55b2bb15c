"""The ``tad-eval`` command: detection mAP of a prediction file against a ground-truth file.

    tad-eval --gt GT --pred PRED --dataset DATASET (canonical name or alias, see tad_eval.datasets)
             [--subset NAME] [--tiou 0.3,0.5 | 0.5:0.95:0.05] [--blocked FILE] [--raw-gt]
             [--out RESULT.json] [--plot DIR] [--proposals]

Prints a table (mAP in % per threshold and the average) on stdout and warnings on stderr; writes
RESULT.json atomically. Bad input exits with code 2 and one line naming the file and the field.

``tad-eval diagnose ...`` runs the error analysis instead (:mod:`tad_eval.diagnose_cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tad_eval import __version__
from tad_eval.datasets import DATASETS, dataset_argument
from tad_eval.detection import DetectionResult, check_thresholds, evaluate_detection
from tad_eval.errors import InputError
from tad_eval.files import atomic_write, gc_paused
from tad_eval.ground_truth import GroundTruth, SubsetError, load_ground_truth
from tad_eval.predictions import Predictions, load_predictions
from tad_eval.presets import PRESETS, DatasetPreset, parse_tiou
from tad_eval.recall import ProposalResult, TopKRecallResult, evaluate_proposals, topk_recall

__all__ = ["main"]

_BAD_INPUT = 2
_MAX_EXAMPLES = 3

_EXAMPLES = """\
Ground truth is cleaned (zero-length and duplicate instances dropped) unless --raw-gt.
Equal scores rank in prediction-file order. Error analysis (DETAD): tad-eval diagnose --help.

examples:
  tad-eval --gt libs/tad-eval/examples/thumos14_mini_gt.json \\
           --pred libs/tad-eval/examples/thumos14_mini_pred.json --dataset thumos14 --out result.json
  tad-eval --gt activity_net.v1-3.min.json --pred result_detection.json --dataset anet \\
           --blocked blocked.json --proposals --out result.json
  tad-eval --gt TH14_Temporal_annotations_test/annotations --pred predictions.csv --dataset thumos14 \\
           --subset test --tiou 0.3:0.7:0.1
"""


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """`--gt` and `--pred`, read the same way by every tad-eval command."""
    parser.add_argument(
        "--gt", required=True, help="ground truth: ActivityNet-layout JSON, or THUMOS14 txt folder/file"
    )
    parser.add_argument(
        "--pred", required=True, help='predictions: JSON {"results": ...} or CSV video,start,end,label,score'
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tad-eval",
        description="Temporal action detection mAP, equal to the ActivityNet official evaluator.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tad-eval {__version__}")
    add_input_arguments(parser)
    parser.add_argument(
        "--dataset",
        required=True,
        type=dataset_argument,
        metavar="DATASET",
        help=f"thresholds and default subset: one of {', '.join(DATASETS)} "
        "(aliases such as anet, thumos, epic, ego4d are accepted)",
    )
    parser.add_argument(
        "--subset",
        metavar="NAME",
        help="evaluate this subset (case-insensitive); default: the dataset's evaluation subset "
        "(" + ", ".join(f"{name}: {'/'.join(p.default_subsets)}" for name, p in PRESETS.items()) + "; "
        "the first the file has), "
        "or the only subset of the file",
    )
    parser.add_argument(
        "--tiou",
        metavar="THRESHOLDS",
        help="thresholds instead of the dataset's: a list 0.3,0.5 or a range 0.5:0.95:0.05",
    )
    parser.add_argument(
        "--blocked", metavar="FILE", help="video ids to leave out: a JSON list or one id per line"
    )
    parser.add_argument(
        "--raw-gt", action="store_true", help="keep zero-length and duplicate ground truth (server protocol)"
    )
    parser.add_argument("--out", metavar="RESULT.json", help="write the results as JSON to this file")
    parser.add_argument(
        "--plot", metavar="DIR", help="write mAP-vs-tIoU and per-class AP plots (needs tad-eval[plot])"
    )
    parser.add_argument(
        "--reference",
        type=_reference,
        default={},
        metavar="T=mAP,...",
        help="mAP values in %% to draw beside the result in the --plot curve, e.g. a paper's row: "
        "0.3=83.90,0.5=72.38",
    )
    parser.add_argument(
        "--proposals", action="store_true", help="also report proposal AR@AN (AN 1..100) and its AUC"
    )
    return parser


def _reference(text: str) -> dict[float, float]:
    """``"0.3=83.9,0.5=72.4"`` -> ``{0.3: 83.9, 0.5: 72.4}`` (an argparse type: bad text is a usage error)."""
    try:
        pairs = [item.split("=") for item in text.split(",") if item.strip()]
        return {float(threshold): float(value) for threshold, value in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected THRESHOLD=mAP pairs like 0.5=72.38, got {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command, or ``tad-eval diagnose ...``; returns the exit code (0, or 2 for bad input)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["diagnose"]:
        from tad_eval.diagnose_cli import run_diagnose  # imported only for the subcommand

        return report_input_errors(run_diagnose, arguments[1:])
    return report_input_errors(_run, _parser().parse_args(arguments))


def report_input_errors(run: Callable[[Any], int], arguments: Any) -> int:
    """``run(arguments)``, with bad input printed as one ``tad-eval: error:`` line and exit code 2."""
    try:
        # One short run that makes no cyclic garbage worth collecting: without the pause the collector
        # walks the parsed files again and again (measured: about a tenth of the CPU time on THUMOS14).
        with gc_paused():
            return run(arguments)
    except InputError as error:
        print(f"tad-eval: error: {error}", file=sys.stderr)
    except OSError as error:  # filename2: the target of a failed rename (--out is a folder)
        print(
            f"tad-eval: error: {error.filename2 or error.filename}: file: {error.strerror}", file=sys.stderr
        )
    return _BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    preset = PRESETS[args.dataset]
    try:
        thresholds = check_thresholds(parse_tiou(args.tiou) if args.tiou else preset.tiou_thresholds)
    except ValueError as error:
        raise InputError("--tiou", repr(args.tiou), str(error)) from None
    truth = _load_truth(args, preset)
    predictions = load_predictions(args.pred)
    require_predictions_on_truth(args.pred, predictions, truth)
    result = evaluate_detection(truth, predictions, thresholds)
    recall = topk_recall(truth, predictions, thresholds, preset.top_k) if preset.top_k else None
    proposals = evaluate_proposals(truth, predictions) if args.proposals else None
    for warning in result.warnings:
        print(f"tad-eval: warning: {warning}", file=sys.stderr)
    print(_report(args, truth, result, recall, proposals))
    if args.out:
        with atomic_write(args.out) as handle:
            json.dump(_result_json(result, recall, proposals), handle, indent=2)
            handle.write("\n")
    if args.plot:
        return _plot(result, args.plot, args.reference)
    return 0


def require_predictions_on_truth(source: str, predictions: Predictions, truth: GroundTruth) -> None:
    """An empty prediction file, or one with no prediction on a ground-truth video, is a mistake (a wrong
    file, subset or video-id spelling), not a result of 0 mAP; ``tad-eval`` and ``tad-eval diagnose``
    both refuse it with an :class:`InputError` naming ``source``."""
    if len(predictions) == 0:
        raise InputError(source, "results", "no predictions: nothing to evaluate")
    truth_videos = set(truth.videos)
    predicted = [predictions.videos[code] for code in dict.fromkeys(predictions.video_index.tolist())]
    if not truth_videos.isdisjoint(predicted):
        return
    raise InputError(
        source,
        "results",
        f"no prediction is on a ground-truth video: {len(predictions)} predictions on {len(predicted)} "
        f"videos (e.g. {', '.join(map(repr, predicted[:_MAX_EXAMPLES]))}), none of the {len(truth.videos)} "
        f"videos of {truth.source} subset {truth.subset!r} "
        f"(e.g. {', '.join(map(repr, truth.videos[:_MAX_EXAMPLES]))})",
    )


def _load_truth(args: argparse.Namespace, preset: DatasetPreset) -> GroundTruth:
    """The ground truth of --subset, else of the first of the dataset's evaluation subsets the file has,
    else of the file's only subset."""
    subset = args.subset if args.subset is not None else preset.default_subsets[0]
    try:
        return load_ground_truth(args.gt, subset, blocked=args.blocked, clean=not args.raw_gt)
    except SubsetError as error:
        if args.subset is not None:
            raise
        available = {name.lower(): name for name in error.available}
        fallback = [available[name] for name in preset.default_subsets[1:] if name in available]
        if not fallback and len(error.available) == 1:
            fallback = error.available
        if not fallback:
            raise
        return load_ground_truth(args.gt, fallback[0], blocked=args.blocked, clean=not args.raw_gt)


def _report(
    args: argparse.Namespace,
    truth: GroundTruth,
    result: DetectionResult,
    recall: TopKRecallResult | None,
    proposals: ProposalResult | None,
) -> str:
    protocol = "cleaned" if truth.cleaned else "raw (--raw-gt)"
    lines = [
        f"tad-eval {args.dataset}: {args.gt} subset {truth.subset!r}, ground truth {protocol}: "
        f"{result.num_gt} instances, {len(truth.classes)} classes, {len(truth.videos)} videos; "
        f"{result.num_pred} predictions evaluated",
        "tIoU    mAP (%)" + "".join(f"  R@{k}x (%)" for k in (recall.top_k if recall else ())),
    ]
    for index, (threshold, value) in enumerate(zip(result.tiou_thresholds, result.mAP, strict=True)):
        recalls = "".join(f"  {100 * r:8.2f}" for r in recall.recall[index]) if recall else ""
        lines.append(f"{threshold:<6.2f}  {100 * value:7.2f}{recalls}")
    lines.append(f"{'avg':<6}  {100 * result.average_mAP:7.2f}")
    if proposals:
        lines.append(
            "  ".join(f"{key} {100 * value:.2f}" for key, value in proposals.to_json().items()) + " (%)"
        )
    return "\n".join(lines)


def _result_json(
    result: DetectionResult, recall: TopKRecallResult | None, proposals: ProposalResult | None
) -> dict[str, Any]:
    document = result.to_json()
    if recall:
        document["recall_at_k"] = recall.to_json()
    if proposals:
        document["proposals"] = proposals.to_json()
    return document


def _plot(result: DetectionResult, folder: str, reference: dict[float, float]) -> int:
    try:
        from tad_eval.plot import plot_detection
    except ImportError:
        print("tad-eval: error: --plot: matplotlib is missing; install tad-eval[plot]", file=sys.stderr)
        return _BAD_INPUT
    for path in plot_detection(result, folder, reference):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
