"""From a video's chunk tokens to one feature vector per temporal token, at any requested length."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["resize_temporal", "spatial_mean_pool"]


def spatial_mean_pool(tokens: torch.Tensor, num_videos: int, grid: tuple[int, int, int]) -> torch.Tensor:
    """Average the spatial tokens of every temporal step and concatenate the chunks of each video.

    Args:
        tokens: ``[(b n), t*h*w, C]``, chunks of one video consecutive (``(b, chunk)`` order).
        num_videos: ``b``.
        grid: the per-chunk token grid ``(t, h, w)``.

    Returns:
        ``[b, C, n*t]`` in the dtype of ``tokens``.
    """
    _, h, w = grid
    per_step = tokens.reshape(num_videos, -1, h * w, tokens.shape[-1])  # [b, n*t, h*w, C]
    return per_step.mean(dim=2).transpose(1, 2)


def resize_temporal(features: torch.Tensor, length: int | None) -> torch.Tensor:
    """Linearly interpolate ``[b, C, L]`` features to ``length`` steps (``align_corners=False``).

    ``None`` or the current length returns the input unchanged (interpolating to the same size is the
    identity for this mode). Going from ``2L`` to ``L`` averages neighbouring pairs.
    """
    if length is None or length == features.shape[-1]:
        return features
    if length < 1:
        raise ValueError(f"temporal length must be positive, got {length}")
    return F.interpolate(features, size=length, mode="linear", align_corners=False)
