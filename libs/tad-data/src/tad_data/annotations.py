"""The internal annotation format: ActivityNet-style JSON plus a class-list file.

Every dataset is converted (`tad_data.convert`) into one layout::

    {"version": "...",
     "database": {video_id: {"subset": "training",
                             "duration": 33.83,        # seconds, or null when unknown
                             "fps": 30.0,              # or null
                             "num_frames": 1015,       # or null
                             "annotations": [{"segment": [0.2, 1.1], "label": "CricketBowling"}]}}}

and a class-list file with one class name per line, the line number (from 0) being the class id.

Reading (`load_annotations`) also accepts the OpenTAD / ActionFormer / official ActivityNet files as
they are: unknown keys (``url``, ``label_id``, ``segment(frames)``) are ignored, OpenTAD's ``frame``
is read as ``num_frames``, numbers written as strings are parsed. Subset names are compared
case-insensitively and stored lower-cased (ActionFormer's ``"Test"`` becomes ``"test"``); giving
subsets their role names (``training`` / ``validation`` / ``testing``) is the converters' job, since
only they know the dataset.

Classes: the class list is the one given, else the file `class_list_path(path)` beside the
annotation file when it exists, else the sorted unique labels of the whole file (what OpenTAD's
``get_class_index`` writes). Labels in the file that are not in a given class list are an error.

Reading is faithful (only the schema is checked: a negative time or an end before the start is an
error); `repair_instances` is the separate step that drops zero-length annotations and clips
annotations to the video duration, with warnings.

An annotation file and its class list are written together (`save_annotations`): either both are
replaced or neither is.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tad_data.errors import TadDataError, TadDataWarning, describe_location, read_json, read_text
from tad_eval.errors import InputError, describe_value
from tad_eval.errors import parse_number as parse_finite_number
from tad_eval.files import atomic_write, atomic_write_all

__all__ = [
    "DEFAULT_VERSION",
    "AnnotationSet",
    "Instance",
    "VideoRecord",
    "annotations_text",
    "class_list_path",
    "class_list_text",
    "derive_classes",
    "load_annotations",
    "normalize_subset",
    "parse_number",
    "read_class_list",
    "repair_instances",
    "save_annotations",
    "write_class_list",
]

#: The ``version`` string written when an annotation set carries none.
DEFAULT_VERSION = "tad-data annotations 1"

#: How many examples a summarising warning names before it only counts.
_MAX_EXAMPLES = 5

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Instance:
    """One action instance, in seconds from the start of the video."""

    start: float  # seconds
    end: float  # seconds, >= start
    label: str  # class name (an entry of AnnotationSet.classes)

    @property
    def length(self) -> float:
        """Duration of the instance in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class VideoRecord:
    """One video of an annotation set."""

    video_id: str  # key in the database; the video file is found from it (e.g. `<id>.mp4`)
    subset: str  # lower-case split name ("training", "validation", "testing", ...)
    duration: float | None  # seconds, None when unknown
    fps: float | None  # frames per second, None when unknown
    num_frames: int | None  # frame count, None when unknown
    instances: tuple[Instance, ...] = ()  # the annotated actions (empty for unlabelled videos)


@dataclass(frozen=True)
class AnnotationSet:
    """Videos with their action instances, plus the ordered class list (index = class id)."""

    videos: dict[str, VideoRecord]  # video_id -> record
    classes: tuple[str, ...]  # class names; position = class id
    version: str = DEFAULT_VERSION  # the file's "version" string
    source: str | None = field(default=None, compare=False)  # file it was read from (for messages)

    def __post_init__(self) -> None:
        where = self.source if self.source is not None else "<in memory>"
        if len(set(self.classes)) != len(self.classes):
            duplicates = sorted({name for name in self.classes if self.classes.count(name) > 1})
            raise TadDataError(f"{where}: class list has duplicate names {duplicates}")
        known = set(self.classes)
        for video_id, record in self.videos.items():
            if record.video_id != video_id:
                raise TadDataError(f"{where}: key {video_id!r} holds the record of video {record.video_id!r}")
            for instance in record.instances:
                if instance.label not in known:
                    raise TadDataError(
                        f"{describe_location(where, video_id, 'label')}: unknown label {instance.label!r} "
                        f"(not one of the {len(self.classes)} classes)"
                    )

    @cached_property
    def class_index(self) -> dict[str, int]:
        """Class name -> class id (its position in `classes`)."""
        return {name: index for index, name in enumerate(self.classes)}

    @property
    def subsets(self) -> tuple[str, ...]:
        """The sorted names of the subsets present."""
        return tuple(sorted({normalize_subset(record.subset) for record in self.videos.values()}))

    @property
    def num_instances(self) -> int:
        """Total number of action instances over all videos."""
        return sum(len(record.instances) for record in self.videos.values())

    def subset(self, name: str) -> list[VideoRecord]:
        """The videos of one subset, sorted by video id.

        Args:
            name: subset name; names are compared stripped and case-insensitively.

        Raises:
            TadDataError: when no video belongs to that subset (the message lists the subsets present).
        """
        wanted = normalize_subset(name)
        records = [
            self.videos[video_id]
            for video_id in sorted(self.videos)
            if normalize_subset(self.videos[video_id].subset) == wanted
        ]
        if not records:
            where = self.source if self.source is not None else "<in memory>"
            raise TadDataError(f"{where}: no video in subset {name!r}; subsets present: {list(self.subsets)}")
        return records


