"""Atomic output and the import contract (numpy only: no torch, no matplotlib)."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import subprocess
import sys

import pytest

from tad_eval import InputError, atomic_write
from tad_eval.files import atomic_write_all, read_json


def test_atomic_write_replaces_the_file_only_on_success(tmp_path):
    target = tmp_path / "deep" / "result.json"
    with atomic_write(target) as handle:
        handle.write("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_atomic_write_binary_and_bad_mode(tmp_path):
    with atomic_write(tmp_path / "x.bin", "wb") as handle:
        handle.write(b"\x00\x01")
    assert (tmp_path / "x.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="mode must be"), atomic_write(tmp_path / "y", "a"):
        pass


def test_import_loads_neither_torch_nor_matplotlib():
    code = (
        "import sys, tad_eval, tad_eval.cli; print([m for m in ('torch', 'matplotlib') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_atomic_write_gives_the_permissions_of_a_plain_open(tmp_path):
    with atomic_write(tmp_path / "atomic.json") as handle:
        handle.write("{}")
    (tmp_path / "plain.json").write_text("{}")
    assert os.stat(tmp_path / "atomic.json").st_mode == os.stat(tmp_path / "plain.json").st_mode


def test_write_errors_name_the_target_not_the_temporary(tmp_path, monkeypatch):
    real_open = os.open

    def read_only_filesystem(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only_filesystem)
    with pytest.raises(OSError, match="Read-only file system") as caught, atomic_write(tmp_path / "r.json"):
        pass
    assert caught.value.filename == str(tmp_path / "r.json")


def test_a_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(NotADirectoryError) as caught, atomic_write(tmp_path / "blocker" / "deep" / "r.json"):
        pass
    assert caught.value.filename == str(tmp_path / "blocker" / "deep" / "r.json")
    assert caught.value.strerror == f"{tmp_path / 'blocker'} is not a folder"


def test_a_temporary_left_by_a_killed_write_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "r.json"
    killed = (
        "import os, signal, sys; from tad_eval import atomic_write\n"
        "with atomic_write(sys.argv[1]) as handle:\n"
        "    handle.write('half'); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", killed, str(target)], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.json.0.tmp"]
    with atomic_write(target) as handle:
        handle.write("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"] and target.read_text() == "whole"


def test_only_abandoned_temporaries_of_the_own_pattern_are_removed(tmp_path):
    live = tmp_path / ".r.json.0.tmp"  # a concurrent writer's temporary: its lock is held
    live.write_text("being written")
    others = [".r.json.backup.tmp", "r.json.1.tmp", ".other.json.1.tmp", ".r.json.1.tmp.keep"]
    for name in others:
        (tmp_path / name).write_text("not a temporary of r.json")
    with open(live) as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with atomic_write(tmp_path / "r.json") as handle:
            assert (tmp_path / ".r.json.1.tmp").exists()  # the next free name, not the live one
            handle.write("new")
    assert live.read_text() == "being written"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".r.json.0.tmp", "r.json", *others])


_WINDOWS_LIKE = """
import os, sys
# What Windows lacks: fcntl, os.fchmod (chmod by descriptor), O_CLOEXEC; and it renames or removes no
# file that is still open.
sys.modules["fcntl"] = None  # import fcntl raises ImportError
del os.fchmod, os.O_CLOEXEC
os.supports_fd.discard(os.chmod)
open_paths, real_open, real_close = {}, os.open, os.close
real_replace, real_unlink = os.replace, os.unlink

def tracked_open(path, flags, mode=0o777):
    descriptor = real_open(path, flags, mode)
    open_paths[descriptor] = os.fspath(path)
    return descriptor

def tracked_close(descriptor):
    open_paths.pop(descriptor, None)
    real_close(descriptor)

def refuse_if_open(real):
    def call(path, *args):
        if os.fspath(path) in open_paths.values():
            raise PermissionError(13, "The process cannot access the file", path)
        return real(path, *args)
    return call

os.open, os.close = tracked_open, tracked_close
os.replace, os.unlink = refuse_if_open(real_replace), refuse_if_open(real_unlink)

import tad_eval, tad_eval.cli
from tad_eval.files import atomic_write, atomic_write_all
folder = sys.argv[1]
with atomic_write(os.path.join(folder, "r.json")) as handle:
    handle.write("whole")
try:
    with atomic_write(os.path.join(folder, "r.json")) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
except RuntimeError:
    pass
with atomic_write_all([os.path.join(folder, "anno.json"), os.path.join(folder, "anno.classes.txt")]) as pair:
    pair[0].write("{}")
    pair[1].write("A\\n")
print("open descriptors:", len(open_paths))
"""


def test_atomic_write_works_without_fcntl_and_fchmod(tmp_path):
    """As on Windows: ``import tad_eval`` works and writes are atomic, unlocked; a left-over temporary
    (which no lock can show to be abandoned) is kept and the next name is used."""
    (tmp_path / ".r.json.0.tmp").write_text("left over")
    result = subprocess.run(
        [sys.executable, "-c", _WINDOWS_LIKE, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "open descriptors: 0\n"
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [".r.json.0.tmp", "anno.classes.txt", "anno.json", "r.json"]
    assert (tmp_path / "r.json").read_text() == "whole"
    assert (tmp_path / "anno.classes.txt").read_text() == "A\n"
    assert (tmp_path / ".r.json.0.tmp").read_text() == "left over"
    (tmp_path / "plain.json").write_text("{}")
    assert os.stat(tmp_path / "r.json").st_mode == os.stat(tmp_path / "plain.json").st_mode


def test_atomic_write_all_writes_every_file_or_none(tmp_path):
    pair = [tmp_path / "anno.json", tmp_path / "anno.classes.txt"]
    with atomic_write_all(pair) as (annotations, classes):
        annotations.write("{}")
        classes.write("A\n")
    assert [path.read_text() for path in pair] == ["{}", "A\n"]
    with pytest.raises(RuntimeError), atomic_write_all(pair) as (annotations, classes):
        annotations.write("new")
        raise RuntimeError("the class list could not be made")
    (tmp_path / "blocker").write_text("a file")
    with (
        pytest.raises(NotADirectoryError),
        atomic_write_all([pair[0], tmp_path / "blocker" / "x.txt"]) as files,
    ):
        files[0].write("new")
    (tmp_path / "folder").mkdir()  # in the way of the second file's rename: the first is not renamed either
    with (
        pytest.raises(IsADirectoryError) as caught,
        atomic_write_all([pair[0], tmp_path / "folder"]) as files,
    ):
        files[0].write("new")
    assert caught.value.filename == str(tmp_path / "folder")
    assert [path.read_text() for path in pair] == ["{}", "A\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "anno.classes.txt",
        "anno.json",
        "blocker",
        "folder",
    ]


def test_json_nested_too_deeply_is_an_input_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="deep.json: file: invalid JSON: nested too deeply"):
        read_json(path)
