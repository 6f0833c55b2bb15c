"""The synthetic dataset: deterministic annotations, decodable videos, actions that can be seen."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from tad_data import synthetic
from tad_data.annotations import load_annotations
from tad_data.cli import main
from tad_data.synthetic import MOTIONS, SHAPES, class_name, write_synthetic_dataset
from tad_data.video import decode_frames, video_info


def _saturated_pixels(frames: np.ndarray) -> np.ndarray:
    """Per frame, how many pixels have a channel spread above 120 (the background never does)."""
    spread = frames.max(axis=-1).astype(int) - frames.min(axis=-1)
    return (spread > 120).reshape(len(frames), -1).sum(axis=1)


def test_same_seed_same_bytes(tmp_path):
    kwargs = dict(num_videos=3, num_classes=3, min_duration=4.0, max_duration=6.0, size=32)
    first = write_synthetic_dataset(tmp_path / "a", seed=11, **kwargs)
    again = write_synthetic_dataset(tmp_path / "b", seed=11, **kwargs)
    other = write_synthetic_dataset(tmp_path / "c", seed=12, **kwargs)
    assert first.annotation_path.read_bytes() == again.annotation_path.read_bytes()
    assert first.classes_path.read_bytes() == again.classes_path.read_bytes()
    assert first.annotation_path.read_bytes() != other.annotation_path.read_bytes()
    for name in ("synth_0000.mp4", "synth_0001.mp4", "synth_0002.mp4"):
        assert (first.video_dir / name).read_bytes() == (again.video_dir / name).read_bytes()


def test_an_interrupted_video_leaves_no_file_behind(tmp_path, monkeypatch):
    frames_drawn = []

    def interrupted(motion, progress):
        frames_drawn.append(progress)
        if len(frames_drawn) == 5:
            raise KeyboardInterrupt
        return 0.5, 0.5

    monkeypatch.setattr(synthetic, "_position", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_dataset(
            tmp_path, num_videos=2, num_classes=1, seed=0, min_duration=4.0, max_duration=4.0
        )
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["videos"]  # no half video, no temporary


def test_layout_subsets_and_classes(synthetic_dataset):
    annotations = load_annotations(synthetic_dataset.annotation_path)  # finds annotations.classes.txt
    assert annotations.classes == tuple(class_name(index) for index in range(4))
    assert annotations.classes[1] == "class01_square_rise"
    subsets = {record.subset for record in annotations.videos.values()}
    assert subsets == {"training", "validation"}
    assert [record.video_id for record in annotations.subset("validation")] == ["synth_0004", "synth_0005"]
    for record in annotations.videos.values():
        assert 2 <= len(record.instances) <= 4 and 8.0 <= record.duration <= 12.0
        starts = [instance.start for instance in record.instances]
        assert starts == sorted(starts)
        for previous, current in zip(record.instances, record.instances[1:], strict=False):
            assert previous.end <= current.start  # never overlapping


def test_videos_match_their_annotation(synthetic_dataset):
    for video_id, record in synthetic_dataset.annotations.videos.items():
        info = video_info(synthetic_dataset.video_dir / f"{video_id}.mp4")
        assert (info.num_frames, info.fps, info.height, info.width) == (record.num_frames, 15.0, 64, 64)


def test_instances_are_visible_in_their_class_colour(synthetic_dataset):
    annotations = synthetic_dataset.annotations
    for video_id, record in list(annotations.videos.items())[:3]:
        frames = decode_frames(synthetic_dataset.video_dir / f"{video_id}.mp4")
        saturated = _saturated_pixels(frames)
        inside = np.zeros(len(frames), dtype=bool)
        for instance in record.instances:
            first, end = round(instance.start * 15), round(instance.end * 15)
            inside[first:end] = True
            label = annotations.class_index[instance.label]
            expected = np.array(colorsys.hsv_to_rgb(label / len(annotations.classes), 1.0, 1.0)) * 255
            middle = frames[(first + end) // 2]
            mask = (middle.max(-1).astype(int) - middle.min(-1)) > 120
            np.testing.assert_allclose(middle[mask].mean(axis=0), expected, atol=45)
        assert saturated[inside].min() >= 60  # the shape covers about 9% of the frame
        assert saturated[~inside].max() == 0


def test_class_shapes_and_motions_differ_for_the_first_twelve_classes():
    pairs = {(SHAPES[index % len(SHAPES)], MOTIONS[index % len(MOTIONS)]) for index in range(12)}
    assert len(pairs) == 12


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "synth"
    args = ["synth", "--out", str(out), "--videos", "2", "--classes", "3", "--seed", "4", "--size", "32"]
    assert main([*args, "--fps", "10"]) == 0
    assert "wrote 2 videos" in capsys.readouterr().out
    annotations = load_annotations(out / "annotations.json")
    assert sorted(annotations.videos) == ["synth_0000", "synth_0001"]
    assert video_info(out / "videos" / "synth_0001.mp4").fps == 10.0


@pytest.mark.parametrize("bad", [["--size", "15"], ["--videos", "0"]])
def test_synth_command_bad_arguments_exit_2(tmp_path, capsys, bad):
    args = ["synth", "--out", str(tmp_path), "--videos", "1", "--classes", "2", "--seed", "0", *bad]
    assert main(args) == 2
    assert "synth:" in capsys.readouterr().err
