"""``tad-eval diagnose``: DETAD-style error analysis of a prediction file (see :mod:`tad_eval.diagnose`).

    tad-eval diagnose --gt GT --pred PRED --dataset NAME [--subset NAME] [--tiou 0.5]
                      [--blocked FILE] [--raw-gt] [--out REPORT.json] [--plot DIR]

Prints the false-positive profile, the removal gains, and the false negatives and sensitivity per
bucket on stdout, warnings on stderr; writes REPORT.json atomically. The readers and their checks are
the ``tad-eval`` command's, so bad input gives the same one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tad_eval.cli import _BAD_INPUT, _load_truth, add_input_arguments, require_predictions_on_truth
from tad_eval.datasets import dataset_argument
from tad_eval.detection import check_thresholds
from tad_eval.diagnose import (
    CHARACTERISTICS,
    ERROR_TYPES,
    CharacteristicResult,
    Diagnosis,
    diagnose_detection,
)
from tad_eval.errors import InputError
from tad_eval.files import atomic_write
from tad_eval.predictions import load_predictions
from tad_eval.presets import PRESETS, parse_tiou

__all__ = ["format_diagnosis", "run_diagnose"]

_EXAMPLES = """examples:
  # THUMOS14 (DETAD's setting: tIoU 0.5), with plots
  tad-eval diagnose --gt thumos14_gt.json --pred detections.json --dataset thumos14 --plot diagnosis/
  # ActivityNet-1.3 validation, DETAD's setting: the profile and gains averaged over 0.5:0.95:0.05
  tad-eval diagnose --gt activity_net_v1-3_gt.json --pred detections.json --dataset anet \\
      --tiou 0.5:0.95:0.05 --out report.json
  # the bundled example
  tad-eval diagnose --gt libs/tad-eval/examples/thumos14_mini_gt.json \\
      --pred libs/tad-eval/examples/thumos14_mini_pred.json --dataset thumos14
"""

_TYPE_HEADINGS = ("TP", "double", "wrong", "local.", "confus.", "backgr.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tad-eval diagnose",
        description="Where a detector fails (DETAD, Alwassel et al., ECCV 2018):\n"
        "- false-positive types in the top 10G predictions of each class (G: its ground truth), and the\n"
        "  average-mAP_N gained by removing each type;\n"
        "- the ground truth missed, and the normalised mAP, per bucket of coverage, length and\n"
        "  instances per video;\n"
        "- precision-recall curves per tIoU.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--dataset",
        required=True,
        type=dataset_argument,
        metavar="NAME",
        help=f"default subset and the buckets' scale: {', '.join(PRESETS)} (or an alias)",
    )
    parser.add_argument("--subset", help="analyse this subset (default: the dataset's evaluation subset)")
    parser.add_argument(
        "--tiou",
        default="0.5",
        help="tIoU threshold α (default 0.5); a list or range (0.5:0.95:0.05) averages the analyses",
    )
    parser.add_argument("--blocked", help="video ids to leave out: a JSON list or one id per line")
    parser.add_argument(
        "--raw-gt", action="store_true", help="keep zero-length and duplicate ground truth (server protocol)"
    )
    parser.add_argument("--out", metavar="REPORT.json", help="write every number of the analysis as JSON")
    parser.add_argument(
        "--plot", metavar="DIR", help="write the four analysis plots as PNG (needs tad-eval[plot])"
    )
    return parser


def run_diagnose(argv: Sequence[str]) -> int:
    """Run ``tad-eval diagnose`` with ``argv`` (the arguments after ``diagnose``); returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        thresholds = check_thresholds(parse_tiou(args.tiou))
    except ValueError as error:
        raise InputError("--tiou", repr(args.tiou), str(error)) from None
    truth = _load_truth(args, PRESETS[args.dataset])
    predictions = load_predictions(args.pred)
    require_predictions_on_truth(args.pred, predictions, truth)
    diagnosis = diagnose_detection(truth, predictions, args.dataset, thresholds)
    for warning in diagnosis.warnings:
        print(f"tad-eval: warning: {warning}", file=sys.stderr)
    print(format_diagnosis(diagnosis))
    if args.out:
        with atomic_write(args.out) as handle:
            json.dump(diagnosis.to_json(), handle, indent=1)
            handle.write("\n")
    if args.plot:
        try:
            from tad_eval.diagnose_plot import plot_diagnosis
        except ImportError:
            print("tad-eval: error: --plot: matplotlib is missing; install tad-eval[plot]", file=sys.stderr)
            return _BAD_INPUT
        for path in plot_diagnosis(diagnosis, Path(args.plot)):
            print(f"wrote {path}")
    return 0


def format_diagnosis(diagnosis: Diagnosis) -> str:
    """The stdout report: settings, false-positive profile, removal gains, per-bucket tables."""
    thresholds = ", ".join(f"{t:g}" for t in diagnosis.tiou_thresholds)
    protocol = "cleaned" if diagnosis.ground_truth_cleaned else "raw (--raw-gt)"
    average, normalized = 100 * diagnosis.average_mAP, 100 * diagnosis.average_mAP_normalized
    lines = [
        f"tad-eval diagnose {diagnosis.dataset}: {diagnosis.ground_truth_source} "
        f"subset {diagnosis.subset!r}, ground truth {protocol}: {diagnosis.num_gt} instances, "
        f"{len(diagnosis.classes)} classes; {diagnosis.prediction_source}: {diagnosis.num_pred} "
        f"predictions analysed; tIoU {thresholds}",
        f"average mAP {average:.2f}%, average mAP_N {normalized:.2f}% "
        f"(N = {diagnosis.normaliser:.2f} ground-truth instances per class)",
        "",
        "False-positive profile: part nG = ranks (n-1)G+1..nG of each class (G: its ground truth), "
        "% of the part's predictions",
        "part  predictions" + "".join(f"{heading:>9}" for heading in _TYPE_HEADINGS),
    ]
    for entry in diagnosis.false_positive_profile():
        shares = "".join(
            f"{entry['percent'][kind]:9.2f}" if entry["predictions"] else f"{'-':>9}" for kind in ERROR_TYPES
        )
        lines.append(f"{entry['n']:>2}G   {entry['predictions']:>11}{shares}")
    gains = "  ".join(
        f"{heading} {100 * gain:+.2f}"
        for heading, gain in zip(_TYPE_HEADINGS[1:], diagnosis.removal_gain, strict=True)
    )
    lines += [
        f"Average-mAP_N gain (points) if each type were removed from the top 10G: {gains}",
        "",
        "False negatives (% of the bucket's ground truth missed) and sensitivity (average-mAP_N %)",
    ]
    for result in diagnosis.characteristics:
        lines.append(f"{result.name}: {CHARACTERISTICS[result.name].title}")
        lines.append(f"  {'bucket':<7}{'range':<12}{'instances':>10}{'missed (%)':>12}{'mAP_N (%)':>11}")
        for index, label in enumerate(result.buckets.labels):
            missed, sensitivity = result.missed_fraction[index], result.average_mAP_normalized[index]
            lines.append(
                f"  {label:<7}{_describe(result, index):<12}{result.count[index]:>10}"
                f"{_percent(missed):>12}{_percent(sensitivity):>11}"
            )
    return "\n".join(lines)


def _describe(result: CharacteristicResult, index: int) -> str:
    characteristic = CHARACTERISTICS[result.name]
    return result.buckets.describe(index, characteristic.unit, characteristic.integer)


def _percent(value: float) -> str:
    return "-" if value != value else f"{100 * value:.2f}"  # NaN: an empty bucket
