"""Ego4D moment queries from the official ``moments_{train,val,test_unannotated}.json``.

Schema read: ``{"videos": [{"video_uid", "split": train|val|test, "clips": [{"clip_uid",
"video_start_sec", "video_end_sec", "video_start_frame", "video_end_frame", "annotations":
[{"labels": [{"label", "video_start_time", "video_end_time", "primary"}]}]}]}]}``.
Each clip becomes one video keyed by ``clip_uid`` (the clips are what gets trimmed and trained on):
duration ``video_end_sec - video_start_sec``, frame count ``video_end_frame - video_start_frame``,
fps their ratio; segments are made clip-relative by subtracting ``video_start_sec`` and, like
OpenTAD's converter, rounded to 4 decimals. Only ``primary`` labels are kept; all annotators'
labels are kept. As in OpenTAD, clips whose fps is outside [10, 100] (broken metadata) and
labelled-split clips without a primary label are dropped, with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, parse_number
from tad_data.converters.common import annotation_set, expand_sources
from tad_data.errors import TadDataError, TadDataWarning, describe_location, read_json

__all__ = ["FPS_RANGE", "SUBSETS", "convert_ego4d"]

#: Official split -> subset.
SUBSETS = {"train": "training", "val": "validation", "test": "testing"}
#: Clips whose frame rate falls outside this range have broken metadata and are dropped.
FPS_RANGE = (10.0, 100.0)
_DECIMALS = 4


def convert_ego4d(sources: Sequence[str | Path]) -> AnnotationSet:
    """Convert the official Ego4D moment-query JSON files.

    Args:
        sources: ``moments_*.json`` files, or folders holding them.

    Raises:
        TadDataError: for a wrong schema (the message names file, clip and field).
    """
    records: list[VideoRecord] = []
    dropped: list[str] = []
    version = ""
    for path in expand_sources(sources, "moments_*.json"):
        document = read_json(path)
        if not isinstance(document, dict):
            raise TadDataError(f"{path}: expected a JSON object with a 'videos' list")
        version = version or str(document.get("version", "ego4d moments"))
        for video in _list(document, "videos", path, None):
            split = video.get("split") if isinstance(video, dict) else None
            if split not in SUBSETS:
                where = describe_location(path, _get_id(video, "video_uid"), "split")
                raise TadDataError(f"{where}: expected one of {sorted(SUBSETS)}, got {split!r}")
            for clip in _list(video, "clips", path, _get_id(video, "video_uid")):
                record = _clip(path, clip, SUBSETS[split])
                if record is None:
                    dropped.append(_get_id(clip, "clip_uid") or "?")
                else:
                    records.append(record)
    if dropped:
        warnings.warn(
            f"ego4d: dropped {len(dropped)} clip(s) with fps outside {FPS_RANGE} or without a primary label "
            f"({', '.join(dropped[:5])})",
            TadDataWarning,
            stacklevel=2,
        )
    return annotation_set(records, version=version or "ego4d moments")


def _clip(path: Path, clip: Any, subset: str) -> VideoRecord | None:
    clip_id = _get_id(clip, "clip_uid")
    if clip_id is None:
        raise TadDataError(f"{describe_location(path, field='clip_uid')}: a clip has no clip_uid")

    def number(container: dict[str, Any], key: str) -> float:
        if key not in container:
            raise TadDataError(f"{describe_location(path, clip_id, key)}: missing field")
        return parse_number(container[key], path, clip_id, key)

    start_sec = max(number(clip, "video_start_sec"), 0.0)
    duration = round(number(clip, "video_end_sec") - start_sec, _DECIMALS)
    num_frames = int(number(clip, "video_end_frame")) - max(int(number(clip, "video_start_frame")), 0)
    if duration <= 0 or not FPS_RANGE[0] <= num_frames / duration <= FPS_RANGE[1]:
        return None
    instances = []
    for annotator in _list(clip, "annotations", path, clip_id, required=subset != "testing"):
        for label in _list(annotator, "labels", path, clip_id):
            if not isinstance(label, dict) or not isinstance(label.get("label"), str):
                location = describe_location(path, clip_id, "labels")
                raise TadDataError(f"{location}: expected objects with a 'label' name, got {label!r}")
            if not label.get("primary", False):
                continue
            start = round(number(label, "video_start_time") - start_sec, _DECIMALS)
            end = round(number(label, "video_end_time") - start_sec, _DECIMALS)
            if end < start:
                location = describe_location(path, clip_id, "video_end_time")
                raise TadDataError(
                    f"{location}: end {end} is before start {start} (label {label['label']!r})"
                )
            instances.append(Instance(start, end, label["label"]))
    if subset != "testing" and not instances:
        return None
    return VideoRecord(clip_id, subset, duration, num_frames / duration, num_frames, tuple(instances))


def _list(container: Any, key: str, path: Path, video: str | None, required: bool = True) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise TadDataError(
            f"{describe_location(path, video, key)}: expected a list, got {type(value).__name__}"
        )
    return value


def _get_id(container: Any, key: str) -> str | None:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, str) and value else None
