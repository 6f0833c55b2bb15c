"""Seconds <-> feature-grid conversion: ground truth goes to the grid, predictions come back.

tad-head works in feature-grid units (one unit = one feature step); tad-data owns the mapping to
seconds. There are two kinds of grid, as in OpenTAD:

- **Window grid** (sliding-window and padding datasets, e.g. THUMOS): grid step ``i`` of a window
  starting at raw frame ``window_start_frame`` is raw frame ``i * snippet_stride + window_start_frame
  + offset_frames``, so ``seconds = (grid * snippet_stride + window_start_frame + offset_frames) / fps``.
- **Resize grid** (e.g. ActivityNet): the whole video is resampled to ``resize_length`` steps, so
  ``seconds = grid / resize_length * duration``.

Seconds coming back from the grid are clamped to ``[0, duration]`` (OpenTAD's ``convert_to_seconds``).
Going to the grid, a window grid keeps values outside the window (the sampler clips ground truth to
its window); a resize grid clips to ``[0, resize_length]`` like OpenTAD's ``LoadFrames``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tad_data.errors import TadDataError

__all__ = ["TimeGrid", "grid_to_seconds", "seconds_to_grid"]


@dataclass(frozen=True)
class TimeGrid:
    """The time axis of one sample (a window of a video, or a whole resized video)."""

    duration: float  # video length in seconds; seconds from the grid are clamped to [0, duration]
    fps: float | None = None  # frames per second of the decoded video (window grids)
    snippet_stride: int = 1  # raw frames per grid step (feature_stride * sample_stride; THUMOS: 4)
    window_start_frame: int = 0  # raw frame index of grid step 0 (0 for a whole video)
    offset_frames: int = 0  # raw frames the grid is shifted by (OpenTAD's `offset_frames`)
    resize_length: int | None = None  # steps the whole video is resized to; None for a window grid

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise TadDataError(
                f"TimeGrid: duration must be a positive number of seconds, got {self.duration!r}"
            )
        if self.resize_length is not None:
            if self.resize_length <= 0:
                raise TadDataError(f"TimeGrid: resize_length must be positive, got {self.resize_length!r}")
        elif self.fps is None or not (math.isfinite(self.fps) and self.fps > 0):
            raise TadDataError(f"TimeGrid: a window grid needs a positive fps, got {self.fps!r}")
        if self.snippet_stride <= 0:
            raise TadDataError(f"TimeGrid: snippet_stride must be positive, got {self.snippet_stride!r}")

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> TimeGrid:
        """The grid described by a sample's ``meta`` dict (see `tad_data.datasets`).

        Args:
            meta: needs ``duration`` and either ``resize_length`` (not None) or ``fps`` and
                ``snippet_stride``; ``window_start_frame`` and ``offset_frames`` default to 0.
        """
        resize_length = meta.get("resize_length")
        return cls(
            duration=float(meta["duration"]),
            fps=None if meta.get("fps") is None else float(meta["fps"]),
            snippet_stride=int(meta.get("snippet_stride", 1)),
            window_start_frame=int(meta.get("window_start_frame", 0)),
            offset_frames=int(meta.get("offset_frames", 0)),
            resize_length=None if resize_length is None else int(resize_length),
        )

    def seconds_to_grid(self, seconds: np.ndarray, floor_frames: bool = False) -> np.ndarray:
        """Ground truth in seconds -> grid units (float64, same shape).

        Args:
            seconds: times or ``[n, 2]`` segments in seconds.
            floor_frames: window grids only: round down to whole frames first, like OpenTAD's
                ``int(sec / duration * frame)`` for THUMOS/Ego4D (not exactly invertible).
        """
        seconds = np.asarray(seconds, dtype=np.float64)
        if self.resize_length is not None:
            return np.clip(seconds / self.duration, 0.0, 1.0) * self.resize_length
        frames = seconds * self.fps
        if floor_frames:
            frames = np.floor(frames)
        return (frames - self.window_start_frame - self.offset_frames) / self.snippet_stride

    def grid_to_seconds(self, grid: np.ndarray) -> np.ndarray:
        """Predictions in grid units -> seconds clamped to ``[0, duration]`` (float64, same shape).

        Args:
            grid: times or ``[n, 2]`` segments in grid units of this sample.
        """
        grid = np.asarray(grid, dtype=np.float64)
        if self.resize_length is not None:
            seconds = grid / self.resize_length * self.duration
        else:
            seconds = (grid * self.snippet_stride + self.window_start_frame + self.offset_frames) / self.fps
        return np.clip(seconds, 0.0, self.duration)


def seconds_to_grid(
    seconds: np.ndarray, meta: Mapping[str, Any] | TimeGrid, floor_frames: bool = False
) -> np.ndarray:
    """Seconds -> grid units of one sample; see `TimeGrid.seconds_to_grid`.

    Args:
        seconds: times or ``[n, 2]`` segments in seconds.
        meta: the sample's ``meta`` dict or its `TimeGrid`.
        floor_frames: round down to whole frames first (window grids; OpenTAD's THUMOS rule).
    """
    grid = meta if isinstance(meta, TimeGrid) else TimeGrid.from_meta(meta)
    return grid.seconds_to_grid(seconds, floor_frames=floor_frames)


def grid_to_seconds(grid: np.ndarray, meta: Mapping[str, Any] | TimeGrid) -> np.ndarray:
    """Grid units of one sample -> seconds in ``[0, duration]``; see `TimeGrid.grid_to_seconds`.

    Args:
        grid: times or ``[n, 2]`` segments in grid units (e.g. tad-head's decoded segments).
        meta: the sample's ``meta`` dict (from a dataset or `collate`) or its `TimeGrid`.
    """
    time_grid = meta if isinstance(meta, TimeGrid) else TimeGrid.from_meta(meta)
    return time_grid.grid_to_seconds(grid)
