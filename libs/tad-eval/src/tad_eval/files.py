"""File input and output shared by every tad-* library (tad-eval is the one they all depend on).

Output: a result, annotation or checkpoint file is either the complete old file or the complete new
one, never a half-written mix: the content goes to a temporary file ``.NAME.<n>.tmp`` in the same
folder, is flushed to disk, and is renamed over the target (rename is atomic within one filesystem).
Files that belong together (an annotation file and its class list) are written by
:func:`atomic_write_all`: every temporary is complete before the first rename. A failure names the
target, never the temporary, and a target whose folder cannot exist says which part of the path is
a file.

A temporary is locked (``flock``) by its writer until the rename, and the lock dies with the
process, so a temporary left by a killed write is recognised: the next write to the same target
removes it. Only names of exactly that pattern whose lock is free are ever removed. Where there is no
``fcntl`` (Windows), writes are just as atomic but unlocked, and a left-over temporary stays.

Input: JSON and text files are read with errors turned into :class:`~tad_eval.errors.InputError`
naming the file, so every caller reports bad input the same way.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
from collections.abc import Iterator, Sequence
from typing import IO, Any

from tad_eval.errors import InputError

try:
    import fcntl
except ImportError:  # Windows: without flock a dead writer's temporary cannot be told from a live one's,
    fcntl = None  # so temporaries are neither locked nor cleaned up (tad-eval is used there on its own)

__all__ = ["atomic_write", "atomic_write_all", "gc_paused", "read_json", "read_text"]

#: The process umask, read once at import (reading it means setting it, which is not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit, rename it over ``path``.

    Args:
        path: the final file. Its folder is created when missing.
        mode: ``"w"`` for text or ``"wb"`` for bytes.
        encoding: text encoding; ignored in binary mode.

    If the body raises, the temporary file is removed and ``path`` is left untouched. The new file
    gets the permissions a plain ``open`` would give it (``0o666`` minus the umask), not the private
    ``0o600`` of a temporary file.

    Raises:
        OSError: the file cannot be written; ``filename`` is ``path`` (not the temporary file), and a
            parent that is a file gives ``NotADirectoryError`` naming it.
    """
    with atomic_write_all([path], mode, encoding) as (handle,):
        yield handle


