"""Fixtures shared by the tad-data tests (each engineer appends; nothing here is removed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest


def _write_h264(path: Path, num_frames: int, fps: int, width: int, height: int) -> Path:
    """Write a small H.264 mp4 whose frames are flat grey levels (frame i has level 8*i mod 256)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(num_frames):
            image = np.full((height, width, 3), (8 * index) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def make_annotation_video() -> Callable[..., Path]:
    """``make_annotation_video(path, num_frames=20, fps=10)``: write a tiny mp4 (96x64), return its path."""

    def make(path: Path, num_frames: int = 20, fps: int = 10) -> Path:
        return _write_h264(Path(path), num_frames, fps, width=96, height=64)

    return make


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
