"""The fixed sine-cosine position table of VideoMAE and its per-slice resampling to other image sizes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tad_eval.numerics import sinusoid_table

__all__ = ["resample_position_table", "sinusoid_position_table"]


def sinusoid_position_table(num_positions: int, dim: int) -> torch.Tensor:
    """The ``[1, num_positions, dim]`` float32 sinusoid table of "Attention is all you need".

    The float64 table of :func:`tad_eval.numerics.sinusoid_table` (mmaction2's formula: channel ``j`` of
    position ``p`` is ``sin(p * 10000^(-2*(j//2)/dim))`` for even ``j``, ``cos`` for odd ``j``) rounded
    once to float32, as mmaction2 and VideoMAE do. mmaction2 computes it with torch, whose vectorised
    ``sin``/``pow`` differ from numpy's in the last float64 bit now and then; where such a value lies on a
    float32 rounding midpoint the two tables differ by one float32 step (1 value of the S and B tables,
    2 of g's, none of L's and H's). Checkpoints that store the table (mmaction2, OpenTAD) keep their own.

    Args:
        num_positions: number of token positions (``8 * grid * grid`` for one VideoMAE chunk).
        dim: embedding width.
    """
    return torch.as_tensor(sinusoid_table(num_positions, dim).astype(np.float32))[None]


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
