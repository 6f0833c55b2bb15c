"""Ground truth: ActivityNet-layout JSON and THUMOS14 per-class text files, with optional cleaning.

Cleaning (the default) is what OpenTAD and ActionFormer do before evaluating, and what the published
AdaTAD numbers used: an instance with ``end - start <= 0`` is dropped, and so is an instance whose
start and end are each within 1e-3 s of an earlier kept instance of the same label in the same video.
Without cleaning (``clean=False``, CLI ``--raw-gt``) every instance is kept exactly as the official
ActivityNet evaluator (and its evaluation server) keeps it.

A negative time or a negative video duration is an error in either case.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from tad_eval.datasets import THUMOS_AMBIGUOUS, THUMOS_SPLITS
from tad_eval.errors import (
    InputError,
    check_segment,
    describe_value,
    parse_label,
    parse_number,
    parse_segment,
)
from tad_eval.files import read_json, read_text

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SubsetError",
    "DUPLICATE_TOLERANCE_S",
    "GroundTruth",
    "clean_instances",
    "load_blocked",
    "load_ground_truth",
    "read_thumos_txt",
    "thumos_files",
]

#: Two instances of one label in one video closer than this at both ends (seconds) are duplicates.
DUPLICATE_TOLERANCE_S = 1e-3

#: ``(video, start_s, end_s, label)``
Instance = tuple[str, float, float, str]

_PLAIN_NUMBERS = (float, int)  # exact types: bool, a subclass of int, is not a number here


class SubsetError(InputError):
    """The requested subset has no videos; ``available`` lists the subsets the file has."""

    def __init__(self, source: object, subset: str | None, available: Sequence[str], where: str) -> None:
        self.available = list(available)
        super().__init__(
            source, "subset", f"no videos in subset {subset!r}{where}; subsets in the file: {self.available}"
        )


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The ground-truth instances of the evaluated videos as flat arrays (M instances, V videos)."""

    videos: tuple[str, ...]  # evaluated video ids in file order, also those without instances
    video_index: np.ndarray  # int64 [M]: index into `videos`
    segments: np.ndarray  # float64 [M, 2]: start and end in seconds
    classes: tuple[str, ...]  # labels in order of first appearance; mAP averages over exactly these
    label_index: np.ndarray  # int64 [M]: index into `classes`
    durations: np.ndarray  # float64 [V]: video duration in seconds, NaN where the file has none
    cleaned: bool  # whether zero-length and duplicate instances were dropped
    dropped_zero_length: int = 0  # instances dropped for end - start <= 0
    dropped_duplicates: int = 0  # instances dropped as duplicates of an earlier one
    subset: str | None = None  # the subset that was selected, None for all videos
    source: str = "<memory>"  # the file, for messages

    def __len__(self) -> int:
        return int(self.label_index.shape[0])

    @cached_property
    def labels(self) -> np.ndarray:
        """Object array of label strings ``[M]``."""
        return np.array(self.classes, dtype=object)[self.label_index]

    @property
    def warnings(self) -> tuple[str, ...]:
        """Human-readable notes about what cleaning dropped, or that it was off (``--raw-gt``).

        Cleaned ground truth with nothing to drop gives no note; raw ground truth always says so, so a
        RESULT.json states which protocol produced its numbers.
        """
        if not self.cleaned:
            return (
                "ground truth: raw (--raw-gt): zero-length and duplicate instances kept, as the "
                "ActivityNet evaluation server does",
            )
        total = len(self) + self.dropped_zero_length + self.dropped_duplicates
        notes = []
        if self.dropped_zero_length:
            notes.append(
                f"ground truth: dropped {self.dropped_zero_length} of {total} instances with end - start <= 0"
            )
        if self.dropped_duplicates:
            notes.append(
                f"ground truth: dropped {self.dropped_duplicates} of {total} instances duplicating an "
                f"earlier one (same video and label, start and end within {DUPLICATE_TOLERANCE_S:g} s)"
            )
        return tuple(notes)

    @classmethod
    def from_instances(
        cls,
        instances: Iterable[Instance],
        videos: Sequence[str] | None = None,
        clean: bool = True,
        durations: Mapping[str, float] | None = None,
        subset: str | None = None,
        source: str = "<memory>",
    ) -> GroundTruth:
        """Build from ``(video, start_s, end_s, label)`` tuples.

        Args:
            instances: the annotations in file order (the order decides which duplicate is kept).
            videos: the evaluated videos; default: those with instances, in order of appearance.
            clean: drop zero-length and duplicate instances (see the module docstring).
            durations: optional video durations in seconds.
            subset: the subset name to record.
            source: the file name to record.
        """
        instances = list(instances)
        kept, zero_length, duplicates = clean_instances(instances) if clean else (instances, 0, 0)
        video_names = tuple(dict.fromkeys(videos if videos is not None else (item[0] for item in instances)))
        video_codes = {name: code for code, name in enumerate(video_names)}
        class_codes: dict[str, int] = {}
        for item in kept:
            class_codes.setdefault(item[3], len(class_codes))
        missing = next((item[0] for item in kept if item[0] not in video_codes), None)
        if missing is not None:
            raise InputError(source, "videos", f"instance of video {missing!r} outside the evaluated videos")
        durations = durations or {}
        video_column, start_column, end_column, label_column = (
            zip(*kept, strict=True) if kept else ((), (), (), ())
        )
        return cls(
            videos=video_names,
            video_index=np.fromiter(map(video_codes.__getitem__, video_column), np.int64, len(kept)),
            segments=np.array((start_column, end_column), dtype=np.float64).reshape(2, -1).T.copy(),
            classes=tuple(class_codes),
            label_index=np.fromiter(map(class_codes.__getitem__, label_column), np.int64, len(kept)),
            durations=np.array([durations.get(name, np.nan) for name in video_names], dtype=np.float64),
            cleaned=clean,
            dropped_zero_length=zero_length,
            dropped_duplicates=duplicates,
            subset=subset,
            source=source,
        )


