"""The one exception (and warning) type of tad-data for bad input.

Every problem with an input file — a wrong JSON schema, a malformed CSV row, an unknown label, a
corrupt video — raises `TadDataError` with a message naming the file, the video or row, the field and
the offending value, so a user can fix the input without reading a traceback. It subclasses
`ValueError` so callers that already catch `ValueError` keep working. Files are read with tad-eval's
readers (one implementation of reading and of its error messages), their errors re-raised as
`TadDataError`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from tad_eval import files
from tad_eval.errors import InputError

__all__ = ["TadDataError", "TadDataWarning", "describe_location", "read_json", "read_text", "tad_data_errors"]


class TadDataError(ValueError):
    """Bad input to tad-data; the message names file, video/row, field and value."""


@contextlib.contextmanager
def tad_data_errors() -> Iterator[None]:
    """Re-raise tad-eval's `InputError` (from the readers tad-data shares with it) as `TadDataError`."""
    try:
        yield
    except InputError as err:
        raise TadDataError(str(err)) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of a file (`tad_eval.files.read_text`); missing or non-UTF-8: `TadDataError`."""
    with tad_data_errors():
        return files.read_text(path)


def read_json(path: str | os.PathLike[str]) -> Any:
    """A parsed JSON file (`tad_eval.files.read_json`); missing or invalid (line, column): `TadDataError`."""
    with tad_data_errors():
        return files.read_json(path)


class TadDataWarning(UserWarning):
    """Input that tad-data repaired (clipped, dropped, replaced); the message names what and where."""


def describe_location(
    path: str | os.PathLike[str] | None,
    video: str | None = None,
    field: str | None = None,
    row: int | None = None,
) -> str:
    """Format where a problem is, e.g. ``anno.json: video 'v1', field 'duration'``.

    Args:
        path: the input file (or None when the input is in memory).
        video: the video id, when the problem belongs to one video.
        field: the field (JSON key or CSV column).
        row: the 1-based line number in a text/CSV file.
    """
    where = str(path) if path is not None else "<in memory>"
    details = []
    if row is not None:
        details.append(f"line {row}")
    if video is not None:
        details.append(f"video {video!r}")
    if field is not None:
        details.append(f"field {field!r}")
    return where + (": " + ", ".join(details) if details else "")
