"""Filling in what the official annotation files lack from the videos on disk.

A video of id ``x`` is the file ``<prefix>x<ext>`` in the videos folder, ``ext`` the first of
`VIDEO_EXTENSIONS` that exists (ActivityNet's prefix is ``v_``, the others have none). Its frame
count and fps come from `tad_data.video.video_info` (decord's ``len(reader)`` and
``get_avg_fps()``, what the data loaders use) and its duration is ``frames / fps``. Values the
official files carry are kept; only missing ones are filled. Videos that are absent or cannot be
opened go to the missing-videos list.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from tad_data.annotations import AnnotationSet
from tad_data.errors import TadDataError, TadDataWarning
from tad_data.video import video_info

__all__ = ["VIDEO_EXTENSIONS", "attach_video_info", "find_video"]

#: File extensions tried, in order, when looking for a video.
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".MP4", ".mov")


def find_video(videos_dir: Path, video_id: str, prefix: str = "") -> Path | None:
    """The file of a video in ``videos_dir``, or None when there is none.

    Args:
        videos_dir: the folder of videos.
        video_id: the annotation's video id.
        prefix: prepended to the id to form the file name (``v_`` for ActivityNet).
    """
    for extension in VIDEO_EXTENSIONS:
        candidate = videos_dir / f"{prefix}{video_id}{extension}"
        if candidate.is_file():
            return candidate
    return None


def attach_video_info(
    annotations: AnnotationSet, videos_dir: Path, prefix: str = ""
) -> tuple[AnnotationSet, list[str]]:
    """Fill unknown duration / fps / frame count of each video from its file.

    Args:
        annotations: the converted set.
        videos_dir: the folder of videos.
        prefix: file-name prefix of the dataset (see `find_video`).

    Returns:
        The completed set and the sorted ids of videos that are missing or cannot be decoded.
    """
    if not videos_dir.is_dir():
        raise FileNotFoundError(2, "No such directory", str(videos_dir))
    missing = []
    videos = {}
    for video_id, record in annotations.videos.items():
        path = find_video(videos_dir, video_id, prefix)
        if path is None:
            missing.append(video_id)
            videos[video_id] = record
            continue
        try:
            info = video_info(path)
        except TadDataError as err:
            warnings.warn(f"{err}; listed as missing", TadDataWarning, stacklevel=2)
            missing.append(video_id)
            videos[video_id] = record
            continue
        videos[video_id] = replace(
            record,
            duration=record.duration if record.duration is not None else info.duration,
            fps=record.fps if record.fps is not None else info.fps,
            num_frames=record.num_frames if record.num_frames is not None else info.num_frames,
        )
    return replace(annotations, videos=videos), sorted(missing)