def clean_instances(instances: Sequence[Instance]) -> tuple[list[Instance], int, int]:
    """Drop zero-length (``end - start <= 0``) and duplicate instances, keeping file order.

    An instance is a duplicate when an earlier *kept* instance of the same video and label has its
    start and its end each within :data:`DUPLICATE_TOLERANCE_S` of it (OpenTAD / ActionFormer rule).

    Returns:
        ``(kept, number_zero_length, number_duplicates)``.
    """
    kept: list[Instance] = []
    kept_near: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    zero_length = duplicates = 0
    for item in instances:
        video, start, end, label = item
        if end - start <= 0:
            zero_length += 1
        elif _duplicates_kept(kept_near, video, label, start, end):
            duplicates += 1
        else:
            kept_near[video, label, math.floor(start)].append((start, end))
            kept.append(item)
    return kept, zero_length, duplicates


def _duplicates_kept(
    kept_near: dict[tuple[str, str, int], list[tuple[float, float]]],
    video: str,
    label: str,
    start: float,
    end: float,
) -> bool:
    """Whether a kept instance of this video and label lies within the tolerance at both ends.

    Kept instances are filed under the whole second they start in; one within 1e-3 s can only start
    in this second or a neighbouring one.
    """
    second = math.floor(start)
    for near in (second - 1, second, second + 1):
        for kept_start, kept_end in kept_near.get((video, label, near), ()):
            if (
                abs(start - kept_start) <= DUPLICATE_TOLERANCE_S
                and abs(end - kept_end) <= DUPLICATE_TOLERANCE_S
            ):
                return True
    return False


