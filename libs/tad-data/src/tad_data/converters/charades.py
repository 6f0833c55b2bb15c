"""Charades from the official ``Charades_v1_train.csv`` / ``Charades_v1_test.csv``.

Columns used: ``id`` (video), ``length`` (seconds) and ``actions``: ``c092 11.90 21.20;c147 0.00 12.60``
(class code, start and end seconds; empty for a video without actions). With
``Charades_v1_classes.txt`` (lines ``c000 Holding some clothes``) labels are the class names and the
class list is in code order (line = official id); without it labels are the codes. Subsets by role:
train -> ``training``, test (the labelled evaluation split) -> ``validation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, parse_number
from tad_data.converters.common import CsvRow, annotation_set, read_csv, require, select_official_files
from tad_data.errors import TadDataError, describe_location, read_text

__all__ = ["SUBSETS", "convert_charades", "read_charades_classes"]

#: Official file name -> subset.
SUBSETS = {"Charades_v1_train.csv": "training", "Charades_v1_test.csv": "validation"}
_CLASSES_FILE = "Charades_v1_classes.txt"


def convert_charades(sources: Sequence[str | Path]) -> AnnotationSet:
    """Convert the official Charades CSV files (and optionally the class file).

    Args:
        sources: ``Charades_v1_train.csv``, ``Charades_v1_test.csv``, ``Charades_v1_classes.txt`` or
            folders holding them (other files in a folder are ignored).

    Raises:
        TadDataError: for an unrecognised file name, missing columns or a malformed action.
    """
    paths = select_official_files(sources, {*SUBSETS, _CLASSES_FILE}, "Charades")
    class_paths = [path for path in paths if path.name == _CLASSES_FILE]
    names = read_charades_classes(class_paths[0]) if class_paths else None
    records = []
    for path in paths:
        if path.name in SUBSETS:
            for row in read_csv(path, ("id", "actions", "length")):
                records.append(_video(row, SUBSETS[path.name], names))
    if not records:
        raise TadDataError(f"Charades: none of {sorted(SUBSETS)} among {[str(path) for path in paths]}")
    classes = tuple(names.values()) if names is not None else None
    return annotation_set(records, version="Charades v1", classes=classes)


def read_charades_classes(path: Path) -> dict[str, str]:
    """Class code -> name from ``Charades_v1_classes.txt`` (lines ``c000 Holding some clothes``), by code."""
    names: dict[str, str] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        code, _, name = line.strip().partition(" ")
        if not code.startswith("c") or not code[1:].isdigit() or not name.strip():
            raise TadDataError(
                f"{describe_location(path, row=number)}: expected 'cNNN class name', got {line!r}"
            )
        if code in names:
            raise TadDataError(f"{describe_location(path, row=number)}: class code {code!r} given twice")
        names[code] = name.strip()
    if not names:
        raise TadDataError(f"{path}: no class in the file")
    return dict(sorted(names.items(), key=lambda item: int(item[0][1:])))


def _video(row: CsvRow, subset: str, names: dict[str, str] | None) -> VideoRecord:
    video_id = require(row, "id")
    duration = parse_number(require(row, "length", video_id), row.path, video_id, "length", row.line)
    if duration <= 0:
        raise TadDataError(f"{row.where('length', video_id)}: expected a positive duration, got {duration}")
    instances = []
    for action in filter(None, (part.strip() for part in (row.get("actions") or "").split(";"))):
        fields = action.split()
        if len(fields) != 3:
            raise TadDataError(f"{row.where('actions', video_id)}: expected 'cNNN start end', got {action!r}")
        code = fields[0]
        if names is not None and code not in names:
            raise TadDataError(f"{row.where('actions', video_id)}: unknown class code {code!r}")
        start, end = (parse_number(value, row.path, video_id, "actions", row.line) for value in fields[1:])
        if start < 0:
            raise TadDataError(f"{row.where('actions', video_id)}: negative time in {action!r}")
        if end < start:
            raise TadDataError(
                f"{row.where('actions', video_id)}: end {end} is before start {start} in {action!r}"
            )
        instances.append(Instance(start, end, names[code] if names is not None else code))
    return VideoRecord(video_id, subset, duration, None, None, tuple(instances))
