"""Training and test datasets of raw-video clips, and their collate function.

A sample is a dict::

    frames       uint8 [3, T, H, W]   T = window_size * scale_factor decoded, transformed frames
    mask         bool  [window_size]  True on feature-grid steps backed by real frames
    gt_segments  float32 [n, 2]       ground truth in feature-grid units of this sample
    gt_labels    int64 [n]            class ids (positions in the annotation set's class list)
    meta         dict                 video_id, fps, duration, num_frames, snippet_stride,
                                      scale_factor, offset_frames, window_start_frame, window_size,
                                      resize_length (None unless method="resize")

``meta`` (`sample_meta`) is what `tad_data.timegrid.grid_to_seconds` needs to turn predictions back into
seconds. `SamplerConfig.test_windows`, `SamplerConfig.test_window` and `sample_meta` cut and describe a
video's test windows as `TestDataset` does, for a video without annotation (``tad-train detect``).
`collate` stacks ``frames`` and ``mask`` and keeps lists for the rest (OpenTAD's collate).

Ground truth is kept in seconds until a sample is drawn and converted with the decoded video's fps
(decord's average fps) and frame count, so annotations that disagree with the file (a frame count
off by a few frames) cost a warning, not wrong targets. Readers are opened inside ``__getitem__``:
the datasets pickle cleanly into DataLoader workers, and every draw comes from
``numpy.random.default_rng([seed, epoch, index])``, so a sample does not depend on which worker or
rank produced it (call `TrainDataset.set_epoch` each epoch, like ``DistributedSampler.set_epoch``).
Pixels are bit-identical for the same torch thread count; with another count (DataLoader workers
run one thread) float sums may round a value to the neighbouring level.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from tad_data.annotations import AnnotationSet, VideoRecord, load_annotations, repair_instances
from tad_data.errors import TadDataError, TadDataWarning
from tad_data.sampling import (
    Window,
    clip_segments_to_window,
    random_trunc_window,
    resize_window,
    sliding_window,
    split_sliding_windows,
)
from tad_data.timegrid import TimeGrid
from tad_data.transforms import AugmentConfig, augment_clip, draw_augmentation, eval_transform
from tad_data.video import VideoInfo, open_video, read_frames, video_info, warn_frame_count_mismatch
from tad_eval.datasets import THUMOS_AMBIGUOUS

__all__ = [
    "DatasetConfig",
    "EvalTransformConfig",
    "SamplerConfig",
    "SkippedVideo",
    "TestDataset",
    "TrainDataset",
    "collate",
    "sample_meta",
]


@dataclass(frozen=True)
class DatasetConfig:
    """Which videos and annotations a dataset reads."""

    annotation_path: str  # annotation file in the internal format (tad_data.annotations)
    video_dir: str  # folder holding the video files
    subset: str  # subset to read ("training", "validation", ...)
    classes_path: str | None = (
        None  # class list; None: the one beside the annotation file, else sorted labels
    )
    video_prefix: str = ""  # video file = video_dir / (prefix + video_id + suffix); ActivityNet: "v_"
    video_suffix: str = ".mp4"  # file extension, with the dot
    class_agnostic: bool = False  # every label becomes class 0 (ActivityNet's detector)
    ignore_labels: tuple[str, ...] = (THUMOS_AMBIGUOUS,)  # labels skipped without warning
    min_gt_scale: float = 0.0  # drop segments with length / duration <= this (ActivityNet filter_gt: 0.01)
    blocked: tuple[str, ...] = ()  # video ids left out (e.g. ActivityNet's missing_files.txt)
    skip_missing: bool = False  # skip missing or undecodable videos (listed in `.skipped`) instead of raising
    floor_gt_frames: bool = False  # window grids: round ground truth down to whole frames (OpenTAD THUMOS)
    seed: int = 0  # base seed; sample i of epoch e draws from numpy default_rng([seed, e, i])
    decode_threads: int = 1  # decord decoder threads per reader (0: decord's choice; 1 is faster per core)


@dataclass(frozen=True)
class SamplerConfig:
    """How frames are chosen (OpenTAD ``LoadFrames`` and window-dataset settings)."""

    method: Literal["random_trunc", "sliding_window", "resize"]  # train windows / test windows / whole video
    window_size: int = 768  # grid steps per sample: trunc_len, window_size or resize_length
    snippet_stride: int = 4  # raw frames per grid step (feature_stride * sample_stride); unused by "resize"
    scale_factor: int = 1  # frames per grid step fed to the backbone (THUMOS 768x2: 2, ANet: 4)
    offset_frames: int = 0  # raw frames the grid is shifted by (OpenTAD offset_frames)
    trunc_thresh: float = 0.75  # random_trunc: fraction of a segment an accepted window must hold
    crop_ratio: tuple[float, float] | None = (0.9, 1.0)  # random_trunc: length range for short videos
    max_trials: int = 200  # random_trunc: window starts tried before the last is kept
    window_overlap: float = 0.5  # sliding_window: fraction shared by consecutive windows (val: 0.25)
    ioa_thresh: float = 0.75  # sliding_window: keep a segment when more than this fraction is inside

    def __post_init__(self) -> None:
        if self.method not in ("random_trunc", "sliding_window", "resize"):
            raise TadDataError(f"SamplerConfig: unknown method {self.method!r}")
        if self.window_size <= 0 or self.scale_factor <= 0 or self.snippet_stride <= 0:
            raise TadDataError(
                f"SamplerConfig: window_size ({self.window_size}), snippet_stride ({self.snippet_stride}) "
                f"and "
                f"scale_factor ({self.scale_factor}) must be positive"
            )
        if self.method != "resize" and self.snippet_stride % self.scale_factor:
            raise TadDataError(
                f"SamplerConfig: snippet_stride {self.snippet_stride} must be a multiple of "
                f"scale_factor {self.scale_factor}"
            )

    def test_window(self, total_frames: int, start: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame indices and step mask of one test window: the whole video resized (``resize``), or
        ``steps`` grid steps from step ``start`` (``sliding_window``, see `split_sliding_windows`)."""
        if self.method == "resize":
            return resize_window(total_frames, self.window_size, self.scale_factor)
        return sliding_window(
            total_frames,
            start,
            steps,
            snippet_stride=self.snippet_stride,
            scale_factor=self.scale_factor,
            window_size=self.window_size,
        )

    def test_windows(self, total_frames: int) -> list[tuple[int, int]]:
        """The test windows of a video as ``(start step, steps)``: the whole video resized to one window
        (``resize``; ``total_frames`` is unused), or `split_sliding_windows` of its ``total_frames`` frames.

        Raises:
            TadDataError: a ``random_trunc`` sampler (it draws training windows).
        """
        if self.method == "resize":
            return [(0, self.window_size)]
        if self.method != "sliding_window":
            raise TadDataError(
                f"SamplerConfig: test windows need method 'sliding_window' or 'resize', got {self.method!r}"
            )
        return split_sliding_windows(total_frames, self.snippet_stride, self.window_size, self.window_overlap)

    def time_grid(self, duration: float, fps: float, window_start_frame: int = 0) -> TimeGrid:
        """The time axis of a sample: the whole video resized (``resize``), or a window whose grid step 0
        is raw frame ``window_start_frame`` (``window_start_frame`` is unused by ``resize``).

        Args:
            duration: the video's length in seconds.
            fps: the decoded video's frame rate.
            window_start_frame: raw frame of the window's first grid step.
        """
        if self.method == "resize":
            return TimeGrid(duration=duration, fps=fps, resize_length=self.window_size)
        return TimeGrid(
            duration=duration,
            fps=fps,
            snippet_stride=self.snippet_stride,
            window_start_frame=window_start_frame,
            offset_frames=self.offset_frames,
        )


