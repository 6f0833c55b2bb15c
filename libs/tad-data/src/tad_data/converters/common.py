"""Pieces every converter shares: source expansion, CSV columns, timestamps, video lookup."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from tad_data.annotations import AnnotationSet, VideoRecord, derive_classes
from tad_data.errors import TadDataError, describe_location, read_text

__all__ = [
    "CsvRow",
    "annotation_set",
    "expand_sources",
    "parse_timestamp",
    "read_csv",
    "require",
    "select_official_files",
]

_TIMESTAMP = re.compile(r"^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")


def expand_sources(sources: Sequence[str | Path], pattern: str = "*") -> list[Path]:
    """Each source as a path, folders replaced by their files matching ``pattern`` (sorted).

    Args:
        sources: files or folders given on the command line.
        pattern: glob for the files taken from a folder.

    Raises:
        FileNotFoundError: for a source that does not exist.
        TadDataError: for a folder without a matching file.
    """
    paths: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(item for item in path.glob(pattern) if item.is_file())
            if not found:
                raise TadDataError(f"{path}: no file matching {pattern!r} in this folder")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return paths


def select_official_files(sources: Sequence[str | Path], known: Iterable[str], dataset: str) -> list[Path]:
    """The official files among the sources, recognised by their file names.

    A folder contributes the files with a known name (the rest of an official download is
    ignored); a file given by name must have a known name.

    Args:
        sources: files or folders.
        known: the official file names.
        dataset: dataset name for the error message.

    Raises:
        TadDataError: for a file with an unknown name, or when nothing was found.
    """
    names = set(known)
    paths = []
    for source in sources:
        if Path(source).is_dir():
            paths.extend(path for path in expand_sources([source]) if path.name in names)
            continue
        path = expand_sources([source])[0]
        if path.name not in names:
            raise TadDataError(f"{path}: not an official {dataset} file (expected one of {sorted(names)})")
        paths.append(path)
    if not paths:
        raise TadDataError(f"{dataset}: none of {sorted(names)} among {[str(source) for source in sources]}")
    return paths


class CsvRow(dict[str, str]):
    """One CSV row (column -> text) that remembers its file and 1-based line for messages."""

    def __init__(self, values: dict[str, str], path: Path, line: int) -> None:
        super().__init__(values)
        self.path = path
        self.line = line

    def where(self, column: str | None = None, video: str | None = None) -> str:
        """``file: line N, video 'x', field 'column'`` for an error message."""
        return describe_location(self.path, video, column, self.line)


def read_csv(path: Path, required: Iterable[str]) -> list[CsvRow]:
    """Read a CSV file with a header, checking that the required columns are present.

    Args:
        path: the CSV file.
        required: column names that must appear in the header.

    Raises:
        TadDataError: for a missing or non-UTF-8 file, a missing header or missing columns (the
            message lists what is there).
    """
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = reader.fieldnames
    if not header:
        raise TadDataError(f"{path}: empty file, expected a CSV header")
    missing = [column for column in required if column not in header]
    if missing:
        raise TadDataError(f"{path}: missing column(s) {missing}; the header has {list(header)}")
    rows = []
    for values in reader:
        if None in values:
            location = describe_location(path, row=reader.line_num)
            raise TadDataError(f"{location}: more fields than the {len(header)} of the header")
        rows.append(CsvRow(values, path, reader.line_num))
    return rows


def require(row: CsvRow, column: str, video: str | None = None) -> str:
    """The stripped, non-empty text of ``row[column]``, else a `TadDataError` naming the row."""
    value = row.get(column)
    if value is None or not value.strip():
        raise TadDataError(f"{row.where(column, video)}: missing value")
    return value.strip()


def parse_timestamp(text: str, where: str) -> float:
    """Seconds from an ``HH:MM:SS.ff`` timestamp (any number of fraction digits).

    The sum is done in decimal arithmetic so ``00:00:00.14`` gives exactly the float 0.14.

    Args:
        text: the timestamp.
        where: the location for the error message (file, row, column).
    """
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        raise TadDataError(f"{where}: expected a timestamp HH:MM:SS.ff, got {text!r}")
    hours, minutes, seconds = match.groups()
    return float(Decimal(hours) * 3600 + Decimal(minutes) * 60 + Decimal(seconds))


def annotation_set(
    records: Iterable[VideoRecord], version: str, classes: Sequence[str] | None = None
) -> AnnotationSet:
    """Build an `AnnotationSet` from converted records.

    Args:
        records: the converted videos (ids must be unique).
        version: the ``version`` string of the output.
        classes: the official class list in id order, or None for the sorted unique labels.
    """
    videos: dict[str, VideoRecord] = {}
    for record in records:
        if record.video_id in videos:
            raise TadDataError(f"video {record.video_id!r} appears twice in the converted sources")
        videos[record.video_id] = record
    class_names = tuple(classes) if classes is not None else derive_classes(videos.values())
    return AnnotationSet(videos=videos, classes=class_names, version=version)
