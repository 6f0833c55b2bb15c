"""How fast is tad-eval? ActivityNet-1.3 validation x 100 predictions per video, THUMOS14 test x 200.

For each set this script generates predictions over the real ground truth (``../shared/data`` or
``$TAD_SHARED_DATA``; synthetic ground truth of the same size when the files are missing), then

1. times the whole ``tad-eval`` command (a subprocess: interpreter start, imports, reading both files,
   evaluation, writing RESULT.json) — the goals are <= 2 s and <= 0.25 s;
2. times, in this process, loading and the vectorised evaluation separately;
3. times the plain one-prediction-at-a-time loop of the same algorithm (``reference_average_precision``
   of ``tests/references/eval_reference.py``) on the same loaded data, and prints the ratio, after
   checking that both give the same AP.

Usage: ``python benchmarks/eval_speed.py [--only anet|thumos14] [--skip-loop]``. No test runs this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tad_eval import PRESETS, GroundTruth, evaluate_detection, load_ground_truth, load_predictions

REPO = Path(__file__).resolve().parents[1]
# The plain loop is test code, kept out of the wheel; tests import it the same way (pytest's pythonpath).
sys.path.insert(0, str(REPO / "tests" / "references"))
from eval_reference import reference_average_precision  # noqa: E402

SHARED_DATA = Path(os.environ.get("TAD_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass(frozen=True)
class BenchmarkSet:
    """One prediction set to time."""

    dataset: str  # tad-eval --dataset
    title: str  # what it is, for the printout
    ground_truth: Path  # real annotation file (may be missing)
    subset: str  # subset to evaluate
    per_video: int  # predictions per video
    videos: int  # synthetic fallback: number of videos
    instances_per_video: float  # synthetic fallback: mean instances per video
    classes: int  # synthetic fallback: number of classes


SETS = {
    "anet": BenchmarkSet(
        dataset="activitynet13",
        title="ActivityNet-1.3 validation",
        ground_truth=SHARED_DATA / "activitynet13" / "activity_net_v1-3_gt.json",
        subset="validation",
        per_video=100,
        videos=4728,
        instances_per_video=1.54,
        classes=200,
    ),
    "thumos14": BenchmarkSet(
        dataset="thumos14",
        title="THUMOS14 test",
        ground_truth=SHARED_DATA / "thumos14" / "thumos14_gt.json",
        subset="test",
        per_video=200,
        videos=212,
        instances_per_video=15.8,
        classes=20,
    ),
}


def synthetic_ground_truth(spec: BenchmarkSet, folder: Path, rng: np.random.Generator) -> Path:
    """An ActivityNet-layout file with the size of the real one (used when it is missing)."""
    database = {}
    for index in range(spec.videos):
        duration = float(rng.uniform(30, 240))
        annotations = []
        for _ in range(max(1, rng.poisson(spec.instances_per_video))):
            start = float(rng.uniform(0, duration * 0.9))
            end = min(duration, start + float(rng.uniform(1, duration / 4)))
            annotations.append({"segment": [start, end], "label": f"class_{rng.integers(spec.classes):03d}"})
        database[f"video_{index:05d}"] = {
            "subset": spec.subset,
            "duration": duration,
            "annotations": annotations,
        }
    path = folder / f"{spec.dataset}_synthetic_gt.json"
    path.write_text(json.dumps({"version": "synthetic", "database": database}))
    return path


def generate_predictions(truth: GroundTruth, per_video: int, rng: np.random.Generator) -> dict:
    """Detections like a real detector's: most near an instance (jittered ends, mostly the right
    label), the rest anywhere; every score distinct."""
    scores = rng.permutation(len(truth.videos) * per_video) / (len(truth.videos) * per_video)
    results, next_score = {}, 0
    for video_code, video in enumerate(truth.videos):
        own = np.flatnonzero(truth.video_index == video_code)
        horizon = float(truth.segments[own, 1].max()) if own.size else 100.0
        items = []
        for _ in range(per_video):
            if own.size and rng.random() < 0.6:
                row = int(rng.choice(own))
                start, end = truth.segments[row]
                jitter = rng.normal(0.0, 0.15, 2) * max(end - start, 0.1)
                begin = max(float(start + jitter[0]), 0.0)  # a time is never negative
                segment = [begin, max(float(end + jitter[1]), begin + 0.1)]
                good = rng.random() < 0.85
                label = truth.classes[truth.label_index[row] if good else rng.integers(len(truth.classes))]
            else:
                start = float(rng.uniform(0, horizon))
                segment = [start, start + float(rng.uniform(0.5, max(horizon / 3, 1.0)))]
                label = truth.classes[rng.integers(len(truth.classes))]
            items.append({"segment": segment, "label": label, "score": float(scores[next_score])})
            next_score += 1
        results[video] = items
    return {"version": "VERSION 1.3", "results": results, "external_data": {}}


def time_command(arguments: list[str], repeats: int = 3) -> float:
    """Best wall time of the ``tad-eval`` console script over ``repeats`` runs."""
    command = [str(Path(sys.executable).parent / "tad-eval"), *arguments]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def run_set(spec: BenchmarkSet, folder: Path, skip_loop: bool) -> None:
    rng = np.random.default_rng(2024)
    real = spec.ground_truth.is_file()
    gt_path = spec.ground_truth if real else synthetic_ground_truth(spec, folder, rng)
    truth = load_ground_truth(gt_path, spec.subset)
    prediction_path = folder / f"{spec.dataset}_predictions.json"
    prediction_path.write_text(json.dumps(generate_predictions(truth, spec.per_video, rng)))
    thresholds = PRESETS[spec.dataset].tiou_thresholds

    out = folder / f"{spec.dataset}_result.json"
    arguments = [
        "--gt",
        gt_path,
        "--pred",
        prediction_path,
        "--dataset",
        spec.dataset,
        "--subset",
        spec.subset,
    ]
    command = time_command([*map(str, arguments), "--out", str(out)])
    start = time.perf_counter()
    truth = load_ground_truth(gt_path, spec.subset)
    loaded_truth = time.perf_counter()
    predictions = load_predictions(prediction_path)
    loaded_predictions = time.perf_counter()
    result = evaluate_detection(truth, predictions, thresholds)
    evaluated = time.perf_counter()
    loading, evaluation = loaded_predictions - start, evaluated - loaded_predictions

    source = "real" if real else "synthetic (real file missing)"
    print(
        f"{spec.title}, {source} ground truth: {len(truth.videos):,} videos, {len(truth):,} instances "
        f"(cleaned), {len(predictions):,} predictions, {len(thresholds)} tIoU thresholds; "
        f"average mAP {100 * result.average_mAP:.2f}%"
    )
    print(f"  tad-eval command, whole (best of 3):  {command:7.3f} s")
    print(
        f"  in this process: load ground truth {loaded_truth - start:.3f} s, "
        f"load predictions {loaded_predictions - loaded_truth:.3f} s, evaluate {evaluation:.3f} s"
    )
    if skip_loop:
        return
    loop_start = time.perf_counter()
    plain = reference_average_precision(truth, predictions, thresholds)
    looped = time.perf_counter() - loop_start
    difference = float(np.abs(plain - result.per_class_ap).max())
    print(f"  plain per-prediction loop, evaluate:  {looped:7.3f} s  (max |AP difference| {difference:.1e})")
    print(f"  speed-up of the evaluation:          {looped / evaluation:7.1f}x")
    print(f"  speed-up, loading + loop vs command:  {(loading + looped) / command:7.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SETS), help="run one set only")
    parser.add_argument("--skip-loop", action="store_true", help="do not time the plain loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tad-eval-bench-") as folder:
        for name, spec in SETS.items():
            if args.only in (None, name):
                run_set(spec, Path(folder), args.skip_loop)


if __name__ == "__main__":
    main()