def normalize_subset(name: str) -> str:
    """The stored form of a subset name: stripped and lower-cased."""
    return name.strip().lower()


def class_list_path(annotation_path: PathLike) -> Path:
    """The class-list file that belongs beside an annotation file: ``anno.json`` -> ``anno.classes.txt``."""
    path = Path(annotation_path)
    return path.with_name(f"{path.stem}.classes.txt")


def derive_classes(records: Iterable[VideoRecord]) -> tuple[str, ...]:
    """Sorted unique labels over all videos (OpenTAD's rule when no class file exists)."""
    return tuple(sorted({instance.label for record in records for instance in record.instances}))


# ---------------------------------------------------------------------------------------------------------
# Class lists


def read_class_list(path: PathLike) -> tuple[str, ...]:
    """Read a class-list file: one class name per line, line number (from 0) = class id.

    Surrounding whitespace is stripped and trailing blank lines are ignored.

    Args:
        path: the class-list file.

    Raises:
        TadDataError: for a blank line inside the list, a duplicate name or an empty file.
    """
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise TadDataError(
                f"{describe_location(path, row=number)}: blank class name inside the class list"
            )
        if name in seen:
            raise TadDataError(
                f"{describe_location(path, row=number)}: class {name!r} already given on line {seen[name]}"
            )
        seen[name] = number
        names.append(name)
    if not names:
        raise TadDataError(f"{path}: the class list is empty")
    return tuple(names)


def write_class_list(classes: Iterable[str], path: PathLike) -> None:
    """Write a class-list file atomically (one name per line, ``\\n`` line ends).

    Args:
        classes: class names in id order.
        path: the output file.
    """
    text = class_list_text(classes, path)
    with atomic_write(path, "w") as handle:
        handle.write(text)


def class_list_text(classes: Iterable[str], path: PathLike) -> str:
    """The content of a class-list file (see `write_class_list`); ``path`` only names it in errors.

    Raises:
        TadDataError: a name that is blank, has surrounding whitespace or a line break.
    """
    names = list(classes)
    for name in names:
        if not name.strip() or "\n" in name or "\r" in name or name != name.strip():
            raise TadDataError(f"{path}: class name {name!r} cannot be written to a one-name-per-line file")
    return "".join(f"{name}\n" for name in names)


# ---------------------------------------------------------------------------------------------------------
# Reading


def load_annotations(path: PathLike, classes_path: PathLike | None = None) -> AnnotationSet:
    """Read and validate an annotation file in the internal (ActivityNet-style) layout.

    Args:
        path: the JSON annotation file.
        classes_path: the class-list file; when None, `class_list_path(path)` is used if it exists,
            otherwise the classes are the sorted unique labels of the file.

    Raises:
        TadDataError: a missing file, invalid JSON, a missing or wrongly typed field, an end before
            a start, or a label missing from the class list; the message names file, video, field
            and value.
    """
    path = Path(path)
    document = read_json(path)
    if not isinstance(document, dict):
        raise TadDataError(
            f"{path}: expected a JSON object with a 'database' field, got {type(document).__name__}"
        )
    database = document.get("database")
    if not isinstance(database, dict):
        raise TadDataError(
            f"{describe_location(path, field='database')}: expected an object of videos, "
            f"got {_describe(database)}"
        )
    version = document.get("version")
    videos = {video_id: _parse_video(path, video_id, entry) for video_id, entry in database.items()}
    if classes_path is None and class_list_path(path).is_file():
        classes_path = class_list_path(path)
    if classes_path is None:
        classes = derive_classes(videos.values())
    else:
        classes = read_class_list(classes_path)
        _check_labels(path, classes_path, videos.values(), classes)
    return AnnotationSet(
        videos=videos,
        classes=classes,
        version=DEFAULT_VERSION if version is None else str(version),
        source=str(path),
    )


