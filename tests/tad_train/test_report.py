"""An experiment's result: its mAP beside the official row, the differences, and where it came from."""

from __future__ import annotations

import json

import pytest
import yaml

from tad_eval import InputError
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
