"""Inference: windows merged per video in grid units, one NMS, seconds; files tad-eval and tad-head read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tad_head import Detections, NMSConfig, PostProcessConfig
from tad_train import AGNOSTIC_LABEL, WindowCandidates, video_results

FPS, STRIDE = 10.0, 4
# The console scripts of the interpreter running the tests (PATH may not hold its venv).
BIN = Path(sys.executable).parent
NO_DECAY = PostProcessConfig(nms=NMSConfig("hard", iou_threshold=0.99, max_seg_num=100))


def _window(index: int, start_step: int, segments: list, scores: list, labels: list, duration: float = 20.0):
    meta = {
        "video_id": "v",
        "duration": duration,
        "fps": FPS,
        "snippet_stride": STRIDE,
        "offset_frames": 0,
        "window_start_frame": start_step * STRIDE,
        "resize_length": None,
    }
    dets = Detections(torch.tensor(segments, dtype=torch.float32), torch.tensor(scores), torch.tensor(labels))
    return WindowCandidates(index, meta, dets)


def test_windows_are_shifted_into_the_video_grid_then_converted_to_seconds() -> None:
    windows = [_window(0, 0, [[2.0, 6.0]], [0.9], [1]), _window(1, 16, [[1.0, 3.0]], [0.8], [0])]
    results = video_results(windows, NO_DECAY, classes=("a", "b"))
    # window 2 starts at step 16: [17, 19] steps of 4 frames at 10 fps = [6.8, 7.6] s
    assert results == {
        "v": [
            {"segment": [0.8, 2.4], "label": "b", "score": pytest.approx(0.9)},
            {"segment": [pytest.approx(6.8), pytest.approx(7.6)], "label": "a", "score": pytest.approx(0.8)},
        ]
    }


def test_segments_are_clipped_to_the_video_before_nms() -> None:
    """OpenTAD clips each window's detections to [0, duration] when converting them, before its NMS."""
    windows = [_window(0, 0, [[-3.0, 2.0], [20.0, 60.0]], [0.9, 0.8], [0, 0], duration=10.0)]
    segments = [entry["segment"] for entry in video_results(windows, NO_DECAY, ("a",))["v"]]
    assert segments == [[0.0, 0.8], [8.0, 10.0]]  # 10 s is 25 steps: [-3, 2] -> [0, 2], [20, 60] -> [20, 25]


def test_overlapping_windows_are_suppressed_once_per_video() -> None:
    same = [[5.0, 9.0]]
    windows = [_window(0, 0, [[21.0, 25.0]], [0.9], [0]), _window(1, 16, same, [0.7], [0])]
    gaussian = PostProcessConfig(nms=NMSConfig("gaussian", sigma=0.7, max_seg_num=100))
    results = video_results(windows, gaussian, ("a",))["v"]
    assert [entry["segment"] for entry in results] == [[8.4, 10.0], [8.4, 10.0]]  # the same segment twice
    assert results[1]["score"] == pytest.approx(0.7 * torch.exp(torch.tensor(-1 / 0.7)).item(), rel=1e-5)


def test_resized_videos_use_the_duration_and_agnostic_labels() -> None:
    meta = {
        "video_id": "w",
        "duration": 30.0,
        "fps": 15.0,
        "snippet_stride": 4,
        "offset_frames": 0,
        "window_start_frame": 0,
        "resize_length": 192,
    }
    dets = Detections(torch.tensor([[48.0, 96.0]]), torch.tensor([0.5]), torch.tensor([0]))
    results = video_results([WindowCandidates(0, meta, dets)], NO_DECAY, (), class_agnostic=True)
    assert results == {"w": [{"segment": [7.5, 15.0], "label": AGNOSTIC_LABEL, "score": 0.5}]}


def _infer(config_path, root, checkpoint, out, *extra: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tad_train",
            "infer",
            str(config_path),
            "--set",
            f"data.root={root}",
            "--checkpoint",
            str(checkpoint),
            "--out",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_predictions_are_accepted_by_tad_eval(tiny_yaml, synthetic_root, trained_tiny, tmp_path) -> None:
    out = tmp_path / "pred.json"
    _infer(tiny_yaml, synthetic_root, trained_tiny / "checkpoints" / "last.pt", out)
    videos = json.loads((synthetic_root / "annotations.json").read_text())["database"]
    validation = {v for v, entry in videos.items() if entry["subset"] == "validation"}
    assert set(json.loads(out.read_text())["results"]) == validation
    evaluated = subprocess.run(
        [
            str(BIN / "tad-eval"),
            "--gt",
            str(synthetic_root / "annotations.json"),
            "--pred",
            str(out),
            "--dataset",
            "thumos14",
        ],
        capture_output=True,
        text=True,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "avg" in evaluated.stdout


@pytest.mark.slow
def test_class_agnostic_raw_output_is_accepted_by_tad_head_fuse(tiny_yaml, synthetic_root, tmp_path) -> None:
    # The trained 3-class weights do not fit a 1-class head: train-free, a random agnostic model will do.
    from tad_train import build_model, load_config, write_checkpoint

    config = load_config(tiny_yaml, [f"data.root={synthetic_root}", "data.class_agnostic=true"])
    torch.manual_seed(0)
    model = build_model(config)
    write_checkpoint(tmp_path / "agnostic.pt", {"model": model.state_dict(), "ema": None})
    raw = tmp_path / "raw.json"
    _infer(
        tiny_yaml,
        synthetic_root,
        tmp_path / "agnostic.pt",
        raw,
        "--set",
        "data.class_agnostic=true",
        "--raw",
        "--weights",
        "model",
    )
    results = json.loads(raw.read_text())["results"]
    assert {entry["label"] for entries in results.values() for entry in entries} == {AGNOSTIC_LABEL}
    classifier = tmp_path / "classifier.json"
    classifier.write_text(
        json.dumps({"class": ["x", "y", "z"], "results": {v: [0.2, 0.7, 0.1] for v in results}})
    )
    fused = subprocess.run(
        [
            str(BIN / "tad-head"),
            "fuse",
            "--pred",
            str(raw),
            "--classifier",
            str(classifier),
            "--topk",
            "2",
            "--mode",
            "sqrt",
            "--out",
            str(tmp_path / "fused.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert fused.returncode == 0, fused.stderr
    labels = {
        e["label"] for es in json.loads((tmp_path / "fused.json").read_text())["results"].values() for e in es
    }
    assert labels == {"x", "y"}
