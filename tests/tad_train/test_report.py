"""An experiment's result: its mAP beside the official row, the differences, and where it came from."""

from __future__ import annotations

import json

import pytest
import yaml

from tad_eval import InputError
from tad_train.cli import main
from tad_train.report import experiment_report, report_html, report_table

OFFICIAL = {"tiou": [0.3, 0.5, 0.7], "mAP": [83.90, 72.38, 48.27], "average": 69.03}


@pytest.fixture
def run(tmp_path):
    """A run folder and tad-eval's RESULT.json at THUMOS thresholds."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "summary.json").write_text(
        json.dumps(
            {
                "kind": "trained",
                "config_hash": "abc",
                "checkpoint": "run/checkpoints/last.pt",
                "checkpoint_sha256": "f00d",
                "train_seconds": 12.5,
                "versions": {"tad-train": "0.1.0"},
                "device": {"type": "cuda", "name": "NVIDIA H100", "processes": 2},
            }
        )
    )
    (folder / "config.yaml").write_text(yaml.safe_dump({"name": "thumos_s768", "dataset": "thumos14"}))
    result = tmp_path / "metrics.json"
    result.write_text(
        json.dumps(
            {
                "tiou_thresholds": [0.3, 0.4, 0.5, 0.6, 0.7],
                "mAP": [0.84, 0.79, 0.7, 0.6, 0.5],
                "average_mAP": 0.686,
                "per_class": {"A": [0.9, 0.8, 0.7, 0.6, 0.5]},
                "num_gt": 10,
                "num_pred": 99,
                "warnings": [],
            }
        )
    )
    return folder, result


def test_the_result_sits_beside_the_official_row_with_provenance(run) -> None:
    folder, result = run
    document = experiment_report("thumos_s768", result, folder, OFFICIAL, "pred.json", "1234abc")
    assert document["mAP"] == pytest.approx([84, 79, 70, 60, 50])
    assert document["difference"]["mAP"] == pytest.approx({"0.3": 0.1, "0.5": -2.38, "0.7": 1.73})
    assert document["difference"]["average"] == pytest.approx(68.6 - 69.03)
    provenance = document["provenance"]
    assert provenance["config"] == {"name": "thumos_s768", "dataset": "thumos14"}
    assert (provenance["commit"], provenance["checkpoint_sha256"], provenance["train_seconds"]) == (
        "1234abc",
        "f00d",
        12.5,
    )
    assert provenance["device"] == {"type": "cuda", "name": "NVIDIA H100", "processes": 2}
    assert document["per_class_ap"]["A"] == pytest.approx([90, 80, 70, 60, 50])


def test_tables_list_every_threshold_and_the_official_ones(run) -> None:
    folder, result = run
    document = experiment_report("thumos_s768", result, folder, OFFICIAL)
    lines = report_table(document).splitlines()
    assert lines[0] == "tIoU\tmAP (%)\tofficial (%)\tdifference"
    assert lines[1] == "0.3\t84.00\t83.90\t+0.10" and lines[2] == "0.4\t79.00\t\t"
    assert lines[-1] == "average\t68.60\t69.03\t-0.43"
    assert "<td>+0.10</td>" in report_html(document)
    without = experiment_report("demo", result, folder)
    assert report_table(without).splitlines()[0] == "tIoU\tmAP (%)" and without["difference"] is None


def test_a_result_that_is_not_tad_evals_is_named(run, tmp_path) -> None:
    folder, _ = run
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"mAP": [0.5]}))
    with pytest.raises(InputError, match=r"wrong.json: tiou_thresholds: missing: not a tad-eval RESULT.json"):
        experiment_report("x", wrong, folder)


@pytest.mark.parametrize(
    ("official", "message"),
    [
        ({"tiou": [0.3, 0.5], "mAP": [83.9, "high"]}, r"x: official.mAP\[1\]: not a number: 'high'"),
        (
            {"tiou": [0.3, 0.5], "mAP": [83.9, float("nan")]},
            r"x: official.mAP\[1\]: not a finite number: nan",
        ),
        (
            {"tiou": [0.3, 0.5, 0.7], "mAP": [83.9, 72.4]},
            r"x: official.mAP: 2 values for the 3 of official.tiou",
        ),
        ({"tiou": [0.3], "mAP": [83.9], "average": [69]}, r"x: official.average: not a number: \[69\]"),
        (
            {"tiou": [30], "mAP": [83.9]},
            r"x: official.tiou\[0\]: a tIoU threshold lies in \(0, 1\], got 30.0",
        ),
        ({"tiou": 0.3, "mAP": [83.9]}, r"x: official.tiou: expected a list of numbers, got 0.3"),
        ({"mAP": [83.9]}, r"x: official.tiou: missing"),
        ([0.3, 83.9], r"x: official: expected \{.*\}, got \[0.3, 83.9\]"),
    ],
)
def test_a_malformed_official_row_is_one_line_naming_the_field_and_value(run, official, message) -> None:
    folder, result = run
    with pytest.raises(InputError, match=message):
        experiment_report("x", result, folder, official)


def test_a_result_whose_lists_disagree_in_length_is_named(run, tmp_path) -> None:
    folder, result = run
    short = tmp_path / "short.json"
    short.write_text(json.dumps({**json.loads(result.read_text()), "mAP": [0.5, 0.4]}))
    with pytest.raises(InputError, match=r"short.json: mAP: 2 values for the 5 of tiou_thresholds"):
        experiment_report("x", short, folder)
    text = tmp_path / "text.json"
    text.write_text(json.dumps({**json.loads(result.read_text()), "average_mAP": "good"}))
    with pytest.raises(InputError, match=r"text.json: average_mAP: not a number: 'good'"):
        experiment_report("x", text, folder)


def _report_argv(folder, result, out) -> list[str]:
    return ["report", "--name", "x", "--eval", str(result), "--run", str(folder), "--out", str(out)]


def test_the_command_reports_a_bad_official_row_on_one_line(run, tmp_path, capsys) -> None:
    folder, result = run
    argv = _report_argv(folder, result, tmp_path / "r")
    assert main([*argv, "--official", '{"tiou": [0.3], "mAP": ["a"], "average": 1}']) == 2
    assert capsys.readouterr().err == "tad-train report: error: x: official.mAP[0]: not a number: 'a'\n"
    assert main([*argv, "--official", json.dumps(OFFICIAL)]) == 0
    assert "x: average mAP 68.60 (official 69.03, -0.43)" in capsys.readouterr().out


def test_an_error_that_is_not_about_the_input_is_not_reported_as_one(monkeypatch, run, tmp_path) -> None:
    """Only InputError, TadDataError and OSError mean bad input (exit 2); a bug keeps its traceback."""
    import tad_train.report

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("a bug")

    monkeypatch.setattr(tad_train.report, "experiment_report", broken)
    folder, result = run
    argv = _report_argv(folder, result, tmp_path / "r")
    with pytest.raises(ValueError, match="a bug"):
        main(argv)
