"""How fast is ``tad-eval diagnose`` next to the mAP evaluation of the same files?

ActivityNet-1.3 validation x 100 predictions per video (and THUMOS14 test x 200), generated over the
real ground truth (``../shared/data`` or ``$TAD_SHARED_DATA``; synthetic ground truth of the same size
when the files are missing) with the seeded generator of ``benchmarks/eval_speed.py``. For each set it

1. times, in this process, :func:`tad_eval.evaluate_detection` (the dataset's thresholds) and
   :func:`tad_eval.diagnose_detection` at tIoU 0.5 (the command's default) and at the dataset's
   thresholds, on the same loaded data, and prints each diagnosis time as a ratio of the evaluation's;
2. times both whole commands (a subprocess each: start-up, reading both files, analysis, writing the
   JSON; no plots), ``tad-eval`` and ``tad-eval diagnose``, and prints their ratio.

Usage: ``python benchmarks/diagnose_speed.py [--only anet|thumos14]``. No test runs this.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from eval_speed import SETS, BenchmarkSet, generate_predictions, synthetic_ground_truth, time_command
from tad_eval import PRESETS, diagnose_detection, evaluate_detection, load_ground_truth, load_predictions


def best_time(function, repeats: int = 3) -> float:
    """Best wall time of ``function()`` over ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def run_set(spec: BenchmarkSet, folder: Path) -> None:
    rng = np.random.default_rng(2024)  # the seed of eval_speed.py: the same prediction files
    real = spec.ground_truth.is_file()
    gt_path = spec.ground_truth if real else synthetic_ground_truth(spec, folder, rng)
    truth = load_ground_truth(gt_path, spec.subset)
    prediction_path = folder / f"{spec.dataset}_predictions.json"
    prediction_path.write_text(json.dumps(generate_predictions(truth, spec.per_video, rng)))
    predictions = load_predictions(prediction_path)
    thresholds = PRESETS[spec.dataset].tiou_thresholds

    evaluation = best_time(lambda: evaluate_detection(truth, predictions, thresholds))
    at_half = best_time(lambda: diagnose_detection(truth, predictions, spec.dataset, (0.5,)))
    at_preset = best_time(lambda: diagnose_detection(truth, predictions, spec.dataset, thresholds))
    diagnosis = diagnose_detection(truth, predictions, spec.dataset, (0.5,))

    common = ["--gt", str(gt_path), "--pred", str(prediction_path), "--dataset", spec.dataset]
    common += ["--subset", spec.subset]
    evaluate_command = time_command([*common, "--out", str(folder / "result.json")])
    diagnose_command = time_command(["diagnose", *common, "--out", str(folder / "report.json")])

    source = "real" if real else "synthetic (real file missing)"
    print(
        f"{spec.title}, {source} ground truth: {len(truth.videos):,} videos, {len(truth):,} instances "
        f"(cleaned), {len(predictions):,} predictions; diagnosis at tIoU 0.5: average mAP "
        f"{100 * diagnosis.average_mAP:.2f}%, top-1G true positives "
        f"{100 * diagnosis.profile[0, 0, 0] / diagnosis.profile_size[0]:.1f}%"
    )
    print(f"  evaluate_detection, {len(thresholds):>2} thresholds:    {evaluation:7.3f} s")
    print(
        f"  diagnose_detection, tIoU 0.5:          {at_half:7.3f} s  "
        f"({at_half / evaluation:.1f}x the evaluation)"
    )
    print(
        f"  diagnose_detection, {len(thresholds):>2} thresholds:    {at_preset:7.3f} s  "
        f"({at_preset / evaluation:.1f}x the evaluation)"
    )
    print(
        f"  whole commands (best of 3): tad-eval {evaluate_command:.3f} s, tad-eval diagnose "
        f"{diagnose_command:.3f} s  ({diagnose_command / evaluate_command:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SETS), help="run one set only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tad-eval-diagnose-bench-") as folder:
        for name, spec in SETS.items():
            if args.only in (None, name):
                run_set(spec, Path(folder))


if __name__ == "__main__":
    main()
