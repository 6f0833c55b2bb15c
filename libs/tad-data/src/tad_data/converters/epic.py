"""EPIC-KITCHENS-100 from the official CSV files, into a verb set and a noun set.

Files (recognised by their official names): ``EPIC_100_train.csv`` -> ``training``,
``EPIC_100_validation.csv`` -> ``validation`` (columns ``video_id``, ``start_timestamp``,
``stop_timestamp`` as ``HH:MM:SS.ff``, ``verb_class``, ``noun_class``), ``EPIC_100_test_timestamps.csv``
-> ``testing`` videos without labels, ``EPIC_100_video_info.csv`` (``video_id``, ``duration``) for the
durations, and optionally ``EPIC_100_verb_classes.csv`` / ``EPIC_100_noun_classes.csv`` (``id``,
``key``). With the class files, labels are the official keys and the class list holds every class in
id order (line = ``verb_class`` / ``noun_class``); without them labels are OpenTAD's ``id_%03d`` names
of the class ids. The fps in the video-info file describes the original recordings, not
re-encoded copies, so fps and frame counts come only from ``--videos``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, parse_number
from tad_data.converters.common import (
    CsvRow,
    annotation_set,
    parse_timestamp,
    read_csv,
    require,
    select_official_files,
)
from tad_data.errors import TadDataError, TadDataWarning

__all__ = ["LABELLED_SUBSETS", "TASKS", "convert_epic_kitchens"]

#: Output name -> the CSV column holding that task's class id.
TASKS = {"verb": "verb_class", "noun": "noun_class"}
#: Official labelled file name -> subset.
LABELLED_SUBSETS = {"EPIC_100_train.csv": "training", "EPIC_100_validation.csv": "validation"}
_TEST_FILE = "EPIC_100_test_timestamps.csv"
_INFO_FILE = "EPIC_100_video_info.csv"
_CLASS_FILES = {"verb": "EPIC_100_verb_classes.csv", "noun": "EPIC_100_noun_classes.csv"}
_SEGMENT_COLUMNS = ("video_id", "start_timestamp", "stop_timestamp")


def convert_epic_kitchens(sources: Sequence[str | Path]) -> dict[str, AnnotationSet]:
    """Convert the official EPIC-KITCHENS-100 CSV files.

    Args:
        sources: the official CSV files or folders holding them (other files in a folder are ignored).

    Returns:
        ``{"verb": set, "noun": set}``.

    Raises:
        TadDataError: for missing columns, a malformed timestamp or class id, or an end before a start.
    """
    known = {*LABELLED_SUBSETS, _TEST_FILE, _INFO_FILE, *_CLASS_FILES.values()}
    paths = {path.name: path for path in select_official_files(sources, known, "EPIC-KITCHENS-100")}
    durations = _read_durations(paths[_INFO_FILE]) if _INFO_FILE in paths else {}
    rows = {
        subset: read_csv(paths[name], (*_SEGMENT_COLUMNS, *TASKS.values()))
        for name, subset in LABELLED_SUBSETS.items()
        if name in paths
    }
    test_rows = read_csv(paths[_TEST_FILE], _SEGMENT_COLUMNS) if _TEST_FILE in paths else []
    if not rows and not test_rows:
        raise TadDataError(
            f"EPIC-KITCHENS-100: none of {sorted(LABELLED_SUBSETS)} or {_TEST_FILE} among the sources"
        )
    outputs = {}
    for task, column in TASKS.items():
        names = _read_class_keys(paths[_CLASS_FILES[task]]) if _CLASS_FILES[task] in paths else None
        records = _records(rows, test_rows, column, names)
        outputs[task] = annotation_set(
            _with_durations(records, durations, paths.get(_INFO_FILE)),
            version=f"epic-kitchens-100-{task}",
            classes=list(names.values()) if names is not None else None,
        )
    return outputs


def _records(
    rows: dict[str, list[CsvRow]], test_rows: list[CsvRow], column: str, names: dict[int, str] | None
) -> list[VideoRecord]:
    subsets: dict[str, str] = {}
    instances: dict[str, list[Instance]] = {}
    labelled = [(subset, row) for subset, subset_rows in rows.items() for row in subset_rows]
    for subset, row in labelled + [("testing", row) for row in test_rows]:
        video_id = require(row, "video_id")
        if subsets.setdefault(video_id, subset) != subset:
            raise TadDataError(
                f"{row.where('video_id', video_id)}: video is also in subset {subsets[video_id]!r}"
            )
        instances.setdefault(video_id, [])
        if subset != "testing":
            instances[video_id].append(_instance(row, video_id, column, names))
    return [
        VideoRecord(video_id, subsets[video_id], None, None, None, tuple(found))
        for video_id, found in instances.items()
    ]


def _instance(row: CsvRow, video_id: str, column: str, names: dict[int, str] | None) -> Instance:
    start = parse_timestamp(require(row, "start_timestamp", video_id), row.where("start_timestamp", video_id))
    end = parse_timestamp(require(row, "stop_timestamp", video_id), row.where("stop_timestamp", video_id))
    if end < start:
        raise TadDataError(f"{row.where('stop_timestamp', video_id)}: end {end} is before start {start}")
    class_id = _class_id(row, column, video_id)
    if names is None:
        return Instance(start, end, f"id_{class_id:03d}")
    if class_id not in names:
        raise TadDataError(f"{row.where(column, video_id)}: class id {class_id} is not in the class file")
    return Instance(start, end, names[class_id])


def _class_id(row: CsvRow, column: str, video_id: str | None = None) -> int:
    text = require(row, column, video_id)
    if not text.isdigit():
        raise TadDataError(f"{row.where(column, video_id)}: expected a class id (whole number), got {text!r}")
    return int(text)


def _read_class_keys(path: Path) -> dict[int, str]:
    """Class id -> key from ``EPIC_100_{verb,noun}_classes.csv``, in id order."""
    keys: dict[int, str] = {}
    for row in read_csv(path, ("id", "key")):
        class_id = _class_id(row, "id")
        if class_id in keys:
            raise TadDataError(f"{row.where('id')}: class id {class_id} given twice")
        keys[class_id] = require(row, "key")
    if sorted(keys) != list(range(len(keys))):
        raise TadDataError(f"{path}: class ids must be 0..{len(keys) - 1} without gaps")
    return dict(sorted(keys.items()))


def _read_durations(path: Path) -> dict[str, float]:
    durations = {}
    for row in read_csv(path, ("video_id", "duration")):
        video_id = require(row, "video_id")
        duration = parse_number(require(row, "duration", video_id), path, video_id, "duration", row.line)
        if duration <= 0:
            raise TadDataError(
                f"{row.where('duration', video_id)}: expected a positive duration, got {duration}"
            )
        durations[video_id] = duration
    return durations


def _with_durations(
    records: list[VideoRecord], durations: dict[str, float], info_path: Path | None
) -> list[VideoRecord]:
    if info_path is None:
        return records
    unknown = sorted(record.video_id for record in records if record.video_id not in durations)
    if unknown:
        warnings.warn(
            f"{info_path}: no duration for {len(unknown)} video(s) ({', '.join(unknown[:5])}); left null",
            TadDataWarning,
            stacklevel=3,
        )
    return [replace(record, duration=durations.get(record.video_id)) for record in records]
