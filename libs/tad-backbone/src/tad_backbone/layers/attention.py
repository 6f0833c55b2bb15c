"""Multi-head self-attention with the VideoMAE bias layout: a bias on queries and values, none on keys."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["QVBiasAttention"]


class QVBiasAttention(nn.Module):
    """Joint attention over all tokens of a clip, computed with ``F.scaled_dot_product_attention``.

    ``qkv`` is a bias-free linear layer; the separate ``q_bias`` and ``v_bias`` vectors (and a zero key
    bias) are concatenated at run time, which is how VideoMAE, VideoMAEv2, mmaction2 and OpenTAD store
    them. The softmax scale is ``head_dim ** -0.5``.

    Args:
        dim: embedding width.
        num_heads: number of heads; ``dim`` must be divisible by it.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, dim]`` -> ``[N, L, dim]``."""
        n, length, dim = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)
        q, k, v = qkv.reshape(n, length, 3, self.num_heads, -1).permute(
            2, 0, 3, 1, 4
        )  # 3 x [N, heads, L, hd]
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))
