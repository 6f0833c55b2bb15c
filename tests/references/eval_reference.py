"""Readable reference implementations: one prediction at a time, in plain Python.

These follow the protocol text line by line, with the same tie-breaking as the fast code (equal
scores: file order; equal tIoU: ground-truth file order). They exist to check the vectorised
evaluator (property tests) and to measure its speed-up (``benchmarks/eval_speed.py``); use
:func:`tad_eval.evaluate_detection` for real work.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from tad_eval.ground_truth import GroundTruth
from tad_eval.predictions import Predictions

__all__ = ["reference_average_precision", "reference_proposal_recall", "reference_topk_recall", "tiou"]


def tiou(predicted: Sequence[float], truth: Sequence[float]) -> float:
    """Temporal IoU with the official arithmetic, including its 0/0 = NaN and x/0 = inf."""
    intersection = max(min(predicted[1], truth[1]) - max(predicted[0], truth[0]), 0.0)
    union = (truth[1] - truth[0]) + (predicted[1] - predicted[0]) - intersection
    if union == 0:
        return math.copysign(math.inf, union) if intersection > 0 else math.nan
    return intersection / union


def _ranked_predictions(
    truth: GroundTruth, predictions: Predictions
) -> dict[str, list[tuple[str, list[float]]]]:
    """Per label, ``(video, segment)`` of its predictions on ground-truth videos, best score first."""
    videos = set(truth.videos)
    rows_by_label: dict[str, list[int]] = defaultdict(list)
    for row, (video, label) in enumerate(
        zip(predictions.video_index.tolist(), predictions.labels, strict=True)
    ):
        if predictions.videos[video] in videos:
            rows_by_label[label].append(row)
    ranked = {}
    for label, rows in rows_by_label.items():
        rows.sort(key=lambda row: -predictions.scores[row])  # stable: equal scores keep file order
        ranked[label] = [
            (predictions.videos[predictions.video_index[row]], predictions.segments[row].tolist())
            for row in rows
        ]
    return ranked


def _instances_by_label_and_video(truth: GroundTruth) -> dict[str, dict[str, list[list[float]]]]:
    """``{label: {video: [segment, ...]}}`` in ground-truth file order."""
    grouped: dict[str, dict[str, list[list[float]]]] = {label: defaultdict(list) for label in truth.classes}
    for video, label, segment in zip(
        truth.video_index.tolist(), truth.labels, truth.segments.tolist(), strict=True
    ):
        grouped[label][truth.videos[video]].append(segment)
    return grouped


def _preference(overlaps: list[float]) -> list[int]:
    """Instance order for one prediction: NaN first, then tIoU descending, then file order."""

    def key(j: int) -> tuple[bool, float, int]:
        is_nan = math.isnan(overlaps[j])
        return (not is_nan, 0.0 if is_nan else -overlaps[j], j)

    return sorted(range(len(overlaps)), key=key)


def _interpolated_ap(hits: list[bool], positives: int) -> float:
    """VOC all-point interpolated AP of a ranked list of hit / miss flags."""
    precision, recall, found = [], [], 0
    for rank, hit in enumerate(hits, start=1):
        found += hit
        precision.append(found / rank)
        recall.append(found / positives)
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    area, previous_recall = 0.0, 0.0
    for p, r in zip(precision, recall, strict=True):
        area += (r - previous_recall) * p
        previous_recall = r
    return area


def reference_average_precision(
    truth: GroundTruth, predictions: Predictions, tiou_thresholds: Sequence[float]
) -> np.ndarray:
    """AP ``[C, T]`` by greedy matching of one prediction at a time.

    Args:
        truth: the ground truth.
        predictions: the predictions (those on unknown videos or with unknown labels are ignored).
        tiou_thresholds: the thresholds.
    """
    per_class_ap = np.zeros((len(truth.classes), len(tiou_thresholds)))
    ranked_by_label = _ranked_predictions(truth, predictions)
    for label_index, (label, instances) in enumerate(_instances_by_label_and_video(truth).items()):
        positives = sum(len(segments) for segments in instances.values())
        ranked = ranked_by_label.get(label, [])
        for t, threshold in enumerate(tiou_thresholds):
            taken: dict[str, set[int]] = defaultdict(set)
            hits = []
            for video, segment in ranked:
                overlaps = [tiou(segment, other) for other in instances.get(video, [])]
                hit = False
                for j in _preference(overlaps):
                    if overlaps[j] < threshold:
                        break
                    if j not in taken[video]:
                        taken[video].add(j)
                        hit = True
                        break
                hits.append(hit)
            per_class_ap[label_index, t] = _interpolated_ap(hits, positives) if hits else 0.0
    return per_class_ap


def reference_topk_recall(
    truth: GroundTruth, predictions: Predictions, tiou_thresholds: Sequence[float], top_k: Sequence[int]
) -> np.ndarray:
    """Recall@k x #GT ``[C, T, K]``: per class and video with n instances, the share of instances
    hit (tIoU >= threshold) by any of the k * n best predictions of that class in that video."""
    recall = np.zeros((len(truth.classes), len(tiou_thresholds), len(top_k)))
    ranked_by_label = _ranked_predictions(truth, predictions)
    for label_index, (label, instances) in enumerate(_instances_by_label_and_video(truth).items()):
        ranked = ranked_by_label.get(label, [])
        for video, segments in instances.items():
            own = [segment for other_video, segment in ranked if other_video == video]
            for t, threshold in enumerate(tiou_thresholds):
                for k_index, k in enumerate(top_k):
                    best = own[: k * len(segments)]
                    recall[label_index, t, k_index] += sum(
                        any(tiou(segment, instance) >= threshold for segment in best) for instance in segments
                    )
        recall[label_index] /= sum(len(segments) for segments in instances.values())
    return recall


def reference_proposal_recall(
    truth: GroundTruth, predictions: Predictions, tiou_thresholds: Sequence[float], max_average: int = 100
) -> tuple[np.ndarray, np.ndarray, float]:
    """AR@AN the ActivityNet way, video by video: ``(recall [T, max_average], average_proposals, auc)``.

    Labels are ignored. Each video with instances keeps its ``int(n * ratio)`` best proposals, where
    ``ratio`` makes ``max_average`` proposals per video on average.
    """
    known = set(truth.videos)
    proposals: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
    for row in range(len(predictions)):
        video = predictions.videos[predictions.video_index[row]]
        if video in known:
            proposals[video].append((predictions.scores[row], predictions.segments[row].tolist()))
    instances: dict[str, list[list[float]]] = defaultdict(list)
    for video, segment in zip(truth.video_index.tolist(), truth.segments.tolist(), strict=True):
        instances[truth.videos[video]].append(segment)
    total = sum(len(items) for items in proposals.values())
    ratio = max_average * float(len(instances)) / total
    best_rank: dict[
        str, list[list[float]]
    ] = {}  # per video: for each instance, the first rank reaching each threshold
    widths: dict[str, int] = {}
    kept_total = 0
    for video, segments in instances.items():
        ranked = [segment for _, segment in sorted(proposals.get(video, []), key=lambda item: -item[0])]
        kept = min(int(len(ranked) * ratio), len(ranked))
        kept_total += kept if ranked else 0
        widths[video] = kept if ranked else 1
        best_rank[video] = [
            [
                next((r for r, p in enumerate(ranked[:kept]) if tiou(p, segment) >= t), math.inf)
                for t in tiou_thresholds
            ]
            for segment in segments
        ]
    fractions = (
        np.arange(1, max_average + 1) / max_average * (max_average * float(len(instances)) / kept_total)
    )
    recall = np.zeros((len(tiou_thresholds), max_average))
    for video, ranks in best_rank.items():
        allowed = [min(int(widths[video] * fraction), widths[video]) for fraction in fractions]
        for per_threshold in ranks:
            for t, rank in enumerate(per_threshold):
                for j, limit in enumerate(allowed):
                    recall[t, j] += rank < limit
    recall /= len(truth)
    average_proposals = fractions * (float(kept_total) / len(instances))
    average_recall = recall.mean(axis=0)
    area = sum(
        (average_proposals[j + 1] - average_proposals[j]) * (average_recall[j + 1] + average_recall[j]) / 2
        for j in range(max_average - 1)
    )
    return recall, average_proposals, area / average_proposals[-1]
