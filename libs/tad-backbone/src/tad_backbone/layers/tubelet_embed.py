"""Tubelet embedding: a strided 3D convolution that turns a clip into space-time tokens."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TubeletEmbed"]


class TubeletEmbed(nn.Module):
    """Cut a clip into ``tubelet × patch × patch`` tubes and project each to ``dim`` channels.

    Args:
        dim: embedding width.
        patch_size: spatial side of a tube.
        tubelet_size: temporal length of a tube.
        in_channels: input channels (3 for RGB).
    """

    def __init__(self, dim: int, patch_size: int, tubelet_size: int, in_channels: int = 3) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_channels, dim, kernel_size=kernel, stride=kernel)

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Embed ``[N, 3, T, H, W]`` clips.

        Returns:
            tokens ``[N, t*h*w, dim]`` in ``(t, h, w)`` order and the token grid ``(t, h, w)``;
            spatial remainders smaller than a patch are dropped, as a strided convolution does.
        """
        tokens = self.proj(clips)  # [N, dim, t, h, w]
        grid = tuple(tokens.shape[2:])
        return tokens.flatten(2).transpose(1, 2), grid
