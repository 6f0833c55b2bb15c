"""``tad-train detect``: any video file -> the test protocol's windows -> detections in seconds -> a JSON file
in tad-eval's format and a timeline picture; variable frame rates, bounded memory, unreadable files."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

import tad_train.detect as detect_module
from tad_data import TestDataset, decode_frames, open_video
from tad_eval import InputError, load_predictions
from tad_train import ExperimentConfig, build_model
from tad_train.cli import main
from tad_train.detect import (
    VideoTimeline,
    VideoWindows,
    detect_video,
    expand_videos,
    select_detections,
    video_names,
)
from tad_train.inference import build_test_dataset
from tad_train.timeline_plot import draw_timeline, format_time


def write_video(
    path: Path, frames: np.ndarray, fps: int, container: str, codec: str, pts: list[int] | None = None
) -> Path:
    """RGB ``[T, H, W, 3]`` frames as a video file; ``pts`` in units of ``1 / fps`` (a variable rate)."""
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = (index if pts is None else pts[index]), Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def numbered_frames(count: int, size: int = 96) -> np.ndarray:
    """Frame k is a flat grey of level 4 * k (mod 256): the decoded level tells which frame it was."""
    levels = (4 * np.arange(count)) % 256
    return np.broadcast_to(levels[:, None, None, None], (count, size, size, 3)).astype(np.uint8)


# --------------------------------------------------------------------------------------------------------
# Time: constant and variable frame rates


@pytest.mark.parametrize(
    ("container", "codec", "suffix"),
    [("mp4", "libx264", "mp4"), ("matroska", "libx264", "mkv"), ("avi", "mpeg4", "avi")],
)
def test_a_constant_rate_file_uses_its_frames_as_they_are(
    tmp_path: Path, container: str, codec: str, suffix: str
) -> None:
    path = write_video(tmp_path / f"cfr.{suffix}", numbered_frames(45), 30, container, codec)
    timeline = VideoTimeline.read(open_video(path), path)
    assert not timeline.variable_rate and timeline.num_frames == 45
    assert timeline.duration == pytest.approx(1.5)
    assert list(timeline.decoded(np.array([0, 7, 44]))) == [0, 7, 44]


def test_a_variable_rate_file_is_resampled_in_time(tmp_path: Path) -> None:
    """20 frames 1/30 s apart, then 20 frames 3/30 s apart: grid frame k (at k/30 s) is the frame shown."""
    pts = [*range(20), *(20 + 3 * i for i in range(20))]
    path = write_video(tmp_path / "vfr.mkv", numbered_frames(40), 30, "matroska", "libx264", pts)
    timeline = VideoTimeline.read(open_video(path), path)
    assert timeline.variable_rate and timeline.fps == 30
    assert timeline.duration == pytest.approx(2.6, abs=2e-3) and timeline.num_frames == 78
    expected = [k if k < 20 else 20 + (k - 20) // 3 for k in range(78)]
    assert list(timeline.decoded(np.arange(78))) == expected
    # the frames decoded for the grid are those frames (their grey level says which)
    levels = decode_frames(path, timeline.decoded(np.arange(78)))[:, 48, 48, 0].astype(int)
    assert np.abs(levels - (4 * np.array(expected)) % 256).max() <= 3
    assert list(timeline.frame_at(np.array([0.0, 0.65, 1.0, 2.59]))) == [0, 19, 23, 39]


def test_an_mp4_with_irregular_timestamps_is_resampled_at_its_average_rate(tmp_path: Path) -> None:
    pts = [*range(20), *(20 + 3 * i for i in range(20))]
    path = write_video(tmp_path / "vfr.mp4", numbered_frames(40), 30, "mp4", "libx264", pts)
    timeline = VideoTimeline.read(open_video(path), path)
    assert timeline.variable_rate
    grid_times = np.arange(timeline.num_frames) / timeline.fps
    shown = timeline.decoded(np.arange(timeline.num_frames))
    starts = np.array(pts) / 30
    assert np.all(starts[shown] <= grid_times + 1e-3)  # shown by then ...
    later = np.minimum(shown + 1, 39)
    assert np.all((starts[later] > grid_times) | (later == shown))  # ... and not yet replaced


def test_a_container_rate_far_above_the_frames_there_gives_way_to_the_mean_rate() -> None:
    """Some files report their millisecond time base as the rate: 25 frames 1/25 s apart claiming 1000 fps."""
    starts = np.arange(25) / 25
    times = np.stack([starts, starts + 1 / 25], axis=1)
    timeline = VideoTimeline.from_times(times, 1000.0, 90, 160)
    assert timeline.fps == pytest.approx(25) and timeline.num_frames == 25
    assert list(timeline.decoded(np.arange(25))) == list(range(25))
    honest = VideoTimeline.from_times(times, 25.0, 90, 160)
    assert not honest.variable_rate and honest.duration == 1.0


# --------------------------------------------------------------------------------------------------------
# Windows: the test protocol, in bounded memory


def test_windows_of_a_file_are_those_of_the_test_dataset(
    tiny_config: Callable[..., ExperimentConfig],
) -> None:
    config = tiny_config()
    dataset: TestDataset = build_test_dataset(config)
    for video in dataset.videos:
        timeline = VideoTimeline.read(open_video(video.path), video.path)
        windows = VideoWindows(
            video.path, video.video_id, timeline, config.test_sampler, config.eval_transform
        )
        expected = [
            dataset[i] for i, window in enumerate(dataset.windows) if dataset.videos[window[0]] is video
        ]
        assert len(windows) == len(expected) > 1
        for index, reference in enumerate(expected):
            sample = windows[index]
            assert torch.equal(sample["frames"], reference["frames"])
            assert torch.equal(sample["mask"], reference["mask"])
            assert {key: sample["meta"][key] for key in reference["meta"]} == reference["meta"]


def test_a_window_decodes_only_its_frames_a_slice_at_a_time(
    tmp_path: Path, tiny_config: Callable[..., ExperimentConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory is bounded by a window: a long video decodes no more per call or window than a short one."""
    config = tiny_config()
    calls: list[int] = []
    real_read = detect_module.read_frames

    def counting_read(reader, indices, path):  # noqa: ANN001, ANN202
        calls.append(len(indices))
        return real_read(reader, indices, path)

    frame_bytes = 3 * 96 * 96
    monkeypatch.setattr(detect_module, "read_frames", counting_read)
    monkeypatch.setattr(detect_module, "_DECODE_BYTES", 10 * frame_bytes)  # ten frames per slice
    per_window = {}
    for frames in (150, 1500):
        path = write_video(tmp_path / f"v{frames}.mp4", numbered_frames(frames), 15, "mp4", "libx264")
        timeline = VideoTimeline.read(open_video(path), path)
        windows = VideoWindows(path, path.stem, timeline, config.test_sampler, config.eval_transform)
        calls.clear()
        for index in range(len(windows)):
            windows[index]
        assert max(calls) == 10
        per_window[frames] = sum(calls) / len(windows)
    assert per_window[1500] <= config.window.frames and per_window[150] <= config.window.frames