@contextlib.contextmanager
def atomic_write_all(
    paths: Sequence[PathLike], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[list[IO[Any]]]:
    """Write several files that belong together: all of them are replaced, or none is.

    Opens one temporary file per path (handles in the order of ``paths``). On a clean exit every
    temporary is flushed to disk first and only then renamed over its path, so a failure while
    writing (a full disk, a read-only or missing folder, an exception in the body) leaves every path
    untouched and removes every temporary. Before the first rename every target is checked not to be
    a folder; other rename failures do not happen in practice (each temporary already sits beside its
    target), and if one did, the files renamed before it would stay.

    Args:
        paths: the final files (distinct). Their folders are created when missing.
        mode: ``"w"`` for text or ``"wb"`` for bytes.
        encoding: text encoding; ignored in binary mode.

    Raises:
        OSError: as :func:`atomic_write`, naming the target concerned.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    targets = [os.fspath(path).rstrip("/") or os.fspath(path) for path in paths]  # out/ means out
    if len(set(targets)) != len(targets):
        raise ValueError(f"atomic_write_all: a path is given twice: {targets}")
    opened: list[tuple[int | None, str, str]] = []  # (descriptor, temporary, target), not yet renamed
    handles: list[IO[Any]] = []
    text_encoding = None if "b" in mode else encoding
    target = ", ".join(targets)  # what an error names: the target at hand, else all of them
    try:
        for target in targets:
            _create_parent(target)
            descriptor, temporary = _open_temporary(target)
            opened.append((descriptor, temporary, target))
            handles.append(os.fdopen(descriptor, mode, encoding=text_encoding, closefd=False))
        target = ", ".join(targets)
        yield handles
        for index, handle in enumerate(handles):
            descriptor, temporary, target = opened[index]
            handle.close()  # flushes; the descriptor stays open and keeps the lock until the rename
            os.fsync(descriptor)
            _make_public(descriptor, temporary)
            if fcntl is None:  # no lock to keep, and Windows renames or removes no open file
                os.close(descriptor)
                opened[index] = (None, temporary, target)
        for _, _, target in opened:  # a folder in the way is what makes a rename fail: check them all first
            if os.path.isdir(target):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", target)
        while opened:
            descriptor, temporary, target = opened[0]
            os.replace(temporary, target)
            opened.pop(0)
            _close(descriptor)
    except OSError as error:
        temporaries = {temporary for _, temporary, _ in opened}
        if error.filename is not None and error.filename not in temporaries:
            raise  # about another file: a folder that cannot be created, an input read in the body
        raise OSError(error.errno, error.strerror, target) from None
    finally:
        for handle in handles:
            with contextlib.suppress(OSError):
                handle.close()
        for descriptor, temporary, _ in opened:
            if fcntl is None:
                _close(descriptor)
                descriptor = None
            with contextlib.suppress(OSError):
                os.unlink(temporary)  # then release the lock: no other writer's file of that name is removed
            _close(descriptor)


def _make_public(descriptor: int, temporary: str) -> None:
    """Give the temporary the permissions of a plain ``open`` (by descriptor where the system can)."""
    os.chmod(descriptor if os.chmod in os.supports_fd else temporary, 0o666 & ~_UMASK)


def _close(descriptor: int | None) -> None:
    if descriptor is not None:
        os.close(descriptor)


def _create_parent(target: str) -> None:
    """Create the folder of ``target``; a path component that is a file is named in the error."""
    parent = os.path.dirname(target) or "."
    try:
        os.makedirs(parent, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = parent  # the first part of the path that exists is a file
        while blocker and not os.path.lexists(blocker):
            blocker = os.path.dirname(blocker)
        raise NotADirectoryError(errno.ENOTDIR, f"{blocker or parent} is not a folder", target) from None


def _open_temporary(target: str) -> tuple[int, str]:
    """Create and lock ``.NAME.<n>.tmp`` beside ``target`` for the first ``n`` not in use.

    A temporary of that name whose lock is free belongs to a write that died: it is removed and its
    name reused.
    """
    folder, name = os.path.split(target)
    slot = 0
    while True:
        temporary = os.path.join(folder, f".{name}.{slot}.tmp")
        try:  # os.open's descriptors are never inherited (PEP 446): no O_CLOEXEC, which Windows lacks
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if not _remove_if_abandoned(temporary):
                slot += 1
            continue
        except OSError as error:  # a read-only filesystem, a full disk: the target cannot be written
            raise OSError(error.errno, error.strerror, target) from None
        # A cleaner may have removed the new file between its creation and the lock: check it is still ours.
        if _lock(descriptor) and _same_file(descriptor, temporary):
            return descriptor, temporary
        os.close(descriptor)
        slot += 1


def _lock(descriptor: int) -> bool:
    """Take the exclusive lock without waiting; True also where the filesystem or system has no locks."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # no lock support (some network filesystems): nothing can be protected or cleaned
        return True
    return True


def _remove_if_abandoned(temporary: str) -> bool:
    """Remove ``temporary`` if no live writer holds its lock; True when the name is free again."""
    if fcntl is None:
        return False
    try:  # read-write: network filesystems emulate flock with write locks
        descriptor = os.open(temporary, os.O_RDWR)
    except FileNotFoundError:
        return not os.path.lexists(temporary)  # gone; or a dangling link, which is not ours to remove
    except OSError:
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live writer, or locks unsupported: leave it alone
            return False
        if _same_file(descriptor, temporary):
            try:
                os.unlink(temporary)
            except OSError:  # not ours to remove (another user's file in a shared folder)
                return False
        return True
    finally:
        os.close(descriptor)


def _same_file(descriptor: int, path: str) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


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


def read_text(path: PathLike) -> str:
    """The UTF-8 text of ``path``; a missing or undecodable file raises :class:`InputError`.

    Line ends are kept as they are (readers split with ``splitlines`` or the csv module, which take
    ``\\r\\n`` too); decoding the bytes at once is faster than text mode and gives true byte offsets.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except OSError as error:
        raise InputError(path, "file", error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"byte {error.start}", "not UTF-8 text") from None


def read_json(path: PathLike) -> Any:
    """Parse the JSON file ``path``; syntax errors raise :class:`InputError` with line and column.

    JSON nested deeper than Python's recursion limit (about 1000 levels) is an :class:`InputError`
    too, not a ``RecursionError``.
    """
    text = read_text(path)
    try:
        with gc_paused():
            return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            path, f"line {error.lineno} column {error.colno}", f"invalid JSON: {error.msg}"
        ) from None
    except RecursionError:
        raise InputError(path, "file", "invalid JSON: nested too deeply to read") from None
