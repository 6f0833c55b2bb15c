"""Fixtures shared by the tad-data tests (annotation and video halves alike)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

# ---------------------------------------------------------------------------------------------------------
# Videos, samplers, transforms, datasets (data-video)


def _write_rgb_video(path: Path, frames: np.ndarray, fps: int = 15, faststart: bool = False) -> Path:
    """Write uint8 ``[T, H, W, 3]`` RGB frames as H.264 (yuv420p); ``faststart`` puts the index first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def write_video() -> Callable[..., Path]:
    """``write_video(path, frames, fps=15, faststart=False)``: write uint8 [T, H, W, 3] frames as H.264."""
    return _write_rgb_video


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory):
    """A synthetic dataset (6 videos, 64 px, 15 fps, 8-12 s, 4 classes), written once per session."""
    from tad_data.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic")
    return write_synthetic_dataset(
        root, num_videos=6, num_classes=4, seed=0, min_duration=8.0, max_duration=12.0
    )
