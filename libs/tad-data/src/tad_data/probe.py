"""Check a folder of videos against an annotation file (CLI: ``tad-data probe``).

For every annotated video: the file exists (``<prefix><id>`` with one of the known extensions, as
``tad-data convert --videos`` looks for it), decord opens it and decodes its first and last frames,
its decoded frame count equals the annotation's ``num_frames`` and its fps is within a relative
tolerance of the annotation's ``fps`` (fields the annotation leaves null are not compared).

Exit codes of ``tad-data probe``: 0 no problem, 1 problems found (the table lists them), 2 bad input
(unreadable annotation file, missing videos folder).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tad_data.annotations import AnnotationSet, VideoRecord, load_annotations
from tad_data.converters.videos import VIDEO_EXTENSIONS, find_video
from tad_data.errors import TadDataError
from tad_data.video import open_video, read_frames

__all__ = ["Problem", "add_command", "format_problems", "probe_video", "probe_videos"]


@dataclass(frozen=True)
class Problem:
    """One disagreement between an annotation and a video file."""

    video_id: str  # the annotation's video id
    kind: str  # "missing", "undecodable", "frame-count" or "fps"
    detail: str  # what was expected and found


def probe_video(
    record: VideoRecord, video_dir: Path, prefix: str = "", fps_tolerance: float = 0.01
) -> list[Problem]:
    """The problems of one annotated video (empty when it is fine).

    Args:
        record: the annotation of the video.
        video_dir: the folder of videos.
        prefix: file-name prefix before the id (ActivityNet: ``v_``).
        fps_tolerance: allowed relative fps difference.
    """
    path = find_video(video_dir, record.video_id, prefix)
    if path is None:
        names = "|".join(VIDEO_EXTENSIONS)
        return [
            Problem(record.video_id, "missing", f"no {prefix}{record.video_id}{{{names}}} in {video_dir}")
        ]
    try:
        reader = open_video(path, num_threads=1)
        read_frames(reader, [0, len(reader) - 1], path)
    except TadDataError as err:
        return [Problem(record.video_id, "undecodable", str(err))]
    problems = []
    num_frames, fps = len(reader), float(reader.get_avg_fps())
    if record.num_frames is not None and record.num_frames != num_frames:
        problems.append(
            Problem(
                record.video_id, "frame-count", f"annotation {record.num_frames} frames, decoded {num_frames}"
            )
        )
    if record.fps is not None and abs(fps - record.fps) > fps_tolerance * record.fps:
        problems.append(
            Problem(record.video_id, "fps", f"annotation {record.fps:.3f} fps, video {fps:.3f} fps")
        )
    return problems


def probe_videos(
    annotations: AnnotationSet,
    video_dir: str | os.PathLike[str],
    prefix: str = "",
    fps_tolerance: float = 0.01,
) -> list[Problem]:
    """The problems of every video of an annotation set, in video-id order.

    Args:
        annotations: the annotation set.
        video_dir: the folder of videos.
        prefix: file-name prefix before the id (ActivityNet: ``v_``).
        fps_tolerance: allowed relative fps difference.

    Raises:
        TadDataError: when ``video_dir`` is not a folder.
    """
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise TadDataError(f"{video_dir}: videos folder not found")
    problems = []
    for video_id in sorted(annotations.videos):
        problems.extend(probe_video(annotations.videos[video_id], video_dir, prefix, fps_tolerance))
    return problems


def format_problems(problems: Iterable[Problem], num_checked: int) -> str:
    """A fixed-width table ``video  problem  detail`` and a summary line."""
    problems = list(problems)
    if not problems:
        return f"checked {num_checked} videos: no problems"
    rows = [("video", "problem", "detail")] + [(item.video_id, item.kind, item.detail) for item in problems]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    affected = len({item.video_id for item in problems})
    lines.append(f"checked {num_checked} videos: {len(problems)} problems in {affected} videos")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    annotations = load_annotations(args.anno, args.classes)
    problems = probe_videos(annotations, args.videos, args.prefix, args.fps_tolerance)
    print(format_problems(problems, len(annotations.videos)))
    return 1 if problems else 0


_EXAMPLES = """\
examples:
  tad-data probe --videos data/thumos14/videos --anno data/thumos14/anno.json
  tad-data probe --videos data/anet/videos --anno data/anet/anno.json --prefix v_ --fps-tolerance 0.05
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tad-data probe``."""
    parser = subparsers.add_parser(
        "probe",
        help="check that annotated videos exist, decode and match the annotation's frame count and fps",
        description=(
            "Check every annotated video: it exists, decodes, and its frame count and fps agree with\n"
            "the annotation. Prints a table of problems. Exit code 0: no problem; 1: problems found;\n"
            "2: bad input.\n"
        ),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--videos", required=True, metavar="DIR", help="folder of video files")
    parser.add_argument(
        "--anno", required=True, metavar="FILE", help="annotation file in the internal format"
    )
    parser.add_argument(
        "--classes", default=None, metavar="FILE", help="class-list file (default: the one beside --anno)"
    )
    parser.add_argument("--prefix", default="", help="file-name prefix before the video id (ActivityNet: v_)")
    parser.add_argument(
        "--fps-tolerance",
        type=float,
        default=0.01,
        metavar="FRACTION",
        help="allowed relative fps difference (default 0.01)",
    )
    parser.set_defaults(run=_run)
