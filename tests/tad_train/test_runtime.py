"""Where a process runs: what starting the command loads, its device, its random streams."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from tad_eval import InputError
from tad_train import setup_runtime
from tad_train.cli import main


def test_the_package_its_command_and_report_start_without_torch() -> None:
    code = "import sys, tad_train, tad_train.cli, tad_train.report; print('torch' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_cuda_on_a_machine_without_it_is_one_line_naming_the_field(
    tiny_yaml, synthetic_root, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    problem = "trainer.device: cuda, but no CUDA device is available"
    with pytest.raises(InputError, match=rf"^exp\.yaml: {problem}"):
        setup_runtime("cuda", "exp.yaml")
    sets = ["--set", f"data.root={synthetic_root}", "--set", "trainer.device=cuda"]
    assert main(["train", str(tiny_yaml), *sets, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and problem in error
