"""The experiment configuration: one typed tree composed of the libraries' own configs, read from YAML.

An experiment file names a dataset and shows every value that differs from the defaults. The defaults
come from the library that owns each concept: the detector, targets, losses and post-processing of the
dataset from ``tad_head.detector_preset``; the ViT from ``tad_backbone.ARCHITECTURES[arch]``; the
evaluation thresholds from ``tad_eval.PRESETS``; everything else from the dataclass defaults below and in
tad-data. A file may list one or two shared files under ``base:`` (a dataset's paths and samplers, say);
those are merged first, key by key. Bases of bases are refused: there are no inheritance chains.

Three lengths must agree: the sampler's window, the backbone's output length and the projection's
``max_seq_len``. All three come from ``window.size`` (``max_seq_len`` is it rounded up to the detector's
divisibility factor, as OpenTAD pads); the resolved file written beside every run shows them, and
reading it back checks that they still agree.

Overrides (``--set optimizer.lr=2e-4``) are parsed as YAML values, typed like the field they replace and
validated; an unknown key is an error naming the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tad_backbone import ARCHITECTURES, VideoMAEConfig
from tad_data import AugmentConfig, DatasetConfig, EvalTransformConfig, SamplerConfig
from tad_eval import PRESETS, InputError, canonical_dataset
from tad_head import (
    HeadConfig,
    LossConfig,
    PostProcessConfig,
    ProjectionConfig,
    TargetConfig,
    detector_preset,
    max_div_factor,
)

__all__ = [
    "BackboneConfig",
    "ClassifierConfig",
    "DataConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "OptimizerConfig",
    "ScheduleConfig",
    "TrainerConfig",
    "WindowConfig",
    "check_classes",
    "config_hash",
    "config_to_dict",
    "dump_config",
    "load_config",
    "parse_overrides",
    "read_classes",
]


@dataclass(frozen=True)
class WindowConfig:
    """The one length every part agrees on."""

    size: int = 768  # grid steps per window: sampler window and backbone output length; the projection's
    #                  max_seq_len is this, rounded up to the detector's divisibility factor
    snippet_stride: int = 4  # raw video frames per grid step (THUMOS 4; unused by "resize" sampling)
    scale_factor: int = 1  # frames fed to the backbone per grid step: size * scale_factor frames per window
    offset_frames: int = 0  # raw frames the grid is shifted by (OpenTAD offset_frames)

    @property
    def frames(self) -> int:
        """Frames the backbone sees per window (768 for THUMOS 768x1, 1536 for 768x2)."""
        return self.size * self.scale_factor


@dataclass(frozen=True)
class DataConfig:
    """Where the videos and annotations are; relative paths below are relative to ``root``."""

    root: str = "."  # dataset folder (relative to the working directory)
    annotations: str = "annotations.json"  # annotation file in tad-data's format (tad-data convert writes it)
    classes: str | None = None  # class list; None: the one beside the annotation file
    videos: str = "videos"  # folder of video files
    train_subset: str = "training"  # subset trained on
    test_subset: str = "validation"  # subset inferred and evaluated
    video_prefix: str = ""  # video file = videos/<prefix><id><suffix>; ActivityNet: "v_"
    video_suffix: str = ".mp4"
    class_agnostic: bool = False  # train one "action" class (ActivityNet; labels come from a classifier)
    ignore_labels: tuple[str, ...] = ("Ambiguous",)  # labels skipped (THUMOS14's Ambiguous)
    train_min_gt_scale: float = 0.0  # drop training segments with length/duration <= this (ActivityNet 0.01)
    blocked: str | None = None  # file of video ids left out of training and inference (JSON list or lines)
    floor_gt_frames: bool = False  # round ground truth down to whole frames (OpenTAD THUMOS/Ego4D)
    skip_missing: bool = False  # skip missing or undecodable videos (listed) instead of stopping
    decode_threads: int = 1  # decord threads per reader

    def path(self, relative: str) -> Path:
        """A path of this section resolved against ``root``."""
        return Path(self.root) / relative

    @property
    def annotation_path(self) -> Path:
        return self.path(self.annotations)

    @property
    def classes_path(self) -> Path | None:
        return None if self.classes is None else self.path(self.classes)

    def dataset(self, subset: str, min_gt_scale: float, seed: int) -> DatasetConfig:
        """tad-data's description of one subset."""
        return DatasetConfig(
            annotation_path=str(self.annotation_path),
            video_dir=str(self.path(self.videos)),
            subset=subset,
            classes_path=None if self.classes_path is None else str(self.classes_path),
            video_prefix=self.video_prefix,
            video_suffix=self.video_suffix,
            class_agnostic=self.class_agnostic,
            ignore_labels=self.ignore_labels,
            min_gt_scale=min_gt_scale,
            blocked=read_id_list(self.path(self.blocked)) if self.blocked else (),
            skip_missing=self.skip_missing,
            floor_gt_frames=self.floor_gt_frames,
            seed=seed,
            decode_threads=self.decode_threads,
        )


