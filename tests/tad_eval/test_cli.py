"""The tad-eval console script: table, RESULT.json, flags, and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tad_eval

EXAMPLES = Path(__file__).resolve().parents[2] / "libs" / "tad-eval" / "examples"
TAD_EVAL = str(Path(sys.executable).parent / "tad-eval")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TAD_EVAL, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def run_main_in_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def assert_bad_input(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tad-eval: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_bundled_demo_example_has_the_hand_computed_map(tmp_path):
    # HighJump: FP (no overlap), TP, TP, FP (wrong video)  -> AP 2/3 at every threshold.
    # LongJump: TP (0.83), [4,8] vs [2,8] tIoU 2/3, FP    -> AP 1, and 1/2 at 0.7.
    # Diving:  TP (0.875), tIoU exactly 0.6, TP (0.75), FP -> AP 1, and 1/3 + 1/3 * 2/3 = 5/9 at 0.7.
    out = tmp_path / "results" / "demo" / "tad_eval.json"
    result = run(
        "--gt", EXAMPLES / "thumos14_mini_gt.json", "--pred", EXAMPLES / "thumos14_mini_pred.json",
        "--dataset", "thumos14", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["tiou_thresholds"] == [0.3, 0.4, 0.5, 0.6, 0.7]
    expected = {"HighJump": [2 / 3] * 5, "LongJump": [1, 1, 1, 1, 1 / 2], "Diving": [1, 1, 1, 1, 5 / 9]}
    assert list(document["per_class"]) == list(expected)
    for label, values in expected.items():
        assert document["per_class"][label] == pytest.approx(values, abs=1e-15)
    assert document["mAP"] == pytest.approx([8 / 9] * 4 + [(2 / 3 + 1 / 2 + 5 / 9) / 3], abs=1e-15)
    assert document["average_mAP"] == pytest.approx(111.5 / 135, abs=1e-15)
    assert (document["num_gt"], document["num_pred"], document["warnings"]) == (7, 11, [])
    table = result.stdout.splitlines()
    assert table[1].split() == ["tIoU", "mAP", "(%)"]
    assert [line.split() for line in table[2:]] == [
        ["0.30", "88.89"], ["0.40", "88.89"], ["0.50", "88.89"], ["0.60", "88.89"], ["0.70", "57.41"],
        ["avg", "82.59"],
    ]  # fmt: skip


def test_result_json_schema_and_warnings_for_raw_and_cleaned(tmp_path, anet_gt, pred_json):
    gt = anet_gt({"v1": [(0, 10, "A"), (0, 10, "A"), (5, 5, "B")], "v2": [(0, 4, "B")]})
    pred = pred_json({"v1": [(0, 10, "A", 0.9)], "v2": [(0, 4, "B", 0.8), (0, 4, "Z", 0.7)], "v3": []})
    cleaned = run("--gt", gt, "--pred", pred, "--dataset", "anet", "--out", tmp_path / "clean.json")
    raw = run("--gt", gt, "--pred", pred, "--dataset", "anet", "--raw-gt", "--out", tmp_path / "raw.json")
    assert cleaned.returncode == raw.returncode == 0
    clean_doc = json.loads((tmp_path / "clean.json").read_text())
    raw_doc = json.loads((tmp_path / "raw.json").read_text())
    expected_keys = ["tiou_thresholds", "mAP", "average_mAP", "per_class", "num_gt", "num_pred", "warnings"]
    assert list(clean_doc) == list(raw_doc) == expected_keys
    assert clean_doc["tiou_thresholds"][8] == 0.8999999999999999 and len(clean_doc["mAP"]) == 10
    assert (clean_doc["num_gt"], raw_doc["num_gt"]) == (2, 4)
    assert clean_doc["average_mAP"] == 1.0 and clean_doc["num_pred"] == 2
    assert raw_doc["per_class"] == {"A": [0.5] * 10, "B": [0.5] * 10}
    assert all(0 <= value <= 1 for value in clean_doc["mAP"] + raw_doc["mAP"])
    assert clean_doc["warnings"] == [
        "ground truth: dropped 1 of 4 instances with end - start <= 0",
        "ground truth: dropped 1 of 4 instances duplicating an earlier one "
        "(same video and label, start and end within 0.001 s)",
        "predictions: ignored 1 predictions with 1 labels absent from the ground truth (e.g. 'Z')",
    ]
    assert "ground truth cleaned" in cleaned.stdout and "ground truth raw (--raw-gt)" in raw.stdout
    assert "tad-eval: warning: ground truth: dropped 1 of 4" in cleaned.stderr


def test_tiou_option_list_and_range_override_the_preset(tmp_path, anet_gt, pred_json):
    gt = anet_gt({"v": [(0, 10, "A")]})
    pred = pred_json({"v": [(0, 7, "A", 0.9)]})  # tIoU 0.7
    run("--gt", gt, "--pred", pred, "--dataset", "thumos14", "--subset", "validation", "--tiou", "0.7,0.71",
        "--out", tmp_path / "list.json")  # fmt: skip
    assert json.loads((tmp_path / "list.json").read_text())["mAP"] == [1.0, 0.0]
    run(
        "--gt",
        gt,
        "--pred",
        pred,
        "--dataset",
        "thumos14",
        "--tiou",
        "0.5:0.95:0.05",
        "--out",
        tmp_path / "r.json",
    )
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["tiou_thresholds"][8] == 0.8999999999999999 and document["mAP"][4:6] == [1.0, 0.0]


def test_blocked_videos_and_csv_predictions(tmp_path, anet_gt):
    gt = anet_gt({"v1": [(0, 10, "A")], "v2": [(0, 10, "A")]})
    (tmp_path / "blocked.txt").write_text("v2\n")
    (tmp_path / "pred.csv").write_text("video,start,end,label,score\nv1,0,10,A,0.9\nv2,50,60,A,0.95\n")
    result = run("--gt", gt, "--pred", tmp_path / "pred.csv", "--dataset", "anet", "--blocked",
                 tmp_path / "blocked.txt", "--out", tmp_path / "r.json")  # fmt: skip
    document = json.loads((tmp_path / "r.json").read_text())
    assert result.returncode == 0 and document["average_mAP"] == 1.0 and document["num_gt"] == 1
    assert document["warnings"] == [
        "predictions: ignored 1 predictions on 1 videos absent from the ground truth (e.g. 'v2')"
    ]


def test_thumos_text_ground_truth_and_ego4d_recall(tmp_path, pred_json):
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "Diving_test.txt").write_text("video_test_1 1.0 5.0\nvideo_test_1 10.0 14.0\n")
    (folder / "Ambiguous_test.txt").write_text("video_test_1 20 30\n")
    pred = pred_json(
        {"video_test_1": [(20, 30, "Diving", 0.9), (1, 5, "Diving", 0.8), (10, 14, "Diving", 0.1)]}
    )
    result = run("--gt", folder, "--pred", pred, "--dataset", "ego4d", "--subset", "test", "--out",
                 tmp_path / "r.json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    # Top 1 x 2 instances = 2 best predictions: [20,30] misses, [1,5] hits -> recall 1/2; top 5 x 2: 1.
    assert document["recall_at_k"] == {"1": [0.5] * 5, "5": [1.0] * 5}
    assert result.stdout.splitlines()[1].split() == ["tIoU", "mAP", "(%)", "R@1x", "(%)", "R@5x", "(%)"]


def test_proposals_flag_adds_ar_at_an(tmp_path, anet_gt, pred_json):
    gt = anet_gt({"v": [(0, 10, "A")]})
    pred = pred_json({"v": [(0, 10, "B", 0.9)] + [(50 + i, 60 + i, "B", 0.5 - i / 100) for i in range(9)]})
    result = run("--gt", gt, "--pred", pred, "--dataset", "anet", "--proposals", "--out", tmp_path / "r.json")
    document = json.loads((tmp_path / "r.json").read_text())
    assert result.returncode == 0 and document["average_mAP"] == 0.0  # the label is wrong ...
    assert document["proposals"]["AR@1"] == 1.0  # ... but as a proposal it is first and exact
    assert set(document["proposals"]) == {"AR@1", "AR@5", "AR@10", "AR@100", "AUC"}
    assert "AUC" in result.stdout


def test_default_subset_falls_back_to_the_only_subset(tmp_path, anet_gt, pred_json):
    gt = anet_gt({"v": [(0, 10, "A")]}, subset="training")
    result = run("--gt", gt, "--pred", pred_json({"v": [(0, 10, "A", 1)]}), "--dataset", "thumos14")
    assert result.returncode == 0 and "subset 'training'" in result.stdout


@pytest.mark.parametrize(
    ("subsets", "evaluated"),
    [
        ({"va": "Validation", "te": "Test"}, "test"),  # ActionFormer: "Validation" is THUMOS val (training)
        ({"va": "training", "te": "validation"}, "validation"),  # OpenTAD, tad-data: test is "validation"
    ],
)
def test_thumos14_default_subset_is_the_test_set_in_both_layouts(write_json, pred_json, subsets, evaluated):
    database = {
        video: {"subset": subset, "duration": 100.0, "annotations": [{"segment": [0, 10], "label": "A"}]}
        for video, subset in subsets.items()
    }
    gt = write_json("gt.json", {"database": database})
    result = run("--gt", gt, "--pred", pred_json({"te": [(0, 10, "A", 1)]}), "--dataset", "thumos14")
    assert result.returncode == 0, result.stderr
    assert f"subset {evaluated!r}" in result.stdout and "1 videos" in result.stdout
    assert result.stdout.count("100.00") == 6  # the test video's perfect prediction, at 5 tIoUs + average


def test_plot_writes_pngs_and_matplotlib_is_not_imported_without_it(tmp_path):
    gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
    result = run("--gt", gt, "--pred", pred, "--dataset", "thumos14", "--plot", tmp_path / "plots")
    assert result.returncode == 0, result.stderr
    for name in ("map_vs_tiou.png", "per_class_ap.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code = (
        "import sys; from tad_eval.cli import main; "
        f"code = main(['--gt', {str(gt)!r}, '--pred', {str(pred)!r}, '--dataset', 'thumos14']); "
        "print('loaded:', [m for m in ('matplotlib', 'torch') if m in sys.modules]); sys.exit(code)"
    )
    result = run_main_in_python(code)
    assert result.returncode == 0 and "loaded: []" in result.stdout


def test_plot_without_matplotlib_is_a_clear_error(tmp_path):
    gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.figure'] = None; "
        "from tad_eval.cli import main; "
        f"sys.exit(main(['--gt', {str(gt)!r}, '--pred', {str(pred)!r}, '--dataset', 'thumos14', "
        f"'--plot', {str(tmp_path)!r}]))"
    )
    assert_bad_input(run_main_in_python(code), "--plot", "tad-eval[plot]")


@pytest.mark.parametrize(
    ("gt_videos", "pred_payload", "extra", "fragments"),
    [
        ({"v": [(0, 1, "A")]}, '{"results": {"v": [{"segment": [0, 1], "label": "A", "score": NaN}]}}', [],
         ["pred.json", "results['v'][0].score", "not a finite number"]),
        ({"v": [(0, 1, "A")]}, '{"results": {"v": [{"segment": ["a", 1], "label": "A", "score": 1}]}}', [],
         ["pred.json", "results['v'][0].segment[0]", "not a number: 'a'"]),
        ({"v": [(0, 1, "A")]}, '{"results": {"v": [], "w": [{"segment": [0, 1], "label": "A"}]}}', [],
         ["results['w'][0].score: missing"]),
        ({"v": [(0, 1, "A")]}, '{"results": ', [], ["pred.json", "invalid JSON"]),
        ({"v": [(0, 1, "A")]}, '{"results": {}}', ["--subset", "testing"],
         ["gt.json", "subset", "no videos in subset 'testing'", "['validation']"]),
        ({"v": [(0, 1, "A")]}, '{"results": {}}', ["--tiou", "0.5:0.9:0.3"], ["--tiou", "does not divide"]),
        ({"v": [(0, 1, "A")]}, '{"results": {}}', ["--blocked", "missing.txt"], ["missing.txt", "file"]),
        ({"v": [(0, "x", "A")]}, '{"results": {}}', [],
         ["gt.json", "database['v'].annotations[0].segment[1]", "not a number: 'x'"]),
        ({"v": [(0, "Infinity", "A")]}, '{"results": {}}', [],
         ["gt.json", "database['v'].annotations[0].segment[1]", "not a finite number: 'Infinity'"]),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_naming_file_and_field(
    tmp_path, anet_gt, gt_videos, pred_payload, extra, fragments
):
    gt = anet_gt(gt_videos)
    (tmp_path / "pred.json").write_text(pred_payload)
    result = run("--gt", gt, "--pred", tmp_path / "pred.json", "--dataset", "anet", *extra, cwd=tmp_path)
    assert_bad_input(result, *fragments)


def test_missing_prediction_file_exits_2(tmp_path, anet_gt):
    result = run("--gt", anet_gt({"v": [(0, 1, "A")]}), "--pred", tmp_path / "nope.json", "--dataset", "anet")
    assert_bad_input(result, "nope.json", "file")


def test_output_path_that_is_a_folder_exits_2_naming_it(tmp_path):
    gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
    (tmp_path / "out").mkdir()
    result = run("--gt", gt, "--pred", pred, "--dataset", "thumos14", "--out", tmp_path / "out")
    assert_bad_input(result, f"{tmp_path / 'out'}: file: Is a directory")


def test_several_subsets_without_the_default_need_subset(tmp_path, write_json, pred_json):
    database = {"a": {"subset": "train", "annotations": []}, "b": {"subset": "dev", "annotations": []}}
    gt = write_json("gt.json", {"database": database})
    result = run("--gt", gt, "--pred", pred_json({}), "--dataset", "anet")
    assert_bad_input(result, "no videos in subset 'validation'", "['dev', 'train']")


def test_help_lists_canonical_datasets_and_ends_with_examples():
    result = run("--help")
    assert result.returncode == 0 and "--raw-gt" in result.stdout and "--plot" in result.stdout
    assert "thumos14, activitynet13, epic-kitchens-100, ego4d-mq, multithumos, charades" in " ".join(
        result.stdout.split()
    )
    examples = result.stdout.split("examples:\n")[1].splitlines()
    assert len([line for line in examples if line.startswith("  tad-eval ")]) == 3
    assert "``" not in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tad-eval {tad_eval.__version__}"


def test_dataset_aliases_are_accepted_and_unknown_names_suggest_the_closest(tmp_path, anet_gt, pred_json):
    gt, pred = anet_gt({"v": [(0, 10, "A")]}), pred_json({"v": [(0, 10, "A", 0.9)]})
    for name in ("activitynet13", "anet", "ActivityNet-1.3"):
        result = run("--gt", gt, "--pred", pred, "--dataset", name, "--out", tmp_path / "r.json")
        assert result.returncode == 0 and result.stdout.startswith("tad-eval activitynet13: ")
        assert len(json.loads((tmp_path / "r.json").read_text())["mAP"]) == 10
    result = run("--gt", gt, "--pred", pred, "--dataset", "activitynet12")
    assert result.returncode == 2 and "did you mean 'activitynet13'?" in result.stderr


def test_inverted_predictions_are_rejected_not_scored_as_hits(tmp_path, anet_gt, pred_json):
    # [1000, 1000 - L] against an instance of length L: intersection 0, union L - L - 0 = 0, tIoU 0/0 = NaN,
    # which passes every threshold in the official arithmetic: this file used to score 100 % mAP.
    gt = anet_gt({"v1": [(0, 10, "A")], "v2": [(5, 25, "A")]})
    pred = pred_json({"v1": [(1000, 990, "A", 0.9)], "v2": [(1000, 980, "A", 0.8)]})
    result = run("--gt", gt, "--pred", pred, "--dataset", "anet", "--out", tmp_path / "r.json")
    assert_bad_input(result, "pred.json: results['v1'][0].segment: end before start: [1000.0, 990.0]")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("videos", "fragments"),
    [
        ({}, ["pred.json: results: no predictions: nothing to evaluate"]),
        ({"v_abc": [(0, 10, "A", 0.9)], "v_def": []},
         ["no prediction is on a ground-truth video: 1 predictions on 1 videos (e.g. 'v_abc')",
          "none of the 2 videos of", "subset 'validation' (e.g. 'abc', 'def')"]),
    ],
)  # fmt: skip
def test_no_prediction_on_a_ground_truth_video_exits_2(anet_gt, pred_json, videos, fragments):
    gt = anet_gt({"abc": [(0, 10, "A")], "def": [(0, 10, "A")]})
    assert_bad_input(run("--gt", gt, "--pred", pred_json(videos), "--dataset", "anet"), *fragments)


def test_deeply_nested_json_exits_2_with_one_line(tmp_path, anet_gt):
    (tmp_path / "pred.json").write_text('{"results": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run("--gt", anet_gt({"v": [(0, 1, "A")]}), "--pred", tmp_path / "pred.json", "--dataset", "anet")
    assert_bad_input(result, "pred.json: file: invalid JSON: nested too deeply")


def test_output_below_a_file_says_the_parent_is_not_a_folder(tmp_path):
    gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
    (tmp_path / "blocker").write_text("a file")
    result = run(
        "--gt", gt, "--pred", pred, "--dataset", "thumos14", "--out", tmp_path / "blocker" / "r.json"
    )
    assert_bad_input(
        result, f"{tmp_path / 'blocker' / 'r.json'}: file: {tmp_path / 'blocker'} is not a folder"
    )


def test_reference_values_are_drawn_beside_the_curve(tmp_path, monkeypatch):
    """--reference puts a second line (e.g. the official row) in map_vs_tiou.png."""
    from tad_eval import plot
    from tad_eval.cli import main

    drawn = []
    original = plot._map_curve

    def spy(result, reference):
        drawn.append(reference)
        return original(result, reference)

    monkeypatch.setattr(plot, "_map_curve", spy)
    gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
    argv = ["--gt", str(gt), "--pred", str(pred), "--dataset", "thumos14", "--plot", str(tmp_path)]
    assert main([*argv, "--reference", "0.3=83.90,0.5=72.38"]) == 0
    assert drawn == [{0.3: 83.9, 0.5: 72.38}]
    assert (tmp_path / "map_vs_tiou.png").read_bytes()[:4] == b"\x89PNG"
    bad = run("--gt", gt, "--pred", pred, "--dataset", "thumos14", "--reference", "0.5:72")
    assert bad.returncode == 2 and "expected THRESHOLD=mAP pairs" in bad.stderr
