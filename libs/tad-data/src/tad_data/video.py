"""Video decoding with decord, with every failure turned into a `TadDataError` naming the file.

decord is what the official pipeline (mmaction's ``DecordInit`` / ``DecordDecode``) decodes with:
``VideoReader(path)`` gives the frame count (``len``) and the container's average fps, and
``get_batch(indices)`` decodes exactly the requested frames as RGB ``uint8`` ``[T, H, W, 3]``.

Readers are opened where they are used and never kept on objects that get pickled, so datasets built
on this module work in DataLoader worker processes (each worker opens its own readers).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import decord
import numpy as np

from tad_data.errors import TadDataError, TadDataWarning

__all__ = [
    "VideoInfo",
    "decode_frames",
    "open_video",
    "read_frames",
    "video_info",
    "warn_frame_count_mismatch",
]

PathLike = str | os.PathLike[str]

#: Video ids already warned about a frame-count disagreement in this process (warn once per video).
_WARNED_FRAME_COUNTS: set[str] = set()


@dataclass(frozen=True)
class VideoInfo:
    """What decord reads from a video file."""

    num_frames: int  # decodable frames (decord's len(reader)); what samplers index into
    fps: float  # the container's average frame rate
    height: int  # frame height in pixels
    width: int  # frame width in pixels

    @property
    def duration(self) -> float:
        """Length in seconds, ``num_frames / fps``."""
        return self.num_frames / self.fps


def open_video(path: PathLike, num_threads: int = 0) -> decord.VideoReader:
    """Open a video with decord and check that it has frames and a frame rate.

    Args:
        path: the video file.
        num_threads: decoder threads (0: decord's choice).

    Raises:
        TadDataError: the file is missing, cannot be opened (truncated, corrupt, no video stream),
            has zero frames or no frame rate; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise TadDataError(f"{path}: video file not found")
    try:
        reader = decord.VideoReader(str(path), num_threads=num_threads)
        num_frames, fps = len(reader), float(reader.get_avg_fps())
    except (RuntimeError, decord.DECORDError) as err:
        raise TadDataError(f"{path}: cannot open the video ({_first_line(err)})") from None
    if num_frames <= 0:
        raise TadDataError(f"{path}: the video has no frames")
    if not np.isfinite(fps) or fps <= 0:
        raise TadDataError(f"{path}: the video has no valid frame rate (got {fps})")
    return reader


def video_info(path: PathLike) -> VideoInfo:
    """Frame count, fps and frame size of a video, as decord decodes it.

    Args:
        path: the video file.

    Raises:
        TadDataError: see `open_video`; also when the first frame cannot be decoded.
    """
    reader = open_video(path, num_threads=1)
    first = read_frames(reader, [0], path)
    return VideoInfo(
        num_frames=len(reader), fps=float(reader.get_avg_fps()), height=first.shape[1], width=first.shape[2]
    )


def read_frames(
    reader: decord.VideoReader, indices: Sequence[int] | np.ndarray, path: PathLike
) -> np.ndarray:
    """Decode the given frames from an open reader.

    Args:
        reader: a reader from `open_video`.
        indices: frame indices in ``[0, len(reader))``, in any order, repeats allowed.
        path: the file the reader was opened on (for messages).

    Returns:
        ``uint8`` ``[T, H, W, 3]`` RGB frames, in the order of ``indices``.

    Raises:
        TadDataError: an index is out of range, or the file cannot be decoded (e.g. truncated data).
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    num_frames = len(reader)
    if indices.size and (indices.min() < 0 or indices.max() >= num_frames):
        bad = indices[(indices < 0) | (indices >= num_frames)][0]
        raise TadDataError(f"{path}: frame index {int(bad)} is outside the video's {num_frames} frames")
    import torch.utils.dlpack  # here, not at the top: reading annotations must not load torch

    try:
        # dlpack hands decord's buffer over without the copy asnumpy() makes (~10% of decoding time)
        frames = torch.utils.dlpack.from_dlpack(reader.get_batch(indices.tolist()).to_dlpack()).numpy()
    except (RuntimeError, decord.DECORDError) as err:
        raise TadDataError(f"{path}: decoding frames failed ({_first_line(err)})") from None
    if frames.ndim != 4 or frames.shape[0] != indices.size or frames.shape[-1] != 3:
        # decord 0.6 mis-strides some very narrow widths (16, 24, 48, 72 px) and returns 4 "channels".
        raise TadDataError(
            f"{path}: decord returned frames of shape {tuple(frames.shape)} for {indices.size} frames "
            "(expected [T, H, W, 3]; re-encode the video to a width of at least 80 pixels)"
        )
    return frames


def decode_frames(path: PathLike, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Decode frames of a video with decord (``VideoReader`` + ``get_batch``).

    Args:
        path: the video file.
        indices: frame indices to decode; None decodes every frame.

    Returns:
        ``uint8`` ``[T, H, W, 3]`` RGB frames.

    Raises:
        TadDataError: the file is missing, truncated, corrupt or has zero frames, or an index is out
            of range; the message names the file.
    """
    reader = open_video(path)
    if indices is None:
        indices = np.arange(len(reader))
    return read_frames(reader, indices, path)


def warn_frame_count_mismatch(video_id: str, annotated: int | None, decoded: int, path: PathLike) -> None:
    """Warn (once per video and process) when the annotation's frame count differs from the decoded one.

    The decoded count is the one used for sampling, as in the official loaders (``len(reader)``).

    Args:
        video_id: the annotation's video id.
        annotated: the annotation's ``num_frames`` (None: nothing to compare).
        decoded: ``len(reader)``.
        path: the video file (for the message).
    """
    if annotated is None or annotated == decoded or video_id in _WARNED_FRAME_COUNTS:
        return
    _WARNED_FRAME_COUNTS.add(video_id)
    warnings.warn(
        f"{path}: video {video_id!r}: the annotation says {annotated} frames but {decoded} decode; "
        f"using {decoded}",
        TadDataWarning,
        stacklevel=2,
    )


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