@dataclass(frozen=True)
class BackboneConfig:
    """The ViT: an architecture preset, its weights and how it trains (VideoMAEConfig, flattened in YAML)."""

    arch: str = "s"  # tad_backbone.ARCHITECTURES key; fixes the widths
    weights: str | None = None  # converted safetensors (tad-backbone convert); None: random initialisation
    model: VideoMAEConfig = field(default_factory=VideoMAEConfig)  # the architecture preset plus overrides


@dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with OpenTAD's parameter groups: [backbone, detector decay, detector no-decay]."""

    lr: float = 1e-4  # detector learning rate (THUMOS 1e-4, ActivityNet 1e-3)
    weight_decay: float = 0.05  # detector weights (biases, norms and scales are not decayed)
    backbone_lr: float = 2e-4  # adapters (adapter/side mode) or the whole ViT (full fine-tuning)
    backbone_weight_decay: float = 0.05  # adapters: biases and gamma included, as OpenTAD
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


@dataclass(frozen=True)
class ScheduleConfig:
    """Per-iteration linear warm-up, then cosine to ``eta_min``; epochs count training-loader passes."""

    warmup_epochs: int = 5  # linear warm-up from 0
    max_epochs: int = 100  # length of warm-up + cosine
    end_epoch: int | None = None  # stop after this many epochs (THUMOS: 60 of 100); None: max_epochs
    eta_min: float = 1e-8  # learning rate at the end of the cosine

    @property
    def epochs(self) -> int:
        """Epochs actually trained."""
        return self.max_epochs if self.end_epoch is None else self.end_epoch


@dataclass(frozen=True)
class TrainerConfig:
    """How the loop runs."""

    batch_size: int = 2  # global training batch, split evenly over the processes (as OpenTAD)
    test_batch_size: int = 1  # inference windows per process and forward pass
    num_workers: int = 2  # DataLoader worker processes per training process
    amp: Literal["fp16", "bf16", "off"] = "fp16"  # autocast on CUDA (fp16 with a GradScaler); CPU: bf16 only
    ema_decay: float | None = 0.999  # EMA of every state-dict entry each iteration; None: no EMA
    clip_grad_norm: float | None = 1.0  # global L2 norm, after unscaling; None: no clipping
    grad_accumulation: int = 1  # optimizer step every N batches
    seed: int = 42
    deterministic: bool = True  # cudnn/cuBLAS determinism (OpenTAD's default)
    static_graph: bool = True  # DDP static graph (needed with activation checkpointing)
    fp16_compress: bool = True  # DDP gradient all-reduce in fp16 (CUDA only)
    checkpoint_interval: int = 2  # write checkpoints/epoch_N.pt every N epochs (and at the end)
    checkpoint_steps: int = 0  # also refresh checkpoints/last.pt every N steps inside an epoch; 0: off
    log_interval: int = 50  # steps between metrics.jsonl lines
    val_start_epoch: int | None = None  # evaluate the EMA weights from this epoch (1-based); None: never
    val_interval: int = 1  # ... and every N epochs after it
    test_chunk_batch: int | None = None  # inference: stream the backbone N chunks at a time (long windows)
    device: Literal["auto", "cuda", "cpu"] = "auto"  # auto: CUDA when available