def _check_labels(
    path: Path, classes_path: PathLike, records: Iterable[VideoRecord], classes: tuple[str, ...]
) -> None:
    known = set(classes)
    for record in records:
        for index, instance in enumerate(record.instances):
            if instance.label not in known:
                location = describe_location(path, record.video_id, f"annotations[{index}].label")
                raise TadDataError(
                    f"{location}: label {instance.label!r} is not in the class list {classes_path}"
                )


def _parse_video(path: Path, video_id: str, entry: Any) -> VideoRecord:
    if not video_id.strip():
        raise TadDataError(f"{describe_location(path, field='database')}: empty video id")
    if not isinstance(entry, dict):
        raise TadDataError(f"{describe_location(path, video_id)}: expected an object, got {_describe(entry)}")
    subset = entry.get("subset")
    if not isinstance(subset, str) or not subset.strip():
        location = describe_location(path, video_id, "subset")
        raise TadDataError(f"{location}: expected a non-empty string, got {_describe(subset)}")
    num_frames = _parse_num_frames(path, video_id, entry)
    raw_instances = entry.get("annotations", [])
    if not isinstance(raw_instances, list):
        location = describe_location(path, video_id, "annotations")
        raise TadDataError(f"{location}: expected a list, got {_describe(raw_instances)}")
    instances = tuple(
        _parse_instance(path, video_id, f"annotations[{index}]", raw)
        for index, raw in enumerate(raw_instances)
    )
    return VideoRecord(
        video_id=video_id,
        subset=normalize_subset(subset),
        duration=_optional_positive(path, video_id, "duration", entry.get("duration")),
        fps=_optional_positive(path, video_id, "fps", entry.get("fps")),
        num_frames=num_frames,
        instances=instances,
    )


def _parse_num_frames(path: Path, video_id: str, entry: Mapping[str, Any]) -> int | None:
    """``num_frames``, or OpenTAD's ``frame`` (both must agree when both are present)."""
    values = {key: _optional_count(path, video_id, key, entry.get(key)) for key in ("num_frames", "frame")}
    if None not in values.values() and values["num_frames"] != values["frame"]:
        raise TadDataError(
            f"{describe_location(path, video_id, 'num_frames')}: {values['num_frames']} disagrees with "
            f"'frame' = {values['frame']}"
        )
    return values["num_frames"] if values["num_frames"] is not None else values["frame"]


def _parse_instance(path: Path, video_id: str, where: str, raw: Any) -> Instance:
    if not isinstance(raw, dict):
        raise TadDataError(
            f"{describe_location(path, video_id, where)}: expected an object, got {_describe(raw)}"
        )
    segment = raw.get("segment")
    if not isinstance(segment, list | tuple) or len(segment) != 2:
        raise TadDataError(
            f"{describe_location(path, video_id, where + '.segment')}: expected [start, end], "
            f"got {_describe(segment)}"
        )
    start = parse_number(segment[0], path, video_id, where + ".segment[0]")
    end = parse_number(segment[1], path, video_id, where + ".segment[1]")
    if start < 0:
        raise TadDataError(
            f"{describe_location(path, video_id, where + '.segment')}: negative time [{start}, {end}]"
        )
    if end < start:
        raise TadDataError(
            f"{describe_location(path, video_id, where + '.segment')}: end {end} is before start {start}"
        )
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        location = describe_location(path, video_id, where + ".label")
        raise TadDataError(f"{location}: expected a class name, got {_describe(label)}")
    return Instance(start=start, end=end, label=label.strip())


def parse_number(
    value: Any, path: PathLike | None, video_id: str | None, field_name: str, row: int | None = None
) -> float:
    """A finite float from a JSON number or a numeric string, else a `TadDataError` naming where.

    Args:
        value: the raw value.
        path: the input file (for the message).
        video_id: the video (for the message), or None.
        field_name: the field or column (for the message).
        row: the 1-based line number in a text file, or None.
    """
    try:
        number = parse_finite_number(value, str(path), field_name, finite=True)  # tad-eval's one rule
    except InputError:
        location = describe_location(path, video_id, field_name, row)
        raise TadDataError(f"{location}: expected a finite number, got {_describe(value)}") from None
    return number + 0.0  # turns -0.0 into 0.0 so output bytes do not depend on it


