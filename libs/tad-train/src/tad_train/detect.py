"""Detection in any video file (``tad-train detect``): windows -> candidates -> one NMS -> seconds -> files.

A video file is cut into windows exactly as tad-data's ``TestDataset`` cuts an annotated video under the
experiment's test protocol (sliding windows, or the whole video resized to one window: ``tad_data``'s
``SamplerConfig.test_windows`` / ``test_window``, ``sample_meta`` and ``eval_transform``); the model's
candidates go through the inference of ``tad-train infer`` (``predict_windows``, ``video_results``:
windows merged in grid units, the dataset's NMS once, seconds). A file knows no annotation: its duration
is its decoded frames / fps, where ``infer`` takes the annotation's duration (and frame count, when given).
So a video of the test set gets the detections ``infer`` writes for it when the two agree, as for the
synthetic videos of ``tad-data synth`` and any constant-rate file whose annotation was filled in from it;
otherwise the seconds differ by as much as the durations do (a resize protocol scales every time by their
ratio; sliding windows only clamp the last segment at the shorter end).

**Bounded memory.** Only the frames of the windows in flight are decoded: each window decodes its distinct
frames a slice at a time (at most about ``_DECODE_BYTES`` of full-resolution pixels) and keeps them at the
experiment's crop size, so a two-hour video needs the memory of a ten-minute one. What grows with the
length is small: the frames' timestamps (16 bytes a frame) and each window's candidates.

**Variable frame rate.** The model was trained on frames sampled evenly in frame index at the video's
average rate, which is evenly in time only when the rate is constant. A file's frame times are read with
decord (``get_frame_timestamp``); when they lie on the constant-rate grid ``i / fps`` (within a quarter
frame; ``fps`` is decord's average rate) frame ``i`` is used as it is. Otherwise the video is resampled in
time: grid frame ``k`` is the decoded frame shown at ``k / fps`` (the last one starting by then), for
``k`` up to ``round(duration * fps)``, ``duration`` running from the first frame's start to the last
frame's end (a container rate more than twice the mean rate, frames / duration, is replaced by the
mean rate). The windows are cut from that grid, so the model sees frames evenly spaced in time and the
detections (``grid step * snippet_stride / fps``) are seconds of the video as a player shows them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from tad_data import (
    VIDEO_EXTENSIONS,
    EvalTransformConfig,
    SamplerConfig,
    TadDataError,
    eval_transform,
    open_video,
    read_frames,
    sample_meta,
)
from tad_train.config import ClassifierConfig, ExperimentConfig
from tad_train.evaluate import fuse_results
from tad_train.inference import predict_windows, video_results
from tad_train.model import AdaTAD

__all__ = ["DetectedVideo", "VideoTimeline", "VideoWindows", "detect_video", "select_detections"]

#: Full-resolution RGB bytes decoded at once while a window is built (then resized to the crop size).
_DECODE_BYTES = 128 * 2**20

#: Frame times within this fraction of a frame of ``i / fps`` count as a constant frame rate.
_CONSTANT_RATE_TOLERANCE = 0.25


@dataclass(frozen=True)
class VideoTimeline:
    """When each decoded frame of a file is shown, and which decoded frames form the sampling grid."""

    fps: float  # the rate of the sampling grid: decord's average frame rate (see the module docstring)
    frame_times: np.ndarray  # float64 [decoded frames]: each frame's start, seconds from the first frame
    duration: float  # seconds from the first frame's start to the last frame's end
    grid_frames: np.ndarray | None  # int64 [grid frames]: the decoded frame shown at k / fps; None: frame k
    height: int  # decoded frame size in pixels
    width: int

    @classmethod
    def read(cls, reader: Any, path: str | os.PathLike[str]) -> VideoTimeline:
        """The timeline of an open decord reader (``tad_data.open_video``).

        Raises:
            TadDataError: decord cannot read the frame times or the first frame; names the file.
        """
        count, fps = len(reader), float(reader.get_avg_fps())
        height, width = read_frames(reader, [0], path).shape[1:3]
        try:
            times = np.asarray(reader.get_frame_timestamp(np.arange(count)), dtype=np.float64).reshape(-1, 2)
        except Exception as error:  # decord raises its own DECORDError or a RuntimeError
            message = str(error).strip().splitlines()
            raise TadDataError(
                f"{path}: cannot read the frame times ({message[0] if message else type(error).__name__})"
            ) from None
        return cls.from_times(times, fps, height, width)

    @classmethod
    def from_times(cls, times: np.ndarray, fps: float, height: int, width: int) -> VideoTimeline:
        """The timeline of frames with these ``[start, end]`` times (seconds) and this average rate.

        Args:
            times: ``[frames, 2]`` each decoded frame's start and end (decord's ``get_frame_timestamp``).
            fps: the container's average frame rate (decord's ``get_avg_fps``).
            height: frame height in pixels.
            width: frame width in pixels.
        """
        count = len(times)
        starts = np.maximum.accumulate(times[:, 0] - times[0, 0])
        if np.abs(starts - np.arange(count) / fps).max() <= _CONSTANT_RATE_TOLERANCE / fps:
            return cls(fps, starts, count / fps, None, height, width)
        duration = float(max(times[-1, 1] - times[0, 0], starts[-1] + 1 / fps))
        # a container rate far above the frames actually there (a millisecond time base read as a rate)
        # would repeat each frame many times: use the mean rate then
        rate = fps if fps <= 2 * count / duration else count / duration
        grid_times = np.arange(max(1, round(duration * rate))) / rate
        # the frame shown at time t started at or before it (1 ms for timestamps stored in milliseconds)
        shown = np.searchsorted(starts, grid_times + 1e-3, side="right") - 1
        return cls(rate, starts, duration, np.clip(shown, 0, count - 1).astype(np.int64), height, width)

    @property
    def num_frames(self) -> int:
        """Frames of the sampling grid (the decoded frames at a constant rate)."""
        return len(self.frame_times) if self.grid_frames is None else len(self.grid_frames)

    @property
    def variable_rate(self) -> bool:
        return self.grid_frames is not None

    def decoded(self, grid_positions: np.ndarray) -> np.ndarray:
        """Decoded frame indices of sampling-grid positions."""
        positions = np.asarray(grid_positions, dtype=np.int64)
        return positions if self.grid_frames is None else self.grid_frames[positions]

    def frame_at(self, seconds: np.ndarray) -> np.ndarray:
        """The decoded frames shown at these times (seconds from the first frame)."""
        shown = np.searchsorted(self.frame_times, np.asarray(seconds, dtype=np.float64), side="right") - 1
        return np.clip(shown, 0, len(self.frame_times) - 1)


class VideoWindows(Dataset):
    """The test windows of one video file, cut and transformed as ``tad_data.TestDataset`` does.

    Samples are ``TestDataset``'s (frames ``[3, T, crop, crop]`` uint8, mask, empty ground truth, the meta
    ``video_results`` reads). The decord reader is opened on first use in each process and never pickled,
    so DataLoader workers open their own.

    Args:
        path: the video file.
        name: the video's id in the results (the file name without its extension).
        timeline: the file's :class:`VideoTimeline`.
        sampler: the experiment's test sampler (``sliding_window`` or ``resize``).
        transform: the experiment's test-time resize and crop.
        decode_threads: decord threads of the reader.

    Raises:
        TadDataError: the sampler is not a test sampler.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str,
        timeline: VideoTimeline,
        sampler: SamplerConfig,
        transform: EvalTransformConfig,
        decode_threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.timeline = timeline
        self.sampler = sampler
        self.transform = transform
        self.decode_threads = decode_threads
        self._reader: Any = None
        self.windows = sampler.test_windows(timeline.num_frames)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_reader": None}

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        start, steps = self.windows[index]
        sampler, total, fps = self.sampler, self.timeline.num_frames, self.timeline.fps
        positions, mask = sampler.test_window(total, start, steps)
        grid = sampler.time_grid(total / fps, fps, start * sampler.snippet_stride)
        return {
            "frames": self._decode(self.timeline.decoded(positions)),
            "mask": torch.from_numpy(mask),
            "gt_segments": torch.zeros((0, 2), dtype=torch.float32),
            "gt_labels": torch.zeros(0, dtype=torch.int64),
            "meta": sample_meta(self.name, grid, total, sampler),
        }

    def _decode(self, indices: np.ndarray) -> torch.Tensor:
        """``[3, len(indices), crop, crop]`` uint8: each distinct frame decoded once, a slice at a time."""
        if self._reader is None:
            self._reader = open_video(self.path, num_threads=self.decode_threads)
        unique, inverse = np.unique(indices, return_inverse=True)
        per_slice = max(1, _DECODE_BYTES // (3 * self.timeline.height * self.timeline.width))
        short_side, crop = self.transform.short_side, self.transform.crop_size
        clips = [
            eval_transform(read_frames(self._reader, part, self.path), short_side, crop)
            for part in np.split(unique, range(per_slice, len(unique), per_slice))
        ]
        clip = torch.cat(clips, dim=1)
        return clip if len(unique) == len(indices) else clip[:, torch.from_numpy(inverse)]


@dataclass(frozen=True)
class DetectedVideo:
    """The detections of one video file, with its timeline (for the picture)."""

    name: str  # the video's id: the file name without its extension
    path: Path
    timeline: VideoTimeline
    detections: list[dict[str, Any]]  # [{"segment": [start, end] seconds, "label", "score"}], best first


def detect_video(
    model: AdaTAD,
    config: ExperimentConfig,
    path: str | os.PathLike[str],
    name: str,
    classes: Sequence[str],
    classifier: ClassifierConfig | None = None,
    progress: bool = True,
) -> DetectedVideo:
    """Every detection of the model in one video file (after NMS; no threshold: see `select_detections`).

    Args:
        model: the detector on its device.
        config: the experiment: test sampler, test transform, NMS, batch size, workers, AMP, chunking.
        path: the video file (any format decord opens).
        name: its id in the results.
        classes: class names by index (unused by class-agnostic experiments).
        classifier: fuse class-agnostic detections with this classifier (keyed by ``name``).
        progress: a tqdm bar named after the video.

    Raises:
        TadDataError: the file cannot be opened or decoded (the message names it).
        InputError: the classifier does not know the video.
    """
    from tad_train.trainer import autocast_dtype

    reader = open_video(path, num_threads=config.data.decode_threads)
    timeline = VideoTimeline.read(reader, path)
    del reader  # each process opens its own when the windows are decoded
    windows = VideoWindows(
        path, name, timeline, config.test_sampler, config.eval_transform, config.data.decode_threads
    )
    candidates = predict_windows(
        model,
        windows,
        config.postprocess,
        batch_size=config.trainer.test_batch_size,
        num_workers=config.trainer.num_workers,
        amp_dtype=autocast_dtype(config.trainer.amp, model.loss_normalizer.value.device),
        chunk_batch=config.trainer.test_chunk_batch,
        progress=progress,
        desc=name,
    )
    results = video_results(candidates, config.postprocess, classes, config.data.class_agnostic)
    if classifier is not None:
        results = fuse_results(results, classifier)
    detections = sorted(results.get(name, []), key=lambda entry: -entry["score"])
    return DetectedVideo(name, Path(path), timeline, detections)


def select_detections(
    detections: Sequence[dict[str, Any]], threshold: float, top: int
) -> list[dict[str, Any]]:
    """The ``top`` best detections scoring at least ``threshold``, best first."""
    kept = [entry for entry in detections if entry["score"] >= threshold]
    return sorted(kept, key=lambda entry: -entry["score"])[:top]


def read_thumbnails(
    path: str | os.PathLike[str], timeline: VideoTimeline, seconds: np.ndarray, width: int = 192
) -> list[np.ndarray]:
    """The frames shown at these times, ``width`` pixels wide, as ``[H, W, 3]`` uint8 (one decoded at a time).

    Args:
        path: the video file.
        timeline: its :class:`VideoTimeline` (times -> decoded frames).
        seconds: the times, from the first frame.
        width: thumbnail width; the height keeps the frame's aspect.
    """
    import torch.nn.functional as F

    reader = open_video(path, num_threads=1)
    height = max(1, round(width * timeline.height / timeline.width))
    images = []
    for index in timeline.frame_at(seconds):
        frame = torch.from_numpy(read_frames(reader, [int(index)], path)).permute(0, 3, 1, 2).float()
        small = F.interpolate(
            frame, size=(height, width), mode="bilinear", antialias=True, align_corners=False
        )
        images.append(small[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
    return images


def video_names(paths: Sequence[Path]) -> list[str]:
    """Each file's id, unique, for ``OUT/<id>.json`` and ``.png``: its name without the extension; where
    files share that, the whole name; where they share that too (``a/x.mp4``, ``b/x.mp4``), the name after
    as many of its folders as tell them apart, joined by ``_`` (``a_x.mp4``, ``b_x.mp4``).

    Raises:
        InputError: a file given twice (``expand_videos`` keeps one).
    """
    from tad_eval import InputError

    folders = [Path(os.path.abspath(path)).parent.parts[1:] for path in paths]

    def name(index: int, depth: int) -> str:  # depth 0: the stem; 1: the name; 1 + n: n folders too
        if depth == 0:
            return paths[index].stem
        return "_".join([*folders[index][len(folders[index]) - depth + 1 :], paths[index].name])

    depths = [0] * len(paths)
    while True:
        names = [name(index, depth) for index, depth in enumerate(depths)]
        counts = Counter(names)
        shared = [index for index, named in enumerate(names) if counts[named] > 1]
        if not shared:
            return names
        longer = [index for index in shared if depths[index] <= len(folders[index])]
        if not longer:  # whole paths alike: the same file twice
            first, second = [index for index in shared if names[index] == names[shared[0]]][:2]
            raise InputError(paths[second], "VIDEO", f"the same file as {paths[first]}")
        for index in longer:
            depths[index] += 1


def expand_videos(sources: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders replaced by their video files (``tad_data`` extensions), sorted; a file
    given twice (itself and through its folder) once."""
    paths: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            paths.extend(sorted(p for p in source.iterdir() if p.is_file() and p.suffix in VIDEO_EXTENSIONS))
        else:
            paths.append(source)
    seen: set[str] = set()
    unique = []
    for path in paths:
        if os.path.abspath(path) not in seen:
            seen.add(os.path.abspath(path))
            unique.append(path)
    return unique


def write_detection_files(
    detected: DetectedVideo, out_dir: Path, threshold: float, top: int, classes: Sequence[str]
) -> tuple[Path, Path, int]:
    """``out_dir/<name>.json`` (tad-eval predictions) and ``out_dir/<name>.png`` (the timeline picture).

    Returns:
        The two paths and the number of detections kept.

    Args:
        detected: the video's detections (all of them, best first).
        out_dir: the output folder.
        threshold: keep detections scoring at least this.
        top: keep at most this many.
        classes: the class list (the picture's row order).
    """
    from tad_eval import write_predictions
    from tad_train.timeline_plot import draw_timeline, format_time

    selected = select_detections(detected.detections, threshold, top)
    json_path, png_path = out_dir / f"{detected.name}.json", out_dir / f"{detected.name}.png"
    write_predictions(json_path, {detected.name: selected})
    timeline = detected.timeline
    hours = timeline.duration >= 3600
    title = (
        f"{detected.name}: {len(selected)} detection(s) scoring at least {threshold:g}"
        + (f" (the best {top})" if len(selected) == top else "")
        + f"; {format_time(timeline.duration, hours)} at {timeline.fps:.4g} fps"
        + (" (variable frame rate)" if timeline.variable_rate else "")
    )
    draw_timeline(
        png_path,
        title,
        timeline.duration,
        timeline.height / timeline.width,
        selected,
        classes,
        lambda seconds: read_thumbnails(detected.path, timeline, seconds),
    )
    return json_path, png_path, len(selected)
