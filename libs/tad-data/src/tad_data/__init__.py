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
from tad_data.errors import TadDataError, TadDataWarning

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
]