@dataclass(frozen=True)
class ClassifierConfig:
    """Video-level classifier fusion for class-agnostic detections (ActivityNet)."""

    path: str  # {"results": {video: [scores]}, "class" | "classes": [names]}
    topk: int = 2
    mode: Literal["product", "sqrt"] = "product"  # CUHK: det*cls; InternVideo(2): sqrt(det*cls)
    softmax: bool = False


@dataclass(frozen=True)
class EvaluationConfig:
    """How predictions are scored."""

    subset: str | None = None  # ground-truth subset; None: data.test_subset
    tiou_thresholds: tuple[float, ...] = ()  # empty: the dataset's (tad_eval.PRESETS)
    blocked: str | None = None  # video ids left out of evaluation (ActivityNet blocked.json)
    classifier: ClassifierConfig | None = None  # fuse class-agnostic detections with this classifier


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything one run needs, resolved."""

    name: str  # the experiment's name (run folders, result files)
    dataset: str  # canonical dataset name (tad_eval.DATASETS): presets and evaluation protocol
    data: DataConfig
    window: WindowConfig
    train_sampler: SamplerConfig  # tad-data; its window fields come from `window`
    test_sampler: SamplerConfig
    augment: AugmentConfig
    eval_transform: EvalTransformConfig
    backbone: BackboneConfig
    projection: ProjectionConfig  # tad-head; in_channels, max_seq_len derived
    head: HeadConfig  # tad-head; embed_dim derived, num_classes from the class list
    targets: TargetConfig
    loss: LossConfig
    postprocess: PostProcessConfig
    optimizer: OptimizerConfig
    schedule: ScheduleConfig
    trainer: TrainerConfig
    evaluation: EvaluationConfig
    source: str = field(default="<memory>", compare=False)  # the experiment file, for messages

    @property
    def tiou_thresholds(self) -> tuple[float, ...]:
        return self.evaluation.tiou_thresholds or PRESETS[self.dataset].tiou_thresholds

    @property
    def eval_subset(self) -> str:
        return self.evaluation.subset or self.data.test_subset


#: Settings that do not change the trained weights; left out of the configuration hash, so changing them
#: does not block a resume.
_NOT_HASHED = (
    "data.decode_threads",
    "trainer.num_workers",
    "trainer.log_interval",
    "trainer.test_batch_size",
    "trainer.test_chunk_batch",
    "trainer.val_start_epoch",
    "trainer.val_interval",
    "trainer.checkpoint_interval",
    "trainer.checkpoint_steps",
    "evaluation",
)
#: Section name -> the dataclass its YAML mapping builds.
_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "window": WindowConfig,
    "train_sampler": SamplerConfig,
    "test_sampler": SamplerConfig,
    "augment": AugmentConfig,
    "eval_transform": EvalTransformConfig,
    "backbone": BackboneConfig,
    "projection": ProjectionConfig,
    "head": HeadConfig,
    "targets": TargetConfig,
    "loss": LossConfig,
    "postprocess": PostProcessConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
    "trainer": TrainerConfig,
    "evaluation": EvaluationConfig,
}
_TOP_LEVEL = ("name", "dataset", *_SECTIONS)


# --------------------------------------------------------------------------------------------------------
# Reading


def load_config(
    path: str | Path,
    overrides: Sequence[str] = (),
    num_classes: int | None = None,
) -> ExperimentConfig:
    """Read an experiment file, merge its bases, apply ``--set`` overrides and resolve every value.

    Args:
        path: the experiment YAML file.
        overrides: ``section.field=value`` strings (values parsed as YAML).
        num_classes: the head's class count where the file does not state ``head.num_classes`` (a resolved
            ``config.yaml`` does); None reads it from the class list.

    Raises:
        InputError: naming the file, the dotted field and the value, for any unknown key, wrong type,
            inconsistent length or invalid value.
    """
    source = str(path)
    raw = _read_yaml(path)
    raw = _merge_bases(raw, Path(path), source)
    for key, value in parse_overrides(overrides, source):
        _set_dotted(raw, key, value, source)
    return resolve_config(raw, source, num_classes)


def parse_overrides(overrides: Sequence[str], source: str = "--set") -> list[tuple[str, Any]]:
    """``["a.b=1", "c=x"]`` -> ``[("a.b", 1), ("c", "x")]``; values are parsed as YAML scalars or lists."""
    parsed = []
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InputError("--set", repr(text), "expected KEY=VALUE, e.g. optimizer.lr=2e-4")
        try:
            parsed.append((key.strip(), yaml.safe_load(value) if value.strip() else None))
        except yaml.YAMLError as error:
            raise InputError("--set", key.strip(), f"value {value!r} is not valid YAML ({error})") from None
    return parsed


def _read_yaml(path: str | Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(path, "file", error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"byte {error.start}", "not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "file"
        raise InputError(path, where, f"invalid YAML: {getattr(error, 'problem', error)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(path, "top level", f"expected a mapping of sections, got {type(data).__name__}")
    return data


def _merge_bases(raw: dict[str, Any], path: Path, source: str) -> dict[str, Any]:
    """Merge the files listed under ``base:`` (relative to this file) below this file's own values."""
    bases = raw.pop("base", None)
    if bases is None:
        return raw
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(item, str) for item in bases) or len(bases) > 2:
        raise InputError(source, "base", f"expected one or two file names, got {bases!r}")
    merged: dict[str, Any] = {}
    for name in bases:
        base_path = path.parent / name
        base = _read_yaml(base_path)
        if "base" in base:
            raise InputError(base_path, "base", "a base file cannot have bases of its own (no chains)")
        _deep_merge(merged, base)
    _deep_merge(merged, raw)
    return merged


