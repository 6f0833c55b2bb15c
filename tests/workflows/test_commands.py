"""The command lines the rules render (`snakemake -n -p`) are ones the library commands accept."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from tad_data.cli import build_parser
from tad_eval.cli import main as tad_eval_main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "libs" / "tad-eval" / "examples"


def rendered_commands(output: str) -> dict[str, list[str]]:
    """The shell command of every job a `snakemake -n -p` run printed, by rule name."""
    commands: dict[str, list[str]] = {}
    rule = None
    for line in output.splitlines():
        started = re.match(r"(?:local)?rule (\w+):$", line)
        if started:
            rule = started.group(1)
        elif line.startswith("Shell command: ") and rule is not None:
            commands.setdefault(rule, []).append(line.removeprefix("Shell command: "))
    return commands


def arguments_before_redirection(command: str) -> list[str]:
    """The program and its arguments: the words of a command line before its first `>`."""
    words = shlex.split(command)
    return words[: words.index(">")]


def test_the_video_check_passes_the_prefix_even_when_it_is_empty(
    snakemake, placeholder_root: Path, tmp_path: Path
) -> None:
    # THUMOS'14 videos have no file-name prefix, ActivityNet's are named v_<id>.
    probes = {"thumos14": "", "activitynet13": "v_"}
    targets = [f"resources/data/{data}/probe.txt" for data in probes]
    result = snakemake(tmp_path, "-n", "-p", *targets, "--config", f"data_root={placeholder_root}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = rendered_commands(result.stdout)["check_videos"]
    assert len(commands) == len(probes)
    for command in commands:
        program, *arguments = arguments_before_redirection(command)
        assert program == "tad-data"
        parsed = build_parser().parse_args(arguments)  # argparse exits 2 on a flag without its value
        data = Path(parsed.anno).parent.name
        assert parsed.command == "probe" and parsed.prefix == probes[data], command


def test_an_empty_test_subset_of_your_own_experiment_reaches_tad_eval_as_a_value(
    snakemake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = {
        "dataset": "thumos14",
        "data": {"root": str(EXAMPLES), "annotations": "thumos14_mini_gt.json", "test_subset": ""},
    }
    experiment_file = tmp_path / "mine.yaml"
    experiment_file.write_text(yaml.safe_dump(experiment))
    target = "results/custom/metrics/mine.json"
    result = snakemake(tmp_path, "-n", "-p", target, "--config", f"experiment={experiment_file}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [command] = rendered_commands(result.stdout)["custom_evaluate"]
    program, *arguments = arguments_before_redirection(command)
    assert program == "tad-eval"
    predictions = tmp_path / "results" / "custom" / "mine" / "predictions.json"
    predictions.parent.mkdir(parents=True)
    shutil.copy(EXAMPLES / "thumos14_mini_pred.json", predictions)
    monkeypatch.chdir(tmp_path)
    # tad-eval names the empty subset; a bare `--subset` would have taken no value (argparse: exit 2).
    assert tad_eval_main(arguments) == 2
    assert "no videos in subset ''" in capsys.readouterr().err


def test_your_experiment_is_scored_on_the_subset_tad_train_evaluates(snakemake, tmp_path: Path) -> None:
    experiment = {
        "dataset": "thumos14",
        "data": {"root": str(EXAMPLES), "annotations": "thumos14_mini_gt.json", "test_subset": "validation"},
        "evaluation": {"subset": "test"},  # wins over data.test_subset, as in ExperimentConfig.eval_subset
    }
    experiment_file = tmp_path / "mine.yaml"
    experiment_file.write_text(yaml.safe_dump(experiment))
    target = "results/custom/metrics/mine.json"
    result = snakemake(tmp_path, "-n", "-p", target, "--config", f"experiment={experiment_file}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [command] = rendered_commands(result.stdout)["custom_evaluate"]
    assert "--subset=test" in arguments_before_redirection(command)


def test_training_and_inference_start_through_the_same_launcher(
    snakemake, placeholder_root: Path, tmp_path: Path
) -> None:
    # thumos_s768 trained on two GPUs: both rules start two processes the same way, with one interpreter.
    target = "results/train/thumos_s768/predictions.json"
    result = snakemake(tmp_path, "-n", "-p", target, "--config", f"data_root={placeholder_root}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = rendered_commands(result.stdout)
    for rule in ("train", "infer"):
        [command] = commands[rule]
        words = arguments_before_redirection(command)
        assert words[:4] == [str(REPO / "scripts" / "tad-train-job"), "--nproc-per-task", "2", rule], command
