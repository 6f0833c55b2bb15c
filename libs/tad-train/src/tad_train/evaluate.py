"""Inference of a whole test set and its evaluation: what ``tad-train infer`` and in-training evaluation do.

Rank 0 ends up with the predictions (``{video: [{"segment", "label", "score"}, ...]}``, seconds); with an
``evaluation.classifier`` they are fused with it (``tad_head.fuse_classifier``) unless raw output is asked
for, and they are scored with tad-eval against the experiment's annotation file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tad_eval import DetectionResult, Predictions, evaluate_detection, load_ground_truth, write_predictions
from tad_head import fuse_classifier, load_classifier
from tad_train.config import ClassifierConfig, ExperimentConfig, check_classes
from tad_train.inference import build_test_dataset, gather_windows, predict_windows, video_results
from tad_train.model import AdaTAD
from tad_train.runtime import Runtime

__all__ = ["EvaluationSummary", "evaluate_model", "evaluate_results", "fuse_results", "run_inference"]

Results = dict[str, list[dict[str, Any]]]


def run_inference(
    config: ExperimentConfig, model: AdaTAD, runtime: Runtime, raw: bool = False, progress: bool = True
) -> Results | None:
    """Predictions of the test subset on rank 0 (None on the other ranks).

    Args:
        config: the experiment (test sampler, post-processing, batch size, classifier).
        model: the detector on ``runtime.device``.
        runtime: rank, world and device.
        raw: skip classifier fusion (class-agnostic output for ``tad-head fuse``).
        progress: show a progress bar on rank 0.
    """
    from tad_train.trainer import autocast_dtype

    dataset = build_test_dataset(config)
    check_classes(config, dataset.classes)
    windows = predict_windows(
        model,
        dataset,
        config.postprocess,
        batch_size=config.trainer.test_batch_size,
        num_workers=config.trainer.num_workers,
        amp_dtype=autocast_dtype(config.trainer.amp, runtime.device),
        chunk_batch=config.trainer.test_chunk_batch,
        rank=runtime.rank,
        world=runtime.world,
        progress=progress and runtime.is_main,
    )
    windows = gather_windows(windows, runtime.world)
    if not runtime.is_main:
        return None
    results = video_results(windows, config.postprocess, dataset.classes, config.data.class_agnostic)
    if config.evaluation.classifier is not None and not raw:
        results = fuse_results(results, config.evaluation.classifier)
    return results


def fuse_results(results: Results, classifier: ClassifierConfig) -> Results:
    """Label class-agnostic detections with each video's top-k classes of ``classifier``."""
    fused, _ = fuse_classifier(
        Predictions.from_results(results),
        load_classifier(classifier.path),
        classifier.topk,
        classifier.mode,
        classifier.softmax,
    )
    return fused


def evaluate_results(config: ExperimentConfig, results: Results) -> DetectionResult:
    """mAP of ``results`` against the experiment's annotation file (its evaluation subset and thresholds)."""
    truth = load_ground_truth(
        config.data.annotation_path, config.eval_subset, blocked=config.evaluation.blocked
    )
    return evaluate_detection(truth, Predictions.from_results(results), config.tiou_thresholds)


@dataclass(frozen=True)
class EvaluationSummary:
    """One evaluation, formatted for logs."""

    result: DetectionResult
    predictions: Path

    def describe(self) -> str:
        parts = [
            f"mAP@{t:.2f} {100 * v:.2f}"
            for t, v in zip(self.result.tiou_thresholds, self.result.mAP, strict=True)
        ]
        return f"average mAP {100 * self.result.average_mAP:.2f} ({', '.join(parts)}) -> {self.predictions}"

    def as_record(self) -> dict[str, Any]:
        return {
            "eval": {
                "average_mAP": self.result.average_mAP,
                "mAP": dict(
                    zip(map(str, self.result.tiou_thresholds), self.result.mAP.tolist(), strict=True)
                ),
            }
        }

    def scalars(self) -> dict[str, float]:
        scalars = {"eval/average_mAP": self.result.average_mAP}
        scalars |= {
            f"eval/mAP@{t:.2f}": float(v)
            for t, v in zip(self.result.tiou_thresholds, self.result.mAP, strict=True)
        }
        return scalars


def evaluate_model(
    config: ExperimentConfig, model: AdaTAD, runtime: Runtime, out: Path
) -> EvaluationSummary | None:
    """Infer the test subset, write the predictions to ``out`` and score them (rank 0; None elsewhere).

    A class-agnostic experiment without a classifier has no class labels to score: its predictions are
    written and None is returned.
    """
    results = run_inference(config, model, runtime, progress=False)
    if results is None:
        return None
    write_predictions(out, results)
    if config.data.class_agnostic and config.evaluation.classifier is None:
        return None
    return EvaluationSummary(evaluate_results(config, results), out)
