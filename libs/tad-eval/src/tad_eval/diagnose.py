"""Where a detector fails: DETAD-style error analysis of a prediction set, vectorised on tad-eval's matching.

The analyses and their rules are those of DETAD (Alwassel, Caba Heilbron, Escorcia, Ghanem,
"Diagnosing Error in Temporal Action Detectors", ECCV 2018, and its public code), reimplemented on the
ActivityNet matching of :mod:`tad_eval.matching` (so true positives are exactly those of
:func:`~tad_eval.evaluate_detection`, with its deterministic tie-breaking). At each tIoU threshold α:

- **False-positive types.** A prediction that is not a true positive at α is compared with every
  ground-truth instance of its video, whatever the label; the instance with the highest tIoU (the first
  in ground-truth file order on a tie) decides, in this order: tIoU ≥ α and the same label: *double
  detection* (that instance was already matched by a higher-scored prediction); tIoU ≥ α, another
  label: *wrong label*; 0.1 ≤ tIoU < α, the same label: *localization*; 0.1 ≤ tIoU < α, another label:
  *confusion*; tIoU < 0.1 with every instance (or a video without instances): *background*. So a
  prediction overlapping an already detected instance by less than α is a localization error, not a
  double detection, and one overlapping an instance of another label more than one of its own is a
  wrong-label error. A NaN tIoU (only with raw ground truth) passes every threshold, as in the matching.
- **False-positive profile.** Each class's predictions, ranked by score, are split into ten parts of G
  predictions (G: the class's ground-truth count): part n holds the ranks (n-1)G+1 .. nG. Counts per
  part are summed over the classes.
- **Removal gain.** On the top-10G predictions of each class, the average-mAP_N after removing every
  prediction of one error type, minus the average-mAP_N with all of them.
- **Normalised AP (AP_N).** The interpolated AP with precision ``R·N / (R·N + FP)`` (R recall, FP
  false positives so far) where N, the normaliser, is the average number of ground-truth instances per
  class, so classes with many and few instances weigh alike.
- **False negatives.** An instance is missed unless a true positive matched it at a rank where its
  class's normalised precision is above 5% (DETAD's setting; ``unmatched`` counts the instances no
  prediction matched at all). Reported per bucket of three ground-truth characteristics.
- **Sensitivity.** Average-mAP_N over the instances of one bucket: per class, the bucket's instances
  are the positives, and predictions matched (at any threshold) to an instance outside the bucket are
  left out; classes without instances in the bucket do not count.

Characteristics: *coverage* (instance length / video duration), *length* (seconds), *number of
instances* (ground-truth instances of any label in the same video). Buckets are right-closed
intervals, the first one including its lower edge; values outside the edges go to the nearest end
bucket (a coverage above 1, from an annotation past the video's end, is XL).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from tad_eval.detection import check_thresholds
from tad_eval.errors import InputError
from tad_eval.ground_truth import GroundTruth
from tad_eval.matching import AlignedPredictions, align_predictions, greedy_assignment, group_pairs, passes
from tad_eval.predictions import Predictions

__all__ = [
    "ACTIVITYNET_SCALE",
    "BACKGROUND_TIOU",
    "CHARACTERISTICS",
    "CHARACTERISTIC_SCALES",
    "ERROR_TYPES",
    "THUMOS14_SCALE",
    "Buckets",
    "Characteristic",
    "CharacteristicResult",
    "CharacteristicScale",
    "Diagnosis",
    "diagnose_detection",
]

#: Prediction outcomes, in DETAD's order; ``Diagnosis.error_types`` holds their index (-1: ignored).
ERROR_TYPES = ("true_positive", "double_detection", "wrong_label", "localization", "confusion", "background")
TRUE_POSITIVE, DOUBLE_DETECTION, WRONG_LABEL, LOCALIZATION, CONFUSION, BACKGROUND = range(6)
#: Below this tIoU with every instance, a false positive is a background error.
BACKGROUND_TIOU = 0.1
#: The false-positive profile covers the top 10G predictions of each class, in parts of G.
PROFILE_PARTS = 10
#: A true positive counts as a detection in the false-negative analysis above this normalised precision.
FALSE_NEGATIVE_MIN_PRECISION = 0.05
#: Recall levels of the precision-recall curves: 0, 0.01, ..., 1 (exact quotients, as recalls are).
RECALL_LEVELS = np.arange(101) / 100


@dataclass(frozen=True)
class Buckets:
    """Named intervals of one characteristic: ``(edges[i], edges[i + 1]]``, the first closed at its lower
    edge too (``pandas.cut(..., include_lowest=True)``, as DETAD bins them)."""

    labels: tuple[str, ...]
    edges: tuple[float, ...]  # len(labels) + 1 ascending edges; inf allowed as the last

    def assign(self, values: np.ndarray) -> np.ndarray:
        """int64 bucket index of each value; values beyond the edges go to the first or last bucket."""
        index = np.searchsorted(np.asarray(self.edges), values, side="left") - 1
        return np.clip(index, 0, len(self.labels) - 1)

    def describe(self, index: int, unit: str = "", integer: bool = False) -> str:
        """The interval as a short text: ``≤30 s``, ``30-60 s``, ``>180 s``; for integer values the
        lower end is the first value in the bucket (``2-4`` for (1, 4])."""
        low, high = self.edges[index], self.edges[index + 1]
        if index == 0:
            return f"≤{high:g}{unit}"
        if math.isinf(high):
            return f">{low:g}{unit}"
        return f"{low + 1 if integer else low:g}-{high:g}{unit}"


@dataclass(frozen=True)
class CharacteristicScale:
    """The buckets of the three ground-truth characteristics for one dataset."""

    coverage: Buckets  # instance length / video duration
    length: Buckets  # instance length in seconds
    num_instances: Buckets  # ground-truth instances (any label) in the instance's video


_FIVE_SIZES = ("XS", "S", "M", "L", "XL")
_FOUR_SIZES = ("XS", "S", "M", "L")

#: DETAD's ActivityNet buckets; its coverage edges are ``numpy.linspace(0, 1, 6)``, so the M/L edge is
#: 0.6000000000000001.
ACTIVITYNET_SCALE = CharacteristicScale(
    coverage=Buckets(_FIVE_SIZES, tuple(np.linspace(0.0, 1.0, 6).tolist())),
    length=Buckets(_FIVE_SIZES, (0.0, 30.0, 60.0, 120.0, 180.0, math.inf)),
    num_instances=Buckets(_FOUR_SIZES, (-1.0, 1.0, 4.0, 8.0, math.inf)),
)
#: DETAD's THUMOS14 buckets: a tenth of ActivityNet's lengths, a tenth of its coverages below 0.08, and
#: ten times its instance counts (THUMOS14 test: 4 s instances, 16 per video, 1.6% of a video each).
THUMOS14_SCALE = CharacteristicScale(
    coverage=Buckets(_FIVE_SIZES, (0.0, 0.02, 0.04, 0.06, 0.08, 1.0)),
    length=Buckets(_FIVE_SIZES, (0.0, 3.0, 6.0, 12.0, 18.0, math.inf)),
    num_instances=Buckets(_FOUR_SIZES, (-1.0, 1.0, 40.0, 80.0, math.inf)),
)

#: The bucket scale of each evaluation preset's dataset. DETAD defines only the THUMOS14 and
#: ActivityNet scales; the others borrow the closer one: many short instances in long videos
#: (Multi-THUMOS, EPIC-Kitchens) take THUMOS14's, few long instances per video (Ego4D-MQ moments,
#: Charades' 30 s videos) ActivityNet's.
CHARACTERISTIC_SCALES: dict[str, CharacteristicScale] = {
    "thumos14": THUMOS14_SCALE,
    "activitynet13": ACTIVITYNET_SCALE,
    "epic-kitchens-100": THUMOS14_SCALE,
    "ego4d-mq": ACTIVITYNET_SCALE,
    "multithumos": THUMOS14_SCALE,
    "charades": ACTIVITYNET_SCALE,
}


class Characteristic(NamedTuple):
    """How a ground-truth characteristic is named and shown."""

    title: str  # what it measures, for tables and plot axes
    unit: str  # appended to bucket ranges
    integer: bool  # its values are counts


#: The characteristics, by their CharacteristicScale field name, in report order.
CHARACTERISTICS = {
    "coverage": Characteristic("instance length / video duration", "", False),
    "length": Characteristic("instance length in seconds", " s", False),
    "num_instances": Characteristic("ground-truth instances in the instance's video", "", True),
}


@dataclass(frozen=True, eq=False)
class CharacteristicResult:
    """False negatives and sensitivity over the buckets of one ground-truth characteristic (B buckets)."""

    name: str  # coverage, length or num_instances
    buckets: Buckets
    count: np.ndarray  # int64 [B]: ground-truth instances per bucket
    missed: np.ndarray  # int64 [T, B]: instances missed at each threshold (5% precision floor)
    unmatched: np.ndarray  # int64 [T, B]: instances no prediction matched at each threshold
    average_mAP_normalized: np.ndarray  # float64 [B]: sensitivity; NaN for an empty bucket

    @property
    def missed_fraction(self) -> np.ndarray:
        """float64 ``[B]``: missed / count, averaged over the thresholds; NaN for an empty bucket."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.missed / self.count).mean(axis=0)

    def to_json(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The characteristic's entries of ``false_negatives`` and of ``sensitivity``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            unmatched_fraction = (self.unmatched / self.count).mean(axis=0)
        false_negatives, sensitivity = [], []
        for index, label in enumerate(self.buckets.labels):
            bucket = {
                "bucket": label,
                "range": [
                    _finite_or_none(self.buckets.edges[index]),
                    _finite_or_none(self.buckets.edges[index + 1]),
                ],
                "count": int(self.count[index]),
            }
            false_negatives.append(
                bucket
                | {
                    "missed": _mean_count(self.missed[:, index].mean()),
                    "missed_fraction": _finite_or_none(self.missed_fraction[index]),
                    "missed_per_tiou": self.missed[:, index].tolist(),
                    "unmatched_fraction": _finite_or_none(unmatched_fraction[index]),
                }
            )
            sensitivity.append(
                bucket | {"average_mAP_normalized": _finite_or_none(self.average_mAP_normalized[index])}
            )
        return false_negatives, sensitivity


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """The error analysis of one prediction set (T thresholds, C classes, P predictions in the file)."""

    dataset: str  # the evaluation preset's dataset name; decides the buckets
    ground_truth_source: str
    prediction_source: str
    subset: str | None
    ground_truth_cleaned: bool
    tiou_thresholds: tuple[float, ...]
    classes: tuple[str, ...]
    num_gt: int
    num_pred: int  # predictions analysed (on ground-truth videos, with ground-truth labels)
    normaliser: float  # N of AP_N: ground-truth instances per class, on average
    error_types: np.ndarray  # int8 [T, P]: index into ERROR_TYPES per prediction in file order; -1 ignored
    profile: np.ndarray  # int64 [T, 10, 6]: predictions of each ERROR_TYPE in part n of the ranking
    profile_size: np.ndarray  # int64 [10]: predictions in part n (ranks (n-1)G+1..nG of each class)
    removal_gain: np.ndarray  # float64 [5]: average-mAP_N gain without each false-positive type (top 10G)
    removal_gain_unnormalized: np.ndarray  # float64 [5]: the same with the plain AP
    top_average_mAP_normalized: float  # average-mAP_N of the top-10G predictions, the gains' baseline
    top_average_mAP: float  # plain average mAP of the top-10G predictions
    mAP: np.ndarray  # float64 [T]: plain mAP of all predictions (equals evaluate_detection)
    mAP_normalized: np.ndarray  # float64 [T]: mAP_N of all predictions, the sensitivity baseline
    characteristics: tuple[CharacteristicResult, ...]
    precision: np.ndarray  # float64 [T, 101]: interpolated precision at RECALL_LEVELS, mean over classes
    warnings: tuple[str, ...]

    @property
    def average_mAP(self) -> float:
        return float(self.mAP.mean())

    @property
    def average_mAP_normalized(self) -> float:
        return float(self.mAP_normalized.mean())

    def false_positive_profile(self) -> list[dict[str, Any]]:
        """Per part n = 1..10: predictions, the count of each outcome and its percentage of the part.

        With one threshold the counts are integers; with several they are the mean over the thresholds
        (as DETAD plots them), each threshold's integers being in ``to_json()["false_positives_per_tiou"]``.
        """
        return _profile_json(
            self.profile.mean(axis=0) if len(self.tiou_thresholds) > 1 else self.profile[0], self.profile_size
        )

    def to_json(self) -> dict[str, Any]:
        """The report.json document (see the README); fractions in [0, 1] except the ``percent`` fields."""
        false_negatives, sensitivity = {}, {}
        for result in self.characteristics:
            false_negatives[result.name], sensitivity[result.name] = result.to_json()
        scale = CHARACTERISTIC_SCALES[self.dataset]
        return {
            "settings": {
                "dataset": self.dataset,
                "ground_truth": self.ground_truth_source,
                "predictions": self.prediction_source,
                "subset": self.subset,
                "ground_truth_cleaned": self.ground_truth_cleaned,
                "tiou_thresholds": list(self.tiou_thresholds),
                "background_tiou": BACKGROUND_TIOU,
                "profile_parts": PROFILE_PARTS,
                "normaliser": self.normaliser,
                "false_negative_min_precision": FALSE_NEGATIVE_MIN_PRECISION,
                "buckets": {
                    name: {
                        "labels": list(buckets.labels),
                        "edges": [_finite_or_none(edge) for edge in buckets.edges],
                    }
                    for name, buckets in _scale_buckets(scale).items()
                },
            },
            "num_gt": self.num_gt,
            "num_pred": self.num_pred,
            "mAP": self.mAP.tolist(),
            "average_mAP": self.average_mAP,
            "mAP_normalized": self.mAP_normalized.tolist(),
            "average_mAP_normalized": self.average_mAP_normalized,
            "false_positives": self.false_positive_profile(),
            "false_positives_per_tiou": [
                {"tiou": threshold, "profile": _profile_json(self.profile[index], self.profile_size)}
                for index, threshold in enumerate(self.tiou_thresholds)
            ],
            "removal_gain": dict(zip(ERROR_TYPES[1:], self.removal_gain.tolist(), strict=True)),
            "removal_gain_unnormalized": dict(
                zip(ERROR_TYPES[1:], self.removal_gain_unnormalized.tolist(), strict=True)
            ),
            "removal_baseline": {
                "average_mAP_normalized": self.top_average_mAP_normalized,
                "average_mAP": self.top_average_mAP,
            },
            "false_negatives": false_negatives,
            "sensitivity": {"average_mAP_normalized": self.average_mAP_normalized} | sensitivity,
            "precision_recall": {
                "recall": RECALL_LEVELS.tolist(),
                "precision": {
                    str(t): row.tolist() for t, row in zip(self.tiou_thresholds, self.precision, strict=True)
                },
            },
            "warnings": list(self.warnings),
        }


def diagnose_detection(
    ground_truth: GroundTruth,
    predictions: Predictions,
    dataset: str,
    tiou_thresholds: Sequence[float] | np.ndarray = (0.5,),
) -> Diagnosis:
    """DETAD's false-positive, false-negative and sensitivity analyses (see the module docstring).

    Args:
        ground_truth: from :func:`~tad_eval.load_ground_truth`.
        predictions: from :func:`~tad_eval.load_predictions`; predictions on videos or with labels
            absent from the ground truth are ignored and counted in the warnings.
        dataset: a key of :data:`CHARACTERISTIC_SCALES` (the evaluation preset's name).
        tiou_thresholds: α; DETAD uses 0.5 for THUMOS14 and ``0.5:0.95:0.05`` (averaged) for
            ActivityNet.

    Raises:
        InputError: the ground truth has no instances.
        ValueError: unknown dataset, or a threshold outside (0, 1].
    """
    if dataset not in CHARACTERISTIC_SCALES:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(CHARACTERISTIC_SCALES)}")
    thresholds = check_thresholds(tiou_thresholds)
    if len(ground_truth) == 0:
        raise InputError(
            ground_truth.source, "annotations", "no ground-truth instances in the evaluated videos"
        )
    aligned = align_predictions(ground_truth, predictions)
    assignment = greedy_assignment(
        group_pairs(ground_truth, aligned), len(aligned), len(ground_truth), thresholds
    )
    types = _error_types(ground_truth, aligned, assignment, thresholds)
    positives = np.bincount(ground_truth.label_index, minlength=len(ground_truth.classes))
    normaliser = len(ground_truth) / len(ground_truth.classes)
    part = (np.arange(len(aligned)) - aligned.class_start[aligned.label]) // positives[aligned.label]
    characteristics, notes = _characteristic_buckets(ground_truth, CHARACTERISTIC_SCALES[dataset])
    per_class = _per_class_analysis(
        aligned, assignment, types, part, positives, normaliser, characteristics, ground_truth.label_index
    )

    error_types = np.full((thresholds.shape[0], len(predictions)), -1, dtype=np.int8)
    error_types[:, aligned.rows] = types
    in_profile = part < PROFILE_PARTS
    cell = part[in_profile] * len(ERROR_TYPES) + types[:, in_profile]
    cell += (np.arange(thresholds.shape[0]) * PROFILE_PARTS * len(ERROR_TYPES))[:, None]
    profile = np.bincount(cell.ravel(), minlength=thresholds.shape[0] * PROFILE_PARTS * len(ERROR_TYPES))
    top_normalized, top_plain = (
        per_class.removal_normalized.mean(axis=(1, 2)),
        per_class.removal_plain.mean(axis=(1, 2)),
    )
    return Diagnosis(
        dataset=dataset,
        ground_truth_source=ground_truth.source,
        prediction_source=predictions.source,
        subset=ground_truth.subset,
        ground_truth_cleaned=ground_truth.cleaned,
        tiou_thresholds=tuple(thresholds.tolist()),
        classes=ground_truth.classes,
        num_gt=len(ground_truth),
        num_pred=len(aligned),
        normaliser=normaliser,
        error_types=error_types,
        profile=profile.reshape(thresholds.shape[0], PROFILE_PARTS, len(ERROR_TYPES)),
        profile_size=np.bincount(part[in_profile], minlength=PROFILE_PARTS),
        removal_gain=top_normalized[1:] - top_normalized[0],
        removal_gain_unnormalized=top_plain[1:] - top_plain[0],
        top_average_mAP_normalized=float(top_normalized[0]),
        top_average_mAP=float(top_plain[0]),
        mAP=per_class.plain.mean(axis=0),
        mAP_normalized=per_class.normalized.mean(axis=0),
        characteristics=tuple(
            _characteristic_result(name, buckets, index, assignment, per_class, len(ground_truth))
            for name, (buckets, index) in characteristics.items()
        ),
        precision=per_class.precision_at_recall.mean(axis=0),
        warnings=ground_truth.warnings + aligned.warnings + notes,
    )


