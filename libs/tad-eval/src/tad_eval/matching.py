"""Aligning predictions with the ground truth, and the vectorised greedy matching behind the mAP.

The protocol (ActivityNet ``compute_average_precision_detection``): per class, predictions in
descending score order; each takes, per tIoU threshold, the not yet matched ground-truth instance of
its video with the highest tIoU at or above the threshold, or else is a false positive.

Matching only interacts inside one (video, class) *group*, so the predictions of every group can be
processed side by side: round r handles, in all groups at once and for all thresholds at once, the
r-th prediction of each group that overlaps any instance of its group at all. Predictions without
such an overlap are false positives and need no round. The number of rounds is the largest number of
overlapping predictions in one group, not the number of predictions.

Deterministic tie-breaking (the official evaluator leaves both to numpy's unstable quicksort):

- equal scores: the prediction that comes first in the prediction file ranks first;
- equal tIoU: the instance that comes first in the ground-truth file is tried first.

tIoU uses the official arithmetic, ``inter / ((gt_end - gt_start) + (pred_end - pred_start) - inter)``,
so threshold comparisons agree bit for bit. Like the official ``tiou < threshold`` test, a NaN tIoU
(0/0, only possible for zero-length or inverted segments kept by ``--raw-gt``) passes every
threshold and sorts before every number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tad_eval.ground_truth import GroundTruth
from tad_eval.predictions import Predictions

__all__ = [
    "AlignedPredictions",
    "GroupPairs",
    "align_predictions",
    "greedy_assignment",
    "greedy_match",
    "group_pairs",
    "rank_within_group",
    "segment_iou",
]

_MAX_EXAMPLES = 3
#: Narrow instance ranges to overlapping instances when groups average more instances than this
#: per prediction (THUMOS: about 10; ActivityNet: about 1, where narrowing would cost more than it saves).
_NARROWING_PAIRS_PER_PREDICTION = 2


def segment_iou(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Row-wise temporal IoU of ``predicted[i]`` and ``truth[i]`` with the official arithmetic.

    Args:
        predicted: float64 ``[K, 2]`` segments.
        truth: float64 ``[K, 2]`` segments.

    Returns:
        float64 ``[K]``; NaN for 0/0 and possibly negative or infinite for inverted segments, exactly
        as the official ``segment_iou`` computes them.
    """
    return segment_iou_columns(predicted[:, 0], predicted[:, 1], truth[:, 0], truth[:, 1])


def segment_iou_columns(
    predicted_start: np.ndarray, predicted_end: np.ndarray, truth_start: np.ndarray, truth_end: np.ndarray
) -> np.ndarray:
    """:func:`segment_iou` on separate start and end columns (all float64 ``[K]``)."""
    intersection = np.minimum(predicted_end, truth_end)
    intersection -= np.maximum(predicted_start, truth_start)
    intersection.clip(0, out=intersection)
    union = truth_end - truth_start
    union += predicted_end - predicted_start
    union -= intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(intersection, union, out=union)


@dataclass(frozen=True)
class AlignedPredictions:
    """The predictions that can be scored against a ground truth, in evaluation order.

    Predictions on videos absent from the ground truth, or with labels absent from its classes, are
    left out and described in ``warnings``. The kept ones are sorted by class, then descending
    score, then file order; that order is the ranking the AP is computed over.
    """

    video: np.ndarray  # int64 [N]: index into GroundTruth.videos
    label: np.ndarray  # int64 [N]: index into GroundTruth.classes
    segments: np.ndarray  # float64 [N, 2]
    scores: np.ndarray  # float64 [N]
    class_start: np.ndarray  # int64 [C + 1]: class c occupies rows class_start[c]:class_start[c + 1]
    ignored_videos: int  # predictions dropped because their video is not in the ground truth
    ignored_labels: int  # predictions dropped because their label is not a ground-truth class
    warnings: tuple[str, ...]
    rows: np.ndarray  # int64 [N]: each prediction's row in the Predictions it came from

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def align_predictions(
    truth: GroundTruth, predictions: Predictions, by_label: bool = True
) -> AlignedPredictions:
    """Map prediction videos and labels onto the ground truth's and sort into evaluation order.

    Args:
        truth: the ground truth.
        predictions: the predictions.
        by_label: False for class-agnostic use (proposals): keep predictions of any label and put
            them all in class 0.

    Raises:
        InputError: a prediction has a non-finite value, a negative time or an end before its start.
    """
    predictions.validate()
    video_code = {name: code for code, name in enumerate(truth.videos)}
    class_code = {name: code for code, name in enumerate(truth.classes)}
    video_map = np.array([video_code.get(name, -1) for name in predictions.videos], dtype=np.int64)
    label_map = np.array([class_code.get(name, -1) for name in predictions.label_names], dtype=np.int64)
    video = video_map[predictions.video_index]
    label = label_map[predictions.label_codes] if by_label else np.zeros(len(predictions), dtype=np.int64)
    known_video = video >= 0
    keep = known_video & (label >= 0)
    warnings = _ignored_warnings(predictions, video_map, label_map, known_video, keep, by_label)
    rows = np.flatnonzero(keep)
    # Class ascending, score descending, file order ascending: two sorts (the second stable, on small
    # integers, is a radix sort), faster than one three-key lexsort.
    order = rows[_descending_stable(predictions.scores[rows])]
    order = order[np.argsort(label[order].astype(_small_int(len(truth.classes))), kind="stable")]
    num_classes = len(truth.classes) if by_label else 1
    class_start = np.searchsorted(label[order], np.arange(num_classes + 1))
    return AlignedPredictions(
        video=video[order],
        label=label[order],
        segments=predictions.segments[order],
        scores=predictions.scores[order],
        class_start=class_start,
        ignored_videos=int(np.count_nonzero(~known_video)),
        ignored_labels=int(np.count_nonzero(known_video & ~keep)),
        warnings=warnings,
        rows=order,
    )


