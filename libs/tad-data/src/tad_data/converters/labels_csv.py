"""Your own labelled videos: a plain CSV of ``video,start,end,label`` rows (seconds) and a folder of videos.

The CSV is a format, not a dataset (``tad-data convert --dataset csv``): one row per action instance,

    video,start,end,label[,subset]
    kitchen_01,12.5,17.0,pour
    kitchen_01.mp4,00:01:02.5,00:01:05,stir

``video`` names a file in the videos folder, with or without its extension (`VIDEO_EXTENSIONS`; the id is
the name without it); ``start`` and ``end`` are seconds, as numbers or ``HH:MM:SS.ff``; other columns are
ignored. Each video's fps, frame count and duration come from the file (decord, what the data loaders use).
Without a ``subset`` column the videos are split by a seeded shuffle, 80 % ``training`` and 20 %
``validation`` (at least one of each from two videos on); a ``subset`` column's ``train`` / ``val`` /
``test`` become ``training`` / ``validation`` / ``testing``.

The checks of the official converters, each problem one line naming file, line, video and value:

- repairable (``repair=True``): a video with no readable file (its rows are dropped and it is listed in
  ``anno.missing.txt``), an end not after the start (dropped), a start after the video's end (dropped),
  an end past the video's end (clipped to it), overlapping rows of the same video and label (merged into
  their union);
- not repairable: a missing value, a time that is no number, one video in two subsets.

An end less than half a frame past the video's end is rounding, not a problem: it is clipped (with the
warning every converter gives, `repair_instances`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, normalize_subset, repair_instances
from tad_data.converters.common import CsvRow, annotation_set, parse_timestamp, read_csv
from tad_data.converters.videos import VIDEO_EXTENSIONS, find_video
from tad_data.errors import TadDataError, TadDataWarning
from tad_data.video import VideoInfo, video_info

__all__ = ["COLUMNS", "LabelProblem", "LabelProblems", "SUBSET_NAMES", "convert_csv"]

#: The required columns, in the order the README shows them.
COLUMNS = ("video", "start", "end", "label")

#: Usual subset names -> the role names every tad-* tool uses.
SUBSET_NAMES = {"train": "training", "val": "validation", "test": "testing"}

#: Share of the videos in ``validation`` when the CSV has no ``subset`` column.
VALIDATION_FRACTION = 0.2

_VERSION = "tad-data csv 1"


@dataclass(frozen=True)
class LabelProblem:
    """One problem of the CSV: where, what, and what ``--repair`` does about it (None: not repairable)."""

    line: int  # the CSV line (1 is the header), for the order of the messages
    where: str  # "labels.csv: line 4, video 'b', field 'end'"
    problem: str
    repair: str | None  # "drops it", "clips it to 12 s", ...

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}" + (f" (--repair {self.repair})" if self.repair else "")


class LabelProblems(TadDataError):
    """Every problem of a CSV (``problems``, in line order); the message names the first."""

    def __init__(self, source: Path, problems: list[LabelProblem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line)
        repairable = sum(problem.repair is not None for problem in problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{self.problems[0]}{more}")
        self.summary = f"{source}: {len(problems)} problem(s)" + (
            f", {repairable} of them repairable with --repair" if repairable else ""
        )


@dataclass(frozen=True)
class _Row:
    """A parsed row (times in seconds; None where a value is missing or did not parse)."""

    csv: CsvRow
    video: str
    start: float | None
    end: float | None
    label: str | None
    subset: str | None

    @property
    def complete(self) -> bool:
        return self.start is not None and self.end is not None and self.label is not None


class _Repairs:
    """What --repair does, row by row: drop, clip the end, or merge into an earlier row."""

    def __init__(self) -> None:
        self.problems: list[LabelProblem] = []
        self.dropped: set[int] = set()  # lines
        self.clipped: dict[int, float] = {}  # line -> new end
        self.merged: dict[int, int] = {}  # line -> line of the row it merges into

    def error(self, row: CsvRow, where: str, problem: str) -> None:
        self.problems.append(LabelProblem(row.line, where, problem, None))

    def repairable(self, row: CsvRow, where: str, problem: str, repair: str) -> None:
        self.problems.append(LabelProblem(row.line, where, problem, repair))


def convert_csv(
    source: str | Path, videos_dir: str | Path, repair: bool = False, seed: int = 0
) -> tuple[AnnotationSet, tuple[str, ...]]:
    """Convert a labels CSV into an annotation set, reading fps and duration from the videos.

    Args:
        source: the CSV file (``video,start,end,label[,subset]``; see the module docstring).
        videos_dir: the folder of the videos.
        repair: apply the repairs instead of stopping at the repairable problems (each repair is a
            `TadDataWarning`).
        seed: the seed of the 80/20 split (used when there is no ``subset`` column).

    Returns:
        The annotation set and the ids of the videos dropped for want of a readable file (``repair``).

    Raises:
        LabelProblems: every problem of the file without ``repair``; with it, the ones it cannot repair.
        TadDataError: a missing column, an unreadable file, no usable row.
    """
    path = Path(source)
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        raise FileNotFoundError(2, "No such directory", str(videos_dir))
    rows = read_csv(path, COLUMNS)
    if not rows:
        raise TadDataError(f"{path}: no rows below the header")
    has_subset = "subset" in rows[0]
    repairs = _Repairs()
    parsed = [_parse_row(row, has_subset, repairs) for row in rows]
    infos, dropped = _read_videos(parsed, videos_dir, repairs)
    usable = [row for row in parsed if row.video in infos]
    subsets = _subsets(usable, has_subset, seed, repairs)
    _check_times(usable, infos, repairs)
    _merge_overlapping_duplicates(usable, repairs)
    unrepairable = [problem for problem in repairs.problems if problem.repair is None]
    if unrepairable or (repairs.problems and not repair):
        raise LabelProblems(path, unrepairable if repair else repairs.problems)
    for problem in sorted(repairs.problems, key=lambda problem: problem.line):
        warnings.warn(f"{problem.where}: {problem.problem}; --repair {problem.repair}", TadDataWarning, 2)
    records = [
        VideoRecord(
            video_id,
            subsets[video_id],
            infos[video_id].duration,
            infos[video_id].fps,
            infos[video_id].num_frames,
            _instances([row for row in usable if row.video == video_id], repairs),
        )
        for video_id in sorted(infos)
    ]
    if not records:
        raise TadDataError(f"{path}: no row names a readable video in {videos_dir}")
    converted = replace(annotation_set(records, version=_VERSION), source=str(path))
    return repair_instances(converted), tuple(sorted(dropped))


def _parse_row(row: CsvRow, has_subset: bool, repairs: _Repairs) -> _Row:
    video = _video_id(row.get("video", "").strip())

    def value(column: str) -> str | None:
        text = row.get(column)
        if text is None or not text.strip():
            repairs.error(row, row.where(column, video or None), "missing value")
            return None
        return text.strip()

    if not video:
        value("video")
    start, end = (_seconds(row, column, video, value(column), repairs) for column in ("start", "end"))
    label = value("label")
    subset = value("subset") if has_subset else None
    return _Row(row, video, start, end, label, None if subset is None else _subset_name(subset))


def _video_id(name: str) -> str:
    """``clip.mp4`` and ``clip`` both name the video ``clip``."""
    for extension in VIDEO_EXTENSIONS:
        if name.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)]
    return name


def _seconds(row: CsvRow, column: str, video: str, text: str | None, repairs: _Repairs) -> float | None:
    if text is None:
        return None
    where = row.where(column, video or None)
    try:
        seconds = parse_timestamp(text, where) if ":" in text else float(text)
    except (TadDataError, ValueError):
        seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        repairs.error(row, where, f"expected seconds (12.5 or 00:00:12.5), got {text!r}")
        return None
    return seconds + 0.0  # -0.0 -> 0.0


def _subset_name(text: str) -> str:
    name = normalize_subset(text)
    return SUBSET_NAMES.get(name, name)


def _read_videos(
    rows: list[_Row], videos_dir: Path, repairs: _Repairs
) -> tuple[dict[str, VideoInfo], list[str]]:
    """The fps, frame count and duration of every named video; the ids without a readable file."""
    infos: dict[str, VideoInfo] = {}
    dropped: list[str] = []
    first_row: dict[str, CsvRow] = {}
    for row in rows:
        if row.video:
            first_row.setdefault(row.video, row.csv)
    for video_id, row in first_row.items():
        path = find_video(videos_dir, video_id)
        uses = sum(other.video == video_id for other in rows)
        repair = f"drops its {uses} row(s) and lists the video in the .missing.txt file"
        if path is None:
            extensions = ",".join(extension.lstrip(".") for extension in VIDEO_EXTENSIONS)
            problem = f"no video file {video_id}.{{{extensions}}} in {videos_dir}"
        else:
            try:
                infos[video_id] = video_info(path)
                continue
            except TadDataError as error:
                problem = str(error)
        repairs.repairable(row, row.where("video", video_id), problem, repair)
        dropped.append(video_id)
    return infos, dropped


def _subsets(rows: list[_Row], has_subset: bool, seed: int, repairs: _Repairs) -> dict[str, str]:
    """Each video's subset: the column's (one per video), else the seeded 80/20 split."""
    videos = sorted({row.video for row in rows})
    if not has_subset:
        order = np.random.default_rng(seed).permutation(len(videos))
        count = max(1, round(len(videos) * VALIDATION_FRACTION)) if len(videos) >= 2 else 0
        validation = {videos[index] for index in order[:count]}
        return {video: "validation" if video in validation else "training" for video in videos}
    first: dict[str, _Row] = {}
    for row in rows:
        if row.subset is None:
            continue
        earlier = first.setdefault(row.video, row)
        if earlier.subset != row.subset:
            problem = f"{row.subset!r}, but line {earlier.csv.line} puts the video in {earlier.subset!r}"
            repairs.error(row.csv, row.csv.where("subset", row.video), problem)
    return {video: first[video].subset if video in first else "training" for video in videos}


def _check_times(rows: list[_Row], infos: dict[str, VideoInfo], repairs: _Repairs) -> None:
    for row in rows:
        if row.start is None or row.end is None:
            continue
        info = infos[row.video]
        where = row.csv.where(None, row.video)
        if row.end <= row.start:
            problem = f"end {row.end:g} is not after start {row.start:g}"
            repairs.repairable(row.csv, where, problem, "drops it")
            repairs.dropped.add(row.csv.line)
        elif row.start >= info.duration:
            problem = f"starts at {row.start:g} s, after the video's end ({info.duration:g} s)"
            repairs.repairable(row.csv, where, problem, "drops it")
            repairs.dropped.add(row.csv.line)
        elif row.end > info.duration + 0.5 / info.fps:  # less is rounding: clipped like every converter
            problem = f"ends at {row.end:g} s, past the video's end ({info.duration:g} s)"
            repairs.repairable(row.csv, where, problem, f"clips it to {info.duration:g} s")
            repairs.clipped[row.csv.line] = info.duration


def _merge_overlapping_duplicates(rows: list[_Row], repairs: _Repairs) -> None:
    """Rows overlapping an earlier-starting row of the same video and label merge into it."""
    groups: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        if row.complete and row.csv.line not in repairs.dropped:
            groups.setdefault((row.video, row.label), []).append(row)
    for (video, label), group in groups.items():
        group.sort(key=lambda row: (row.start, row.end, row.csv.line))
        head, reach = group[0], group[0].end
        for row in group[1:]:
            if row.start < reach:
                problem = (
                    f"[{row.start:g}, {row.end:g}] overlaps [{head.start:g}, {head.end:g}] of line "
                    f"{head.csv.line}, same label {label!r}"
                )
                repairs.repairable(row.csv, row.csv.where(None, video), problem, "merges them into one")
                repairs.merged[row.csv.line] = head.csv.line
                reach = max(reach, row.end)
            else:
                head, reach = row, row.end


def _instances(rows: list[_Row], repairs: _Repairs) -> tuple[Instance, ...]:
    """The video's instances after the repairs: dropped rows left out, ends clipped, merged rows joined."""
    spans: dict[int, tuple[float, float, str]] = {}
    for row in rows:
        if not row.complete or row.csv.line in repairs.dropped:
            continue
        end = repairs.clipped.get(row.csv.line, row.end)
        key = repairs.merged.get(row.csv.line, row.csv.line)
        if key in spans:
            start, reach, _ = spans[key]
            spans[key] = (min(start, row.start), max(reach, end), row.label)
        else:
            spans[key] = (row.start, end, row.label)
    return tuple(Instance(start, end, label) for start, end, label in spans.values())
