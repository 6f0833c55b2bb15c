"""The command line: every flag checked when parsed, help for everything, and no torch for help/info/plan."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import tad_backbone
from tad_backbone.cli import build_parser, main


def _exit_code(argv: list[str]) -> int:
    """What the process would exit with: usage errors raise SystemExit inside argparse."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code)


def _unavailable_device() -> str:
    return "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"


PLAN = ["plan", "--arch", "s", "--frames", "768", "--img", "160"]
INFO = ["info", "--arch", "s"]
EXTRACT = ["extract", "--weights", "w.safetensors", "--frames", "f.npy", "--out", "o.npy"]
BAD = [
    ([*INFO, "--adapter-ratio", "-1"], "--adapter-ratio", "-1"),
    ([*INFO, "--adapter-ratio", "0"], "--adapter-ratio", "0"),
    ([*INFO, "--adapter-ratio", "1.5"], "--adapter-ratio", "1.5"),
    ([*INFO, "--adapter-ratio", "nan"], "--adapter-ratio", "nan"),
    ([*INFO, "--adapter-ratio", "0.001"], "--adapter-ratio", "0.001"),  # int(384 * 0.001) = 0 channels
    ([*INFO, "--adapter-index", "10:20"], "--adapter-index", "19"),  # S has 12 blocks
    ([*INFO, "--adapter-index", "5:3"], "--adapter-index", "5:3"),
    ([*INFO, "--adapter-index", "3,1"], "--adapter-index", "3,1"),
    ([*INFO, "--adapter-index=-1:4"], "--adapter-index", "-1:4"),
    ([*PLAN[:4], "-5000", *PLAN[5:]], "--frames", "-5000"),
    ([*PLAN[:4], "0", *PLAN[5:]], "--frames", "0"),
    ([*PLAN[:4], "1.5", *PLAN[5:]], "--frames", "1.5"),
    ([*PLAN[:6], "0"], "--img", "0"),
    ([*PLAN[:6], "8"], "--img", "8"),  # smaller than the 16 px patch
    ([*PLAN, "--batch", "0"], "--batch", "0"),
    ([*PLAN, "--length", "-1"], "--length", "-1"),
    ([*EXTRACT, "--device", "banana"], "--device", "banana"),
    ([*EXTRACT, "--device", "cpu:1"], "--device", "cpu:1"),
    ([*EXTRACT, "--device", _unavailable_device()], "--device", _unavailable_device()),
    ([*EXTRACT, "--batch-chunks", "0"], "--batch-chunks", "0"),
    ([*EXTRACT, "--length", "0"], "--length", "0"),
    (["convert", "--from", "opentad", "--arch", "s", "--img-size", "0", "a.pth", "b.st"], "--img-size", "0"),
]


@pytest.mark.parametrize(
    ("argv", "flag", "value"), BAD, ids=[f"{argv[0]} {flag} {value}" for argv, flag, value in BAD]
)
def test_bad_flag_values_exit_2_with_one_line_naming_flag_and_value(argv, flag, value, capsys) -> None:
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"tad-backbone {argv[0]}: error: argument {flag}: ")
    assert value in captured.err


def test_planned_and_counted_values_are_those_of_the_library(capsys) -> None:
    assert main([*PLAN, "--length", "384", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["peak_bytes"] > 0
    assert main([*INFO, "--adapter-ratio", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["adapter_params"] > 12 * 83_905


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def test_every_command_and_flag_is_described() -> None:
    parser = build_parser()
    for name, command in _subcommands(parser).items():
        assert command.description and len(command.description) > 40, name
        for action in command._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings}"


def test_help_ends_with_examples_that_parse(capsys) -> None:
    assert _exit_code(["--help"]) == 0
    text = capsys.readouterr().out
    examples = text[text.index("examples:") :].strip().splitlines()[1:]
    assert 2 <= len(examples) <= 3 and text.rstrip().endswith(examples[-1].strip())
    for line in examples:
        words = line.split()
        assert words[0] == "tad-backbone"
        build_parser().parse_args(words[1:])  # raises SystemExit on a wrong example


def test_version(capsys) -> None:
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out == f"tad-backbone {tad_backbone.__version__}\n"


HEAVY = ("torch", "timm", "einops", "safetensors")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["info", "--arch", "g", "--adapter-index", "20:40"],
        ["plan", "--arch", "g", "--frames", "1536", "--img", "224", "--adapter-index", "20:40", "--json"],
        ["plan", "--arch", "s", "--frames", "-1", "--img", "160"],
    ],
)
def test_help_info_and_plan_do_not_import_torch(argv) -> None:
    script = (
        "import sys\n"
        "from tad_backbone.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY', sorted(name for name in {HEAVY!r} if name in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines()[-1] == "HEAVY []"


def test_public_names_resolve_lazily_and_match_the_type_checking_imports() -> None:
    for name in tad_backbone.__all__:
        assert getattr(tad_backbone, name) is not None
    tree = ast.parse(Path(tad_backbone.__file__).read_text())
    (block,) = (node for node in tree.body if isinstance(node, ast.If))
    imported = {alias.name for node in block.body for alias in node.names}
    assert imported == set(tad_backbone.__all__) - {"__version__"}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        tad_backbone.nothing  # noqa: B018
