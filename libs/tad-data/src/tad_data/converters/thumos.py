"""THUMOS14 and Multi-THUMOS from their official per-class text files (lines ``video start end``).

THUMOS14: ``<Class>_val.txt`` (validation videos) and ``<Class>_test.txt`` (test videos), read with
`tad_eval.read_thumos_txt`; ``Ambiguous`` instances (`tad_eval.datasets.THUMOS_AMBIGUOUS`) are left
out (they are not a class). The OpenTAD / ActionFormer JSON files are accepted too. Multi-THUMOS:
``annotations/<Class>.txt`` (65 classes, validation and test videos mixed in one file) plus
``class_list.txt``.

Subsets are named by role, as OpenTAD does: the THUMOS validation videos (``video_validation_*``)
are what one trains on -> ``training``; the test videos (``video_test_*``) are what one evaluates
on -> ``validation``. The role comes from the video id; for other ids from the file name
(``_val`` / ``_test``) or, for JSON, from its lower-cased subset name. No durations are in the text
files: they stay null unless ``--videos`` is given (files ``<video>.mp4``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, load_annotations
from tad_data.converters.common import annotation_set, expand_sources
from tad_data.errors import TadDataError, describe_location, read_text, tad_data_errors
from tad_eval import read_thumos_txt
from tad_eval.datasets import THUMOS_AMBIGUOUS
from tad_eval.ground_truth import thumos_files

__all__ = [
    "ID_SUBSETS",
    "SPLIT_SUBSETS",
    "convert_multithumos",
    "convert_thumos14",
    "read_multithumos_classes",
]

#: Video-id prefix -> subset (by role: train on THUMOS validation, evaluate on THUMOS test).
ID_SUBSETS = {"video_validation_": "training", "video_test_": "validation"}
#: File-name split (``<Class>_<split>.txt``, as `tad_eval.ground_truth.thumos_files` reads it) -> subset.
SPLIT_SUBSETS = {"val": "training", "validation": "training", "test": "validation"}


class _Collector:
    """Videos gathered from several source files; one subset per video, instances concatenated."""

    def __init__(self) -> None:
        self.records: dict[str, VideoRecord] = {}

    def add(self, path: Path, record: VideoRecord) -> None:
        old = self.records.get(record.video_id)
        if old is None:
            self.records[record.video_id] = record
        elif old.subset != record.subset:
            raise TadDataError(
                f"{describe_location(path, record.video_id, 'subset')}: {record.subset!r} here "
                f"but {old.subset!r} in another source"
            )
        else:
            self.records[record.video_id] = replace(old, instances=old.instances + record.instances)

    def add_text_file(self, path: Path, fallback_subset: str | None) -> None:
        """Add the instances of one per-class text file (``video start end`` lines)."""
        by_video: dict[str, list[Instance]] = {}
        with tad_data_errors():
            rows = read_thumos_txt(path)  # finite times, or an error naming file and line
        for line, (video_id, start, end, label) in enumerate(rows, start=1):
            if end < start:
                location = describe_location(path, video_id, "start end")
                raise TadDataError(f"{location}: bad segment [{start}, {end}] (instance {line} of the file)")
            by_video.setdefault(video_id, []).append(Instance(start, end, label))
        for video_id, instances in by_video.items():
            subset = _subset(path, video_id, fallback_subset)
            self.add(path, VideoRecord(video_id, subset, None, None, None, tuple(instances)))


def convert_thumos14(sources: Sequence[str | Path]) -> AnnotationSet:
    """Convert THUMOS14's official per-class text files (or an OpenTAD/ActionFormer JSON).

    Args:
        sources: folders of ``<Class>_val.txt`` / ``<Class>_test.txt`` files, such files, or JSON files.

    Raises:
        TadDataError: for a malformed line, a JSON schema error, or a video whose subset cannot be told.
    """
    collector = _Collector()
    for source in map(Path, sources):
        if source.suffix == ".json":
            _add_json(collector, source)
            continue
        if not source.exists():
            raise FileNotFoundError(2, "No such file or directory", str(source))
        with tad_data_errors():
            files = thumos_files(source)  # a folder's <Class>_<split>.txt, or the file; never Ambiguous
        for file, _, split in files:
            collector.add_text_file(file, SPLIT_SUBSETS.get(split))
    return annotation_set(collector.records.values(), version="THUMOS14")


def _add_json(collector: _Collector, path: Path) -> None:
    official = load_annotations(path)
    for video_id, record in official.videos.items():
        instances = tuple(instance for instance in record.instances if instance.label != THUMOS_AMBIGUOUS)
        collector.add(
            path, replace(record, subset=_subset(path, video_id, record.subset), instances=instances)
        )


def _subset(path: Path, video_id: str, fallback: str | None) -> str:
    for prefix, subset in ID_SUBSETS.items():
        if video_id.startswith(prefix):
            return subset
    if fallback is None:
        raise TadDataError(
            f"{describe_location(path, video_id)}: cannot tell the subset: the id starts with none of "
            f"{sorted(ID_SUBSETS)} and the file name is not <Class>_<split>.txt with a split in "
            f"{list(SPLIT_SUBSETS)}"
        )
    return fallback


def convert_multithumos(sources: Sequence[str | Path]) -> AnnotationSet:
    """Convert Multi-THUMOS's per-class text files.

    Args:
        sources: the Multi-THUMOS folder (holding ``annotations/`` and ``class_list.txt``), the
            ``annotations`` folder, ``<Class>.txt`` files and/or ``class_list.txt``. Without a class
            list the classes are the sorted labels.

    Raises:
        TadDataError: for a malformed line, a label missing from the class list, or an id that is
            neither ``video_validation_*`` nor ``video_test_*``.
    """
    collector = _Collector()
    classes = None
    for path in _multithumos_files(sources):
        if path.name == "class_list.txt":
            classes = read_multithumos_classes(path)
            continue
        collector.add_text_file(path, None)
    return annotation_set(collector.records.values(), version="MultiTHUMOS", classes=classes)


def _multithumos_files(sources: Sequence[str | Path]) -> list[Path]:
    paths = []
    for source in sources:
        folder = Path(source)
        if folder.is_dir() and (folder / "annotations").is_dir():
            paths.extend(expand_sources([folder / "annotations"], "*.txt"))
            if (folder / "class_list.txt").is_file():
                paths.append(folder / "class_list.txt")
        else:
            paths.extend(expand_sources([source], "*.txt"))
    return paths


def read_multithumos_classes(path: Path) -> tuple[str, ...]:
    """Class names from Multi-THUMOS's ``class_list.txt`` (lines ``<index> <name>``), in index order."""
    indexed = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[0].isdigit():
            raise TadDataError(
                f"{describe_location(path, row=number)}: expected '<index> <class name>', got {line!r}"
            )
        indexed.append((int(fields[0]), fields[1]))
    if not indexed:
        raise TadDataError(f"{path}: no class in the file")
    indices = sorted(index for index, _ in indexed)
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise TadDataError(f"{path}: class indices must be consecutive without repeats, got {indices}")
    return tuple(name for _, name in sorted(indexed))
