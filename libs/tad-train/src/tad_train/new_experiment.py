"""An experiment file for your own labelled videos, from an official recipe (``tad-train new-experiment``).

The recipe (an official experiment, ``workflows/experiments/<name>.yaml``, or any experiment file) gives
the model, the training schedule and the protocol; the annotation file (``tad-data convert --dataset csv``)
and the videos give what belongs to the data. Derived, each with a comment in the file saying why:

- ``name``, the ``data`` paths (relative to the working directory, as given), ``data.video_suffix`` (the
  videos' one extension), the subsets (``training``; ``validation``, else ``testing``);
- ``head.num_classes``: the annotation's class list (1 for a class-agnostic recipe);
- ``window.size``, for a sliding-window protocol: the smallest valid length that holds 90 % of the videos
  whole (their lengths in grid steps, ``duration * fps / snippet_stride``, each video at its own fps),
  never more than the recipe's window (the length its memory and schedule were set for) and never less
  than one valid length. Valid lengths are multiples of the detector's level strides x attention windows
  (``tad_head.max_div_factor``) whose frames (``size * scale_factor``) fill whole 16-frame ViT chunks. A
  resize protocol (ActivityNet) resamples every video to the recipe's length, which is kept;
- ``trainer.batch_size`` and ``trainer.grad_accumulation`` with ``--gpu-mem``: the largest videos per GPU
  dividing the recipe's that the memory planner (``tad_backbone.plan_training_memory``, as ``tad-train
  plan``) fits in the GPU with its reserve, and gradient accumulation making up the recipe's batch, so its
  learning rates still apply. A recipe batch that does not split evenly over ``--gpus`` (16 on 3 GPUs, 2
  on 4) becomes the nearest that does, at least a video per GPU (15; 4), with or without ``--gpu-mem``:
  the learning rates stay the recipe's, as OpenTAD keeps a config's rates on any number of GPUs, and the
  comment and a warning say so (scale them by the ratio of the batches for the linear scaling rule).

Every other value is the recipe's; the file written holds every value (as ``tad-train config`` prints
them), so it is complete on its own and ``tad-train config`` reads it back to the same configuration.
"""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tad_data import load_annotations
from tad_eval import InputError
from tad_head import max_div_factor
from tad_train.config import ExperimentConfig, dump_config, load_config, parse_overrides
from tad_train.memory import experiment_memory_plan

__all__ = ["RECIPE_FOLDER", "NewExperiment", "new_experiment", "recipe_path", "window_unit"]

#: Where official recipes are found by name (relative to the working directory: the repository root).
RECIPE_FOLDER = Path("workflows") / "experiments"

#: Share of the videos a derived window holds whole.
VIDEO_QUANTILE = 0.9

_GIB = 2**30
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class NewExperiment:
    """The experiment written for the user's data."""

    config: ExperimentConfig  # resolved
    text: str  # the YAML file: every value, comments on the derived ones
    notes: dict[str, str]  # dotted key -> why it has its value
    warnings: tuple[str, ...] = ()  # derived values that depart from the recipe's (the CLI prints them)


def recipe_path(recipe: str | os.PathLike[str]) -> Path:
    """An experiment file as given, or the official recipe of that name in :data:`RECIPE_FOLDER`.

    Raises:
        InputError: neither exists (the message lists the official recipes found).
    """
    path = Path(recipe)
    if path.is_file():
        return path
    named = RECIPE_FOLDER / f"{recipe}.yaml"
    if named.is_file():
        return named
    known = sorted(p.stem for p in RECIPE_FOLDER.glob("*.yaml")) if RECIPE_FOLDER.is_dir() else []
    listing = (
        f"official recipes in {RECIPE_FOLDER}: {', '.join(known)}"
        if known
        else (f"no official recipes in {RECIPE_FOLDER} (run from the repository root, or give a file)")
    )
    raise InputError("--from", str(recipe), f"neither an experiment file nor a recipe name; {listing}")


def window_unit(config: ExperimentConfig) -> int:
    """The step between valid ``window.size`` values of an experiment's detector, ViT and scale factor."""
    chunk = config.backbone.model.chunk_frames
    frames_unit = chunk // math.gcd(chunk, config.window.scale_factor)  # size * scale_factor fills chunks
    return math.lcm(max_div_factor(config.projection), frames_unit)