def sample_meta(video_id: str, grid: TimeGrid, num_frames: int, sampler: SamplerConfig) -> dict[str, Any]:
    """A sample's ``meta`` (see the module docstring): what `grid_to_seconds` needs, and the video's id.

    Args:
        video_id: the video's id in the results.
        grid: the sample's time axis (`SamplerConfig.time_grid`).
        num_frames: the decoded video's frame count.
        sampler: the sampler that cut the sample.
    """
    return {
        "video_id": video_id,
        "fps": grid.fps,
        "duration": grid.duration,
        "num_frames": num_frames,
        "snippet_stride": sampler.snippet_stride,
        "scale_factor": sampler.scale_factor,
        "offset_frames": sampler.offset_frames,
        "window_start_frame": grid.window_start_frame,
        "window_size": sampler.window_size,
        "resize_length": grid.resize_length,
    }


@dataclass(frozen=True)
class EvalTransformConfig:
    """Test-time frame transform: short-side resize then centre crop."""

    short_side: int = 160  # Resize((-1, short_side)); AdaTAD 160 or 224
    crop_size: int = 160  # CenterCrop side


@dataclass(frozen=True)
class SkippedVideo:
    """A video `skip_missing` left out."""

    video_id: str  # the annotation's id
    path: str  # the file looked for
    reason: str  # why (missing, or the decoding error)