# --------------------------------------------------------------------------------------------------------
# Detection


@pytest.mark.slow
def test_detections_in_a_test_video_file_are_those_infer_writes(
    trained_tiny: Path, tiny_config: Callable[..., ExperimentConfig], tmp_path: Path
) -> None:
    from tad_train import evaluate, setup_runtime
    from tad_train.cli import _checkpoint_weights

    config = tiny_config()
    model = build_model(config, pretrained=False)
    model.load_state_dict(_checkpoint_weights(trained_tiny / "checkpoints" / "last.pt", "ema"))
    expected = evaluate.run_inference(config, model, setup_runtime("cpu"), progress=False)
    dataset = build_test_dataset(config)
    for video in dataset.videos:
        found = detect_video(model, config, video.path, video.video_id, dataset.classes, progress=False)
        reference = sorted(expected[video.video_id], key=lambda entry: -entry["score"])
        assert [e["label"] for e in found.detections] == [e["label"] for e in reference]
        assert np.allclose([e["segment"] for e in found.detections], [e["segment"] for e in reference])
        assert np.allclose([e["score"] for e in found.detections], [e["score"] for e in reference])


@pytest.fixture(scope="module")
def own_videos(tmp_path_factory: pytest.TempPathFactory, synthetic_root: Path) -> list[Path]:
    """One synthetic video's frames in five files: containers, codecs, rates and lengths a user may have."""
    folder = tmp_path_factory.mktemp("own_videos")
    frames = decode_frames(synthetic_root / "videos" / "synth_0006.mp4")
    pts = [round(1.5 * index) for index in range(len(frames))]  # frames 1 or 2 ticks apart
    return [
        write_video(folder / "phone.mp4", frames, 15, "mp4", "libx264"),
        write_video(folder / "camera.mkv", frames, 24, "matroska", "libx264"),
        write_video(folder / "old.avi", frames, 30, "avi", "mpeg4"),
        write_video(folder / "web.webm", np.concatenate([frames] * 3), 10, "webm", "libvpx-vp9"),
        write_video(folder / "irregular.mkv", frames, 15, "matroska", "libx264", pts),
    ]


