"""Frames of a video file for the backbone: decoded with tad-data (decord) a batch at a time.

The composition that makes ``tad-train extract`` (and detection in one's own videos) possible: tad-data
decodes and resizes, tad-backbone's streaming extractor pulls batches through the ViT, so memory is
bounded by the batch whatever the video's length.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tad_data import eval_transform, open_video, read_frames

__all__ = ["VideoFrames"]


class VideoFrames:
    """A ``tad_backbone.FrameSource`` over a video file: short side resized to ``size``, centre-cropped.

    Args:
        path: any file decord opens.
        size: the square side fed to the backbone (mmaction ``Resize((-1, size))`` + ``CenterCrop(size)``).
    """

    def __init__(self, path: str | os.PathLike[str], size: int) -> None:
        self.path = Path(path)
        self.reader = open_video(self.path)
        self.size = size
        self.num_frames = len(self.reader)

    def read(self, start: int, stop: int) -> torch.Tensor:
        """uint8 frames ``start:stop`` of the video as ``[3, n, size, size]``."""
        return eval_transform(
            read_frames(self.reader, np.arange(start, stop), self.path), self.size, self.size
        )
