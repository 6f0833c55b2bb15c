"""Where a process runs: what starting the command loads, its device, its random streams."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from tad_backbone import read_checkpoint
from tad_eval import InputError
from tad_train import build_model, load_config, setup_runtime, write_checkpoint
from tad_train.cli import main
from tad_train.runtime import capture_rng, restore_rng


def test_the_package_its_command_and_report_start_without_torch() -> None:
    code = (
        "import sys, tad_train, tad_train.cli, tad_train.report; tad_train.cli._parser(); "
        "print('torch' in sys.modules)"
    )
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
    assert error.count("\n") == 1 and f"{tiny_yaml}: {problem}" in error


def test_infer_refuses_a_head_of_another_class_count_before_predicting(
    tiny_yaml, synthetic_root, tmp_path, capsys
) -> None:
    sets = ["--set", f"data.root={synthetic_root}", "--set", "head.num_classes=5"]
    model = build_model(load_config(tiny_yaml, sets[1::2]), pretrained=False)
    write_checkpoint(tmp_path / "five.pt", {"model": model.state_dict(), "ema": None})
    out = tmp_path / "predictions.json"
    argv = ["infer", str(tiny_yaml), *sets, "--checkpoint", str(tmp_path / "five.pt"), "--weights", "model"]
    assert main([*argv, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "head.num_classes: 5, but" in error and "has 3 classes" in error
    assert not out.exists()


def test_the_random_streams_continue_where_they_were_captured(tmp_path) -> None:
    cpu = torch.device("cpu")
    write_checkpoint(tmp_path / "rng.pt", {"rng": [capture_rng(cpu)]})
    drawn = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002 - the global stream itself
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    torch.manual_seed(7)
    (state,) = read_checkpoint(tmp_path / "rng.pt")["rng"]  # torch.load(weights_only=True)
    restore_rng(state, cpu)
    again = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert drawn[:2] == again[:2] and torch.equal(drawn[2], again[2])
    assert state["cuda"] is None  # a CPU process has no CUDA stream to restore