def new_experiment(
    recipe: str | os.PathLike[str],
    annotations: str | os.PathLike[str],
    videos: str | os.PathLike[str],
    out: str | os.PathLike[str],
    name: str | None = None,
    gpu_mem: float | None = None,
    gpus: int = 1,
    overrides: Sequence[str] = (),
) -> NewExperiment:
    """Derive an experiment for the user's videos from a recipe (see the module docstring).

    Args:
        recipe: an official recipe's name or an experiment file.
        annotations: the annotation file (with its class list beside it).
        videos: the folder of the videos.
        out: where the file will be written (named in its header).
        name: the experiment's name (run folders, ``results/custom/<name>.json``); None: ``out``'s stem.
        gpu_mem: GiB of one GPU, to choose the batch size; None keeps the recipe's.
        gpus: GPUs the global batch is split over.
        overrides: ``section.field=value`` applied last (``--set``).

    Raises:
        InputError: naming the argument or file and the value: an unknown recipe, a bad name, videos
            missing or of several extensions, a subset missing, a GPU too small for one video.
    """
    out = Path(out)
    name = out.stem if name is None else name
    if not _NAME.fullmatch(name):
        raise InputError("--name", name, "use letters, digits, '_', '.' and '-' (it names files)")
    source = recipe_path(recipe)
    annotations, videos = Path(annotations), Path(videos)
    given = {key for key, _ in parse_overrides(overrides)}  # --set values win over derived ones
    base = load_config(source, overrides, num_classes=1)  # the recipe; its own data need not exist here
    annotation_set = load_annotations(annotations)
    stats = _VideoStats.read(annotation_set, videos)
    notes: dict[str, str] = {}
    values: dict[str, Any] = {"name": name}
    notes["name"] = f"from the output file's name (or --name); recipe: {source}"

    root = annotations.parent
    values |= {
        "data.root": str(root),
        "data.annotations": annotations.name,
        "data.classes": None,
        "data.videos": os.path.relpath(videos, root),
        "data.video_prefix": "",
        "data.video_suffix": stats.suffix,
        "data.blocked": None,
        "evaluation.subset": None,
        "evaluation.blocked": None,
        "evaluation.classifier": None,
    }
    notes["data.root"] = (
        "the annotation file's folder as given (paths are relative to the folder tad-train and snakemake "
        "run in); annotations, class list (beside them) and videos are found from here"
    )
    notes["data.video_suffix"] = f"every annotated video is <id>{stats.suffix} in {videos}"
    subsets = set(annotation_set.subsets)
    if "training" not in subsets:
        raise InputError(annotations, "subset", f"no 'training' videos; subsets present: {sorted(subsets)}")
    test_subset = next((s for s in ("validation", "testing") if s in subsets), None)
    if test_subset is None:
        raise InputError(
            annotations,
            "subset",
            f"no 'validation' or 'testing' videos to evaluate on; present: {sorted(subsets)}",
        )
    values |= {"data.train_subset": "training", "data.test_subset": test_subset}
    notes["data.test_subset"] = f"the annotation's subsets: {', '.join(sorted(subsets))}"

    num_classes = 1 if base.data.class_agnostic else len(annotation_set.classes)
    values["head.num_classes"] = num_classes
    notes["head.num_classes"] = (
        "1: the recipe is class-agnostic (detect labels segments 'action', or uses --classifier)"
        if base.data.class_agnostic
        else f"the {num_classes} classes of {annotations.stem}.classes.txt"
    )

    if "window.size" not in given:
        size, notes["window.size"] = _window_size(base, stats)
        values |= {  # the derived lengths too, so a recipe that states them (a run's config.yaml) agrees
            "window.size": size,
            "train_sampler.window_size": size,
            "test_sampler.window_size": size,
            "projection.max_seq_len": size,
        }
    warnings: list[str] = []
    if not given & {"trainer.batch_size", "trainer.grad_accumulation"}:
        sized = load_config(source, [*_as_overrides(values), *overrides])
        batch, accumulation, notes["trainer.batch_size"] = _batch_size(sized, base, gpu_mem, gpus)
        values |= {"trainer.batch_size": batch, "trainer.grad_accumulation": accumulation}
        notes["trainer.grad_accumulation"] = "see trainer.batch_size"
        recipe_batch = base.trainer.batch_size * base.trainer.grad_accumulation
        if batch * accumulation != recipe_batch:
            warnings.append(
                f"trainer.batch_size: the recipe's batch of {recipe_batch} does not split evenly over {gpus} "
                f"GPU(s): the batch is {batch * accumulation}, the learning rates are still the recipe's"
            )
    config = load_config(source, [*_as_overrides(values), *overrides])
    return NewExperiment(config, _file_text(config, source, out, notes, overrides), notes, tuple(warnings))


