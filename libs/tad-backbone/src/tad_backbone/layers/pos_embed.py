"""The fixed sine-cosine position table of VideoMAE and its per-slice resampling to other image sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["resample_position_table", "sinusoid_position_table"]


def sinusoid_position_table(num_positions: int, dim: int) -> torch.Tensor:
    """The ``[1, num_positions, dim]`` float32 sinusoid table of "Attention is all you need".

    Channel ``j`` of position ``p`` is ``sin(p / 10000^(2*(j//2)/dim))`` for even ``j`` and ``cos(...)`` for
    odd ``j``. It is computed in float64 and rounded once, as mmaction2 and VideoMAE do, so the values equal
    the ``pos_embed`` stored in their checkpoints.

    Args:
        num_positions: number of token positions (``8 * grid * grid`` for one VideoMAE chunk).
        dim: embedding width.
    """
    channel = torch.arange(dim, dtype=torch.float64)
    inverse_frequency = torch.pow(10000.0, -(channel - channel % 2) / dim)
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * inverse_frequency[None, :]
    table = torch.where(channel % 2 == 0, torch.sin(angles), torch.cos(angles))
    return table.to(torch.float32)[None]


def resample_position_table(table: torch.Tensor, source_grid: int, size: tuple[int, int]) -> torch.Tensor:
    """Resize each temporal slice of a position table from ``source_grid``² to ``size`` bicubically.

    The table holds ``t`` slices of ``source_grid × source_grid`` positions in ``(t, h, w)`` order; each
    slice is treated as an image with ``dim`` channels (``align_corners=False``), as the official AdaTAD
    backbone does for inputs other than 224 px.

    Args:
        table: ``[1, t * source_grid², dim]``.
        source_grid: side of the square grid the table was built for (224 // patch).
        size: target ``(h, w)`` token grid.

    Returns:
        ``[1, t * h * w, dim]`` in the dtype of ``table``.
    """
    if size == (source_grid, source_grid):
        return table
    dim = table.shape[-1]
    slices = table.reshape(-1, source_grid, source_grid, dim).permute(0, 3, 1, 2)  # [t, dim, g, g]
    slices = F.interpolate(slices, size=size, mode="bicubic", align_corners=False)  # [t, dim, h, w]
    return slices.permute(0, 2, 3, 1).reshape(1, -1, dim)
