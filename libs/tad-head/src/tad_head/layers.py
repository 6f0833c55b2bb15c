"""Masked 1-D building blocks of the ActionFormer detector (Zhang et al., ECCV 2022) as used by OpenTAD.

Every block takes features ``[B, C, T]`` and a boolean validity mask ``[B, T]`` and returns both, so padded
time steps stay exactly zero through the network. Attribute names follow OpenTAD's modules so that its
checkpoints load without renaming (see ``tad_head.actionformer.convert_opentad_state``).

Layer-norm epsilons differ on purpose, as in the official code: 1e-6 in the masked convolutions, 1e-5 (the
PyTorch default) inside the transformer blocks and the attention.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tad_eval.numerics import sinusoid_table

__all__ = [
    "AffineDropPath",
    "MaskedConv1d",
    "MaskedMHCA",
    "Scale",
    "TransformerBlock",
    "channel_norm",
    "downsample_mask",
    "sinusoid_position_encoding",
]


def channel_norm(norm: nn.Module, x: Tensor) -> Tensor:
    """Apply a LayerNorm over the channels of ``x`` ``[B, C, T]``."""
    return norm(x.transpose(1, 2)).transpose(1, 2)


def downsample_mask(mask: Tensor, length: int) -> Tensor:
    """Resize a boolean mask ``[B, T]`` to ``[B, length]`` by nearest-neighbour sampling.

    Args:
        mask: validity mask.
        length: the new number of time steps.

    Nearest sampling picks index ``floor(i * T / length)``, i.e. ``mask[:, ::2]`` for a stride-2 layer on an
    even length; it is what OpenTAD's ``F.interpolate(mode="nearest")`` does for any length.
    """
    if mask.shape[-1] == length:
        return mask
    resized = F.interpolate(mask[:, None].float(), size=length, mode="nearest")
    return resized[:, 0].bool()


def sinusoid_position_encoding(length: int, dim: int) -> Tensor:
    """The fixed sinusoid table of "Attention is all you need" as ``[1, dim, length]`` float32.

    The float64 table of :func:`tad_eval.numerics.sinusoid_table` (channel ``j`` uses frequency
    ``10000^(-2*(j//2)/dim)``, sine on even ``j`` and cosine on odd ``j``), rounded once to float32; for the
    detectors' lengths and widths it equals ActionFormer's own numpy table bit for bit.

    Args:
        length: number of positions.
        dim: number of channels.
    """
    return torch.as_tensor(sinusoid_table(length, dim).astype(np.float32)).T[None]


class MaskedConv1d(nn.Module):
    """Conv1d → ×mask → optional LayerNorm(eps 1e-6) → optional ReLU → ×mask (OpenTAD's ``ConvModule``).

    The convolution has no bias when a norm follows. A strided convolution downsamples the mask with
    :func:`downsample_mask`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        with_norm: bool = False,
        with_act: bool = False,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        bias = (not with_norm) if bias is None else bias
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=bias,
        )
        nn.init.kaiming_uniform_(self.conv.weight, a=math.sqrt(5))
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        self.norm = nn.LayerNorm(out_channels, eps=1e-6) if with_norm else None
        self.act = nn.ReLU() if with_act else None

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv(x)  # [B, C_out, T']
        mask = downsample_mask(mask, x.shape[-1])  # [B, T']
        keep = mask[:, None].to(x.dtype)
        x = x * keep
        if self.norm is not None:
            x = channel_norm(self.norm, x)
        if self.act is not None:
            x = self.act(x)
        return x * keep, mask


class Scale(nn.Module):
    """A learnable scalar multiplier (initial value 1), one per pyramid level on the regression output."""

    def __init__(self, init_value: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(init_value, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class AffineDropPath(nn.Module):
    """Per-channel scale (initialised to 1e-4, LayerScale-style) followed by stochastic depth per sample."""

    def __init__(self, dim: int, drop_prob: float, init_scale: float = 1e-4) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1, dim, 1), init_scale))
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        x = self.scale * x  # [B, C, T]
        if not self.training or self.drop_prob == 0.0:
            return x
        keep_prob = 1.0 - self.drop_prob
        keep = torch.floor(keep_prob + torch.rand((x.shape[0], 1, 1), dtype=x.dtype, device=x.device))
        return x / keep_prob * keep


class MaskedMHCA(nn.Module):
    """Masked multi-head convolutional self-attention, global or restricted to a local window.

    q, k and v each pass a depthwise k=3 conv (stride 1 or 2, no bias, masked), a LayerNorm and a 1×1 conv.
    Scores are ``q·k/√d_head``; invalid keys get zero weight; the output is projected and multiplied by the
    query mask.

    With ``window_size > 1`` each query at time ``t`` attends only to the keys ``t - w//2 .. t + w//2`` that
    exist and are valid: OpenTAD's ``LocalMaskedMHCA`` (a Longformer-style sliding-chunk kernel) computes
    exactly this, with -1e4 instead of -inf on invalid keys (identical weights unless scores approach 1e4).
    Here it is a banded boolean mask over the full score matrix: exact, but memory and compute grow as ``T²``
    per head instead of ``T·w`` (at Ego4D's ``T = 2048``: 4.2 M scores per head and sample at level 0).
    """

    def __init__(
        self, dim: int, num_heads: int, stride: int = 1, window_size: int = -1, proj_pdrop: float = 0.0
    ) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"MaskedMHCA: dim {dim} is not divisible by num_heads {num_heads}")
        if stride not in (1, 2):
            raise ValueError(f"MaskedMHCA: stride must be 1 or 2, got {stride}")
        self.num_heads = num_heads
        self.window_size = window_size
        # q, k and v use the same depthwise conv (OpenTAD strides q with the k/v stride; both are equal).
        self.query_conv = MaskedConv1d(dim, dim, 3, stride=stride, groups=dim, bias=False)
        self.key_conv = MaskedConv1d(dim, dim, 3, stride=stride, groups=dim, bias=False)
        self.value_conv = MaskedConv1d(dim, dim, 3, stride=stride, groups=dim, bias=False)
        self.query_norm = nn.LayerNorm(dim)
        self.key_norm = nn.LayerNorm(dim)
        self.value_norm = nn.LayerNorm(dim)
        self.query = nn.Conv1d(dim, dim, 1)
        self.key = nn.Conv1d(dim, dim, 1)
        self.value = nn.Conv1d(dim, dim, 1)
        self.proj = nn.Conv1d(dim, dim, 1)
        self.proj_drop = nn.Dropout(proj_pdrop)

    def _heads(
        self, conv: MaskedConv1d, norm: nn.LayerNorm, linear: nn.Conv1d, x: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Depthwise conv → LayerNorm → 1×1 conv, split into heads ``[B, nh, T', d_head]``."""
        y, mask = conv(x, mask)
        y = linear(channel_norm(norm, y))  # [B, C, T']
        batch, channels, length = y.shape
        y = y.view(batch, self.num_heads, channels // self.num_heads, length).transpose(2, 3)
        return y, mask

    def attention_mask(self, mask: Tensor) -> Tensor:
        """Which keys each query may attend to, ``[B, 1, T', T']`` (True: attend).

        Args:
            mask: validity of the (downsampled) time steps ``[B, T']``.

        Padded queries may attend everywhere in their window: their output is zeroed afterwards, and this
        keeps fully padded rows from turning into NaN.
        """
        allowed = mask[:, None, :] | ~mask[:, :, None]  # [B, Tq, Tk]
        if self.window_size > 1:
            positions = torch.arange(mask.shape[-1], device=mask.device)
            half = self.window_size // 2
            allowed = allowed & ((positions[:, None] - positions[None, :]).abs() <= half)
        return allowed[:, None]

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        q, q_mask = self._heads(self.query_conv, self.query_norm, self.query, x, mask)  # [B, nh, T', d]
        k, _ = self._heads(self.key_conv, self.key_norm, self.key, x, mask)
        v, _ = self._heads(self.value_conv, self.value_norm, self.value, x, mask)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=self.attention_mask(q_mask))  # [B, nh, T', d]
        batch, heads, length, head_dim = out.shape
        out = out.transpose(2, 3).reshape(batch, heads * head_dim, length)  # [B, C, T']
        out = self.proj_drop(self.proj(out)) * q_mask[:, None].to(out.dtype)
        return out, q_mask


class TransformerBlock(nn.Module):
    """Pre-LN transformer block with masked conv attention and an optional stride-2 max-pool skip.

    ``out = skip(x)·m + DropPath(MHCA(LN1(x)))``, then ``out + DropPath(MLP(LN2(out))·m)``; the MLP is
    1×1 conv (4×) → GELU → Dropout → 1×1 conv → Dropout. Without drop path (``path_pdrop == 0``) the residual
    branches are added unscaled, as in OpenTAD (there are then no ``drop_path_*`` parameters).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        stride: int = 1,
        window_size: int = -1,
        proj_pdrop: float = 0.0,
        path_pdrop: float = 0.0,
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.ln2 = nn.LayerNorm(dim)
        self.attn = MaskedMHCA(dim, num_heads, stride=stride, window_size=window_size, proj_pdrop=proj_pdrop)
        self.pool_skip = nn.MaxPool1d(3, stride=2, padding=1) if stride > 1 else nn.Identity()
        self.mlp = nn.Sequential(
            nn.Conv1d(dim, 4 * dim, 1),
            nn.GELU(),
            nn.Dropout(proj_pdrop),
            nn.Conv1d(4 * dim, dim, 1),
            nn.Dropout(proj_pdrop),
        )
        if path_pdrop > 0.0:
            self.drop_path_attn: nn.Module = AffineDropPath(dim, path_pdrop)
            self.drop_path_mlp: nn.Module = AffineDropPath(dim, path_pdrop)
        else:
            self.drop_path_attn = nn.Identity()
            self.drop_path_mlp = nn.Identity()

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        out, out_mask = self.attn(channel_norm(self.ln1, x), mask)  # [B, C, T']
        keep = out_mask[:, None].to(out.dtype)
        out = self.pool_skip(x) * keep + self.drop_path_attn(out)
        out = out + self.drop_path_mlp(self.mlp(channel_norm(self.ln2, out)) * keep)
        return out, out_mask