def load_ground_truth(
    path: str | os.PathLike[str],
    subset: str | None = None,
    blocked: str | os.PathLike[str] | Iterable[str] | None = None,
    clean: bool = True,
) -> GroundTruth:
    """Read ground truth: an ActivityNet-layout JSON file, or THUMOS14 per-class text files.

    Args:
        path: a JSON file (``database`` → video → ``subset``, ``duration``, ``annotations`` of
            ``segment`` and ``label``), or a folder of / a single THUMOS14 ``<Class>_<split>.txt`` file.
        subset: keep only videos of this subset (compared case-insensitively; for text files, the
            ``_test`` / ``_val`` file-name suffix). None keeps every video.
        blocked: video ids to leave out: a file (JSON list or one id per line) or an iterable of ids.
        clean: drop zero-length and duplicate instances (see the module docstring).

    Raises:
        InputError: the file does not follow the format, or the subset has no videos (the message
            lists the subsets that exist).
    """
    blocked_ids = load_blocked(blocked)
    source = str(path)
    if os.path.isdir(path) or os.path.splitext(path)[1].lower() == ".txt":
        instances, subsets = _thumos_instances(path, subset)
        instances = [item for item in instances if item[0] not in blocked_ids]
        if not instances:
            raise SubsetError(source, subset, subsets, " (after blocked videos)" if blocked_ids else "")
        return GroundTruth.from_instances(instances, clean=clean, subset=subset, source=source)
    videos, instances, durations = _json_instances(read_json(path), subset, blocked_ids, source)
    return GroundTruth.from_instances(
        instances, videos, clean=clean, durations=durations, subset=subset, source=source
    )


def load_blocked(blocked: str | os.PathLike[str] | Iterable[str] | None) -> frozenset[str]:
    """Video ids to exclude: from a file (a JSON list of ids, or one id per line) or an iterable.

    In a line-based file, blank lines and lines starting with ``#`` are ignored.
    """
    if blocked is None:
        return frozenset()
    if not isinstance(blocked, (str, os.PathLike)):
        return frozenset(blocked)
    text = read_text(blocked)
    if not text.lstrip().startswith("["):
        return frozenset(
            line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        )
    ids = read_json(blocked)
    if not all(isinstance(video, str) for video in ids):
        bad = next(video for video in ids if not isinstance(video, str))
        raise InputError(
            blocked, "blocked videos", f"expected a list of video id strings, found {describe_value(bad)}"
        )
    return frozenset(ids)


def _json_instances(
    data: Any, subset: str | None, blocked: frozenset[str], source: str
) -> tuple[list[str], list[Instance], dict[str, float]]:
    """Videos, instances and durations of the selected subset of an ActivityNet-layout database."""
    database = data.get("database") if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise InputError(
            source, "database", "missing: expected a JSON object with a 'database' object of videos"
        )
    wanted = None if subset is None else subset.lower()
    videos: list[str] = []
    instances: list[Instance] = []
    durations: dict[str, float] = {}
    for video, entry in database.items():
        if not isinstance(entry, dict):
            raise InputError(
                source, f"database[{video!r}]", f"expected an object, got {describe_value(entry)}"
            )
        if wanted is not None and str(entry.get("subset", "")).lower() != wanted:
            continue
        if video in blocked:
            continue
        videos.append(video)
        if entry.get("duration") is not None:
            where = f"database[{video!r}].duration"
            durations[video] = parse_number(entry["duration"], source, where, finite=True)
            if durations[video] < 0:
                raise InputError(source, where, f"negative duration: {describe_value(entry['duration'])}")
        instances.extend(_json_annotations(entry, video, source))
    if not videos:
        existing = sorted(
            {str(entry.get("subset")) for entry in database.values() if isinstance(entry, dict)}
        )
        raise SubsetError(source, subset, existing, " (after blocked videos)" if blocked else "")
    return videos, instances, durations


def _json_annotations(entry: dict, video: str, source: str) -> list[Instance]:
    annotations = entry.get("annotations")
    where = f"database[{video!r}].annotations"
    if not isinstance(annotations, list):
        raise InputError(source, where, f"expected a list of annotations, got {describe_value(annotations)}")
    instances = []
    for index, annotation in enumerate(annotations):
        # Fast path for the common case: a dict, a [start, end] list of plain non-negative finite numbers
        # and a string label; anything else goes through the checks below, which name the problem.
        segment = annotation.get("segment") if type(annotation) is dict else None
        if type(segment) is list and len(segment) == 2 and type(annotation.get("label")) is str:
            start, end = segment
            if (
                type(start) in _PLAIN_NUMBERS
                and type(end) in _PLAIN_NUMBERS
                and 0 <= start < math.inf
                and 0 <= end < math.inf
            ):
                instances.append((video, float(start), float(end), annotation["label"]))
                continue
        if not isinstance(annotation, dict) or "segment" not in annotation or "label" not in annotation:
            raise InputError(
                source,
                f"{where}[{index}]",
                f"expected an object with 'segment' and 'label', got {describe_value(annotation)}",
            )
        start, end = parse_segment(annotation["segment"], source, f"{where}[{index}].segment", finite=True)
        check_segment(start, end, source, f"{where}[{index}].segment", allow_inverted=True)
        label = parse_label(annotation["label"], source, f"{where}[{index}].label")
        instances.append((video, start, end, label))
    return instances


