"""TrainDataset / TestDataset / collate on real H.264 files: windows, time grids, workers, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from tad_data.datasets import (
    DatasetConfig,
    EvalTransformConfig,
    SamplerConfig,
    TestDataset,
    TrainDataset,
    collate,
    sample_meta,
)
from tad_data.errors import TadDataError, TadDataWarning
from tad_data.sampling import sliding_window, split_sliding_windows
from tad_data.timegrid import TimeGrid, grid_to_seconds
from tad_data.transforms import AugmentConfig, eval_transform
from tad_data.video import decode_frames

AUGMENT = AugmentConfig(short_side=40, crop_size=32)
EVAL = EvalTransformConfig(short_side=32, crop_size=32)
TRUNC = SamplerConfig("random_trunc", window_size=24, snippet_stride=4, scale_factor=2)
SLIDING = SamplerConfig(
    "sliding_window", window_size=24, snippet_stride=4, scale_factor=1, window_overlap=0.5
)
RESIZE = SamplerConfig("resize", window_size=16, scale_factor=2)


def _config(dataset, subset="training", **kwargs) -> DatasetConfig:
    return DatasetConfig(str(dataset.annotation_path), str(dataset.video_dir), subset, **kwargs)


def _instances_in_seconds(dataset, video_id):
    record = dataset.annotations.videos[video_id]
    classes = dataset.annotations.class_index
    return [(instance.start, instance.end, classes[instance.label]) for instance in record.instances]


def _assert_inside_some_instance(segments_s, labels, instances):
    for (start, end), label in zip(segments_s, labels, strict=True):
        assert any(
            label == inst_label and inst_start - 1e-6 <= start <= end <= inst_end + 1e-6
            for inst_start, inst_end, inst_label in instances
        ), (start, end, label, instances)


def test_train_sample_layout_and_ground_truth_in_seconds(synthetic_dataset):
    dataset = TrainDataset(_config(synthetic_dataset), TRUNC, AUGMENT)
    assert len(dataset) == 4  # the training videos of the fixture, all with instances
    for index in range(2):
        sample = dataset[index]
        assert sample["frames"].dtype == torch.uint8 and sample["frames"].shape == (3, 48, 32, 32)
        assert sample["mask"].dtype == torch.bool and sample["mask"].shape == (24,)
        assert sample["gt_segments"].dtype == torch.float32 and sample["gt_labels"].dtype == torch.int64
        meta = sample["meta"]
        assert meta["resize_length"] is None and meta["fps"] == 15.0 and meta["window_size"] == 24
        segments = sample["gt_segments"].numpy()
        assert np.all(segments >= 0) and np.all(segments <= 24) and len(segments) >= 1
        instances = _instances_in_seconds(synthetic_dataset, meta["video_id"])
        _assert_inside_some_instance(grid_to_seconds(segments, meta), sample["gt_labels"].tolist(), instances)


def test_train_samples_are_reproducible_per_epoch(synthetic_dataset):
    dataset = TrainDataset(_config(synthetic_dataset, seed=3), TRUNC, AUGMENT)
    first, again = dataset[1], dataset[1]
    assert torch.equal(first["frames"], again["frames"]) and first["meta"] == again["meta"]
    dataset.set_epoch(1)
    other = dataset[1]
    assert not torch.equal(first["frames"], other["frames"])


def test_test_windows_cover_videos_and_decode_the_right_frames(synthetic_dataset):
    dataset = TestDataset(_config(synthetic_dataset, "validation"), SLIDING, EVAL)
    records = [synthetic_dataset.annotations.videos[video.video_id] for video in dataset.videos]
    expected = sum(len(split_sliding_windows(record.num_frames, 4, 24, 0.5)) for record in records)
    assert len(dataset) == expected
    last = dataset[len(dataset) - 1]
    meta = last["meta"]
    video_index, start, steps = dataset.windows[-1]
    indices, mask = sliding_window(
        meta["num_frames"], start, steps, snippet_stride=4, scale_factor=1, window_size=24
    )
    path = synthetic_dataset.video_dir / f"{meta['video_id']}.mp4"
    assert torch.equal(last["frames"], eval_transform(decode_frames(path, indices), 32, 32))
    assert torch.equal(last["mask"], torch.from_numpy(mask))
    assert meta["window_start_frame"] == start * 4
    assert (start + steps) * 4 >= meta["num_frames"] - 4  # the last window reaches the end of the video


def test_the_test_windows_and_the_meta_are_the_samplers_public_ones(synthetic_dataset):
    """What TestDataset cuts and describes is public, so a video without annotation is cut the same way."""
    dataset = TestDataset(_config(synthetic_dataset, "validation"), SLIDING, EVAL)
    for video_index, video in enumerate(dataset.videos):
        windows = [(start, steps) for index, start, steps in dataset.windows if index == video_index]
        assert windows == SLIDING.test_windows(video.num_frames)
        assert windows == split_sliding_windows(video.num_frames, 4, 24, 0.5)
    assert RESIZE.test_windows(10_000) == [(0, 16)]
    with pytest.raises(TadDataError, match="test windows need method 'sliding_window' or 'resize'"):
        TRUNC.test_windows(100)
    for index in (0, len(dataset) - 1):
        meta = dataset[index]["meta"]
        video_index, start, _ = dataset.windows[index]
        video = dataset.videos[video_index]
        grid = SLIDING.time_grid(video.duration, meta["fps"], start * 4)
        assert grid == TimeGrid.from_meta(meta)
        assert sample_meta(video.video_id, grid, meta["num_frames"], SLIDING) == meta
    resized = TestDataset(_config(synthetic_dataset, "validation"), RESIZE, EVAL)
    meta, video = resized[0]["meta"], resized.videos[0]
    grid = RESIZE.time_grid(video.duration, meta["fps"])
    assert grid.resize_length == 16 and sample_meta(video.video_id, grid, meta["num_frames"], RESIZE) == meta


def test_test_window_ground_truth_round_trips_to_seconds(synthetic_dataset):
    dataset = TestDataset(_config(synthetic_dataset, "validation"), SLIDING, EVAL)
    found = 0
    for index in range(len(dataset)):
        sample = dataset[index]
        meta = sample["meta"]
        seconds = grid_to_seconds(sample["gt_segments"].numpy(), meta)
        instances = _instances_in_seconds(synthetic_dataset, meta["video_id"])
        _assert_inside_some_instance(seconds, sample["gt_labels"].tolist(), instances)
        window_end = (meta["window_start_frame"] + 23 * 4) / meta["fps"]
        for start, end, _ in instances:  # whole instances inside the window come back exactly
            if start >= meta["window_start_frame"] / meta["fps"] and end <= window_end:
                assert any(np.allclose(row, [start, end]) for row in seconds), (start, end)
                found += 1
    assert found >= 2


def test_resize_samples_span_the_whole_video(synthetic_dataset):
    train = TrainDataset(_config(synthetic_dataset), RESIZE, AUGMENT)
    test = TestDataset(_config(synthetic_dataset, "validation"), RESIZE, EVAL)
    assert len(test) == 2
    for sample in (train[0], test[0]):
        meta = sample["meta"]
        assert sample["frames"].shape == (3, 32, 32, 32) and sample["mask"].all()
        assert meta["resize_length"] == 16 and meta["window_start_frame"] == 0
        seconds = grid_to_seconds(sample["gt_segments"].numpy(), meta)
        instances = _instances_in_seconds(synthetic_dataset, meta["video_id"])
        np.testing.assert_allclose(seconds, [[start, end] for start, end, _ in instances], atol=1e-5)


def test_collate_stacks_frames_and_masks_and_keeps_lists(synthetic_dataset):
    dataset = TestDataset(_config(synthetic_dataset, "validation"), SLIDING, EVAL)
    batch = collate([dataset[0], dataset[1], dataset[2]])
    assert batch["frames"].shape == (3, 3, 24, 32, 32) and batch["mask"].shape == (3, 24)
    assert isinstance(batch["gt_segments"], list) and len(batch["gt_segments"]) == 3
    assert [meta["window_start_frame"] for meta in batch["meta"]] == [
        dataset[i]["meta"]["window_start_frame"] for i in range(3)
    ]


def test_worker_processes_give_the_same_samples(synthetic_dataset):
    dataset = TrainDataset(_config(synthetic_dataset, seed=1), TRUNC, AUGMENT)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [len(batch["meta"]) for batch in batches] == [2, 2]
    expected = collate([dataset[0], dataset[1]])
    assert batches[0]["meta"] == expected["meta"]
    # the same draws; float sums in other thread counts (workers run 1 torch thread) may move a level
    difference = (batches[0]["frames"].int() - expected["frames"].int()).abs()
    assert difference.max() <= 1 and (difference == 0).float().mean() > 0.99
    assert all(
        torch.equal(a, b) for a, b in zip(batches[0]["gt_segments"], expected["gt_segments"], strict=True)
    )


def test_distributed_sampler_splits_the_windows(synthetic_dataset):
    dataset = TestDataset(_config(synthetic_dataset, "validation"), SLIDING, EVAL)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=False)
        loader = DataLoader(dataset, batch_size=4, sampler=sampler, collate_fn=collate)
        batch = next(iter(loader))
        assert batch["frames"].shape[0] == min(4, len(sampler))
        seen.append(list(sampler))
    assert sorted(set(seen[0]) | set(seen[1])) == list(range(len(dataset)))
    assert len(seen[0]) == len(seen[1]) == (len(dataset) + 1) // 2


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.fixture
def small_videos(tmp_path, write_video):
    """Three 64x64 videos (30 frames at 10 fps, i.e. 3 s) and a writer of annotation files for them."""
    frames = np.random.default_rng(0).integers(0, 256, (30, 64, 64, 3), dtype=np.uint8)
    video_dir = tmp_path / "videos"
    for name in ("a", "b", "c"):
        write_video(video_dir / f"{name}.mp4", frames, fps=10)

    def annotate(entries: dict, classes=("jump", "run")):
        path = tmp_path / "anno.json"
        database = {
            video_id: {"subset": "training", "duration": 3.0, "fps": 10.0, "num_frames": 30, **entry}
            for video_id, entry in entries.items()
        }
        path.write_text(json.dumps({"database": database}))
        (tmp_path / "anno.classes.txt").write_text("".join(f"{name}\n" for name in classes))
        return DatasetConfig(str(path), str(video_dir), "training")

    return video_dir, annotate


SMALL = SamplerConfig("random_trunc", window_size=8, snippet_stride=2)
SMALL_AUG = AugmentConfig(short_side=32, crop_size=32)


def _one(segment, label="jump"):
    return {"annotations": [{"segment": segment, "label": label}]}


def test_missing_video_names_annotation_video_and_file(small_videos):
    _, annotate = small_videos
    config = annotate({"a": _one([0.5, 1.5]), "zz": _one([0.5, 1.5])})
    with pytest.raises(TadDataError, match=r"anno.json: video 'zz': file .*zz.mp4 not found"):
        TrainDataset(config, SMALL, SMALL_AUG)


def test_skip_missing_lists_missing_and_undecodable_videos(small_videos, tmp_path):
    video_dir, annotate = small_videos
    (video_dir / "corrupt.mp4").write_bytes(b"\x00" * 1000)
    whole = (video_dir / "c.mp4").read_bytes()
    (video_dir / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    entries = {name: _one([0.5, 1.5]) for name in ("a", "gone", "corrupt", "truncated")}
    config = annotate(entries)
    with pytest.warns(TadDataWarning, match="skipped 3 missing or undecodable video"):
        dataset = TrainDataset(
            DatasetConfig(config.annotation_path, config.video_dir, "training", skip_missing=True),
            SMALL,
            SMALL_AUG,
        )
    assert [video.video_id for video in dataset.videos] == ["a"]
    assert [(item.video_id, item.reason.split(" (")[0]) for item in dataset.skipped] == [
        ("corrupt", "cannot open the video"),
        ("gone", "video file not found"),
        ("truncated", "cannot open the video"),
    ]


def test_undecodable_video_without_skip_fails_when_read(small_videos):
    video_dir, annotate = small_videos
    (video_dir / "corrupt.mp4").write_bytes(b"\x00" * 1000)
    dataset = TrainDataset(annotate({"corrupt": _one([0.5, 1.5])}), SMALL, SMALL_AUG)
    with pytest.raises(TadDataError, match=r"corrupt.mp4: cannot open the video"):
        dataset[0]


def test_zero_frame_video_is_skipped_or_named(small_videos):
    import av

    video_dir, annotate = small_videos
    with av.open(str(video_dir / "empty.mp4"), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for packet in stream.encode():
            container.mux(packet)
    config = annotate({"a": _one([0.5, 1.5]), "empty": _one([0.5, 1.5])})
    with pytest.raises(TadDataError, match="empty.mp4"):
        TrainDataset(config, SMALL, SMALL_AUG)[1]
    with pytest.warns(TadDataWarning, match=r"empty \("):
        skipping = DatasetConfig(config.annotation_path, config.video_dir, "training", skip_missing=True)
        assert len(TrainDataset(skipping, SMALL, SMALL_AUG)) == 1


def test_annotation_past_the_end_is_clipped_with_a_warning(small_videos):
    _, annotate = small_videos
    config = annotate({"a": _one([2.0, 5.0])})
    with pytest.warns(TadDataWarning, match=r"clipped annotation\(s\) reaching outside the video: 1 \(a"):
        dataset = TrainDataset(config, SMALL, SMALL_AUG)
    np.testing.assert_allclose(dataset.videos[0].segments, [[2.0, 3.0]])
    sample = dataset[0]
    assert grid_to_seconds(sample["gt_segments"].numpy(), sample["meta"]).max() <= 3.0


def test_zero_length_annotation_is_dropped_with_a_warning(small_videos):
    _, annotate = small_videos
    entries = {
        "a": {
            "annotations": [{"segment": [1.0, 1.0], "label": "run"}, {"segment": [0.5, 2.0], "label": "jump"}]
        }
    }
    with pytest.warns(TadDataWarning, match=r"dropped zero-length annotation\(s\): 1 \(a"):
        dataset = TrainDataset(annotate(entries), SMALL, SMALL_AUG)
    assert dataset.videos[0].labels.tolist() == [0]


def test_unknown_label_names_file_and_video(small_videos):
    _, annotate = small_videos
    config = annotate({"a": _one([0.5, 1.5]), "b": _one([0.5, 1.5], label="swim")})
    with pytest.raises(
        TadDataError, match=r"anno.json: video 'b', field 'annotations\[0\].label': label 'swim'"
    ):
        TrainDataset(config, SMALL, SMALL_AUG)


def test_frame_count_disagreement_uses_the_decoded_count_and_warns_once(small_videos):
    _, annotate = small_videos
    config = annotate({"b": {"num_frames": 33, **_one([0.5, 1.5])}})
    dataset = TrainDataset(config, SMALL, SMALL_AUG)
    with pytest.warns(TadDataWarning, match=r"'b': the annotation says 33 frames but 30 decode; using 30"):
        sample = dataset[0]
    assert sample["meta"]["num_frames"] == 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset[0]


def test_ignored_labels_and_class_agnostic(small_videos):
    _, annotate = small_videos
    entries = {
        "a": {
            "annotations": [
                {"segment": [0.5, 1.0], "label": "Ambiguous"},
                {"segment": [1.0, 2.0], "label": "run"},
            ]
        }
    }
    config = annotate(entries, classes=("Ambiguous", "jump", "run"))
    dataset = TrainDataset(config, SMALL, SMALL_AUG)
    assert dataset.videos[0].labels.tolist() == [2]
    agnostic = DatasetConfig(config.annotation_path, config.video_dir, "training", class_agnostic=True)
    assert TrainDataset(agnostic, SMALL, SMALL_AUG).videos[0].labels.tolist() == [0]


def test_wrong_sampler_for_the_dataset_kind():
    config = DatasetConfig("anno.json", "videos", "training")
    with pytest.raises(TadDataError, match="TrainDataset: method must be"):
        TrainDataset(config, SLIDING, AUGMENT)
    with pytest.raises(TadDataError, match="TestDataset: method must be"):
        TestDataset(config, TRUNC, EVAL)
    with pytest.raises(TadDataError, match="multiple of scale_factor"):
        SamplerConfig("random_trunc", snippet_stride=4, scale_factor=3)