def _descending_stable(values: np.ndarray) -> np.ndarray:
    """Indices sorting ``values`` in descending order, equal values in array order.

    Without ties any sort gives that order, and numpy's default sort is about twice as fast as its
    stable one; the stable sort runs only when two values are equal.
    """
    order = np.argsort(-values)
    ordered = values[order]
    if np.any(ordered[1:] == ordered[:-1]):
        order = np.argsort(-values, kind="stable")
    return order


def _small_int(count: int) -> type:
    """The narrowest integer type holding 0..count, so that numpy's stable sort can use radix sort."""
    return np.int16 if count < np.iinfo(np.int16).max else np.int64


def _ignored_warnings(
    predictions: Predictions,
    video_map: np.ndarray,
    label_map: np.ndarray,
    known_video: np.ndarray,
    keep: np.ndarray,
    by_label: bool,
) -> tuple[str, ...]:
    notes = []
    if not known_video.all():
        names = [predictions.videos[i] for i in np.flatnonzero(video_map < 0)]
        count = int(np.count_nonzero(~known_video))
        notes.append(
            f"predictions: ignored {count} predictions on {len(names)} videos absent from the ground truth "
            f"(e.g. {', '.join(map(repr, names[:_MAX_EXAMPLES]))})"
        )
    if by_label and not keep[known_video].all():
        names = [predictions.label_names[i] for i in np.flatnonzero(label_map < 0)]
        count = int(np.count_nonzero(known_video & ~keep))
        notes.append(
            f"predictions: ignored {count} predictions with {len(names)} labels absent from the ground truth "
            f"(e.g. {', '.join(map(repr, names[:_MAX_EXAMPLES]))})"
        )
    return tuple(notes)


@dataclass(frozen=True)
class GroupPairs:
    """(prediction, instance) pairs of one group (same video, and same class unless class-agnostic)."""

    prediction: np.ndarray  # int64 [K]: row of AlignedPredictions, ascending
    instance: np.ndarray  # int64 [K]: row of GroundTruth
    group: np.ndarray  # int64 [K]: the group, video * number_of_classes + class
    tiou: np.ndarray  # float64 [K]


