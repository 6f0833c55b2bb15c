"""``tad-head fuse`` end to end through the console script: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tad_head
from tad_eval import Predictions, load_predictions
from tad_head import fuse_classifier, load_classifier

TAD_HEAD = str(Path(sys.executable).parent / "tad-head")

RAW = {
    "results": {
        "v1": [
            {"segment": [1.0, 5.5], "label": "action", "score": 0.8},
            {"segment": [10.0, 12.0], "label": "action", "score": 0.25},
        ],
        "v2": [{"segment": [0.5, 3.0], "label": "action", "score": 0.5}],
    }
}
CUHK = {
    "results": {"v1": [0.1, 0.6, 0.3], "v2": [0.7, 0.05, 0.25], "v3": [1, 0, 0]},
    "class": ["Run", "Jump", "Swim"],
}


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def _fuse(
    tmp_path: Path, *extra: str, raw: object = RAW, classifier: object = CUHK
) -> subprocess.CompletedProcess:
    pred = _write(tmp_path / "raw.json", raw) if not isinstance(raw, Path) else raw
    cls = _write(tmp_path / "cls.json", classifier) if not isinstance(classifier, Path) else classifier
    command = [
        TAD_HEAD,
        "fuse",
        "--pred",
        str(pred),
        "--classifier",
        str(cls),
        "--out",
        str(tmp_path / "fused.json"),
    ]
    return subprocess.run([*command, *extra], capture_output=True, text=True, timeout=120)


def test_product_mode_cuhk(tmp_path: Path) -> None:
    run = _fuse(tmp_path, "--topk", "2", "--mode", "product")
    assert run.returncode == 0, run.stderr
    fused = json.loads((tmp_path / "fused.json").read_text())["results"]
    assert [(e["label"], e["segment"]) for e in fused["v1"]] == [
        ("Jump", [1.0, 5.5]),
        ("Jump", [10.0, 12.0]),
        ("Swim", [1.0, 5.5]),
        ("Swim", [10.0, 12.0]),
    ]
    assert [e["score"] for e in fused["v1"]] == pytest.approx([0.8 * 0.6, 0.25 * 0.6, 0.8 * 0.3, 0.25 * 0.3])
    assert [(e["label"], e["score"]) for e in fused["v2"]] == [("Run", pytest.approx(0.35)), ("Swim", 0.125)]
    assert "v3" not in fused  # classifier-only videos are not invented
    assert len(load_predictions(tmp_path / "fused.json")) == 6  # readable as tad-eval predictions


def test_sqrt_mode_with_classes_key_and_softmax(tmp_path: Path) -> None:
    classifier = {
        "results": {"v1": [2.0, 0.0, 1.0], "v2": [0.0, 3.0, 0.0]},
        "classes": ["Run", "Jump", "Swim"],
    }
    run = _fuse(tmp_path, "--topk", "1", "--mode", "sqrt", "--softmax", classifier=classifier)
    assert run.returncode == 0, run.stderr
    fused = json.loads((tmp_path / "fused.json").read_text())["results"]
    top = math.exp(2) / (math.exp(2) + 1 + math.exp(1))
    assert [(e["label"], e["score"]) for e in fused["v1"]] == [
        ("Run", pytest.approx(math.sqrt(0.8 * top))),
        ("Run", pytest.approx(math.sqrt(0.25 * top))),
    ]
    assert fused["v2"][0]["label"] == "Jump"


def test_csv_predictions_are_accepted(tmp_path: Path) -> None:
    csv = tmp_path / "raw.csv"
    csv.write_text("video,start,end,label,score\nv2,0.5,3.0,x,0.5\n")
    run = _fuse(tmp_path, "--mode", "product", raw=csv)
    assert run.returncode == 0, run.stderr
    assert len(json.loads((tmp_path / "fused.json").read_text())["results"]["v2"]) == 2  # default top-2


def test_missing_video_is_an_error_listing_the_ids(tmp_path: Path) -> None:
    raw = {"results": {**RAW["results"], "v9": [], "v8": [{"segment": [0, 1], "label": "a", "score": 0.1}]}}
    run = _fuse(tmp_path, "--mode", "product", raw=raw)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert (
        "cls.json" in run.stderr and "v9" in run.stderr and "v8" in run.stderr and "2 video(s)" in run.stderr
    )
    assert not (tmp_path / "fused.json").exists()


def test_allow_missing_drops_the_video_with_a_warning(tmp_path: Path) -> None:
    raw = {"results": {**RAW["results"], "v8": [{"segment": [0, 1], "label": "a", "score": 0.1}]}}
    run = _fuse(tmp_path, "--mode", "product", "--allow-missing", raw=raw)
    assert run.returncode == 0, run.stderr
    assert "dropped 1 video(s)" in run.stderr and "v8" in run.stderr
    assert sorted(json.loads((tmp_path / "fused.json").read_text())["results"]) == ["v1", "v2"]


@pytest.mark.parametrize(
    ("classifier", "fragments"),
    [
        (
            {"results": {"v1": [0.1, 0.2], "v2": [0.1, 0.2, 0.3]}, "class": ["a", "b", "c"]},
            ["results['v1']", "2 scores", "3 classes"],
        ),
        (
            '{"results": {"v1": [0.1, NaN, 0.2], "v2": [0, 0, 1]}, "class": ["a", "b", "c"]}',
            ["results['v1'][1]", "not a finite number"],
        ),
        ({"results": {"v1": [0.1], "v2": [0.1]}}, ["class", "missing"]),
        ({"results": {"v1": [0.1], "v2": [0.1]}, "class": [3]}, ["class[0]", "class name"]),
        ({"results": [], "class": ["a"]}, ["results", "expected an object"]),
        ({"results": {"v1": [0.1, 0.2], "v2": [0.1, 0.2]}, "class": ["a", "b"]}, ["--topk 3"]),
    ],
)
def test_bad_classifier_exits_2_naming_file_and_field(
    tmp_path: Path, classifier: object, fragments: list[str]
) -> None:
    path = tmp_path / "cls.json"
    path.write_text(classifier if isinstance(classifier, str) else json.dumps(classifier))
    run = _fuse(tmp_path, "--topk", "3", "--mode", "product", classifier=path)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert "cls.json" in run.stderr
    for fragment in fragments:
        assert fragment in run.stderr


def test_bad_predictions_and_missing_files_exit_2(tmp_path: Path) -> None:
    run = _fuse(tmp_path, "--mode", "sqrt", raw={"results": {"v1": [{"segment": [0, 1], "label": "a"}]}})
    assert run.returncode == 2 and "raw.json" in run.stderr and "score" in run.stderr
    run = _fuse(
        tmp_path,
        "--mode",
        "sqrt",
        raw={"results": {"v1": [{"segment": [0, 1], "label": "a", "score": -0.5}]}},
    )
    assert run.returncode == 2 and "raw.json" in run.stderr and "negative" in run.stderr
    run = _fuse(tmp_path, "--mode", "product", classifier=tmp_path / "absent.json")
    assert run.returncode == 2 and "absent.json" in run.stderr
    assert _fuse(tmp_path, "--mode", "mean").returncode == 2  # argparse choices
    (tmp_path / "blocker").write_text("a file, not a folder")
    run = _fuse(tmp_path, "--mode", "product", "--out", str(tmp_path / "blocker" / "fused.json"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "fused.json: file: cannot be written" in run.stderr


def test_ties_take_the_earlier_class_and_no_rounding(tmp_path: Path) -> None:
    classifier = load_classifier(
        _write(tmp_path / "c.json", {"results": {"v": [0.3, 0.5, 0.5]}, "class": list("abc")})
    )
    predictions = Predictions.from_results({"v": [{"segment": [0, 1], "label": "x", "score": 0.123456789}]})
    fused, dropped = fuse_classifier(predictions, classifier, topk=2, mode="product")
    assert [e["label"] for e in fused["v"]] == ["b", "c"] and not dropped
    assert fused["v"][0]["score"] == 0.123456789 * 0.5
    assert isinstance(classifier.scores["v"], np.ndarray)


def test_fusion_does_not_load_torch() -> None:
    code = "import sys, tad_head.cli, tad_head; tad_head.fuse_classifier; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_inverted_and_deeply_nested_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    inverted = {"results": {"v1": [{"segment": [10, 2], "label": "a", "score": 0.5}]}}
    run = _fuse(tmp_path, "--mode", "product", raw=inverted)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "raw.json: results['v1'][0].segment: end before start: [10.0, 2.0]" in run.stderr
    deep = tmp_path / "deep.json"
    deep.write_text('{"results": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for nested in ({"raw": deep}, {"classifier": deep}):
        run = _fuse(tmp_path, "--mode", "product", **nested)
        assert (
            run.returncode == 2
            and len(run.stderr.strip().splitlines()) == 1
            and "Traceback" not in run.stderr
        )
        assert "deep.json: file: invalid JSON: nested too deeply" in run.stderr


def test_help_ends_with_examples_and_version(tmp_path: Path) -> None:
    for command in ([], ["fuse"]):
        run = subprocess.run([TAD_HEAD, *command, "--help"], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "``" not in run.stdout
        examples = run.stdout.split("examples:\n")[1].splitlines()
        assert len([line for line in examples if line.startswith("  tad-head fuse ")]) == 2
    run = subprocess.run([TAD_HEAD, "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == f"tad-head {tad_head.__version__}"