def _optional_positive(path: Path, video_id: str, field_name: str, value: Any) -> float | None:
    if value is None:
        return None
    number = parse_number(value, path, video_id, field_name)
    if number <= 0:
        raise TadDataError(
            f"{describe_location(path, video_id, field_name)}: expected a positive number, got {value!r}"
        )
    return number


def _optional_count(path: Path, video_id: str, field_name: str, value: Any) -> int | None:
    if value is None:
        return None
    number = parse_number(value, path, video_id, field_name)
    if number < 0 or number != int(number):
        location = describe_location(path, video_id, field_name)
        raise TadDataError(f"{location}: expected a non-negative whole number, got {value!r}")
    return int(number)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null or missing)"
    return f"{type(value).__name__} {describe_value(value)}"


# ---------------------------------------------------------------------------------------------------------
# Writing


def save_annotations(
    annotations: AnnotationSet, path: PathLike, classes_path: PathLike | None = None
) -> None:
    """Write an annotation set atomically, with the same bytes for the same content.

    Video ids and keys are sorted, instances are sorted by (start, end, label), floats are written in
    Python's shortest round-trip form, and the file ends with a newline.

    Args:
        annotations: what to write.
        path: the JSON output file.
        classes_path: where to write the class list too (None: do not write one); the two files are
            written together: both are replaced, or (on any error) neither is.
    """
    contents = {path: annotations_text(annotations, path)}
    if classes_path is not None:
        contents[classes_path] = class_list_text(annotations.classes, classes_path)
    with atomic_write_all(list(contents)) as handles:
        for handle, text in zip(handles, contents.values(), strict=True):
            handle.write(text)


def annotations_text(annotations: AnnotationSet, path: PathLike) -> str:
    """The content of an annotation file (see `save_annotations`); ``path`` only names it in errors.

    Raises:
        TadDataError: a non-finite number in the set.
    """
    database = {
        video_id: {
            "subset": record.subset,
            "duration": record.duration,
            "fps": record.fps,
            "num_frames": record.num_frames,
            "annotations": [
                {"segment": [instance.start, instance.end], "label": instance.label}
                for instance in sorted(record.instances, key=lambda item: (item.start, item.end, item.label))
            ],
        }
        for video_id, record in sorted(annotations.videos.items())
    }
    document = {"version": annotations.version, "database": database}
    try:
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError as err:
        raise TadDataError(f"{path}: cannot write a non-finite number ({err})") from None
    return text + "\n"


# ---------------------------------------------------------------------------------------------------------
# Repair


def repair_instances(annotations: AnnotationSet) -> AnnotationSet:
    """Drop zero-length instances and clip instances to ``[0, duration]``, warning about each kind.

    A segment is clipped to the start of the video always and to its end when the duration is
    known; a segment that is empty after clipping (it started at or after the end) is dropped. One
    `TadDataWarning` per kind of repair names the file, the count and the first few videos.

    Args:
        annotations: the set to repair (not modified).
    """
    clipped: list[str] = []
    dropped_zero: list[str] = []
    dropped_outside: list[str] = []
    videos = {}
    for video_id, record in annotations.videos.items():
        kept = []
        for instance in record.instances:
            if instance.end <= instance.start:
                dropped_zero.append(f"{video_id} {[instance.start, instance.end]}")
                continue
            upper = record.duration if record.duration is not None else math.inf
            start, end = max(instance.start, 0.0), min(instance.end, upper)
            if end <= start:
                dropped_outside.append(
                    f"{video_id} {[instance.start, instance.end]} (duration {record.duration})"
                )
                continue
            if (start, end) != (instance.start, instance.end):
                clipped.append(f"{video_id} {[instance.start, instance.end]} -> {[start, end]}")
                instance = replace(instance, start=start, end=end)
            kept.append(instance)
        videos[video_id] = replace(record, instances=tuple(kept))
    where = annotations.source if annotations.source is not None else "<in memory>"
    _warn_summary(where, dropped_zero, "dropped zero-length annotation(s)")
    _warn_summary(where, dropped_outside, "dropped annotation(s) lying outside the video")
    _warn_summary(where, clipped, "clipped annotation(s) reaching outside the video")
    return replace(annotations, videos=videos)


def _warn_summary(where: str, examples: list[str], what: str) -> None:
    if not examples:
        return
    shown = "; ".join(examples[:_MAX_EXAMPLES]) + ("; ..." if len(examples) > _MAX_EXAMPLES else "")
    warnings.warn(f"{where}: {what}: {len(examples)} ({shown})", TadDataWarning, stacklevel=3)
