"""Mean/std normalisation of RGB video inside the model, so callers feed raw uint8 frames."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["VIDEOMAE_MEAN", "VIDEOMAE_STD", "VideoNormalize"]

#: RGB mean and standard deviation on the 0-255 scale used by every VideoMAE checkpoint (mmaction2's
#: ``ActionDataPreprocessor`` in the AdaTAD configs).
VIDEOMAE_MEAN = (123.675, 116.28, 103.53)
VIDEOMAE_STD = (58.395, 57.12, 57.375)


class VideoNormalize(nn.Module):
    """``(video - mean) / std`` per channel of a ``[B, 3, T, H, W]`` RGB tensor on the 0-255 scale.

    The statistics are non-persistent buffers: they follow ``.to(device)`` but are not part of the state
    dict, exactly as in the official preprocessor, so checkpoints carry only learned weights.

    Args:
        mean: per-channel mean.
        std: per-channel standard deviation.
    """

    def __init__(self, mean: Sequence[float] = VIDEOMAE_MEAN, std: Sequence[float] = VIDEOMAE_STD) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1, 1), persistent=False
        )

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """uint8 or float ``[B, 3, T, H, W]`` -> float32 of the same shape."""
        return (video.float() - self.mean) / self.std
