"""File input and output shared by every tad-* library (tad-eval is the one they all depend on).

Output: a result, annotation or checkpoint file is either the complete old file or the complete new
one, never a half-written mix: the content goes to a temporary file in the same directory, is flushed
to disk, and is renamed over the target (rename is atomic within one filesystem).

Input: JSON and text files are read with errors turned into :class:`~tad_eval.errors.InputError`
naming the file, so every caller reports bad input the same way.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tad_eval.errors import InputError

__all__ = ["atomic_write", "gc_paused", "read_json", "read_text"]

#: The process umask, read once at import (reading it means setting it, which is not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit, rename it over ``path``.

    Args:
        path: the final file. Its directory is created when missing.
        mode: ``"w"`` for text or ``"wb"`` for bytes.
        encoding: text encoding; ignored in binary mode.

    If the body raises, the temporary file is removed and ``path`` is left untouched. The new file
    gets the permissions a plain ``open`` would give it (``0o666`` minus the umask), not the private
    ``0o600`` of a temporary file.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_UMASK)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small containers.

    Parsing a prediction file creates hundreds of thousands of dicts and lists, none of them cyclic;
    without the pause the collector runs over all of them again and again, which doubles the time
    of ``json.loads`` on a 50 MB file.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of ``path``; a missing or undecodable file raises :class:`InputError`."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(path, "file", error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"byte {error.start}", "not UTF-8 text") from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse the JSON file ``path``; syntax errors raise :class:`InputError` with line and column."""
    text = read_text(path)
    try:
        with gc_paused():
            return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            path, f"line {error.lineno} column {error.colno}", f"invalid JSON: {error.msg}"
        ) from None
