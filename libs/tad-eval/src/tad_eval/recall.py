"""Recall metrics: Ego4D-MQ Recall@k x #GT, and ActivityNet proposal AR@AN with its AUC.

Recall@k x #GT (OpenTAD ``compute_topkx_recall_detection``): per class and per video with n
instances of that class, take the k * n best-scored predictions of that class in that video; an
instance is recalled at a threshold when any of them reaches tIoU >= threshold. Recall per class is
recalled / instances; the reported value is the mean over the ground-truth classes.

AR@AN (ActivityNet ``Evaluation/eval_proposal.py``, ``average_recall_vs_avg_nr_proposals``): labels
are ignored; each video keeps its best ``int(n_v * ratio)`` proposals, where ``ratio`` makes the
average 100 per video over the videos with instances; the recall of the first 1%..100% of each
video's kept proposals, averaged over the thresholds, is the AR curve against the average number of
proposals (AN); the AUC is its trapezoid area divided by the last AN. The arithmetic follows the
official code step by step, so the curve matches it exactly.

Equal scores rank in prediction-file order, as everywhere in tad-eval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tad_eval.detection import check_thresholds
from tad_eval.errors import InputError
from tad_eval.ground_truth import GroundTruth
from tad_eval.matching import AlignedPredictions, align_predictions, group_pairs, rank_within_group
from tad_eval.predictions import Predictions
from tad_eval.presets import PRESETS

__all__ = ["ProposalResult", "TopKRecallResult", "evaluate_proposals", "topk_recall"]

#: The AN axis runs over 1..100 proposals per video on average, as on the ActivityNet server.
MAX_AVERAGE_PROPOSALS = 100


@dataclass(frozen=True, eq=False)
class TopKRecallResult:
    """Recall@k x #GT at each threshold; values in [0, 1]."""

    tiou_thresholds: tuple[float, ...]  # T thresholds
    top_k: tuple[int, ...]  # K values of k
    recall: np.ndarray  # float64 [T, K]: mean over classes
    classes: tuple[str, ...]  # C ground-truth classes
    per_class: np.ndarray  # float64 [C, T, K]

    def to_json(self) -> dict[str, list[float]]:
        """``{"k": [recall at each threshold]}``, e.g. ``{"1": [...], "5": [...]}``."""
        return {str(k): self.recall[:, index].tolist() for index, k in enumerate(self.top_k)}


def topk_recall(
    ground_truth: GroundTruth,
    predictions: Predictions,
    tiou_thresholds: Sequence[float] | np.ndarray,
    top_k: Sequence[int] = (1, 5),
) -> TopKRecallResult:
    """Ego4D-MQ Recall@k x #GT per threshold (see the module docstring).

    Args:
        ground_truth: the ground truth.
        predictions: the predictions; unknown videos and labels are ignored.
        tiou_thresholds: thresholds in (0, 1].
        top_k: the values of k.
    """
    thresholds = check_thresholds(tiou_thresholds)
    aligned = align_predictions(ground_truth, predictions)
    pairs = group_pairs(ground_truth, aligned)
    num_classes = len(ground_truth.classes)
    group_of_instance = ground_truth.video_index * num_classes + ground_truth.label_index
    group_size = np.bincount(group_of_instance)[group_of_instance]  # [M]: n of the instance's group
    rank = rank_within_group(aligned.video * num_classes + aligned.label)
    first_rank = _first_rank_reaching(
        pairs.instance, rank[pairs.prediction], pairs.tiou, thresholds, len(ground_truth)
    )
    limits = np.array(top_k, dtype=np.int64)[None, None, :] * group_size[None, :, None]  # [1, M, K]
    recalled = first_rank[:, :, None] < limits  # [T, M, K]
    recalled_per_class = np.zeros((num_classes, thresholds.shape[0], len(top_k)))
    np.add.at(recalled_per_class, ground_truth.label_index, recalled.transpose(1, 0, 2))
    positives = np.bincount(ground_truth.label_index, minlength=num_classes)
    per_class = recalled_per_class / positives[:, None, None]
    return TopKRecallResult(
        tiou_thresholds=tuple(thresholds.tolist()),
        top_k=tuple(int(k) for k in top_k),
        recall=per_class.mean(axis=0),
        classes=ground_truth.classes,
        per_class=per_class,
    )


def _first_rank_reaching(
    instance: np.ndarray, rank: np.ndarray, tiou: np.ndarray, thresholds: np.ndarray, num_instances: int
) -> np.ndarray:
    """int64 ``[T, M]``: per instance, the best rank of a prediction with tIoU >= threshold (else int max)."""
    never = np.iinfo(np.int64).max
    first = np.full((thresholds.shape[0], num_instances), never, dtype=np.int64)
    if instance.size == 0:
        return first
    order = np.lexsort((rank, instance))
    instance, rank, tiou = instance[order], rank[order], tiou[order]
    starts = np.flatnonzero(np.r_[True, instance[1:] != instance[:-1]])
    reaching = tiou[None, :] >= thresholds[:, None]  # [T, K]; NaN never reaches (official `>=`)
    first[:, instance[starts]] = np.minimum.reduceat(np.where(reaching, rank[None, :], never), starts, axis=1)
    return first