def group_pairs(truth: GroundTruth, aligned: AlignedPredictions, by_label: bool = True) -> GroupPairs:
    """The pairs of a prediction with the ground-truth instances of its group, with their tIoU.

    Pairs are left out only where the tIoU is exactly 0 (see :func:`_narrow_to_overlaps`), which
    fails every threshold.
    """
    num_classes = max(len(truth.classes), 1) if by_label else 1
    truth_label = truth.label_index if by_label else np.zeros(len(truth), dtype=np.int64)
    truth_key = truth.video_index * num_classes + truth_label
    truth_order = np.lexsort((truth.segments[:, 0], truth_key))  # by group, then start
    sorted_key = truth_key[truth_order]
    key = aligned.video * num_classes + aligned.label
    first, last = _key_ranges(sorted_key, key, len(truth.videos) * num_classes)
    if int((last - first).sum()) > _NARROWING_PAIRS_PER_PREDICTION * len(aligned):
        first, last = _narrow_to_overlaps(truth.segments[truth_order], sorted_key, aligned, key, first, last)
    count = last - first
    prediction = np.repeat(np.arange(len(aligned), dtype=np.int64), count)
    offset_in_range = np.arange(prediction.shape[0], dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    instance = truth_order[np.repeat(first, count) + offset_in_range]
    tiou = segment_iou_columns(
        aligned.segments[:, 0][prediction],
        aligned.segments[:, 1][prediction],
        truth.segments[:, 0][instance],
        truth.segments[:, 1][instance],
    )
    return GroupPairs(prediction, instance, key[prediction], tiou)


def _key_ranges(sorted_keys: np.ndarray, queries: np.ndarray, num_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """``first, last`` with ``sorted_keys[first:last] == query`` for each query (keys in 0..num_keys-1).

    A dense table of counts when the key space is small (ActivityNet: 1M keys), which is several
    times faster than binary search for 460,000 queries; binary search otherwise.
    """
    if num_keys <= 4 * (sorted_keys.shape[0] + queries.shape[0]):
        counts = np.bincount(sorted_keys, minlength=num_keys)
        ends = np.cumsum(counts)
        return (ends - counts)[queries], ends[queries]
    first = np.searchsorted(sorted_keys, queries, side="left")
    return first, np.searchsorted(sorted_keys, queries, side="right")


def _narrow_to_overlaps(
    sorted_segments: np.ndarray,
    sorted_key: np.ndarray,
    aligned: AlignedPredictions,
    key: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Shrink each prediction's instance range ``first:last`` to the instances it can overlap.

    Instances are sorted by group, then start. Those starting at or after the prediction's end, and
    those before the first one whose running maximum end (within the group) passes the prediction's
    start, are disjoint from it; with both segments of positive length their tIoU is exactly 0. Float
    comparisons go through shared integer ranks, so group offsets can be added exactly. Predictions
    of non-positive length keep their full range (the official arithmetic gives them NaN or
    infinite tIoU with disjoint instances), and nothing is narrowed when an instance has one.
    """
    if np.any(sorted_segments[:, 1] - sorted_segments[:, 0] <= 0):
        return first, last
    start_rank, end_rank_of_prediction, start_span = _shared_ranks(
        sorted_segments[:, 0], aligned.segments[:, 1]
    )
    end_rank, start_rank_of_prediction, end_span = _shared_ranks(
        sorted_segments[:, 1], aligned.segments[:, 0]
    )
    # First instance of the group starting at or after the prediction's end.
    high = np.searchsorted(sorted_key * start_span + start_rank, key * start_span + end_rank_of_prediction)
    # First instance of the group whose running maximum end is after the prediction's start; the
    # group offset dominates, so one running maximum over all groups is a running maximum per group.
    running_end = np.maximum.accumulate(sorted_key * end_span + end_rank)
    low = np.searchsorted(running_end, key * end_span + start_rank_of_prediction, side="right")
    degenerate = aligned.segments[:, 1] - aligned.segments[:, 0] <= 0
    low = np.where(degenerate, first, np.clip(low, first, last))
    high = np.where(degenerate, last, np.maximum(np.clip(high, first, last), low))
    return low, high


def _shared_ranks(values: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer ranks of two float arrays in one order (equal values, equal ranks), and the rank count."""
    distinct, inverse = np.unique(np.concatenate([values, others]), return_inverse=True)
    return inverse[: values.shape[0]], inverse[values.shape[0] :], int(distinct.shape[0])


def passes(tiou: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[T, K]``: pair k is close enough at threshold t, official ``not tiou < threshold``."""
    return ~(tiou[None, :] < thresholds[:, None])


def greedy_match(
    pairs: GroupPairs, num_predictions: int, num_instances: int, thresholds: np.ndarray
) -> np.ndarray:
    """Which predictions are true positives under greedy matching in evaluation order.

    Args:
        pairs: from :func:`group_pairs`; ``pairs.prediction`` indexes rows in evaluation order.
        num_predictions: N, the number of aligned predictions.
        num_instances: M, the number of ground-truth instances.
        thresholds: float64 ``[T]``.

    Returns:
        bool ``[T, N]``.
    """
    return greedy_assignment(pairs, num_predictions, num_instances, thresholds) >= 0


def greedy_assignment(
    pairs: GroupPairs, num_predictions: int, num_instances: int, thresholds: np.ndarray
) -> np.ndarray:
    """The instance each prediction matches under greedy matching in evaluation order.

    Args: as :func:`greedy_match`.

    Returns:
        int64 ``[T, N]``: the ground-truth row prediction n matched at threshold t, -1 for a false
        positive.
    """
    rounds = _rounds(pairs, thresholds)
    matched = np.zeros((thresholds.shape[0], num_instances), dtype=bool)
    assignment = np.full((thresholds.shape[0], num_predictions), -1, dtype=np.int64)
    for r in range(rounds.round_start.shape[0] - 1):
        # One prediction per group in this round: their instances are disjoint, no conflicts.
        first, last = rounds.round_start[r], rounds.round_start[r + 1]
        begin, end = rounds.first_pair[first], rounds.first_pair[last]
        rows = rounds.instance[begin:end]
        eligible = rounds.close[:, begin:end] & ~matched[:, rows]  # [T, pairs of the round]
        position = np.where(eligible, np.arange(end - begin), end - begin)
        best = np.minimum.reduceat(
            position, rounds.first_pair[first:last] - begin, axis=1
        )  # [T, predictions]
        threshold_index, which = np.nonzero(best < end - begin)
        instance = rows[best[threshold_index, which]]
        matched[threshold_index, instance] = True
        assignment[threshold_index, rounds.prediction[first + which]] = instance
    return assignment


@dataclass(frozen=True)
class _Rounds:
    """The predictions that overlap an instance of their group, round by round, with their pairs."""

    prediction: np.ndarray  # int64 [P]: overlapping predictions, by round, then row
    round_start: np.ndarray  # int64 [R + 1]: round r holds prediction[round_start[r]:round_start[r + 1]]
    first_pair: np.ndarray  # int64 [P + 1]: prediction p's pairs are first_pair[p]:first_pair[p + 1]
    instance: np.ndarray  # int64 [K]: each prediction's candidate instances, in preference order
    close: np.ndarray  # bool [T, K]: the pair passes threshold t


def _rounds(pairs: GroupPairs, thresholds: np.ndarray) -> _Rounds:
    """Order the pairs close enough at the loosest threshold for :func:`greedy_match`.

    The round of a prediction is how many overlapping predictions of its group rank before it (rows
    are in evaluation order, so within a group row order is score order). A prediction's candidates
    are tried in preference order: NaN first, then tIoU descending, then instance file order.
    """
    keep = passes(pairs.tiou, thresholds.min(keepdims=True))[0]
    prediction, instance, tiou = pairs.prediction[keep], pairs.instance[keep], pairs.tiou[keep]
    instance, tiou = _by_preference(prediction, instance, tiou)
    starts = np.flatnonzero(np.r_[True, prediction[1:] != prediction[:-1]]) if prediction.size else prediction
    counts = np.diff(np.r_[starts, prediction.shape[0]])
    round_of = rank_within_group(pairs.group[keep][starts])
    order = np.argsort(round_of, kind="stable")  # round by round, rows ascending within a round
    counts = counts[order]
    first_pair = np.r_[0, np.cumsum(counts)]
    pair_order = np.repeat(starts[order] - first_pair[:-1], counts) + np.arange(prediction.shape[0])
    num_rounds = int(round_of.max()) + 1 if round_of.size else 0
    return _Rounds(
        prediction=prediction[starts][order],
        round_start=np.searchsorted(round_of[order], np.arange(num_rounds + 1)),
        first_pair=first_pair,
        instance=instance[pair_order],
        close=passes(tiou[pair_order], thresholds),
    )


def _by_preference(prediction: np.ndarray, instance: np.ndarray, tiou: np.ndarray) -> tuple[np.ndarray, ...]:
    """Reorder each prediction's (contiguous) pairs: NaN tIoU first, then descending, then instance.

    Only predictions with several candidates need it; on ActivityNet that is under 1% of them.
    """
    several = np.flatnonzero(
        np.r_[prediction[1:] == prediction[:-1], False] | np.r_[False, prediction[1:] == prediction[:-1]]
    )
    if several.size == 0:
        return instance, tiou
    is_nan = np.isnan(tiou[several])
    descending = -np.where(is_nan, 0.0, tiou[several])
    order = np.arange(prediction.shape[0])
    order[several] = several[np.lexsort((instance[several], descending, ~is_nan, prediction[several]))]
    return instance[order], tiou[order]


def rank_within_group(group: np.ndarray) -> np.ndarray:
    """0-based position of each entry among the entries of its group, in array order."""
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0]) - np.searchsorted(sorted_group, sorted_group)
    return rank
