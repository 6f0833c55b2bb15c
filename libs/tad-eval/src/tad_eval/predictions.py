"""Detection predictions: reading JSON or CSV files into flat numpy arrays, and writing them atomically.

Formats (see the README):

- JSON ``{"results": {video: [{"segment": [start, end], "label": name, "score": x}, ...]}}`` — the
  ActivityNet/OpenTAD layout; other top-level keys (``version``, ``external_data``) are ignored.
- CSV with the columns ``video,start,end,label,score`` (a header row with these names, in any order,
  is optional).

Numbers may be given as strings (``"12.5"``). A non-numeric or non-finite (NaN, inf) segment bound or
score, a negative time and an end before the start are errors naming the video and the index of the
prediction within it (a zero-length segment, end equal to start, is valid).

Reading is built for large files (ActivityNet-1.3 validation with 100 predictions per video is about
460,000 predictions): an optimistic path converts whole columns with numpy, and only when that
fails does a per-item pass run to find and name the offending entry.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np

from tad_eval.errors import (
    InputError,
    check_segment,
    describe_value,
    parse_label,
    parse_number,
    parse_segment,
)
from tad_eval.files import atomic_write, gc_paused, read_json, read_text

__all__ = ["Predictions", "load_predictions", "write_predictions"]

_CSV_COLUMNS = ("video", "start", "end", "label", "score")


@dataclass(frozen=True, eq=False)
class Predictions:
    """Flat arrays of N detections over the videos of one prediction file.

    Row order is file order (JSON: video by video, each list in order; CSV: row order). The
    evaluator breaks score ties by this order, so it is part of the data.

    Raises:
        InputError: at construction, for a non-finite segment bound or score, a negative time or an
            end before the start, naming the video and the index of the prediction within it.
    """

    videos: tuple[str, ...]  # video ids in order of first appearance (JSON: also videos with an empty list)
    video_index: np.ndarray  # int64 [N]: index into `videos`
    segments: np.ndarray  # float64 [N, 2]: start and end in seconds
    scores: np.ndarray  # float64 [N]: confidence; higher ranks first
    label_names: tuple[str, ...]  # distinct labels in order of first appearance
    label_codes: np.ndarray  # int64 [N]: index into `label_names`
    source: str = "<memory>"  # the file they were read from, for messages

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InputError` for the first non-finite value, negative time or end before start.

        Runs at construction; the evaluators run it again, since the arrays can be changed in place.
        """
        starts, ends = self.segments[:, 0], self.segments[:, 1]
        valid = (
            np.isfinite(self.segments).all(axis=1)
            & np.isfinite(self.scores)
            & (starts >= 0)
            & (ends >= starts)
        )
        if valid.all():
            return
        row = int(np.flatnonzero(~valid)[0])
        video = int(self.video_index[row])
        index = int(np.count_nonzero(self.video_index[:row] == video))
        where = f"results[{self.videos[video]!r}][{index}]"
        for column, bound in enumerate(self.segments[row].tolist()):
            parse_number(bound, self.source, f"{where}.segment[{column}]", finite=True)
        parse_number(self.scores[row].item(), self.source, f"{where}.score", finite=True)
        check_segment(*self.segments[row].tolist(), self.source, f"{where}.segment")

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @cached_property
    def labels(self) -> np.ndarray:
        """Object array of label strings ``[N]``."""
        return np.array(self.label_names, dtype=object)[self.label_codes]

    @classmethod
    def from_results(
        cls, results: Mapping[str, Sequence[Mapping[str, Any]]], source: str = "<memory>"
    ) -> Predictions:
        """Build from the in-memory ``{video: [{"segment", "label", "score"}, ...]}`` mapping.

        Args:
            results: the value of the ``results`` key of a prediction file.
            source: the name used in error messages.
        """
        if not isinstance(results, Mapping):
            raise InputError(
                source,
                "results",
                f"expected an object mapping video ids to lists, got {describe_value(results)}",
            )
        with gc_paused():
            columns = _columns_fast(results) or _columns_checked(results, source)
        videos, counts, segments, scores, label_names, label_codes = columns
        video_index = np.repeat(np.arange(len(videos), dtype=np.int64), counts)
        return cls(videos, video_index, segments, scores, label_names, label_codes, source)


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read a prediction file: JSON ``{"results": ...}`` or CSV ``video,start,end,label,score``.

    Args:
        path: the file; ``.csv`` files are read as CSV, everything else as JSON.

    Raises:
        InputError: the file is missing or does not follow the format; the message names the file,
            the video and the index of the offending prediction.
    """
    if os.path.splitext(path)[1].lower() == ".csv":
        return _load_csv(path)
    data = read_json(path)
    if not isinstance(data, dict) or "results" not in data:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(
            path, "results", f"missing: expected a JSON object with a 'results' key, found {found}"
        )
    return Predictions.from_results(data["results"], source=str(path))


def write_predictions(
    path: str | os.PathLike[str], results: Mapping[str, Sequence[Mapping[str, Any]]]
) -> None:
    """Validate ``results`` and write them atomically as a prediction JSON file.

    The file is ``{"version": ..., "results": results, "external_data": {}}``; the two extra keys make
    it acceptable to the official ActivityNet evaluator as well. numpy numbers and arrays are written
    as plain JSON numbers and lists.

    Args:
        path: the output file; its directory is created when missing.
        results: ``{video: [{"segment": [start, end], "label": name, "score": x}, ...]}``.

    Raises:
        InputError: an entry is malformed, e.g. an end before its start (checked before anything is
            written).
    """
    Predictions.from_results(results)
    payload = {"version": "VERSION 1.3", "results": results, "external_data": {}}
    with atomic_write(path) as handle:
        # json.dumps runs the C encoder; json.dump streams through the pure-Python one (~5x slower).
        handle.write(json.dumps(payload, default=_plain_json))


def _plain_json(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _columns_fast(results: Mapping[str, Any]) -> tuple | None:
    """Whole-column conversion; None when anything is unusual (the checked path then names it).

    Builds no per-prediction Python objects beyond the parsed JSON itself: columns go straight into
    ``np.fromiter`` (which also parses numeric strings), labels are coded through a growing dict.
    """
    lists = list(results.values())
    if not all(type(items) is list for items in lists) or not all(type(video) is str for video in results):
        return None
    flat = [item for items in lists for item in items]
    count = len(flat)
    codes: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    try:
        segments = list(map(itemgetter("segment"), flat))
        if set(map(type, segments)) != {list} or set(map(len, segments)) != {2}:
            return None
        bounds = np.fromiter(itertools.chain.from_iterable(segments), dtype=np.float64, count=2 * count)
        scores = np.fromiter(map(itemgetter("score"), flat), dtype=np.float64, count=count)
        labels = map(itemgetter("label"), flat)
        label_codes = np.fromiter(map(codes.__getitem__, labels), dtype=np.int64, count=count)
    except (KeyError, TypeError, ValueError):
        return None
    if not all(type(label) is str for label in codes):
        return None
    if not (np.isfinite(bounds).all() and np.isfinite(scores).all()):
        return None
    if _has_bool(bounds, lambda i: segments[i // 2][i % 2]) or _has_bool(scores, lambda i: flat[i]["score"]):
        return None
    counts = [len(items) for items in lists]
    return tuple(results), counts, bounds.reshape(count, 2), scores, tuple(codes), label_codes


def _has_bool(values: np.ndarray, item: Callable[[int], Any]) -> bool:
    """Whether a JSON ``true``/``false`` hid among the parsed numbers (``np.fromiter`` reads them as 1/0).

    Only entries equal to 0 or 1 can be booleans, so only those few are looked at.
    """
    return any(type(item(int(i))) is bool for i in np.flatnonzero((values == 0) | (values == 1)))


def _columns_checked(results: Mapping[str, Any], source: str) -> tuple:
    """Item-by-item conversion that raises :class:`InputError` at the first malformed entry."""
    videos, counts, segments, scores, labels = [], [], [], [], []
    for video, items in results.items():
        if not isinstance(video, str):
            raise InputError(source, "results", f"video ids must be strings, got {describe_value(video)}")
        if not isinstance(items, (list, tuple)):
            raise InputError(
                source, f"results[{video!r}]", f"expected a list of predictions, got {describe_value(items)}"
            )
        videos.append(video)
        counts.append(len(items))
        for index, item in enumerate(items):
            where = f"results[{video!r}][{index}]"
            if not isinstance(item, Mapping):
                raise InputError(source, where, f"expected an object, got {describe_value(item)}")
            for key in ("segment", "label", "score"):
                if key not in item:
                    raise InputError(source, f"{where}.{key}", "missing")
            segment = parse_segment(item["segment"], source, f"{where}.segment", finite=True)
            check_segment(*segment, source, f"{where}.segment")
            segments.append(segment)
            scores.append(parse_number(item["score"], source, f"{where}.score", finite=True))
            labels.append(parse_label(item["label"], source, f"{where}.label"))
    segments_array = np.array(segments, dtype=np.float64).reshape(-1, 2)
    return (tuple(videos), counts, segments_array, np.array(scores, dtype=np.float64), *_code_labels(labels))


def _code_labels(labels: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct labels in order of first appearance, and each label's index into them."""
    codes_of = {name: code for code, name in enumerate(dict.fromkeys(labels))}
    return tuple(codes_of), np.fromiter(map(codes_of.__getitem__, labels), dtype=np.int64, count=len(labels))