def read_thumos_txt(
    path: str | os.PathLike[str], include_ambiguous: bool = False, split: str | None = None
) -> list[Instance]:
    """Read THUMOS14 official temporal annotations: ``(video, start_s, end_s, label)`` tuples.

    Args:
        path: a folder of ``<Class>_test.txt`` / ``<Class>_val.txt`` files (other files are ignored)
            or a single such file; each line is ``video start end``. The label is the class name
            from the file name.
        include_ambiguous: also read ``Ambiguous_*.txt`` (the THUMOS protocol excludes it).
        split: read only files with this suffix (``"test"``, ``"val"``), compared case-insensitively.

    Returns:
        Instances ordered by file name, then line.

    Raises:
        InputError: no annotation file is found, or a line is not ``video start end`` with finite,
            non-negative times.
    """
    return _read_thumos_files(thumos_files(path, include_ambiguous, split))


def _read_thumos_files(files: Sequence[tuple[Path, str, str]]) -> list[Instance]:
    """The instances of ``(file, label, split)`` files from :func:`thumos_files`, in file then line order."""
    instances: list[Instance] = []
    for file, label, _ in files:
        for line_number, line in enumerate(read_text(file).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3:
                raise InputError(
                    file, f"line {line_number}", f"expected 'video start end', got {describe_value(line)}"
                )
            start = parse_number(fields[1], str(file), f"line {line_number} start", finite=True)
            end = parse_number(fields[2], str(file), f"line {line_number} end", finite=True)
            check_segment(start, end, str(file), f"line {line_number}", allow_inverted=True)
            instances.append((fields[0], start, end, label))
    return instances


def thumos_files(
    path: str | os.PathLike[str], include_ambiguous: bool = False, split: str | None = None
) -> list[tuple[Path, str, str]]:
    """The THUMOS14 annotation files at ``path`` as ``(file, label, split)``, sorted by file name.

    Args:
        path: a folder (its ``<Class>_<split>.txt`` files, split ``test``, ``val`` or
            ``validation``; other files are ignored) or a single file (any name: a name without a
            split suffix gives the whole stem as label and ``""`` as split).
        include_ambiguous: also list ``Ambiguous_*.txt``.
        split: list only files of this split, compared case-insensitively.

    Returns:
        The label is the class name from the file name; the split is lower-cased.

    Raises:
        InputError: ``path`` does not exist or holds no such file.
    """
    from pathlib import Path  # only text ground truth needs it: the JSON path starts faster without

    root = Path(path)
    if not root.exists():
        raise InputError(path, "file", "not found")
    candidates = sorted(root.iterdir()) if root.is_dir() else [root]
    files = []
    for file in candidates:
        label, _, file_split = file.stem.rpartition("_")
        matches = file.suffix.lower() == ".txt" and bool(label) and file_split.lower() in THUMOS_SPLITS
        label, file_split = (label, file_split.lower()) if matches else (file.stem, "")
        if root.is_dir() and not matches:
            continue
        if label == THUMOS_AMBIGUOUS and not include_ambiguous:
            continue
        if split is not None and file_split != split.lower():
            continue
        files.append((file, label, file_split))
    if not files:
        raise InputError(path, "files", f"no THUMOS14 annotation files <Class>_<split>.txt (split {split!r})")
    return files


def _thumos_instances(path: str | os.PathLike[str], subset: str | None) -> tuple[list[Instance], list[str]]:
    """The instances of ``subset`` and the splits present, for the subset error message."""
    files = thumos_files(path)
    splits = sorted({file_split for _, _, file_split in files})
    wanted = [item for item in files if subset is None or item[2] == subset.lower()]
    return _read_thumos_files(wanted), splits