@pytest.mark.slow
def test_the_command_writes_predictions_and_a_picture_per_video(
    trained_tiny: Path,
    synthetic_root: Path,
    own_videos: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from PIL import Image

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(own_videos[0].read_bytes()[:3000])
    twin = tmp_path / "twin" / own_videos[0].name  # phone.mp4 in another folder: its files must not overwrite
    twin.parent.mkdir()
    twin.write_bytes(own_videos[0].read_bytes())
    out = tmp_path / "detections"
    code = main(
        [
            "detect",
            *map(str, own_videos),
            str(twin),
            str(broken),
            "--config",
            str(Path(__file__).resolve().parents[2] / "libs" / "tad-train" / "examples" / "tiny.yaml"),
            "--set",
            f"data.root={synthetic_root}",
            "--checkpoint",
            str(trained_tiny / "checkpoints" / "last.pt"),
            "--out",
            str(out),
            "--threshold",
            "0.05",
            "--top",
            "7",
            "--device",
            "cpu",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2  # one video failed ...
    errors = [line for line in captured.err.splitlines() if line.startswith("tad-train detect:")]
    assert len(errors) == 2 and str(broken) in errors[0] and "cannot open the video" in errors[0]
    assert errors[1] == "tad-train detect: 1 of 7 video(s) failed (above)"
    classes = (synthetic_root / "annotations.classes.txt").read_text().split()
    names = {video: video.stem for video in own_videos[1:]}
    names |= {own_videos[0]: f"{own_videos[0].parent.name}_phone.mp4", twin: "twin_phone.mp4"}
    for video, name in names.items():  # ... the others ran
        timeline = VideoTimeline.read(open_video(video), video)
        predictions = load_predictions(out / f"{name}.json")
        assert list(predictions.videos) == [name]
        entries = json.loads((out / f"{name}.json").read_text())["results"][name]
        assert 1 <= len(entries) <= 7 and all(entry["score"] >= 0.05 for entry in entries)
        assert all(entry["label"] in classes for entry in entries)
        segments = np.array([entry["segment"] for entry in entries])
        assert segments.min() >= 0 and segments.max() <= timeline.duration + 1e-6
        width, height = Image.open(out / f"{name}.png").size
        assert width == 1400 and 250 <= height <= 700
        assert f"{video}: {len(entries)} detection(s)" in captured.out
    webm = VideoTimeline.read(open_video(own_videos[3]), own_videos[3])
    assert webm.duration == pytest.approx(3 * 212 / 10)  # the long one is seconds of its own rate


@pytest.mark.gpu
@pytest.mark.slow
def test_on_the_gpu_with_fp16_the_detections_are_the_cpus(
    trained_tiny: Path, tiny_config: Callable[..., ExperimentConfig], own_videos: list[Path]
) -> None:
    from tad_train.cli import _checkpoint_weights

    config = tiny_config("trainer.amp=fp16")
    model = build_model(config, pretrained=False).eval()
    model.load_state_dict(_checkpoint_weights(trained_tiny / "checkpoints" / "last.pt", "ema"))
    classes = ("class00_disc_slide", "class01_square_rise", "class02_triangle_orbit")
    on_cpu = detect_video(model, config, own_videos[1], "camera", classes, progress=False).detections[:5]
    on_gpu = detect_video(model.cuda(), config, own_videos[1], "camera", classes, progress=False).detections[
        :5
    ]
    assert [e["label"] for e in on_gpu] == [e["label"] for e in on_cpu]
    assert np.allclose([e["segment"] for e in on_gpu], [e["segment"] for e in on_cpu], atol=0.1)
    assert np.allclose([e["score"] for e in on_gpu], [e["score"] for e in on_cpu], atol=0.01)


def test_class_agnostic_detections_are_actions_or_take_a_classifier(
    tiny_config: Callable[..., ExperimentConfig], own_videos: list[Path], tmp_path: Path
) -> None:
    from tad_train import ClassifierConfig

    config = tiny_config("data.class_agnostic=true")
    torch.manual_seed(0)
    model = build_model(config, pretrained=False).eval()
    video = own_videos[0]
    plain = detect_video(model, config, video, "phone", (), progress=False)
    assert plain.detections and {entry["label"] for entry in plain.detections} == {"action"}
    classifier = tmp_path / "classifier.json"
    classifier.write_text(
        json.dumps({"results": {"phone": [0.1, 0.7, 0.2]}, "class": ["run", "jump", "swim"]})
    )
    fused = detect_video(
        model, config, video, "phone", (), ClassifierConfig(str(classifier), topk=1), progress=False
    )
    assert {entry["label"] for entry in fused.detections} == {"jump"}
    best = max(plain.detections, key=lambda entry: entry["score"])
    assert fused.detections[0]["score"] == pytest.approx(best["score"] * 0.7)


def test_a_decoding_error_in_a_worker_process_is_reported_as_its_own_line(
    tiny_config: Callable[..., ExperimentConfig], own_videos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tad_data import TadDataError
    from tad_train.cli import _last_line

    def broken_decode(self, indices):  # noqa: ANN001, ANN202 - a file that fails while being decoded
        raise TadDataError(f"{self.path}: decoding frames failed (Invalid data found when processing input)")

    config = tiny_config("trainer.num_workers=1")
    model = build_model(config, pretrained=False).eval()
    monkeypatch.setattr(detect_module.VideoWindows, "_decode", broken_decode)
    with pytest.raises(TadDataError) as caught:
        detect_video(model, config, own_videos[0], "phone", ("a", "b", "c"), progress=False)
    assert "worker" in str(caught.value)  # the DataLoader wraps it in a traceback ...
    assert _last_line(caught.value) == (  # ... whose last line is the message
        f"{own_videos[0]}: decoding frames failed (Invalid data found when processing input)"
    )


def test_a_classifier_does_not_apply_to_a_multi_class_experiment(
    tiny_yaml: Path, synthetic_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["detect", "x.mp4", "--config", str(tiny_yaml), "--set", f"data.root={synthetic_root}"]
    argv += ["--checkpoint", "c.pt", "--out", str(tmp_path), "--classifier", "cls.json"]
    assert main(argv) == 2
    assert "cls.json: --classifier: labels class-agnostic experiments only" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-0.1", "1.5", "x"])
def test_the_threshold_is_a_score(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "detect",
                "x.mp4",
                "--config",
                "c.yaml",
                "--checkpoint",
                "c.pt",
                "--out",
                "o",
                "--threshold",
                value,
            ]
        )
    assert caught.value.code == 2 and "expected a score between 0 and 1" in capsys.readouterr().err


def test_detections_are_kept_by_score_then_the_best_few() -> None:
    entries = [{"segment": [0, 1], "label": "a", "score": s} for s in (0.2, 0.9, 0.5, 0.31, 0.3)]
    assert [e["score"] for e in select_detections(entries, 0.3, 3)] == [0.9, 0.5, 0.31]
    assert [e["score"] for e in select_detections(entries, 0.3, 10)] == [0.9, 0.5, 0.31, 0.3]


def test_names_are_file_stems_then_names_then_folders_where_files_share_them() -> None:
    """Each video writes OUT/<name>.json and .png: two files never get one name (one would overwrite)."""
    paths = [Path("a/clip.mp4"), Path("b/clip.mkv"), Path("talk.webm")]
    assert video_names(paths) == ["clip.mp4", "clip.mkv", "talk"]
    alike = [Path("x/a/clip.mp4"), Path("y/a/clip.mp4"), Path("b/clip.mp4"), Path("b/clip.mkv"), Path("clip")]
    assert video_names(alike) == ["x_a_clip.mp4", "y_a_clip.mp4", "b_clip.mp4", "clip.mkv", "clip"]
    with pytest.raises(InputError, match=r"a/clip.mp4: VIDEO: the same file as a/clip.mp4"):
        video_names([Path("a/clip.mp4"), Path("talk.webm"), Path("a/clip.mp4")])


def test_folders_stand_for_their_videos_and_a_file_given_twice_runs_once(tmp_path: Path) -> None:
    for name in ("b.mkv", "a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = expand_videos([tmp_path, tmp_path / "a.mp4", "elsewhere/c.webm"])
    assert found == [tmp_path / "a.mp4", tmp_path / "b.mkv", Path("elsewhere/c.webm")]


# --------------------------------------------------------------------------------------------------------
# The picture


def test_times_read_as_minutes_and_seconds_then_hours() -> None:
    assert [format_time(t) for t in (0, 75.4, 599.6)] == ["00:00", "01:15", "10:00"]
    assert format_time(3675, hours=True) == "1:01:15"


@pytest.mark.parametrize(("duration", "aspect", "classes"), [(7200.0, 9 / 16, 20), (12.0, 16 / 9, 1)])
def test_the_picture_has_a_row_per_detected_class_and_a_sensible_size(
    tmp_path: Path, duration: float, aspect: float, classes: int
) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    names = [f"class_{index}" for index in range(classes + 3)]  # three classes never detected
    starts = rng.uniform(0, duration * 0.95, size=60)
    detections = [
        {
            "segment": [s, s + rng.uniform(0.001, 0.05) * duration],
            "label": names[i % classes],
            "score": rng.uniform(0.3, 1),
        }
        for i, s in enumerate(starts)
    ]
    asked: list[np.ndarray] = []

    def thumbnails(times: np.ndarray) -> list[np.ndarray]:
        asked.append(times)
        height = round(192 * aspect)
        return [np.full((height, 192, 3), 40 * (i % 6), dtype=np.uint8) for i in range(len(times))]

    path = tmp_path / "picture.png"
    draw_timeline(path, "title", duration, aspect, detections, names, thumbnails)
    width, height = Image.open(path).size
    assert width == 1400
    assert 150 + 42 * classes <= height <= 700 + 42 * classes  # the strip, one row per detected class
    times = asked[0]
    assert len(times) >= 10 and times.min() > 0 and times.max() < duration


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_the_device_is_checked_as_extract_checks_it(
    tiny_yaml: Path, synthetic_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["detect", "x.mp4", "--config", str(tiny_yaml), "--set", f"data.root={synthetic_root}"]
    argv += ["--checkpoint", "c.pt", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--device", "cuda:1"])
    assert caught.value.code == 2
    assert "'cuda:1': CUDA is not available on this machine; use --device cpu" in capsys.readouterr().err
    assert main([*argv, "--set", "trainer.device=cuda"]) == 2  # the experiment's device, checked the same way
    assert capsys.readouterr().err == (
        f"tad-train detect: error: {tiny_yaml}: trainer.device: 'cuda': CUDA is not available on this "
        "machine; use --device cpu\n"
    )
