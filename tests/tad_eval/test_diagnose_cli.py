"""``tad-eval diagnose``: report, report.json, plots, and the tad-eval command's input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "libs" / "tad-eval" / "examples"
TAD_EVAL = str(Path(sys.executable).parent / "tad-eval")
GT, PRED = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"


def diagnose(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TAD_EVAL, "diagnose", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def assert_bad_input(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tad-eval: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bundled_example_report_and_json(tmp_path):
    # Errors of the example at tIoU 0.5 (G = 1 or 2 per class): HighJump [50, 55] touches LongJump's
    # [45, 50] only (background); HighJump on Diving's [5, 9] (wrong label); LongJump [0, 3] vs [2, 8]
    # (tIoU 1/8, localization); Diving [25, 29] (background).
    out = tmp_path / "report" / "diagnosis.json"
    result = diagnose("--gt", GT, "--pred", PRED, "--dataset", "thumos14", "--out", out)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["settings"]["tiou_thresholds"] == [0.5] and document["settings"]["dataset"] == "thumos14"
    counts = [[entry[kind] for kind in ("true_positive", "wrong_label", "localization", "background")]
              for entry in document["false_positives"][:3]]  # fmt: skip
    assert counts == [[6, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]]
    assert document["average_mAP"] == pytest.approx(8 / 9)
    assert document["removal_gain"]["background"] > 0 and document["removal_gain"]["double_detection"] == 0
    assert [bucket["count"] for bucket in document["false_negatives"]["length"]] == [1, 6, 0, 0, 0]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tad-eval diagnose thumos14:") and "tIoU 0.5" in lines[0]
    assert lines[4].split() == [
        "part",
        "predictions",
        "TP",
        "double",
        "wrong",
        "local.",
        "confus.",
        "backgr.",
    ]
    assert lines[5].split() == ["1G", "7", "85.71", "0.00", "0.00", "0.00", "0.00", "14.29"]
    assert "  XS     ≤3 s                 1        0.00     100.00" in lines


def test_tiou_range_averages_the_profile(tmp_path):
    out = tmp_path / "report.json"
    result = diagnose(
        "--gt", GT, "--pred", PRED, "--dataset", "thumos14", "--tiou", "0.5:0.7:0.1", "--out", out
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["settings"]["tiou_thresholds"] == pytest.approx([0.5, 0.6, 0.7])
    assert len(document["false_positives_per_tiou"]) == 3 and len(document["mAP"]) == 3


def test_plot_writes_the_four_pngs(tmp_path):
    result = diagnose("--gt", GT, "--pred", PRED, "--dataset", "thumos14", "--plot", tmp_path / "plots")
    assert result.returncode == 0, result.stderr
    names = ("false_positive_profile.png", "false_negatives.png", "sensitivity.png", "precision_recall.png")
    for name in names:
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {tmp_path / 'plots' / name}" in result.stdout


def test_without_plot_matplotlib_is_not_imported():
    code = (
        "import sys; from tad_eval.cli import main; "
        f"code = main(['diagnose', '--gt', {str(GT)!r}, '--pred', {str(PRED)!r}, '--dataset', 'thumos14']); "
        "print('loaded:', [m for m in ('matplotlib', 'torch') if m in sys.modules]); sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "loaded: []" in result.stdout


def test_thumos_text_ground_truth_skips_coverage_with_a_warning(tmp_path, pred_json):
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "HighJump_test.txt").write_text("video_test_1 1.0 5.0\n")
    pred = pred_json({"video_test_1": [(1.0, 5.0, "HighJump", 0.9)]})
    result = diagnose("--gt", folder, "--pred", pred, "--dataset", "thumos14", "--out", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert "coverage analysis skipped" in result.stderr
    assert list(json.loads((tmp_path / "r.json").read_text())["false_negatives"]) == [
        "length",
        "num_instances",
    ]


@pytest.mark.parametrize(
    ("pred_payload", "extra", "fragments"),
    [
        ('{"results": {"v": [{"segment": [0, 1], "label": "A", "score": NaN}]}}', [],
         ["pred.json", "results['v'][0].score", "not a finite number"]),
        ('{"results": ', [], ["pred.json", "invalid JSON"]),
        ('{"results": {}}', ["--tiou", "0.5:0.9:0.3"], ["--tiou", "does not divide"]),
        ('{"results": {}}', ["--tiou", "1.5"], ["--tiou", "(0, 1]"]),
        ('{"results": {}}', ["--subset", "testing"], ["gt.json", "no videos in subset 'testing'"]),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_the_tad_eval_message(tmp_path, anet_gt, pred_payload, extra, fragments):
    gt = anet_gt({"v": [(0, 1, "A")]})
    (tmp_path / "pred.json").write_text(pred_payload)
    result = diagnose("--gt", gt, "--pred", tmp_path / "pred.json", "--dataset", "anet", *extra)
    assert_bad_input(result, *fragments)


@pytest.mark.parametrize(
    ("videos", "fragments"),
    [
        ({}, ["pred.json: results: no predictions: nothing to evaluate"]),
        ({"v_abc": [(0, 10, "A", 0.9)]},
         ["no prediction is on a ground-truth video: 1 predictions on 1 videos (e.g. 'v_abc')",
          "subset 'validation' (e.g. 'abc', 'def')"]),
    ],
)  # fmt: skip
def test_no_prediction_on_a_ground_truth_video_exits_2_as_in_tad_eval(
    tmp_path, anet_gt, pred_json, videos, fragments
):
    """Not a report of zeros: the tad-eval command's check and message."""
    gt = anet_gt({"abc": [(0, 10, "A")], "def": [(0, 10, "A")]})
    out = tmp_path / "report.json"
    result = diagnose("--gt", gt, "--pred", pred_json(videos), "--dataset", "anet", "--out", out)
    assert_bad_input(result, *fragments)
    assert result.stdout == "" and not out.exists()


def test_help_ends_with_examples_and_the_plain_command_still_works():
    result = diagnose("--help")
    assert result.returncode == 0 and "--plot" in result.stdout
    examples = result.stdout[result.stdout.index("examples:") :]
    assert examples.count("tad-eval diagnose --gt") == 3
    plain = subprocess.run([TAD_EVAL, "--help"], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and "tad-eval diagnose --help" in plain.stdout