def _as_overrides(values: dict[str, Any]) -> list[str]:
    """``--set`` strings; values as JSON, which YAML reads back exactly (paths with spaces included)."""
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]


@dataclass(frozen=True)
class _VideoStats:
    """Lengths of the annotated videos and actions (seconds and fps), and the videos' one extension."""

    durations: np.ndarray  # seconds per video
    fps: np.ndarray  # frames per second per video
    action_lengths: np.ndarray  # seconds per action instance
    suffix: str

    @classmethod
    def read(cls, annotation_set: Any, videos: Path) -> _VideoStats:
        from tad_data import find_video, video_info

        if not videos.is_dir():
            raise InputError(videos, "--videos", "not a folder")
        durations, rates, suffixes, missing = [], [], {}, []
        for video_id, record in sorted(annotation_set.videos.items()):
            path = find_video(videos, video_id)
            if path is None:
                missing.append(video_id)
                continue
            suffixes.setdefault(path.suffix, []).append(video_id)
            if record.duration is None or record.fps is None:
                info = video_info(path)
                durations.append(info.duration)
                rates.append(info.fps)
            else:
                durations.append(record.duration)
                rates.append(record.fps)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise InputError(
                videos, "videos", f"{len(missing)} annotated video(s) have no file here: {shown}"
            )
        if len(suffixes) > 1:
            counts = ", ".join(f"{suffix}: {len(ids)}" for suffix, ids in sorted(suffixes.items()))
            raise InputError(
                videos,
                "data.video_suffix",
                f"the videos have several extensions ({counts}); an experiment reads one: convert them, "
                "e.g. ffmpeg -i clip.mkv -c copy clip.mp4",
            )
        lengths = [i.length for record in annotation_set.videos.values() for i in record.instances]
        return cls(np.array(durations), np.array(rates), np.array(lengths), next(iter(suffixes)))


def _window_size(recipe: ExperimentConfig, stats: _VideoStats) -> tuple[int, str]:
    window = recipe.window
    if recipe.test_sampler.method == "resize":
        return window.size, (
            f"the recipe's: its resize protocol resamples each whole video to {window.size} steps, "
            "whatever its length"
        )
    unit = window_unit(recipe)
    steps = stats.durations * stats.fps / window.snippet_stride
    needed = float(np.quantile(steps, VIDEO_QUANTILE))
    size = min(window.size, max(unit, unit * math.ceil(needed / unit)))
    seconds_per_step = window.snippet_stride / float(np.median(stats.fps))
    action_steps = float(np.quantile(stats.action_lengths, VIDEO_QUANTILE)) / seconds_per_step
    why = (
        f"90 % of your videos are at most {needed:.0f} steps of {window.snippet_stride} frames "
        f"({np.quantile(stats.durations, VIDEO_QUANTILE):.1f} s at {np.median(stats.fps):g} fps); the valid "
        f"sizes are multiples of {unit} (detector strides x attention windows, whole 16-frame ViT chunks at "
        f"scale_factor {window.scale_factor}); the smallest that holds them, at most the recipe's "
        f"{window.size}: {size} steps = {size * seconds_per_step:.1f} s per window"
    )
    if action_steps > size:
        why += (
            f". NOTE: 10 % of the actions are longer than {action_steps:.0f} steps, more than a window: "
            "they are cut; a recipe with a longer window suits them better"
        )
    return size, why


