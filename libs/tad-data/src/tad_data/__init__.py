"""Video loading (decord), official TAD annotation converters, window samplers, frame-consistent
augmentation and a synthetic dataset.

Names are imported on first use, so reading or converting annotations does not load torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Type checkers and IDEs read these imports; at run time each name is imported on first use through
# _MODULE_OF below. tests/test_workspace.py checks that these, _MODULE_OF and __all__ list the same names.
if TYPE_CHECKING:
    from tad_data.annotations import (
        AnnotationSet,
        Instance,
        VideoRecord,
        class_list_path,
        derive_classes,
        load_annotations,
        normalize_subset,
        read_class_list,
        repair_instances,
        save_annotations,
        write_class_list,
    )
    from tad_data.converters import (
        DATASETS,
        FORMATS,
        Conversion,
        LabelProblems,
        convert_dataset,
        convert_labels,
        write_conversion,
    )
    from tad_data.converters.videos import VIDEO_EXTENSIONS, find_video
    from tad_data.datasets import (
        DatasetConfig,
        EvalTransformConfig,
        SamplerConfig,
        SkippedVideo,
        TestDataset,
        TrainDataset,
        collate,
        sample_meta,
    )
    from tad_data.errors import TadDataError, TadDataWarning
    from tad_data.probe import Problem, probe_videos
    from tad_data.sampling import (
        Window,
        clip_segments_to_window,
        frame_grid,
        random_trunc_window,
        resize_window,
        sliding_window,
        split_sliding_windows,
    )
    from tad_data.synthetic import SyntheticDataset, write_synthetic_dataset
    from tad_data.timegrid import TimeGrid, grid_to_seconds, seconds_to_grid
    from tad_data.transforms import (
        RANDAUG_OPS,
        AugmentConfig,
        ClipAugmentation,
        RandAugOp,
        augment_clip,
        center_crop,
        draw_augmentation,
        eval_transform,
        resize_short_side,
    )
    from tad_data.video import VideoInfo, decode_frames, open_video, read_frames, video_info

#: The single source of the version; pyproject.toml reads it from here.
__version__ = "0.2.0"

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
    "FORMATS": "converters",
    "Conversion": "converters",
    "LabelProblems": "converters",
    "convert_dataset": "converters",
    "convert_labels": "converters",
    "write_conversion": "converters",
    "VIDEO_EXTENSIONS": "converters.videos",
    "find_video": "converters.videos",
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
    "sample_meta": "datasets",
    "SyntheticDataset": "synthetic",
    "write_synthetic_dataset": "synthetic",
    "Problem": "probe",
    "probe_videos": "probe",
}

__all__ = [
    "__version__",
    "TadDataError",
    "TadDataWarning",
    "AnnotationSet",
    "Instance",
    "VideoRecord",
    "class_list_path",
    "derive_classes",
    "load_annotations",
    "normalize_subset",
    "read_class_list",
    "repair_instances",
    "save_annotations",
    "write_class_list",
    "DATASETS",
    "FORMATS",
    "Conversion",
    "LabelProblems",
    "convert_dataset",
    "convert_labels",
    "write_conversion",
    "VIDEO_EXTENSIONS",
    "find_video",
    "VideoInfo",
    "decode_frames",
    "open_video",
    "read_frames",
    "video_info",
    "Window",
    "clip_segments_to_window",
    "frame_grid",
    "random_trunc_window",
    "resize_window",
    "sliding_window",
    "split_sliding_windows",
    "TimeGrid",
    "grid_to_seconds",
    "seconds_to_grid",
    "RANDAUG_OPS",
    "AugmentConfig",
    "ClipAugmentation",
    "RandAugOp",
    "augment_clip",
    "center_crop",
    "draw_augmentation",
    "eval_transform",
    "resize_short_side",
    "DatasetConfig",
    "EvalTransformConfig",
    "SamplerConfig",
    "SkippedVideo",
    "TestDataset",
    "TrainDataset",
    "collate",
    "sample_meta",
    "SyntheticDataset",
    "write_synthetic_dataset",
    "Problem",
    "probe_videos",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tad_data' has no attribute {name!r}")
    return getattr(import_module(f"tad_data.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return __all__