def _load_csv(path: str | os.PathLike[str]) -> Predictions:
    """CSV rows ``video,start,end,label,score`` (optional header naming the columns in any order)."""
    import csv  # only CSV predictions need it: the JSON path starts faster without
    import io

    source = str(path)
    rows = list(csv.reader(io.StringIO(read_text(path))))
    order = list(range(5))
    start = 0
    if rows and {cell.strip().lower() for cell in rows[0]} == set(_CSV_COLUMNS) and len(rows[0]) == 5:
        header = [cell.strip().lower() for cell in rows[0]]
        order = [header.index(column) for column in _CSV_COLUMNS]
        start = 1
    video_codes: dict[str, int] = {}
    per_video_count: dict[str, int] = {}
    video_index, segments, scores, labels = [], [], [], []
    for line_number, row in enumerate(rows[start:], start=start + 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 5:
            raise InputError(
                source, f"line {line_number}", f"expected 5 columns {','.join(_CSV_COLUMNS)}, got {len(row)}"
            )
        video, start_s, end_s, label, score = (row[i].strip() for i in order)
        index = per_video_count.get(video, 0)
        per_video_count[video] = index + 1
        where = f"line {line_number} (results[{video!r}][{index}])"
        segment = parse_segment((start_s, end_s), source, f"{where}.segment", finite=True)
        check_segment(*segment, source, f"{where}.segment")
        value = parse_number(score, source, f"{where}.score", finite=True)
        video_index.append(video_codes.setdefault(video, len(video_codes)))
        segments.append(segment)
        scores.append(value)
        labels.append(label)
    segments_array = np.array(segments, dtype=np.float64).reshape(-1, 2)
    video_index_array = np.array(video_index, dtype=np.int64)
    return Predictions(
        tuple(video_codes),
        video_index_array,
        segments_array,
        np.array(scores, dtype=np.float64),
        *_code_labels(labels),
        source,
    )
