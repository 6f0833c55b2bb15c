"""Frame-index samplers with the semantics of OpenTAD's ``LoadFrames`` and window datasets.

Vocabulary (OpenTAD's):

- ``snippet_stride``: raw frames per feature-grid step (``feature_stride * sample_stride``; THUMOS 4).
- ``scale_factor``: frames fed to the backbone per grid step (the backbone downsamples time by it);
  frames are taken every ``snippet_stride // scale_factor`` raw frames.
- ``window_size``: grid steps per sample (``trunc_len`` for training windows, ``resize_length`` for
  resized videos); a sample has ``window_size * scale_factor`` frames and a ``window_size`` mask.

Samplers:

- `random_trunc_window` (training): a random window of the frame grid that keeps at least one
  ground-truth segment with ``intersection / length >= trunc_thresh`` (up to 200 tries, the last
  one kept otherwise); a video shorter than the window gets a random length in ``crop_ratio``.
- `split_sliding_windows` + `sliding_window` (testing): windows every ``window_size * (1 - overlap)``
  steps, the last one right-aligned to the video end.
- `resize_window` (ActivityNet): ``window_size * scale_factor`` frames spread uniformly over the
  whole video, ``arange(s/2 - 0.5, total + s/2 - 0.5, s)`` with ``s = total / frames``.

Short windows are padded by repeating the last frame index (``np.pad(mode="edge")``); the mask marks
the valid grid steps (``valid_frames // scale_factor`` of them). Final indices are
``clip(round(idx), 0, total - 1)`` (numpy rounding, half to even, as in OpenTAD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tad_data.errors import TadDataError

__all__ = [
    "Window",
    "clip_segments_to_window",
    "frame_grid",
    "random_trunc_window",
    "resize_window",
    "sliding_window",
    "split_sliding_windows",
]


@dataclass(frozen=True)
class Window:
    """Which frames to decode for one sample, and its ground truth in the sample's grid units."""

    frame_indices: np.ndarray  # int64 [window_size * scale_factor] raw frame indices (padded by repetition)
    mask: np.ndarray  # bool [window_size] True on grid steps backed by real frames
    start_frame: int  # raw frame index of the window's first frame (OpenTAD's window_start_frame)
    gt_segments: np.ndarray  # float32 [n, 2] ground truth in grid units relative to the window start
    gt_labels: np.ndarray  # int64 [n] class ids of gt_segments