def _batch_size(
    config: ExperimentConfig, recipe: ExperimentConfig, gpu_mem: float | None, gpus: int
) -> tuple[int, int, str]:
    """(global batch, gradient accumulation, why) for ``gpus`` GPUs of ``gpu_mem`` GiB.

    The trainer splits the global batch evenly over the GPUs: a recipe batch that does not split becomes the
    nearest smaller one that does, or one video per GPU (see the module docstring).
    """
    recipe_batch = recipe.trainer.batch_size * recipe.trainer.grad_accumulation
    if gpu_mem is None:
        accumulation = config.trainer.grad_accumulation
        per_gpu = max(1, config.trainer.batch_size // gpus)
        plan = experiment_memory_plan(config, per_gpu, gpus)
        why = (
            f"the recipe's (no --gpu-mem given): {per_gpu} video(s) per GPU x {gpus} GPU(s) x {accumulation} "
            f"accumulated step(s) = {_versus_recipe(per_gpu * gpus * accumulation, recipe_batch, gpus)}; the "
            f"memory planner puts this at {(plan.peak_bytes + plan.reserve_bytes) / _GIB:.1f} GiB per GPU"
        )
        return per_gpu * gpus, accumulation, why
    per_gpu_target = max(1, recipe_batch // gpus)
    budget = gpu_mem * _GIB
    needs = {}
    for batch in (b for b in range(per_gpu_target, 0, -1) if per_gpu_target % b == 0):
        plan = experiment_memory_plan(config, batch, gpus)
        needs[batch] = plan.peak_bytes + plan.reserve_bytes
        if needs[batch] <= budget:
            accumulation = per_gpu_target // batch
            why = (
                f"the memory planner: {batch} video(s) per GPU need {needs[batch] / _GIB:.2f} GiB of "
                f"your {gpu_mem:g} GiB ({config.window.frames} frames at {config.augment.crop_size} px, "
                f"amp {config.trainer.amp}, reserve included); x {gpus} GPU(s) x {accumulation} "
                f"accumulated step(s) = {_versus_recipe(per_gpu_target * gpus, recipe_batch, gpus)}"
            )
            return batch * gpus, accumulation, why
    raise InputError(
        "--gpu-mem",
        f"{gpu_mem:g}",
        f"one video per GPU needs {needs[1] / _GIB:.2f} GiB (memory planner, reserve included): choose a "
        "smaller recipe, or --set backbone.grad_checkpointing=true",
    )


def _versus_recipe(batch: int, recipe_batch: int, gpus: int) -> str:
    """How a global batch compares with the recipe's, and what that means for the learning rates."""
    if batch == recipe_batch:
        return f"the recipe's batch of {recipe_batch}, so its learning rates apply"
    return (
        f"{batch}, not the recipe's batch of {recipe_batch}, which does not split evenly over {gpus} GPU(s); "
        f"the learning rates are still the recipe's: scale them by {batch}/{recipe_batch} yourself if you "
        "want the linear scaling rule"
    )


def _file_text(
    config: ExperimentConfig, recipe: Path, out: Path, notes: dict[str, str], overrides: Sequence[str]
) -> str:
    """The resolved configuration as YAML, a header, and a comment above every derived value."""
    about = (
        f"{config.name}: an experiment on your own videos, written by `tad-train new-experiment` from the "
        f"recipe {recipe}. Every value is written out (`tad-train config` prints the same); the ones marked "
        "'derived' come from your annotations, videos and GPU, the others from the recipe."
    )
    header = [*_comment(about, 0, "# ", "# "), "#"]
    header += [
        f"#   tad-train train {out} \\",
        f"#       --out work_dirs/{config.name}",
        f"#   snakemake --profile local results/custom/{config.name}.json \\",
        f"#       --config experiment={out}",
    ]
    if overrides:
        header += _comment(f"--set given: {' '.join(overrides)}", 0, "# ", "# ")
    lines, section = [], ""
    for line in dump_config(config).splitlines():
        indent = len(line) - len(line.lstrip(" "))
        key = line.strip().split(":", 1)[0]
        if indent == 0:
            section = key
            dotted = key
        else:
            dotted = f"{section}.{key}" if indent == 2 else ""
        if dotted in notes:
            lines += _comment(notes[dotted], indent, "# derived: ")
        lines.append(line)
    return "\n".join(header + lines) + "\n"


def _comment(text: str, indent: int, first: str, rest: str = "#   ") -> list[str]:
    """``text`` as comment lines of at most 110 characters (paths are not broken)."""
    return textwrap.wrap(
        text,
        width=110,
        initial_indent=" " * indent + first,
        subsequent_indent=" " * indent + rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
