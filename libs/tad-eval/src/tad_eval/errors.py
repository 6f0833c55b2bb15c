"""Bad input: the one exception type (it always names the file, the field and the value) and the
value parsers every reader shares, so numbers-as-strings and bad values are handled the same everywhere."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["InputError", "check_segment", "describe_value", "parse_label", "parse_number", "parse_segment"]

_MAX_VALUE_CHARS = 80


def describe_value(value: object) -> str:
    """A short one-line ``repr`` of an offending value for an error message."""
    text = repr(value).replace("\n", " ")
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


class InputError(ValueError):
    """A ground-truth, prediction or blocked-list file that does not follow its documented format.

    The message is a single line ``FILE: FIELD: PROBLEM``; the CLI prints it and exits with code 2.

    Args:
        source: the file (or ``"<memory>"`` for in-memory data).
        field: where in the file, e.g. ``results['v1'][3].score`` or ``line 12``.
        problem: what is wrong, including the offending value.
    """

    def __init__(self, source: object, field: str, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.source}: {field}: {problem}".replace("\n", " "))


def parse_number(value: Any, source: str, field: str, finite: bool = False) -> float:
    """A float from a JSON number or numeric string; bools, None and other strings raise.

    Args:
        value: the raw value.
        source: file name for the message.
        field: field name for the message.
        finite: also reject NaN and infinities.
    """
    number = None
    if type(value) is float or type(value) is int or isinstance(value, (np.floating, np.integer)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None:
        raise InputError(source, field, f"not a number: {describe_value(value)}")
    if finite and not math.isfinite(number):
        raise InputError(source, field, f"not a finite number: {describe_value(value)}")
    return number


def parse_segment(value: Any, source: str, field: str, finite: bool = False) -> tuple[float, float]:
    """``(start, end)`` from a two-element list of numbers or numeric strings (see :func:`parse_number`)."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2:
        raise InputError(source, field, f"expected [start, end], got {describe_value(value)}")
    return (
        parse_number(value[0], source, field + "[0]", finite),
        parse_number(value[1], source, field + "[1]", finite),
    )


def check_segment(start: float, end: float, source: str, field: str, allow_inverted: bool = False) -> None:
    """Reject a negative time and, unless ``allow_inverted``, an end before the start.

    A zero-length segment (``end == start``) is valid. Ground truth allows inverted segments because the
    official evaluator keeps them (``--raw-gt``) and cleaning drops them; a prediction never does.
    """
    if start < 0 or end < 0:
        raise InputError(source, field, f"negative time: [{start!r}, {end!r}]")
    if end < start and not allow_inverted:
        raise InputError(source, field, f"end before start: [{start!r}, {end!r}]")


def parse_label(value: Any, source: str, field: str) -> str:
    """The label string; other types raise."""
    if not isinstance(value, str):
        raise InputError(source, field, f"expected a string label, got {describe_value(value)}")
    return value