def _error_types(
    truth: GroundTruth, aligned: AlignedPredictions, assignment: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """int8 ``[T, N]``: the ERROR_TYPES index of each aligned prediction at each threshold."""
    best_tiou, best_instance = _best_overlap(truth, aligned)
    best_label = np.where(best_instance >= 0, truth.label_index[np.maximum(best_instance, 0)], -1)
    same_label = best_label == aligned.label
    close = passes(best_tiou, thresholds)  # [T, N]
    overlapping = passes(best_tiou, np.array([BACKGROUND_TIOU]))  # [1, N]
    types = np.where(
        close,
        np.where(same_label, DOUBLE_DETECTION, WRONG_LABEL),
        np.where(overlapping, np.where(same_label, LOCALIZATION, CONFUSION), BACKGROUND),
    ).astype(np.int8)
    types[assignment >= 0] = TRUE_POSITIVE
    return types


def _best_overlap(truth: GroundTruth, aligned: AlignedPredictions) -> tuple[np.ndarray, np.ndarray]:
    """Each prediction's highest tIoU with an instance of its video, any label, and that instance
    (the first in ground-truth file order on a tie; -1 and tIoU 0 when nothing overlaps). A NaN tIoU
    counts as the highest, as in the matching."""
    agnostic = dataclasses.replace(aligned, label=np.zeros_like(aligned.label))
    pairs = group_pairs(truth, agnostic, by_label=False)
    best_tiou = np.zeros(len(aligned))
    best_instance = np.full(len(aligned), -1, dtype=np.int64)
    if pairs.prediction.size == 0:
        return best_tiou, best_instance
    tiou = np.where(np.isnan(pairs.tiou), np.inf, pairs.tiou)
    starts = np.flatnonzero(np.r_[True, pairs.prediction[1:] != pairs.prediction[:-1]])
    peak = np.maximum.reduceat(tiou, starts)
    counts = np.diff(np.r_[starts, tiou.shape[0]])
    at_peak = np.where(tiou == np.repeat(peak, counts), pairs.instance, len(truth))
    owner = pairs.prediction[starts]
    best_tiou[owner] = np.where(np.isinf(peak), np.nan, peak)
    best_instance[owner] = np.minimum.reduceat(at_peak, starts)
    return best_tiou, best_instance


def _characteristic_buckets(
    truth: GroundTruth, scale: CharacteristicScale
) -> tuple[dict[str, tuple[Buckets, np.ndarray]], tuple[str, ...]]:
    """Each characteristic's buckets and the bucket index of every instance; coverage is left out
    (with a note) when a video has no duration."""
    length = truth.segments[:, 1] - truth.segments[:, 0]
    per_video = np.bincount(truth.video_index, minlength=len(truth.videos))[truth.video_index]
    values = {"length": length, "num_instances": per_video.astype(np.float64)}
    notes: tuple[str, ...] = ()
    duration = truth.durations[truth.video_index]
    if np.isnan(duration).any():
        notes = (
            f"diagnose: coverage analysis skipped: {int(np.isnan(duration).sum())} instances are in videos "
            "without a duration in the ground truth",
        )
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            values["coverage"] = length / duration
    result = {}
    for name in CHARACTERISTICS:
        if name in values:
            buckets = getattr(scale, name)
            result[name] = (buckets, buckets.assign(values[name]))
    return result, notes


@dataclass(frozen=True)
class _PerClass:
    """What the per-class pass computes (C classes, T thresholds, N aligned predictions)."""

    plain: np.ndarray  # float64 [C, T]: AP of all predictions
    normalized: np.ndarray  # float64 [C, T]: AP_N of all predictions
    removal_normalized: np.ndarray  # float64 [6, C, T]: AP_N of the top 10G, all / without type 1..5
    removal_plain: np.ndarray  # float64 [6, C, T]
    detected: np.ndarray  # bool [T, N]: true positive at normalised precision above the floor
    sensitivity: dict[str, np.ndarray]  # name -> float64 [B, C]: AP_N over thresholds; NaN: no instances
    precision_at_recall: np.ndarray  # float64 [C, T, 101]


def _per_class_analysis(
    aligned: AlignedPredictions,
    assignment: np.ndarray,
    types: np.ndarray,
    part: np.ndarray,
    positives: np.ndarray,
    normaliser: float,
    characteristics: dict[str, tuple[Buckets, np.ndarray]],
    instance_label: np.ndarray,
) -> _PerClass:
    """One pass over the classes computing every AP variant; each class's ranking is a slice."""
    num_classes, num_thresholds = positives.shape[0], assignment.shape[0]
    plain = np.zeros((num_classes, num_thresholds))
    normalized = np.zeros((num_classes, num_thresholds))
    removal_normalized = np.zeros((len(ERROR_TYPES), num_classes, num_thresholds))
    removal_plain = np.zeros((len(ERROR_TYPES), num_classes, num_thresholds))
    detected = np.zeros(assignment.shape, dtype=bool)
    precision_at_recall = np.zeros((num_classes, num_thresholds, RECALL_LEVELS.shape[0]))
    sensitivity, keep_in_bucket, bucket_positives = {}, {}, {}
    for name, (buckets, instance_bucket) in characteristics.items():
        count = len(buckets.labels)
        # A prediction stays in bucket b's ranking when, at every threshold, it is a false positive or
        # matched to an instance of bucket b.
        matched_bucket = np.where(assignment >= 0, instance_bucket[np.maximum(assignment, 0)], -1)
        keep_in_bucket[name] = np.stack(
            [np.all((matched_bucket < 0) | (matched_bucket == b), axis=0) for b in range(count)]
        )  # [B, N]
        bucket_positives[name] = np.bincount(
            instance_bucket * num_classes + instance_label, minlength=count * num_classes
        ).reshape(count, num_classes)
        sensitivity[name] = np.full((count, num_classes), np.nan)
    removed_types = np.arange(len(ERROR_TYPES))[:, None, None]  # 0 (true positive) removes nothing
    for label in range(num_classes):
        begin, end = aligned.class_start[label], aligned.class_start[label + 1]
        if begin == end:
            continue
        hit = assignment[:, begin:end] >= 0  # [T, n]
        precision, recall = _ranking_curves(hit, None, positives[label], None)
        plain[label] = _interpolated_ap(precision, recall)
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        for t in range(num_thresholds):
            first_reaching = np.searchsorted(recall[t], RECALL_LEVELS, side="left")
            reached = first_reaching < recall.shape[1]
            precision_at_recall[label, t, reached] = envelope[t, first_reaching[reached]]
        precision, recall = _ranking_curves(hit, None, positives[label], normaliser)
        normalized[label] = _interpolated_ap(precision, recall)
        detected[:, begin:end] = hit & (precision > FALSE_NEGATIVE_MIN_PRECISION)

        top = begin + int(np.count_nonzero(part[begin:end] < PROFILE_PARTS))
        keep = (types[None, :, begin:top] != removed_types) | (removed_types == TRUE_POSITIVE)  # [6, T, n]
        top_hit = np.broadcast_to(hit[:, : top - begin], keep.shape)
        removal_normalized[:, label] = _interpolated_ap(
            *_ranking_curves(top_hit, keep, positives[label], normaliser)
        )
        removal_plain[:, label] = _interpolated_ap(*_ranking_curves(top_hit, keep, positives[label], None))

        for name, keep_rows in keep_in_bucket.items():
            count = bucket_positives[name][:, label]  # [B]
            present = np.flatnonzero(count)
            keep = np.broadcast_to(keep_rows[present, None, begin:end], (present.shape[0], *hit.shape))
            bucket_hit = np.broadcast_to(hit, keep.shape)
            ap = _interpolated_ap(*_ranking_curves(bucket_hit, keep, count[present, None], normaliser))
            sensitivity[name][present, label] = ap.mean(axis=1)
    for name, count in bucket_positives.items():
        # A class with instances in the bucket but no predictions has AP_N 0.
        sensitivity[name][np.isnan(sensitivity[name]) & (count > 0)] = 0.0
    return _PerClass(
        plain, normalized, removal_normalized, removal_plain, detected, sensitivity, precision_at_recall
    )


def _ranking_curves(
    hit: np.ndarray, keep: np.ndarray | None, positives: Any, normaliser: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each prediction of rankings ``[..., n]``.

    Args:
        hit: bool: the prediction is a true positive.
        keep: bool, the shape of ``hit``: the prediction is part of the ranking; None keeps all. A left-out
            prediction gets precision 0, so it never raises the interpolated precision, and no recall.
        positives: ground-truth instances of each ranking (broadcast against ``hit[..., 0]``).
        normaliser: None for the plain precision TP / (TP + FP), else N of DETAD's R·N / (R·N + FP).
    """
    if keep is not None:
        hit = hit & keep
        miss = keep & ~hit
    else:
        miss = ~hit
    hits = np.cumsum(hit, axis=-1, dtype=np.float64)
    misses = np.cumsum(miss, axis=-1, dtype=np.float64)
    recall = hits / np.asarray(positives, dtype=np.float64)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 only before a ranking's first prediction
        if normaliser is None:
            precision = hits / (hits + misses)
        else:
            precision = recall * normaliser / (recall * normaliser + misses)
    if keep is not None:
        precision = np.where(keep, precision, 0.0)
    return precision, recall


def _interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """VOC all-point interpolated AP over the last axis, as :func:`tad_eval.average_precision`."""
    envelope = np.maximum.accumulate(precision[..., ::-1], axis=-1)[..., ::-1]
    recall_step = np.diff(recall, axis=-1, prepend=0.0)  # nonzero exactly at true positives
    return np.sum(recall_step * envelope, axis=-1)


def _characteristic_result(
    name: str,
    buckets: Buckets,
    instance_bucket: np.ndarray,
    assignment: np.ndarray,
    per_class: _PerClass,
    num_instances: int,
) -> CharacteristicResult:
    num_thresholds, count = assignment.shape[0], len(buckets.labels)
    found = np.zeros((num_thresholds, num_instances), dtype=bool)
    detected = np.zeros((num_thresholds, num_instances), dtype=bool)
    for t in range(num_thresholds):
        found[t, assignment[t][assignment[t] >= 0]] = True
        detected[t, assignment[t][per_class.detected[t]]] = True
    per_bucket = np.bincount(instance_bucket, minlength=count)

    def count_missing(flags: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(instance_bucket[~row], minlength=count) for row in flags])

    per_class_ap = per_class.sensitivity[name]  # [B, C], NaN where the class has no instance there
    classes = np.count_nonzero(~np.isnan(per_class_ap), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = np.nansum(per_class_ap, axis=1) / classes  # NaN for an empty bucket
    return CharacteristicResult(
        name=name,
        buckets=buckets,
        count=per_bucket,
        missed=count_missing(detected),
        unmatched=count_missing(found),
        average_mAP_normalized=sensitivity,
    )


def _profile_json(profile: np.ndarray, size: np.ndarray) -> list[dict[str, Any]]:
    entries = []
    for part, (counts, total) in enumerate(zip(profile, size, strict=True)):
        values = [_mean_count(value) for value in counts]
        entry: dict[str, Any] = {"n": part + 1, "predictions": int(total)}
        entry |= dict(zip(ERROR_TYPES, values, strict=True))
        entry["false_positive"] = _mean_count(counts[1:].sum())
        entry["percent"] = {
            kind: (100.0 * float(value) / int(total) if total else None)
            for kind, value in zip(ERROR_TYPES, counts, strict=True)
        }
        entries.append(entry)
    return entries


def _scale_buckets(scale: CharacteristicScale) -> dict[str, Buckets]:
    return {name: getattr(scale, name) for name in CHARACTERISTICS}


def _mean_count(value: Any) -> int | float:
    """An integer count as int, a mean over thresholds as float."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _finite_or_none(value: float) -> float | None:
    """JSON has no inf or NaN: null stands for an open end or an empty bucket."""
    value = float(value)
    return value if math.isfinite(value) else None
