"""AdaTAD's temporal-informative adapter (TIA) and the ladder network of the side variant (AdaTAD†).

Paper: "End-to-End Temporal Action Detection with 1B Parameters Across 1000 Frames", Liu et al., CVPR 2024
(arXiv 2311.17241). Official code: OpenTAD ``opentad/models/backbones/vit_adapter.py`` (TIA inside each
ViT block) and ``vit_ladder.py`` (ladders beside a frozen ViT).

One adapter, with ``z = GELU(down_proj(x))``::

    mixed = z + conv(dwconv(z))          # depthwise temporal conv (k=3) then pointwise conv, over the
                                         # whole video's token sequence, zero-padded at the video ends
    out   = gamma * up_proj(mixed) + x   # TIA; the ladder adapters omit the "+ x"

``up_proj`` starts at zero, so a fresh TIA is the identity. The temporal convolution is the only place
where tokens of different 16-frame chunks meet inside the backbone. For chunked (streaming) feature
extraction the forward pass is exposed in two halves that :meth:`TemporalAdapter.forward` itself is made
of: :meth:`TemporalAdapter.hidden` (``z``) and :meth:`TemporalAdapter.from_hidden` (the rest, with
explicit neighbour halos cut by :meth:`TemporalAdapter.halo_steps`), so a stream computes exactly what
the model computes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import trunc_normal_
from torch import nn

from tad_backbone.config import ADAPTER_KERNEL_SIZE

__all__ = ["TemporalAdapter"]


class TemporalAdapter(nn.Module):
    """The temporal-informative adapter; with ``residual=False`` it is one adapter of the ladder.

    Args:
        dim: embedding width of the backbone tokens.
        hidden_dim: bottleneck width ``d``.
        residual: add the input back (TIA inside a block) or not (ladder adapter of AdaTAD†).
        kernel_size: temporal kernel of the depthwise convolution.
    """

    def __init__(
        self, dim: int, hidden_dim: int, residual: bool = True, kernel_size: int = ADAPTER_KERNEL_SIZE
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"the temporal kernel must be odd to keep the length, got {kernel_size}")
        self.residual = residual
        self.halo = kernel_size // 2
        self.down_proj = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.dwconv = nn.Conv1d(hidden_dim, hidden_dim, kernel_size, padding=self.halo, groups=hidden_dim)
        self.conv = nn.Conv1d(hidden_dim, hidden_dim, 1)
        self.up_proj = nn.Linear(hidden_dim, dim)
        self.gamma = nn.Parameter(torch.ones(1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official initialisation: He-normal convolutions, small ``down_proj``, zero ``up_proj``."""
        kernel_size = self.dwconv.kernel_size[0]
        nn.init.normal_(self.dwconv.weight, std=math.sqrt(2.0 / kernel_size))
        nn.init.zeros_(self.dwconv.bias)
        nn.init.normal_(self.conv.weight, std=math.sqrt(2.0 / self.conv.in_channels))
        nn.init.zeros_(self.conv.bias)
        trunc_normal_(self.down_proj.weight, std=0.02)
        nn.init.zeros_(self.down_proj.bias)
        nn.init.zeros_(self.up_proj.weight)
        nn.init.zeros_(self.up_proj.bias)
        nn.init.ones_(self.gamma)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """``[(b n), t*h*w, C]`` -> bottleneck activations ``z`` ``[(b n), t*h*w, d]``."""
        return self.act(self.down_proj(x))

    def temporal_mix(
        self,
        z: torch.Tensor,
        num_videos: int,
        grid: tuple[int, int, int],
        left: torch.Tensor | None = None,
        right: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``z + conv(dwconv(z))`` along time, per spatial position, across the chunks of each video.

        Args:
            z: ``[(b n), t*h*w, d]`` with the chunks of one video consecutive.
            num_videos: ``b``.
            grid: per-chunk token grid ``(t, h, w)``.
            left: ``[b, halo, h*w, d]`` bottleneck activations of the temporal steps just before ``z``
                (streaming); ``None`` means the video starts here (zero padding).
            right: the same for the steps just after ``z``; ``None`` means the video ends here.
        """
        _, h, w = grid
        b, d = num_videos, z.shape[-1]
        sequence = z.reshape(b, -1, h * w, d)  # [b, n*t, h*w, d]
        padding = self.halo
        if left is not None or right is not None:
            zeros = sequence.new_zeros(b, self.halo, h * w, d)
            parts = (zeros if left is None else left, sequence, zeros if right is None else right)
            sequence, padding = torch.cat(parts, dim=1), 0
        series = sequence.permute(0, 2, 3, 1).reshape(b * h * w, d, -1)  # [b*h*w, d, steps]
        series = F.conv1d(series, self.dwconv.weight, self.dwconv.bias, padding=padding, groups=d)
        series = self.conv(series)  # [b*h*w, d, n*t]
        return z + series.reshape(b, h * w, d, -1).permute(0, 3, 1, 2).reshape(z.shape)

    def project(self, mixed: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """``gamma * up_proj(mixed)``, plus the adapter input ``x`` in the residual (TIA) form."""
        out = self.up_proj(mixed) * self.gamma
        if not self.residual:
            return out
        if x is None:
            raise ValueError("a residual adapter needs its input x")
        return out + x

    def from_hidden(
        self,
        z: torch.Tensor,
        x: torch.Tensor | None,
        num_videos: int,
        grid: tuple[int, int, int],
        left: torch.Tensor | None = None,
        right: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The adapter's output from its bottleneck activations ``z = hidden(x)``: temporal mix, projection.

        Args:
            z: ``hidden(x)``.
            x: the adapter input, added back by a residual adapter (a ladder adapter ignores it).
            num_videos: ``b``.
            grid: per-chunk token grid ``(t, h, w)``.
            left: :meth:`halo_steps` of the preceding tokens' ``z`` (streaming); ``None`` at the video start.
            right: :meth:`halo_steps` of the following tokens' ``z``; ``None`` at the video end.
        """
        return self.project(self.temporal_mix(z, num_videos, grid, left, right), x)

    def halo_steps(self, z: torch.Tensor, grid: tuple[int, int, int], last: bool) -> torch.Tensor:
        """The first (or last) ``halo`` temporal steps of one video's ``z`` as ``[1, halo, h*w, d]``: what the
        temporal convolution of the neighbouring tokens needs as its ``right`` (or ``left``) halo."""
        steps = z.reshape(1, -1, grid[1] * grid[2], z.shape[-1])
        return (steps[:, -self.halo :] if last else steps[:, : self.halo]).clone()

    def forward(self, x: torch.Tensor, num_videos: int, grid: tuple[int, int, int]) -> torch.Tensor:
        """Adapt the tokens of ``num_videos`` whole videos: ``[(b n), t*h*w, C]`` -> same shape."""
        return self.from_hidden(self.hidden(x), x, num_videos, grid)
