"""The fixed sine-cosine position table of VideoMAE and its per-slice resampling to other image sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["resample_position_table", "sinusoid_position_table"]


def sinusoid_position_table(num_positions: int, dim: int) -> torch.Tensor:
    """The ``[1, num_positions, dim]`` float32 sinusoid table of "Attention is all you need".

    Channel ``j`` of position ``p`` is ``sin(p * 10000^(-2*(j//2)/dim))`` for even ``j`` and ``cos`` of the
    same angle for odd ``j``. It is computed as mmaction2's ``get_sinusoid_encoding`` computes it (torch,
    float64, the position times the inverse frequency) and rounded once to float32, so it equals the
    table mmaction2 builds (and stores as ``pos_embed`` in its and OpenTAD's checkpoints) bit for bit.
    tad-eval's numpy table differs from it by one float32 step in 1-2 values of the S, B and g tables.

    Args:
        num_positions: number of token positions (``8 * grid * grid`` for one VideoMAE chunk).
        dim: embedding width.
    """
    # mmaction2's torch arithmetic, not tad_eval's numpy sinusoid_table: their sin/pow round differently.
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