@dataclass(frozen=True, eq=False)
class ProposalResult:
    """The AR-AN curve of a proposal set (labels ignored) and its area under the curve."""

    tiou_thresholds: tuple[float, ...]  # T thresholds
    average_proposals: np.ndarray  # float64 [100]: AN, the average number of proposals per video
    recall: np.ndarray  # float64 [T, 100]: recall at each threshold and AN
    average_recall: np.ndarray  # float64 [100]: mean over thresholds (the AR-AN curve)
    auc: float  # area under the AR-AN curve divided by the last AN, in [0, 1]

    def ar_at(self, proposals: int) -> float:
        """AR at AN = ``proposals`` (1..100): the curve's ``proposals``-th point, as OpenTAD reports it."""
        return float(self.average_recall[proposals - 1])

    def to_json(self) -> dict[str, float]:
        """``{"AR@1": .., "AR@5": .., "AR@10": .., "AR@100": .., "AUC": ..}``."""
        return {**{f"AR@{n}": self.ar_at(n) for n in (1, 5, 10, 100)}, "AUC": self.auc}


def evaluate_proposals(
    ground_truth: GroundTruth,
    predictions: Predictions,
    tiou_thresholds: Sequence[float] | np.ndarray = PRESETS["activitynet13"].tiou_thresholds,
) -> ProposalResult:
    """ActivityNet proposal AR@AN for AN 1..100 and the AUC (see the module docstring).

    Args:
        ground_truth: the ground truth; videos without instances do not count.
        predictions: the proposals; labels are ignored, unknown videos are ignored.
        tiou_thresholds: thresholds in (0, 1]; default 0.5:0.05:0.95.

    Raises:
        InputError: no prediction falls on a video with instances.
    """
    thresholds = check_thresholds(tiou_thresholds)
    aligned = align_predictions(ground_truth, predictions, by_label=False)
    videos_with_instances = np.unique(ground_truth.video_index)
    per_video = np.bincount(aligned.video, minlength=len(ground_truth.videos))
    ratio = MAX_AVERAGE_PROPOSALS * float(videos_with_instances.shape[0]) / max(len(aligned), 1)
    kept = np.minimum((per_video * ratio).astype(np.int64), per_video)  # official int(n * ratio)
    total_kept = int(kept[videos_with_instances].sum())
    if total_kept == 0:
        raise InputError(
            predictions.source, "results", "no proposals on the videos with ground-truth instances"
        )
    rank = rank_within_group(aligned.video)
    first_rank = _first_rank_within(ground_truth, aligned, rank, kept, thresholds)
    fractions = (
        np.arange(1, MAX_AVERAGE_PROPOSALS + 1)
        / MAX_AVERAGE_PROPOSALS
        * (MAX_AVERAGE_PROPOSALS * float(videos_with_instances.shape[0]) / total_kept)
    )
    width = np.where(per_video > 0, kept, 1)[ground_truth.video_index]  # official tIoU matrix width per video
    allowed = np.minimum((width[:, None] * fractions[None, :]).astype(np.int64), width[:, None])  # [M, 100]
    matches = (first_rank[:, :, None] < allowed[None, :, :]).sum(axis=1)  # [T, 100]
    recall = matches.astype(np.float64) / float(len(ground_truth))
    average_recall = recall.mean(axis=0)
    average_proposals = fractions * (float(total_kept) / videos_with_instances.shape[0])
    area = np.sum(np.diff(average_proposals) * (average_recall[1:] + average_recall[:-1]) / 2.0)
    return ProposalResult(
        tiou_thresholds=tuple(thresholds.tolist()),
        average_proposals=average_proposals,
        recall=recall,
        average_recall=average_recall,
        auc=float(area / average_proposals[-1]),
    )


def _first_rank_within(
    truth: GroundTruth,
    aligned: AlignedPredictions,
    rank: np.ndarray,
    kept: np.ndarray,
    thresholds: np.ndarray,
) -> np.ndarray:
    """``[T, M]``: best rank among a video's kept proposals reaching each threshold, per instance."""
    pairs = group_pairs(truth, aligned, by_label=False)
    in_kept = rank[pairs.prediction] < kept[aligned.video[pairs.prediction]]
    return _first_rank_reaching(
        pairs.instance[in_kept], rank[pairs.prediction[in_kept]], pairs.tiou[in_kept], thresholds, len(truth)
    )
