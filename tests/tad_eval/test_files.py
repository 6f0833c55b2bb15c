"""Atomic output and the import contract (numpy only: no torch, no matplotlib)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tad_eval import atomic_write


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
    import os

    with atomic_write(tmp_path / "atomic.json") as handle:
        handle.write("{}")
    (tmp_path / "plain.json").write_text("{}")
    assert os.stat(tmp_path / "atomic.json").st_mode == os.stat(tmp_path / "plain.json").st_mode
