"""Converters from each dataset's official annotation files to the internal format.

`convert_dataset` runs one dataset's converter, removes blocked videos, fills unknown durations /
fps / frame counts from the videos when a folder of videos is given (listing the missing ones),
then drops zero-length annotations and clips annotations to the video (`repair_instances`).
`write_conversion` writes the result beside the requested output path, every file of one conversion
together: all of them appear, or (on any error) none does.

Datasets are named as everywhere in the tad-* libraries (`tad_eval.datasets`); `dataset_converter`
also takes the aliases `tad_eval.canonical_dataset` knows. Formats of one's own labels (`FORMATS`: ``csv``)
are no datasets (no protocol, no canonical name): `convert_labels` converts them, always with the videos.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tad_data.annotations import (
    AnnotationSet,
    annotations_text,
    class_list_path,
    class_list_text,
    repair_instances,
)
from tad_data.converters.activitynet import VIDEO_PREFIX as ACTIVITYNET_PREFIX
from tad_data.converters.activitynet import convert_activitynet
from tad_data.converters.charades import convert_charades
from tad_data.converters.ego4d import convert_ego4d
from tad_data.converters.epic import convert_epic_kitchens
from tad_data.converters.labels_csv import LabelProblem, LabelProblems, convert_csv
from tad_data.converters.thumos import convert_multithumos, convert_thumos14
from tad_data.converters.videos import attach_video_info
from tad_data.errors import TadDataError
from tad_eval.datasets import canonical_dataset
from tad_eval.files import atomic_write_all

__all__ = [
    "DATASETS",
    "FORMATS",
    "Conversion",
    "DatasetConverter",
    "LabelProblem",
    "LabelProblems",
    "convert_activitynet",
    "convert_charades",
    "convert_csv",
    "convert_dataset",
    "convert_ego4d",
    "convert_epic_kitchens",
    "convert_multithumos",
    "convert_labels",
    "convert_thumos14",
    "dataset_converter",
    "missing_list_path",
    "only_task",
    "output_path",
    "write_conversion",
]


@dataclass(frozen=True)
class DatasetConverter:
    """How one dataset is converted."""

    name: str  # canonical dataset name (tad_eval.DATASETS)
    convert: Callable[
        [Sequence[str | Path]], AnnotationSet | dict[str, AnnotationSet]
    ]  # official files -> set(s)
    video_prefix: str = ""  # video file = <prefix><video id>.<ext>


#: Every supported dataset, by canonical name, in the order of `tad_eval.DATASETS`.
DATASETS = {
    spec.name: spec
    for spec in (
        DatasetConverter("thumos14", convert_thumos14),
        DatasetConverter("activitynet13", convert_activitynet, ACTIVITYNET_PREFIX),
        DatasetConverter("epic-kitchens-100", convert_epic_kitchens),
        DatasetConverter("ego4d-mq", convert_ego4d),
        DatasetConverter("multithumos", convert_multithumos),
        DatasetConverter("charades", convert_charades),
    )
}


#: Formats of one's own labels, by the name ``tad-data convert --dataset`` takes, with what a file holds.
FORMATS = {"csv": "your own labels: rows video,start,end,label[,subset], times in seconds"}


def dataset_converter(name: str) -> DatasetConverter:
    """The converter of a dataset, by canonical name or alias (`tad_eval.canonical_dataset`).

    Raises:
        TadDataError: for an unknown dataset (the message suggests the closest and lists all).
    """
    try:
        return DATASETS[canonical_dataset(name)]
    except ValueError as err:
        raise TadDataError(str(err)) from None


@dataclass(frozen=True)
class Conversion:
    """The converted annotation set(s) of one dataset."""

    outputs: dict[str, AnnotationSet]  # "" for a single output, else its name ("verb", "noun")
    missing_videos: tuple[str, ...] | None  # ids without a readable video; None when no folder was given


def convert_dataset(
    name: str,
    sources: Sequence[str | Path],
    videos_dir: str | Path | None = None,
    blocked: Iterable[str] = (),
) -> Conversion:
    """Convert a dataset's official files into internal annotation sets.

    Args:
        name: the dataset (see `DATASETS`).
        sources: the official files or folders.
        videos_dir: folder of the videos, to fill unknown durations/fps/frame counts and list the
            missing videos; None to leave unknown values null.
        blocked: video ids to leave out (e.g. ActivityNet's blocked list).
    """
    spec = dataset_converter(name)
    blocked = set(blocked)
    converted = spec.convert(sources)
    outputs = converted if isinstance(converted, dict) else {"": converted}
    source = f"{spec.name} ({', '.join(str(path) for path in sources)})"
    missing: set[str] | None = None if videos_dir is None else set()
    finished = {}
    for key, converted_set in outputs.items():
        kept = {
            video_id: record for video_id, record in converted_set.videos.items() if video_id not in blocked
        }
        result = replace(converted_set, videos=kept, source=source)
        if videos_dir is not None:
            result, absent = attach_video_info(result, Path(videos_dir), spec.video_prefix)
            missing.update(absent)
        finished[key] = repair_instances(result)
    return Conversion(finished, None if missing is None else tuple(sorted(missing)))


def only_task(conversion: Conversion, task: str, dataset: str) -> Conversion:
    """One task of a dataset with several (EPIC-KITCHENS-100: verb, noun), as the only output.

    Raises:
        TadDataError: the dataset has no tasks, or not this one.
    """
    tasks = [key for key in conversion.outputs if key]
    if task not in tasks:
        choices = ", ".join(tasks) if tasks else "none: it has a single output"
        raise TadDataError(f"--task: {dataset} has no task {task!r} (tasks: {choices})")
    return replace(conversion, outputs={"": conversion.outputs[task]})


def convert_labels(
    name: str, source: str | Path, videos_dir: str | Path, repair: bool = False, seed: int = 0
) -> Conversion:
    """Convert one's own labels (a format of `FORMATS`) with the videos they describe.

    Args:
        name: the format (``csv``).
        source: the labels file.
        videos_dir: the folder of the videos (fps, frame counts and durations come from them).
        repair: repair what can be repaired (see `tad_data.converters.labels_csv`) instead of stopping.
        seed: the seed of the training/validation split when the labels name no subsets.

    Raises:
        LabelProblems: every problem of the file (the unrepairable ones with ``repair``).
    """
    if name not in FORMATS:
        raise TadDataError(f"unknown label format {name!r}; formats: {', '.join(FORMATS)}")
    annotations, dropped = convert_csv(source, videos_dir, repair=repair, seed=seed)
    return Conversion({"": annotations}, dropped)


def output_path(out: str | Path, key: str) -> Path:
    """Where output ``key`` goes: ``out`` itself for the single output, else ``<stem>_<key><suffix>``."""
    out = Path(out)
    return out if not key else out.with_name(f"{out.stem}_{key}{out.suffix}")


def missing_list_path(out: str | Path) -> Path:
    """The missing-videos list beside an output: ``anno.json`` -> ``anno.missing.txt``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.missing.txt")


def write_conversion(conversion: Conversion, out: str | Path) -> list[Path]:
    """Write each annotation set, its class list and (when videos were checked) the missing list.

    The files are written together (`tad_eval.files.atomic_write_all`): after an error (an unwritable
    folder, a class name that cannot be written) none of them has changed.

    Args:
        conversion: the result of `convert_dataset`.
        out: the requested output path (``anno.json``).

    Returns:
        The files written.
    """
    contents: dict[Path, str] = {}
    for key, annotation_set in conversion.outputs.items():
        path = output_path(out, key)
        contents[path] = annotations_text(annotation_set, path)
        contents[class_list_path(path)] = class_list_text(annotation_set.classes, class_list_path(path))
    if conversion.missing_videos is not None:
        contents[missing_list_path(out)] = "".join(f"{video_id}\n" for video_id in conversion.missing_videos)
    with atomic_write_all(list(contents)) as handles:
        for handle, text in zip(handles, contents.values(), strict=True):
            handle.write(text)
    return list(contents)