@dataclass(frozen=True)
class _Video:
    """One annotated video, ground truth still in seconds."""

    video_id: str
    path: Path
    duration: float  # seconds (annotation, else decoded)
    num_frames: int | None  # the annotation's frame count (decoded when probed)
    segments: np.ndarray = field(repr=False)  # float64 [n, 2] seconds
    labels: np.ndarray = field(repr=False)  # int64 [n]


def collate(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack ``frames`` and ``mask``; keep ``gt_segments``, ``gt_labels`` and ``meta`` as lists.

    Args:
        batch: samples from `TrainDataset` or `TestDataset` (same window size and crop size).

    Returns:
        ``frames`` uint8 ``[B, 3, T, H, W]``, ``mask`` bool ``[B, window_size]`` and lists of length B.
    """
    if not batch:
        raise TadDataError("collate: empty batch")
    return {
        "frames": torch.stack([sample["frames"] for sample in batch]),
        "mask": torch.stack([sample["mask"] for sample in batch]),
        "gt_segments": [sample["gt_segments"] for sample in batch],
        "gt_labels": [sample["gt_labels"] for sample in batch],
        "meta": [sample["meta"] for sample in batch],
    }


class _VideoDataset(torch.utils.data.Dataset):
    """Shared loading: annotations, ground-truth filtering, missing-video handling."""

    def __init__(self, dataset: DatasetConfig, sampler: SamplerConfig, keep_unlabelled: bool) -> None:
        self.dataset_config = dataset
        self.sampler_config = sampler
        annotations = repair_instances(load_annotations(dataset.annotation_path, dataset.classes_path))
        blocked = set(dataset.blocked)
        records = [record for record in annotations.subset(dataset.subset) if record.video_id not in blocked]
        self.classes: tuple[str, ...] = annotations.classes
        self.skipped: list[SkippedVideo] = []
        self.videos: list[_Video] = []
        for record in records:
            video = self._load_video(record, annotations)
            if video is not None and (keep_unlabelled or len(video.labels)):
                self.videos.append(video)
        if self.skipped:
            listed = "; ".join(f"{item.video_id} ({item.reason})" for item in self.skipped)
            warnings.warn(
                f"{dataset.annotation_path}: skipped {len(self.skipped)} missing or undecodable "
                f"video(s): {listed}",
                TadDataWarning,
                stacklevel=3,
            )
        if not self.videos:
            raise TadDataError(
                f"{dataset.annotation_path}: subset {dataset.subset!r} has no usable video"
                + ("" if keep_unlabelled else " with ground truth")
            )

    def _load_video(self, record: VideoRecord, annotations: AnnotationSet) -> _Video | None:
        config = self.dataset_config
        path = Path(config.video_dir) / f"{config.video_prefix}{record.video_id}{config.video_suffix}"
        info = None
        if config.skip_missing:
            try:
                info = video_info(path)
            except TadDataError as err:
                self.skipped.append(
                    SkippedVideo(record.video_id, str(path), str(err).removeprefix(f"{path}: "))
                )
                return None
        elif not path.is_file():
            raise TadDataError(f"{config.annotation_path}: video {record.video_id!r}: file {path} not found")
        if record.duration is None and info is None:
            info = video_info(path)
        duration = record.duration if record.duration is not None else info.duration
        segments, labels = self._ground_truth(record, annotations, duration)
        return _Video(
            record.video_id, path, duration, self._frame_count(record, info, path), segments, labels
        )

    def _frame_count(self, record: VideoRecord, info: VideoInfo | None, path: Path) -> int | None:
        if info is not None:
            warn_frame_count_mismatch(record.video_id, record.num_frames, info.num_frames, path)
            return info.num_frames
        if record.num_frames is not None:
            return record.num_frames
        if record.fps is not None and record.duration is not None:
            return int(record.duration * record.fps)
        return None

    def _ground_truth(
        self, record: VideoRecord, annotations: AnnotationSet, duration: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and class ids, without ignored labels, tiny segments and exact duplicates."""
        config = self.dataset_config
        kept = {
            (instance.start, instance.end, instance.label)
            for instance in record.instances
            if instance.label not in config.ignore_labels
            and (instance.end - instance.start) / duration > config.min_gt_scale
        }
        ordered = sorted(kept)
        segments = np.array([[start, end] for start, end, _ in ordered], dtype=np.float64).reshape(-1, 2)
        labels = np.array(
            [0 if config.class_agnostic else annotations.class_index[label] for _, _, label in ordered],
            dtype=np.int64,
        )
        return segments, labels

    def _open(self, video: _Video) -> tuple[Any, int, float]:
        """A decord reader, the decoded frame count and fps (warning once if the count disagrees)."""
        reader = open_video(video.path, num_threads=self.dataset_config.decode_threads)
        total, fps = len(reader), float(reader.get_avg_fps())
        warn_frame_count_mismatch(video.video_id, video.num_frames, total, video.path)
        return reader, total, fps

    @staticmethod
    def _decode_unique(reader: Any, indices: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        """Decode each distinct frame once; the inverse index restores padded (repeated) frames."""
        unique, inverse = np.unique(indices, return_inverse=True)
        frames = read_frames(reader, unique, path)
        return frames, (None if len(unique) == len(indices) else inverse)

    def _sample(
        self, video: _Video, window: Window, grid: TimeGrid, frames: torch.Tensor, total: int
    ) -> dict[str, Any]:
        return {
            "frames": frames,
            "mask": torch.from_numpy(window.mask),
            "gt_segments": torch.from_numpy(np.asarray(window.gt_segments, dtype=np.float32)).reshape(-1, 2),
            "gt_labels": torch.from_numpy(np.asarray(window.gt_labels, dtype=np.int64)),
            "meta": sample_meta(video.video_id, grid, total, self.sampler_config),
        }


class TrainDataset(_VideoDataset):
    """Training samples: a random window (``random_trunc``) or the resized video (``resize``), augmented.

    One item per annotated video with at least one ground-truth segment (OpenTAD drops the others).

    Args:
        dataset: which videos and annotations.
        sampler: ``method="random_trunc"`` (THUMOS) or ``"resize"`` (ActivityNet).
        augment: the training augmentation.
    """

    def __init__(self, dataset: DatasetConfig, sampler: SamplerConfig, augment: AugmentConfig) -> None:
        if sampler.method not in ("random_trunc", "resize"):
            raise TadDataError(
                f"TrainDataset: method must be 'random_trunc' or 'resize', got {sampler.method!r}"
            )
        super().__init__(dataset, sampler, keep_unlabelled=False)
        self.augment_config = augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the random draws of this epoch (call before iterating, in every process)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict[str, Any]:
        video = self.videos[index]
        rng = np.random.default_rng([self.dataset_config.seed, self.epoch, index])
        reader, total, fps = self._open(video)
        window, grid = self._window(video, total, fps, rng)
        frames, inverse = self._decode_unique(reader, window.frame_indices, video.path)
        del reader  # a live decord reader keeps its threads busy: release them before augmenting
        aug = draw_augmentation(self.augment_config, frames.shape[1], frames.shape[2], rng)
        clip = augment_clip(frames, aug, self.augment_config)
        if inverse is not None:
            clip = clip[:, torch.from_numpy(inverse)]
        return self._sample(video, window, grid, clip, total)

    def _window(
        self, video: _Video, total: int, fps: float, rng: np.random.Generator
    ) -> tuple[Window, TimeGrid]:
        sampler = self.sampler_config
        whole = sampler.time_grid(video.duration, fps)
        segments = whole.seconds_to_grid(video.segments, floor_frames=self.dataset_config.floor_gt_frames)
        if sampler.method == "resize":
            indices, mask = resize_window(total, sampler.window_size, sampler.scale_factor)
            return Window(indices, mask, 0, segments.astype(np.float32), video.labels), whole
        window = random_trunc_window(
            total,
            segments,
            video.labels,
            snippet_stride=sampler.snippet_stride,
            scale_factor=sampler.scale_factor,
            window_size=sampler.window_size,
            trunc_thresh=sampler.trunc_thresh,
            crop_ratio=sampler.crop_ratio,
            rng=rng,
            max_trials=sampler.max_trials,
        )
        return window, sampler.time_grid(video.duration, fps, window.start_frame)


class TestDataset(_VideoDataset):
    """Test samples: every sliding window of every video (``sliding_window``) or whole videos (``resize``).

    Videos without ground truth are kept. Ground truth, when present, is clipped to each window and
    kept when more than ``ioa_thresh`` of it is inside (for validation losses); windows are never dropped.

    Args:
        dataset: which videos and annotations.
        sampler: ``method="sliding_window"`` (THUMOS) or ``"resize"`` (ActivityNet).
        transform: the test-time resize and crop.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self, dataset: DatasetConfig, sampler: SamplerConfig, transform: EvalTransformConfig
    ) -> None:
        if sampler.method not in ("sliding_window", "resize"):
            raise TadDataError(
                f"TestDataset: method must be 'sliding_window' or 'resize', got {sampler.method!r}"
            )
        super().__init__(dataset, sampler, keep_unlabelled=True)
        self.transform_config = transform
        self.windows: list[tuple[int, int, int]] = []  # (video index, start step, steps)
        for video_index, video in enumerate(self.videos):
            for start, steps in self._split(video):
                self.windows.append((video_index, start, steps))

    def _split(self, video: _Video) -> list[tuple[int, int]]:
        num_frames = video.num_frames
        if num_frames is None and self.sampler_config.method != "resize":  # resize needs no frame count
            num_frames = video_info(video.path).num_frames  # the annotation has neither a count nor an fps
        return self.sampler_config.test_windows(num_frames or 0)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        video_index, start, steps = self.windows[index]
        video = self.videos[video_index]
        sampler = self.sampler_config
        reader, total, fps = self._open(video)
        indices, mask = sampler.test_window(total, start, steps)
        if sampler.method == "resize":
            grid = sampler.time_grid(video.duration, fps)
            segments, labels = grid.seconds_to_grid(video.segments), video.labels
        else:
            grid = sampler.time_grid(video.duration, fps, start * sampler.snippet_stride)
            local = grid.seconds_to_grid(video.segments, floor_frames=self.dataset_config.floor_gt_frames)
            segments, labels = clip_segments_to_window(local, video.labels, steps, sampler.ioa_thresh)
        frames, inverse = self._decode_unique(reader, indices, video.path)
        del reader  # a live decord reader keeps its threads busy: release them before transforming
        clip = eval_transform(frames, self.transform_config.short_side, self.transform_config.crop_size)
        if inverse is not None:
            clip = clip[:, torch.from_numpy(inverse)]
        window = Window(indices, mask, grid.window_start_frame, segments.astype(np.float32), labels)
        return self._sample(video, window, grid, clip, total)
