"""Detection mAP exactly as the ActivityNet official evaluator computes it, vectorised.

AP per class is the VOC all-point interpolated AP (monotone precision envelope) of the ranking in
descending score order; mAP at a threshold is the mean over the classes of the ground truth (a class
without predictions scores 0); the average mAP is the mean over thresholds. With no two predictions of
one class sharing a score, the numbers equal ``Evaluation/eval_detection.py`` of activitynet/ActivityNet
to floating-point summation order (measured below 1e-15). Ties are broken deterministically, see
:mod:`tad_eval.matching`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tad_eval.errors import InputError
from tad_eval.ground_truth import GroundTruth
from tad_eval.matching import align_predictions, greedy_match, group_pairs
from tad_eval.predictions import Predictions

__all__ = ["DetectionResult", "average_precision", "check_thresholds", "evaluate_detection"]


@dataclass(frozen=True, eq=False)
class DetectionResult:
    """Per-threshold mAP, average mAP and per-class AP of one prediction set; all values in [0, 1]."""

    tiou_thresholds: tuple[float, ...]  # T thresholds, in the order given
    mAP: np.ndarray  # float64 [T]: mean AP over the classes
    average_mAP: float  # mean of `mAP` over the thresholds
    classes: tuple[str, ...]  # C ground-truth classes, order of first appearance
    per_class_ap: np.ndarray  # float64 [C, T]
    num_gt_per_class: np.ndarray  # int64 [C]: ground-truth instances per class
    num_gt: int  # ground-truth instances evaluated (after cleaning, unless raw)
    num_pred: int  # predictions evaluated (those on ground-truth videos with ground-truth labels)
    ground_truth_cleaned: bool  # which protocol: cleaned (OpenTAD/ActionFormer) or raw (ActivityNet server)
    warnings: tuple[str, ...]  # what was dropped or ignored, one line each

    @property
    def per_class(self) -> dict[str, list[float]]:
        """``{label: [AP at each threshold]}``."""
        return {name: row.tolist() for name, row in zip(self.classes, self.per_class_ap, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The RESULT.json document: thresholds, mAP, average mAP, per-class AP, counts, warnings."""
        return {
            "tiou_thresholds": list(self.tiou_thresholds),
            "mAP": self.mAP.tolist(),
            "average_mAP": self.average_mAP,
            "per_class": self.per_class,
            "num_gt": self.num_gt,
            "num_pred": self.num_pred,
            "warnings": list(self.warnings),
        }


def check_thresholds(tiou_thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """float64 ``[T]`` copy of the thresholds; each must be in (0, 1].

    The values are used as given (``numpy.linspace(0.5, 0.95, 10)`` has 0.8999999999999999, which
    decides differently from 0.9 for a tIoU of exactly 0.9).
    """
    thresholds = np.array(tiou_thresholds, dtype=np.float64).reshape(-1)
    if thresholds.size == 0 or not np.all((thresholds > 0) & (thresholds <= 1)):
        raise ValueError(
            f"tIoU thresholds must be a non-empty list of numbers in (0, 1], got {tiou_thresholds!r}"
        )
    return thresholds


def evaluate_detection(
    ground_truth: GroundTruth, predictions: Predictions, tiou_thresholds: Sequence[float] | np.ndarray
) -> DetectionResult:
    """Detection mAP of ``predictions`` against ``ground_truth`` at each tIoU threshold.

    Args:
        ground_truth: from :func:`~tad_eval.load_ground_truth` (cleaned or raw).
        predictions: from :func:`~tad_eval.load_predictions`. Predictions on videos or with labels
            absent from the ground truth are ignored and counted in the warnings.
        tiou_thresholds: e.g. ``tad_eval.PRESETS["activitynet13"].tiou_thresholds``.

    Raises:
        InputError: the ground truth has no instances, or a prediction has a non-finite value, a
            negative time or an end before its start (a zero-length prediction is valid).
        ValueError: a threshold is outside (0, 1].
    """
    thresholds = check_thresholds(tiou_thresholds)
    if len(ground_truth) == 0:
        raise InputError(
            ground_truth.source, "annotations", "no ground-truth instances in the evaluated videos"
        )
    aligned = align_predictions(ground_truth, predictions)
    pairs = group_pairs(ground_truth, aligned)
    true_positive = greedy_match(pairs, len(aligned), len(ground_truth), thresholds)
    positives = np.bincount(ground_truth.label_index, minlength=len(ground_truth.classes))
    per_class_ap = average_precision(true_positive, aligned.class_start, positives)
    mean_ap = per_class_ap.mean(axis=0)
    return DetectionResult(
        tiou_thresholds=tuple(thresholds.tolist()),
        mAP=mean_ap,
        average_mAP=float(mean_ap.mean()),
        classes=ground_truth.classes,
        per_class_ap=per_class_ap,
        num_gt_per_class=positives,
        num_gt=len(ground_truth),
        num_pred=len(aligned),
        ground_truth_cleaned=ground_truth.cleaned,
        warnings=ground_truth.warnings + aligned.warnings,
    )


def average_precision(
    true_positive: np.ndarray, class_start: np.ndarray, positives: np.ndarray
) -> np.ndarray:
    """Interpolated AP per class and threshold from ranked true-positive flags.

    Args:
        true_positive: bool ``[T, N]``, predictions ranked class by class in descending score.
        class_start: int64 ``[C + 1]``: class c occupies columns ``class_start[c]:class_start[c + 1]``.
        positives: int64 ``[C]``: ground-truth instances per class (each at least 1).

    Returns:
        float64 ``[C, T]``; 0 for a class without predictions.
    """
    per_class_ap = np.zeros((positives.shape[0], true_positive.shape[0]))
    for label, (begin, end) in enumerate(zip(class_start[:-1], class_start[1:], strict=True)):
        if begin == end:
            continue
        hits = np.cumsum(
            true_positive[:, begin:end], axis=1, dtype=np.float64
        )  # [T, n]: true positives so far
        precision = hits / np.arange(1, end - begin + 1, dtype=np.float64)  # tp / (tp + fp)
        recall = hits / float(positives[label])
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        recall_step = np.diff(recall, axis=1, prepend=0.0)  # nonzero exactly at true positives
        per_class_ap[label] = np.sum(recall_step * envelope, axis=1)
    return per_class_ap