def frame_grid(total_frames: int, snippet_stride: int, scale_factor: int) -> np.ndarray:
    """Raw frame indices of the sampling grid: ``arange(0, total_frames, snippet_stride // scale_factor)``.

    Args:
        total_frames: decoded frames of the video.
        snippet_stride: raw frames per grid step.
        scale_factor: frames per grid step; must divide ``snippet_stride``.
    """
    if scale_factor <= 0 or snippet_stride < scale_factor or snippet_stride % scale_factor:
        raise TadDataError(
            f"snippet_stride ({snippet_stride}) must be a positive multiple of scale_factor ({scale_factor})"
        )
    if total_frames <= 0:
        raise TadDataError(f"a video needs at least one frame, got total_frames={total_frames}")
    return np.arange(0, total_frames, snippet_stride // scale_factor)


def _pad_and_mask(
    indices: np.ndarray, window_size: int, scale_factor: int, total_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Edge-pad frame indices to ``window_size * scale_factor``; mask the valid grid steps; clip and round."""
    frame_num = window_size * scale_factor
    valid_steps = min(len(indices), frame_num) // scale_factor
    if len(indices) < frame_num:
        indices = np.pad(indices, (0, frame_num - len(indices)), mode="edge")
    mask = np.zeros(window_size, dtype=bool)
    mask[:valid_steps] = True
    frames = np.clip(indices, 0, total_frames - 1).round().astype(np.int64)
    return frames, mask


def _empty_gt() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2), dtype=np.float32), np.zeros(0, dtype=np.int64)


def random_trunc_window(
    total_frames: int,
    gt_segments: np.ndarray,
    gt_labels: np.ndarray,
    *,
    snippet_stride: int,
    scale_factor: int,
    window_size: int,
    trunc_thresh: float,
    crop_ratio: tuple[float, float] | None,
    rng: np.random.Generator,
    max_trials: int = 200,
) -> Window:
    """A random training window (OpenTAD ``LoadFrames(method="random_trunc")``).

    The frame grid (every ``snippet_stride // scale_factor`` frames) is cut to ``window_size *
    scale_factor`` frames at a random start; a start is accepted when some segment keeps at least
    ``trunc_thresh`` of its length inside. After ``max_trials`` refusals the last start is used. Kept
    segments are clipped to the window and shifted to start at 0. A video not longer than the window
    is used whole, or, with ``crop_ratio``, cut to a random length in ``crop_ratio`` of its length.

    Args:
        total_frames: decoded frames of the video.
        gt_segments: ``[n, 2]`` ground truth in grid units of the whole video.
        gt_labels: ``[n]`` class ids.
        snippet_stride: raw frames per grid step.
        scale_factor: frames per grid step.
        window_size: grid steps per window (``trunc_len``).
        trunc_thresh: fraction of a segment that must lie inside an accepted window.
        crop_ratio: ``(low, high)`` length fractions for videos shorter than the window, or None.
        rng: the random source (one per sample, for reproducibility).
        max_trials: start positions tried before the last one is kept.
    """
    grid = frame_grid(total_frames, snippet_stride, scale_factor)
    segments = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2) * scale_factor  # frame-grid units
    labels = np.asarray(gt_labels, dtype=np.int64).reshape(-1)
    trunc_len = window_size * scale_factor
    grid_len = len(grid)
    start, kept = 0, np.ones(len(segments), dtype=bool)
    if grid_len <= trunc_len and crop_ratio is not None:
        trunc_len = int(
            rng.integers(
                max(round(crop_ratio[0] * grid_len), 1), min(round(crop_ratio[1] * grid_len), grid_len) + 1
            )
        )
    if grid_len > trunc_len:
        starts = rng.integers(0, grid_len - trunc_len + 1, size=max_trials)
        left = np.maximum(starts[:, None], segments[None, :, 0])  # [trials, n]
        right = np.minimum(starts[:, None] + trunc_len, segments[None, :, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.clip(right - left, 0, None) / np.abs(segments[None, :, 1] - segments[None, :, 0])
        accepted = (ratio >= trunc_thresh).any(axis=1)
        trial = int(np.argmax(accepted)) if accepted.any() else max_trials - 1
        start, kept = int(starts[trial]), ratio[trial] >= trunc_thresh
        segments = np.stack([left[trial], right[trial]], axis=1) - start
        grid = grid[start : start + trunc_len]
    frames, mask = _pad_and_mask(grid, window_size, scale_factor, total_frames)
    return Window(
        frame_indices=frames,
        mask=mask,
        start_frame=int(grid[0]) if len(grid) else 0,
        gt_segments=(segments[kept] / scale_factor).astype(np.float32).reshape(-1, 2),
        gt_labels=labels[kept],
    )


def split_sliding_windows(
    num_frames: int, snippet_stride: int, window_size: int, overlap: float
) -> list[tuple[int, int]]:
    """Test windows over a video, as ``(start_step, num_steps)`` pairs (OpenTAD ``SlidingWindowDataset``).

    Windows start every ``int(window_size * (1 - overlap))`` grid steps; there are
    ``max(1, steps // window_stride)`` of them, and the first one that would pass the video end is
    moved back to end exactly at it (right-aligned) and is the last. Like OpenTAD, this can repeat the
    previous window when the steps are an exact multiple of the stride.

    Args:
        num_frames: frames of the video (the annotation's count; see `sliding_window`).
        snippet_stride: raw frames per grid step.
        window_size: grid steps per window.
        overlap: fraction of a window shared with the next one (THUMOS test 0.5, val 0.25).
    """
    if not 0 <= overlap < 1:
        raise TadDataError(f"window overlap must be in [0, 1), got {overlap}")
    window_stride = int(window_size * (1 - overlap))
    if window_stride <= 0:
        raise TadDataError(f"window_size {window_size} with overlap {overlap} gives a zero window stride")
    num_steps = len(range(0, num_frames, snippet_stride))
    windows = []
    for index in range(max(1, num_steps // window_stride)):
        start, end = index * window_stride, index * window_stride + window_size
        if end > num_steps:
            end, start = num_steps, max(0, num_steps - window_size)
            windows.append((start, end - start))
            break
        windows.append((start, end - start))
    return windows


def sliding_window(
    total_frames: int,
    start_step: int,
    num_steps: int,
    *,
    snippet_stride: int,
    scale_factor: int,
    window_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and mask of one test window (OpenTAD ``LoadFrames(method="sliding_window")``).

    Args:
        total_frames: decoded frames of the video (may differ from the count the windows were split
            with; frames past the decoded end are dropped and masked).
        start_step: first grid step of the window.
        num_steps: grid steps in the window (``window_size`` except for videos shorter than it).
        snippet_stride: raw frames per grid step.
        scale_factor: frames per grid step.
        window_size: grid steps per sample (the padded length).

    Returns:
        ``int64 [window_size * scale_factor]`` frame indices and ``bool [window_size]`` mask.
    """
    grid = frame_grid(total_frames, snippet_stride, scale_factor)
    first = min(start_step * scale_factor, len(grid))
    last = min((start_step + num_steps) * scale_factor, len(grid))
    return _pad_and_mask(grid[first:last], window_size, scale_factor, total_frames)


def resize_window(total_frames: int, window_size: int, scale_factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames spread uniformly over the whole video (OpenTAD ``LoadFrames(method="resize")``).

    ``window_size * scale_factor`` frames at ``s/2 - 0.5 + i*s`` with ``s = total_frames / frames``,
    rounded (half to even) and clipped; the mask is all True.

    Args:
        total_frames: decoded frames of the video.
        window_size: grid steps of the resized video (``resize_length``; ANet 192).
        scale_factor: frames per grid step (ANet 4, i.e. 768 frames).
    """
    if total_frames <= 0:
        raise TadDataError(f"a video needs at least one frame, got total_frames={total_frames}")
    frame_num = window_size * scale_factor
    stride = total_frames / frame_num
    # the same float expression as OpenTAD (arange may give one extra value from rounding; cut it)
    centers = np.arange(stride / 2 - 0.5, total_frames + stride / 2 - 0.5, stride)[:frame_num]
    frames = np.clip(centers, 0, total_frames - 1).round().astype(np.int64)
    return frames, np.ones(window_size, dtype=bool)


def clip_segments_to_window(
    gt_segments: np.ndarray, gt_labels: np.ndarray, num_steps: int, min_completeness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth of one test window: segments clipped to the window (window grid units).

    As in OpenTAD's ``compute_gt_completeness``, the window spans from its first to its last grid
    step, ``[0, num_steps - 1]``, and a segment is kept when its clipped part is more than
    ``min_completeness`` of its length (``ioa_thresh``; strict ``>``).

    Args:
        gt_segments: ``[n, 2]`` segments in grid units relative to the window start.
        gt_labels: ``[n]`` class ids.
        num_steps: valid grid steps of the window.
        min_completeness: fraction of a segment that must lie inside.
    """
    segments = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(gt_labels, dtype=np.int64).reshape(-1)
    if not len(segments):
        return _empty_gt()
    last_step = num_steps - 1
    clipped = np.stack([np.maximum(segments[:, 0], 0.0), np.minimum(segments[:, 1], last_step)], axis=1)
    overlaps = (segments[:, 0] < last_step) & (segments[:, 1] > 0)
    lengths = np.maximum(segments[:, 1] - segments[:, 0], 1e-6)
    completeness = np.where(overlaps, (clipped[:, 1] - clipped[:, 0]) / lengths, 0.0)
    kept = completeness > min_completeness
    return clipped[kept].astype(np.float32), labels[kept]
