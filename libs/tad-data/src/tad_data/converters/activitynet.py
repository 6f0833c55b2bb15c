"""ActivityNet-1.3 from the official ``activity_net.v1-3.min.json``.

The official file already has the internal layout (``database`` -> id without ``v_`` -> ``subset``
training/validation/testing, ``duration``, ``annotations``), so it is read with
`load_annotations` as is; its extra keys (``url``, ``resolution``, ``taxonomy``) are ignored.
Video files are named ``v_<id>.mp4`` (`VIDEO_PREFIX`). Ids are not checked for a ``v_`` start:
YouTube ids may begin with it (the real file has ``v_UmAH95xls``, file ``v_v_UmAH95xls.mp4``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tad_data.annotations import AnnotationSet, load_annotations
from tad_data.converters.common import annotation_set, expand_sources
from tad_data.errors import TadDataError

__all__ = ["VIDEO_PREFIX", "convert_activitynet"]

#: Video files are ``v_<id>.mp4`` while annotation ids carry no ``v_``.
VIDEO_PREFIX = "v_"


def convert_activitynet(sources: Sequence[str | Path]) -> AnnotationSet:
    """Convert the official ActivityNet-1.3 JSON.

    Args:
        sources: the ``activity_net.v1-3.min.json`` file (or a folder holding exactly one JSON).

    Raises:
        TadDataError: for more than one JSON, or a schema error in it.
    """
    paths = expand_sources(sources, "*.json")
    if len(paths) != 1:
        raise TadDataError(
            f"activitynet: expected one official JSON file, got {[str(path) for path in paths]}"
        )
    official = load_annotations(paths[0])
    return annotation_set(official.videos.values(), version=official.version)
