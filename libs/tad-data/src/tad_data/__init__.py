"""Video loading (decord), official TAD annotation converters, window samplers, frame-consistent
augmentation and a synthetic dataset.

Names are imported on first use, so reading or converting annotations does not load torch.
"""

from importlib import import_module
from importlib.metadata import version as _version
from typing import Any

__version__ = _version("tad-data")

_MODULE_OF = {
    "TadDataError": "errors",
    "TadDataWarning": "errors",
    "AnnotationSet": "annotations",
    "Instance": "annotations",
    "VideoRecord": "annotations",
    "class_list_path": "annotations",
    "derive_classes": "annotations",
    "load_annotations": "annotations",
    "normalize_subset": "annotations",
    "read_class_list": "annotations",
    "repair_instances": "annotations",
    "save_annotations": "annotations",
    "write_class_list": "annotations",
    "DATASETS": "converters",
    "Conversion": "converters",
    "convert_dataset": "converters",
    "write_conversion": "converters",
    "VideoInfo": "video",
    "decode_frames": "video",
    "open_video": "video",
    "read_frames": "video",
    "video_info": "video",
    "Window": "sampling",
    "clip_segments_to_window": "sampling",
    "frame_grid": "sampling",
    "random_trunc_window": "sampling",
    "resize_window": "sampling",
    "sliding_window": "sampling",
    "split_sliding_windows": "sampling",
    "TimeGrid": "timegrid",
    "grid_to_seconds": "timegrid",
    "seconds_to_grid": "timegrid",
    "RANDAUG_OPS": "transforms",
    "AugmentConfig": "transforms",
    "ClipAugmentation": "transforms",
    "RandAugOp": "transforms",
    "augment_clip": "transforms",
    "center_crop": "transforms",
    "draw_augmentation": "transforms",
    "eval_transform": "transforms",
    "resize_short_side": "transforms",
    "DatasetConfig": "datasets",
    "EvalTransformConfig": "datasets",
    "SamplerConfig": "datasets",
    "SkippedVideo": "datasets",
    "TestDataset": "datasets",
    "TrainDataset": "datasets",
    "collate": "datasets",
    "SyntheticDataset": "synthetic",
    "write_synthetic_dataset": "synthetic",
    "Problem": "probe",
    "probe_videos": "probe",
}

__all__ = ["__version__", *_MODULE_OF]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tad_data' has no attribute {name!r}")
    return getattr(import_module(f"tad_data.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return __all__
