"""Video-level classifier fusion for class-agnostic detections (OpenTAD's ActivityNet external classifiers).

ActivityNet detectors are trained class-agnostic; each video's classes come from a video classifier. For the
top-k classes of a video, every detected segment is copied with that class as its label and a fused score:
``det·cls`` (``product``, CUHK classifier) or ``√(det·cls)`` (``sqrt``, InternVideo / InternVideo2, OpenTAD's
``StandardClassifier``). The input labels are ignored.

Classifier file: ``{"results": {video: [score per class]}, "class": [names]}`` (CUHK) or with ``"classes"``
(InternVideo, InternVideo2). Classes tied in score are taken in file order (OpenTAD's unstable numpy sort
leaves that unspecified).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tad_eval import InputError, Predictions
from tad_eval.errors import describe_value
from tad_eval.files import gc_paused, read_json

__all__ = ["FusionMode", "VideoClassifier", "fuse_classifier", "list_ids", "load_classifier"]

FusionMode = Literal["product", "sqrt"]
_MAX_LISTED = 50


def list_ids(ids: list[str], limit: int = _MAX_LISTED) -> str:
    """``"a, b, c ..."``: the first ``limit`` video ids for a message; an ellipsis when there are more."""
    return ", ".join(ids[:limit]) + (" ..." if len(ids) > limit else "")


@dataclass(frozen=True)
class VideoClassifier:
    """Per-video class scores read from a classifier file."""

    classes: tuple[str, ...]  # class names, in file order
    scores: dict[str, np.ndarray]  # video id -> float64 [len(classes)]
    source: str  # the file, for messages


def _class_names(data: dict[str, Any], source: str) -> tuple[str, ...]:
    key = "class" if "class" in data else "classes"  # OpenTAD reads "class" first
    names = data.get(key)
    if not isinstance(names, list) or not names:
        raise InputError(
            source, "class", f"expected a non-empty list of class names, got {describe_value(names)}"
        )
    for index, name in enumerate(names):
        if not isinstance(name, str):
            raise InputError(
                source, f"{key}[{index}]", f"expected a class name string, got {describe_value(name)}"
            )
    return tuple(names)


def _score_vector(values: Any, source: str, field: str, num_classes: int) -> np.ndarray:
    if not isinstance(values, list):
        raise InputError(
            source, field, f"expected a list of {num_classes} scores, got {describe_value(values)}"
        )
    if len(values) != num_classes:
        raise InputError(source, field, f"has {len(values)} scores but the file lists {num_classes} classes")
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(source, f"{field}[{index}]", f"not a finite number: {describe_value(value)}")
    return np.asarray(values, dtype=np.float64)


def load_classifier(path: str | os.PathLike[str]) -> VideoClassifier:
    """Read and validate a video classifier file.

    Args:
        path: JSON ``{"results": {video: [scores]}, "class" | "classes": [names]}``.

    Raises:
        InputError: naming the file and the field (e.g. a score vector whose length differs from the number of
            classes, or a NaN score).
    """
    source = str(path)
    data = read_json(path)
    if not isinstance(data, dict) or "results" not in data:
        raise InputError(
            source, "results", "missing: expected a JSON object with 'results' and 'class'/'classes'"
        )
    if "class" not in data and "classes" not in data:
        raise InputError(source, "class", "missing: expected a 'class' or 'classes' list of class names")
    classes = _class_names(data, source)
    results = data["results"]
    if not isinstance(results, dict):
        raise InputError(
            source,
            "results",
            f"expected an object mapping video ids to scores, got {describe_value(results)}",
        )
    scores = {
        video: _score_vector(values, source, f"results[{video!r}]", len(classes))
        for video, values in results.items()
    }
    return VideoClassifier(classes, scores, source)


def _top_classes(scores: np.ndarray, topk: int, softmax: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices and (optionally softmaxed) scores of the ``topk`` best classes, best first."""
    if softmax:
        exp = np.exp(scores - scores.max())  # the max shift only guards against overflow
        scores = exp / exp.sum()
    order = np.argsort(-scores, kind="stable")[:topk]
    return order, scores[order]


def fuse_classifier(
    predictions: Predictions,
    classifier: VideoClassifier,
    topk: int,
    mode: FusionMode,
    softmax: bool = False,
    allow_missing: bool = False,
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Label class-agnostic detections with each video's top-k classifier classes.

    Args:
        predictions: class-agnostic detections (labels are ignored), e.g. from ``tad_eval.load_predictions``.
        classifier: from :func:`load_classifier`.
        topk: classes per video; every segment is copied once per class.
        mode: ``product`` (``det·cls``) or ``sqrt`` (``√(det·cls)``).
        softmax: apply a softmax to the classifier scores first.
        allow_missing: drop videos the classifier does not know (they are returned as the second value)
            instead of raising.

    Returns:
        ``({video: [{"segment", "label", "score"}, ...]}, dropped video ids)``. Per video the entries are
        class by class (best class first), each with all segments in input order.

    Raises:
        InputError: videos missing from the classifier (unless ``allow_missing``), ``topk`` larger than the
            number of classes, or a negative product in ``sqrt`` mode.
    """
    if not 1 <= topk <= len(classifier.classes):
        raise InputError(
            classifier.source,
            "class",
            f"--topk {topk} must be between 1 and its {len(classifier.classes)} classes",
        )
    missing = [video for video in predictions.videos if video not in classifier.scores]
    if missing and not allow_missing:
        raise InputError(
            classifier.source,
            "results",
            f"{len(missing)} video(s) of {predictions.source} missing: {list_ids(missing)}",
        )
    order = np.argsort(predictions.video_index, kind="stable")  # rows grouped by video, file order inside
    ends = np.cumsum(np.bincount(predictions.video_index, minlength=len(predictions.videos)))
    starts = np.concatenate([[0], ends[:-1]])
    fused: dict[str, list[dict[str, Any]]] = {}
    with gc_paused():  # about a million small dicts for ActivityNet, none of them cyclic
        for number, video in enumerate(predictions.videos):
            if video in classifier.scores:
                rows = order[starts[number] : ends[number]]
                fused[video] = _fuse_video(predictions, rows, classifier, video, topk, mode, softmax)
    return fused, missing


def _fuse_video(
    predictions: Predictions,
    rows: np.ndarray,
    classifier: VideoClassifier,
    video: str,
    topk: int,
    mode: FusionMode,
    softmax: bool,
) -> list[dict[str, Any]]:
    """The fused entries of one video: class by class, each with all of its segments."""
    segments, det_scores = predictions.segments[rows], predictions.scores[rows]
    if mode == "sqrt" and (det_scores < 0).any():
        first = int(np.flatnonzero(det_scores < 0)[0])
        raise InputError(
            predictions.source,
            f"results[{video!r}][{first}].score",
            f"negative ({det_scores[first]:g}): no square root",
        )
    class_index, class_scores = _top_classes(classifier.scores[video], topk, softmax)
    segment_list = segments.tolist()  # Python floats, as JSON wants them
    entries = []
    for index, cls_score in zip(class_index, class_scores, strict=True):
        if mode == "sqrt" and cls_score < 0:
            raise InputError(
                classifier.source,
                f"results[{video!r}][{index}]",
                f"negative ({cls_score:g}): no square root (try --softmax)",
            )
        fused = det_scores * cls_score if mode == "product" else np.sqrt(det_scores * cls_score)
        label = classifier.classes[index]
        entries += [
            {"segment": [start, end], "label": label, "score": score}
            for (start, end), score in zip(segment_list, fused.tolist(), strict=True)
        ]
    return entries