def _deep_merge(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def _set_dotted(raw: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise InputError(
                "--set", key, f"{'.'.join(parts[: depth + 1])} is a value, not a section (in {source})"
            )
        node = child
    node[parts[-1]] = value


# --------------------------------------------------------------------------------------------------------
# Resolving


def resolve_config(
    raw: Mapping[str, Any], source: str = "<memory>", num_classes: int | None = None
) -> ExperimentConfig:
    """Build the typed configuration from a merged mapping (see :func:`load_config`)."""
    _check_keys(raw, _TOP_LEVEL, "", source)
    for required in ("name", "dataset"):
        if required not in raw:
            raise InputError(source, required, "missing (every experiment names itself and its dataset)")
    name = _convert(raw["name"], str, "name", source)
    dataset_text = _convert(raw["dataset"], str, "dataset", source)
    try:
        dataset = canonical_dataset(dataset_text)
    except ValueError as error:
        raise InputError(source, "dataset", str(error)) from None

    sections = {key: _section(raw, key, source) for key in _SECTIONS}
    window = _build(WindowConfig, sections["window"], "window", source)
    data = _build(DataConfig, sections["data"], "data", source)
    window_fields = {
        "window_size": window.size,
        "snippet_stride": window.snippet_stride,
        "scale_factor": window.scale_factor,
        "offset_frames": window.offset_frames,
    }
    # Unless stated: THUMOS-style random windows for training and sliding windows for inference.
    train_sampler = _build(
        SamplerConfig,
        sections["train_sampler"],
        "train_sampler",
        source,
        window_fields,
        SamplerConfig("random_trunc", **window_fields),
    )
    test_sampler = _build(
        SamplerConfig,
        sections["test_sampler"],
        "test_sampler",
        source,
        window_fields,
        SamplerConfig("sliding_window", **window_fields),
    )
    backbone = _backbone(sections["backbone"], source)

    head_raw = sections["head"]
    if "num_classes" in head_raw:
        num_classes = _convert(head_raw["num_classes"], int, "head.num_classes", source)
    elif num_classes is None:
        num_classes = 1 if data.class_agnostic else len(read_classes(data))
    preset = detector_preset(dataset, in_channels=backbone.model.embed_dim, num_classes=num_classes)
    _check_window(window, backbone.model, source)
    projection = _projection(
        sections["projection"], source, backbone.model.embed_dim, window, preset.projection
    )
    head = _build(
        HeadConfig,
        sections["head"],
        "head",
        source,
        {"embed_dim": projection.embed_dim, "num_classes": num_classes},
        preset.head,
    )
    config = ExperimentConfig(
        name=name,
        dataset=dataset,
        data=data,
        window=window,
        train_sampler=train_sampler,
        test_sampler=test_sampler,
        augment=_build(AugmentConfig, sections["augment"], "augment", source),
        eval_transform=_build(EvalTransformConfig, sections["eval_transform"], "eval_transform", source),
        backbone=backbone,
        projection=projection,
        head=head,
        targets=_build(TargetConfig, sections["targets"], "targets", source, defaults=preset.targets),
        loss=_build(LossConfig, sections["loss"], "loss", source, defaults=preset.loss),
        postprocess=_build(
            PostProcessConfig, sections["postprocess"], "postprocess", source, defaults=preset.postprocess
        ),
        optimizer=_build(OptimizerConfig, sections["optimizer"], "optimizer", source),
        schedule=_build(ScheduleConfig, sections["schedule"], "schedule", source),
        trainer=_build(TrainerConfig, sections["trainer"], "trainer", source),
        evaluation=_build(EvaluationConfig, sections["evaluation"], "evaluation", source),
        source=source,
    )
    _validate(config)
    return config


def _check_window(window: WindowConfig, model: VideoMAEConfig, source: str) -> None:
    if window.size <= 0 or window.scale_factor <= 0 or window.snippet_stride <= 0:
        raise InputError(
            source, "window", f"size, snippet_stride and scale_factor must be positive: {window}"
        )
    if window.frames % model.chunk_frames:
        raise InputError(
            source,
            "window.size",
            f"{window.size} steps x scale_factor {window.scale_factor} = {window.frames} frames, not a "
            f"multiple of the backbone's {model.chunk_frames}-frame chunks",
        )


def _projection(
    values: dict[str, Any], source: str, in_channels: int, window: WindowConfig, preset: ProjectionConfig
) -> ProjectionConfig:
    """The projection with ``max_seq_len``: ``window.size`` rounded up to the detector's divisibility factor.

    OpenTAD's ``pad_data`` zero-pads features to ``max_seq_len``; every AdaTAD config but Ego4D's sets it to
    the window (a multiple already), Ego4D pads its 1800 steps to 2048.
    """
    # A probe with max_seq_len 0 (a multiple of anything) tells the factor of these settings.
    probe_values = {k: v for k, v in values.items() if k != "max_seq_len"}
    probe = _build(
        ProjectionConfig,
        probe_values,
        "projection",
        source,
        {"in_channels": in_channels, "max_seq_len": 0},
        preset,
    )
    factor = max_div_factor(probe)
    derived = {"in_channels": in_channels, "max_seq_len": -(-window.size // factor) * factor}
    return _build(ProjectionConfig, values, "projection", source, derived, preset)


def _section(raw: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(source, key, f"expected a mapping of fields, got {_describe(value)}")
    return dict(value)


def _backbone(values: dict[str, Any], source: str) -> BackboneConfig:
    arch = _convert(values.pop("arch", "s"), str, "backbone.arch", source)
    if arch not in ARCHITECTURES:
        raise InputError(
            source, "backbone.arch", f"unknown architecture {arch!r}; choose from {sorted(ARCHITECTURES)}"
        )
    weights = _convert(values.pop("weights", None), str | None, "backbone.weights", source)
    model = _build(
        VideoMAEConfig, values, "backbone", source, defaults=ARCHITECTURES[arch], extra=("arch", "weights")
    )
    return BackboneConfig(arch=arch, weights=weights, model=model)


def _build(
    cls: type,
    values: Mapping[str, Any],
    where: str,
    source: str,
    derived: Mapping[str, Any] | None = None,
    defaults: Any = None,
    extra: tuple[str, ...] = (),
) -> Any:
    """An instance of dataclass ``cls`` from ``values`` on top of ``defaults``, with ``derived`` fields fixed.

    A derived field may appear in ``values`` only with its derived value (resolved files are re-readable).
    """
    derived = dict(derived or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    _check_keys(values, names, where, source, extra)
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        key = f"{where}.{name}" if where else name
        converted = _convert(value, hints[name], key, source)
        if name in derived:
            if converted != derived[name]:
                raise InputError(
                    source,
                    key,
                    f"{_describe(value)} disagrees with the derived value {derived[name]!r}"
                    f" ({_why_derived(where, name)})",
                )
            continue
        parsed[name] = converted
    parsed.update(derived)
    try:
        if defaults is not None:
            return dataclasses.replace(defaults, **parsed)
        return cls(**parsed)
    except (ValueError, TypeError) as error:
        raise InputError(source, where, str(error)) from None


def _why_derived(section: str, name: str) -> str:
    if section in ("train_sampler", "test_sampler"):
        return f"set by window.{'size' if name == 'window_size' else name}"
    if name == "max_seq_len":
        return "set by window.size, rounded up to the detector's divisibility factor"
    if name == "in_channels":
        return "the backbone's embed_dim"
    return "the projection's embed_dim"


def _check_keys(
    values: Mapping[str, Any], names: Sequence[str], where: str, source: str, extra: Sequence[str] = ()
) -> None:
    valid = [*names, *extra]
    for key in values:
        if key not in valid:
            dotted = f"{where}.{key}" if where else str(key)
            candidates = [f"{where}.{n}" if where else n for n in valid]
            close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]}?" if close else f"; valid keys: {', '.join(valid)}"
            raise InputError(source, dotted, f"unknown key{hint}")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(value: Any, annotation: Any, key: str, source: str) -> Any:
    """``value`` as the type ``annotation`` describes, or an InputError naming ``key``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, key, source)
            except InputError as error:
                errors.append(error.problem)
        raise InputError(
            source,
            key,
            errors[0]
            if len(errors) == 1
            else f"{_describe(value)} fits none of {' | '.join(_type_name(a) for a in args)}",
        )
    if origin is Literal:
        if value in args and type(value) is type(args[args.index(value)]):
            return value
        raise InputError(source, key, f"{_describe(value)} is not one of {', '.join(map(repr, args))}")
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise InputError(source, key, f"expected a list, got {_describe(value)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise InputError(source, key, f"expected {len(args)} values, got {_describe(value)}")
            return tuple(
                _convert(v, a, f"{key}[{i}]", source)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{key}[{i}]", source) for i, v in enumerate(value))
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise InputError(source, key, f"expected a mapping, got {_describe(value)}")
        return _build(annotation, value, key, source)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise InputError(source, key, f"expected true or false, got {_describe(value)}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InputError(source, key, f"expected an integer, got {_describe(value)}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise InputError(source, key, f"expected a number, got {_describe(value)}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise InputError(source, key, f"expected a string, got {_describe(value)}")
    if annotation is type(None):
        if value is None:
            return None
        raise InputError(source, key, f"expected null, got {_describe(value)}")
    raise TypeError(f"no conversion for {key} of type {annotation!r}")


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def _validate(config: ExperimentConfig) -> None:
    """Cross-field checks, each a one-line error naming the field."""
    source, model = config.source, config.backbone.model
    if config.train_sampler.method not in ("random_trunc", "resize"):
        raise InputError(
            source,
            "train_sampler.method",
            f"{config.train_sampler.method!r}: training samples with random_trunc or resize",
        )
    if config.test_sampler.method not in ("sliding_window", "resize"):
        raise InputError(
            source,
            "test_sampler.method",
            f"{config.test_sampler.method!r}: inference samples with sliding_window or resize",
        )
    for section in ("augment", "eval_transform"):
        crop = getattr(config, section).crop_size
        if crop < model.patch_size:
            raise InputError(
                source, f"{section}.crop_size", f"{crop} px is smaller than the {model.patch_size} px patch"
            )
    if config.data.class_agnostic and config.head.num_classes != 1:
        raise InputError(
            source, "head.num_classes", f"{config.head.num_classes}, but data.class_agnostic trains one class"
        )
    schedule = config.schedule
    if not 0 <= schedule.warmup_epochs <= schedule.max_epochs or schedule.max_epochs <= 0:
        raise InputError(
            source, "schedule", f"need 0 <= warmup_epochs <= max_epochs and max_epochs > 0: {schedule}"
        )
    if schedule.end_epoch is not None and not 1 <= schedule.end_epoch <= schedule.max_epochs:
        raise InputError(source, "schedule.end_epoch", f"{schedule.end_epoch} must lie in [1, max_epochs]")
    trainer = config.trainer
    for name in (
        "batch_size",
        "test_batch_size",
        "grad_accumulation",
        "checkpoint_interval",
        "log_interval",
        "val_interval",
    ):
        if getattr(trainer, name) < 1:
            raise InputError(source, f"trainer.{name}", f"{getattr(trainer, name)} must be at least 1")
    for name in ("num_workers", "checkpoint_steps"):
        if getattr(trainer, name) < 0:
            raise InputError(source, f"trainer.{name}", f"{getattr(trainer, name)} cannot be negative")
    if trainer.ema_decay is not None and not 0 < trainer.ema_decay < 1:
        raise InputError(source, "trainer.ema_decay", f"{trainer.ema_decay} must lie in (0, 1)")
    if config.evaluation.classifier is not None and config.head.num_classes != 1:
        raise InputError(
            source,
            "evaluation.classifier",
            f"fusion labels class-agnostic detections; this head has {config.head.num_classes} classes",
        )


def check_classes(config: ExperimentConfig, classes: Sequence[str]) -> None:
    """Refuse a head whose ``head.num_classes`` is not the annotation's class count.

    Class-agnostic experiments train one class whatever the annotation lists (:func:`load_config` checks
    that their head has one), so they are not compared.

    Raises:
        InputError: naming the experiment file, ``head.num_classes``, both counts and the annotation file.
    """
    if config.data.class_agnostic or config.head.num_classes == len(classes):
        return
    raise InputError(
        config.source,
        "head.num_classes",
        f"{config.head.num_classes}, but {config.data.annotation_path} has {len(classes)} classes",
    )


def read_classes(data: DataConfig) -> tuple[str, ...]:
    """The class names of the experiment's annotation file (its class list, else its sorted labels)."""
    from tad_data import load_annotations

    return load_annotations(data.annotation_path, data.classes_path).classes


def read_id_list(path: Path) -> tuple[str, ...]:
    """Video ids from a JSON list or a file with one id per line."""
    from tad_eval import load_blocked

    return tuple(sorted(load_blocked(path)))


# --------------------------------------------------------------------------------------------------------
# Writing


def config_to_dict(config: Any) -> Any:
    """The configuration as plain YAML/JSON values (the backbone flattened as in the files)."""
    if isinstance(config, BackboneConfig):
        return {"arch": config.arch, "weights": config.weights, **config_to_dict(config.model)}
    if dataclasses.is_dataclass(config):
        return {
            f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config) if f.compare
        }
    if isinstance(config, (tuple, list)):
        return [config_to_dict(item) for item in config]
    return config


class _ConfigDumper(yaml.SafeDumper):
    """Sections as indented blocks, lists of values on one line."""


_ConfigDumper.add_representer(
    dict, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)
)
_ConfigDumper.add_representer(
    list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)


def dump_config(config: ExperimentConfig) -> str:
    """The resolved configuration as YAML, readable again by :func:`load_config`."""
    return yaml.dump(config_to_dict(config), Dumper=_ConfigDumper, sort_keys=False, width=110)


def config_hash(config: ExperimentConfig) -> str:
    """sha256 of every setting that changes the trained weights (see ``_NOT_HASHED``)."""
    values = _numbers_as_floats(config_to_dict(config))
    for dotted in _NOT_HASHED:
        node = values
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node.pop(last, None)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _numbers_as_floats(value: Any) -> Any:
    """Equal settings hash equally: 100 (a preset's int) and 100.0 (read from a float field)."""
    if isinstance(value, dict):
        return {key: _numbers_as_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
