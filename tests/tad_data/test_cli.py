"""The ``tad-data`` command line: the convert subcommand, exit codes and one-line messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tad_data
from tad_data import load_annotations
from tad_data.cli import main


def test_convert_real_thumos_writes_annotation_and_class_list(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gt" / "thumos14_test.json"
    code = main(
        [
            "convert",
            "--dataset",
            "thumos14",
            "--src",
            str(shared_data / "thumos14" / "official_test_txt"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    converted = load_annotations(out)
    assert converted.num_instances == 3358 and len(converted.videos) == 212
    classes = (tmp_path / "gt" / "thumos14_test.classes.txt").read_text(encoding="utf-8").splitlines()
    assert len(classes) == 20 and classes[0] == "BaseballPitch"
    stdout = capsys.readouterr().out
    assert f"wrote {out}: 212 videos (validation 212), 3358 instances, 20 classes" in stdout


def test_convert_prints_every_file_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Diving_test.txt").write_text("video_test_1 1 2\n", encoding="utf-8")
    (tmp_path / "videos").mkdir()
    out = tmp_path / "anno.json"
    argv = ["convert", "--dataset", "thumos14", "--src", str(tmp_path / "Diving_test.txt")]
    assert main([*argv, "--videos", str(tmp_path / "videos"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {out}: 1 videos (validation 1), 1 instances, 1 classes in {tmp_path / 'anno.classes.txt'}",
        f"wrote {tmp_path / 'anno.missing.txt'}: 1 missing videos",
    ]


def test_convert_blocked_list_and_one_line_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    official = {
        "database": {
            "a": {
                "subset": "validation",
                "duration": 3.0,
                "annotations": [{"segment": [1, 4], "label": "x"}],
            },
            "b": {
                "subset": "validation",
                "duration": 3.0,
                "annotations": [{"segment": [1, 2], "label": "y"}],
            },
        }
    }
    (tmp_path / "activity_net.v1-3.min.json").write_text(json.dumps(official), encoding="utf-8")
    (tmp_path / "blocked.json").write_text('["b"]', encoding="utf-8")
    argv = ["convert", "--dataset", "anet", "--src", str(tmp_path / "activity_net.v1-3.min.json")]
    assert (
        main([*argv, "--blocked", str(tmp_path / "blocked.json"), "--out", str(tmp_path / "anno.json")]) == 0
    )
    assert list(load_annotations(tmp_path / "anno.json").videos) == ["a"]
    stderr = capsys.readouterr().err.splitlines()
    assert len(stderr) == 1
    assert (
        stderr[0].startswith("tad-data: warning: ") and "clipped" in stderr[0] and "a [1.0, 4.0]" in stderr[0]
    )


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--dataset", "thumos14", "--src", "{tmp}/absent"], ["no such file", "absent"]),
        (
            ["--dataset", "epic", "--src", "{tmp}/EPIC_100_train.csv"],
            ["EPIC_100_train.csv", "line 2", "'start_timestamp'", "'1:2'"],
        ),
        (
            ["--dataset", "anet", "--src", "{tmp}/broken.json"],
            ["broken.json", "line 1 column 14: invalid JSON"],
        ),
        (
            ["--dataset", "anet", "--src", "{tmp}/broken.json", "--blocked", "{tmp}/blocked.json"],
            ["blocked.json"],
        ),
        (
            ["--dataset", "anet", "--src", "{tmp}/deep.json"],
            ["deep.json: file: invalid JSON: nested too deeply"],
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    (tmp_path / "EPIC_100_train.csv").write_text(
        "video_id,start_timestamp,stop_timestamp,verb_class,noun_class\nP01_01,1:2,00:00:03.00,1,2\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.json").write_text('{"database": ', encoding="utf-8")
    (tmp_path / "blocked.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert main(["convert", *args, "--out", str(tmp_path / "out.json")]) == 2
    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1 and stderr[0].startswith("tad-data: error: ")
    for fragment in fragments:
        assert fragment in stderr[0]
    assert not (tmp_path / "out.json").exists()


def test_unwritable_output_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Diving_test.txt").write_text("video_test_1 1 2\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    argv = ["convert", "--dataset", "thumos14", "--src", str(tmp_path / "Diving_test.txt")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    assert (
        main(["synth", "--out", str(tmp_path / "a_file"), "--videos", "1", "--classes", "1", "--seed", "0"])
        == 2
    )
    stderr = capsys.readouterr().err.strip().splitlines()
    assert stderr == [
        f"tad-data: error: {tmp_path / 'out'}: Is a directory",
        f"tad-data: error: {tmp_path / 'a_file' / 'videos' / 'synth_0000.mp4'}: {tmp_path / 'a_file'} "
        "is not a folder",
    ]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["convert", "--dataset", "thumos14"])
    assert caught.value.code == 2
    assert "--src" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["convert", "--dataset", "thumos15", "--src", "x", "--out", "y"])
    assert caught.value.code == 2
    assert (
        "argument --dataset: unknown dataset 'thumos15'; did you mean 'thumos14'?" in capsys.readouterr().err
    )


@pytest.mark.parametrize("alias", ["THUMOS", "thumos14", "thumos-14"])
def test_convert_takes_dataset_aliases(tmp_path: Path, alias: str) -> None:
    (tmp_path / "Diving_test.txt").write_text("video_test_1 1 2\n", encoding="utf-8")
    argv = ["convert", "--dataset", alias, "--src", str(tmp_path / "Diving_test.txt")]
    assert main([*argv, "--out", str(tmp_path / "anno.json")]) == 0
    assert load_annotations(tmp_path / "anno.json").version == "THUMOS14"


@pytest.mark.parametrize("command", [[], ["convert"], ["probe"], ["synth"]])
def test_every_help_lists_real_examples_in_plain_text(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    examples = text.split("examples:\n")[1].splitlines()
    assert 2 <= len([line for line in examples if line.startswith("  tad-data ")]) <= 3
    assert "``" not in text and "-h, --help" in text
    if command == ["convert"]:
        assert "thumos14, activitynet13, epic-kitchens-100, ego4d-mq, multithumos, charades" in " ".join(
            text.split()
        )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.strip() == f"tad-data {tad_data.__version__}"


def test_console_script_is_installed_and_reports_without_traceback(tmp_path: Path) -> None:
    script = shutil.which("tad-data", path=str(Path(sys.executable).parent))
    assert script is not None, "tad-data console script missing: pip install -e libs/tad-data"
    result = subprocess.run(
        [
            script,
            "convert",
            "--dataset",
            "charades",
            "--src",
            str(tmp_path / "nothing.csv"),
            "--out",
            str(tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("tad-data: error: no such file") and "Traceback" not in result.stderr


def test_reading_and_converting_annotations_does_not_load_torch() -> None:
    code = "import sys, tad_data, tad_data.cli, tad_data.annotations; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
