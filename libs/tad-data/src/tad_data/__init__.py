"""Video loading (decord), official TAD annotation converters, window samplers, frame-consistent
augmentation and a synthetic dataset."""

from importlib.metadata import version as _version

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
from tad_data.converters import DATASETS, Conversion, convert_dataset, write_conversion
from tad_data.datasets import (
    DatasetConfig,
    EvalTransformConfig,
    SamplerConfig,
    SkippedVideo,
    TestDataset,
    TrainDataset,
    collate,
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

__version__ = _version("tad-data")

__all__ = [
    "__version__",
    # errors
    "TadDataError",
    "TadDataWarning",
    # annotations
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
    # converters
    "DATASETS",
    "Conversion",
    "convert_dataset",
    "write_conversion",
    # video, sampling, time grid, transforms
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
    # datasets
    "DatasetConfig",
    "EvalTransformConfig",
    "SamplerConfig",
    "SkippedVideo",
    "TestDataset",
    "TrainDataset",
    "collate",
    # synthetic data and probing
    "SyntheticDataset",
    "write_synthetic_dataset",
    "Problem",
    "probe_videos",
]
