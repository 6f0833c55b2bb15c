"""Masked building blocks: masking order, mask downsampling, attention windows, drop path, sinusoids."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tad_head.layers import (
    AffineDropPath,
    MaskedConv1d,
    MaskedMHCA,
    TransformerBlock,
    downsample_mask,
    sinusoid_position_encoding,
)


def _mask(lengths: list[int], total: int) -> torch.Tensor:
    return torch.arange(total)[None] < torch.tensor(lengths)[:, None]


def _brute_force_attention(module: MaskedMHCA, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """q, k, v as depthwise k=3 conv → ×mask → LayerNorm (eps 1e-5) → 1×1 conv, written out; then query by
    query a softmax over the valid keys within ±window//2 (all valid keys when global)."""
    channels, stride = x.shape[1], module.query_conv.conv.stride[0]
    q_mask = mask[:, ::stride]  # nearest downsampling of an even length

    def project(conv: MaskedConv1d, norm: nn.LayerNorm, linear: nn.Conv1d) -> torch.Tensor:
        y = F.conv1d(x, conv.conv.weight, stride=stride, padding=1, groups=channels) * q_mask[:, None]
        y = F.layer_norm(y.transpose(1, 2), (channels,), norm.weight, norm.bias).transpose(1, 2)
        y = F.conv1d(y, linear.weight, linear.bias)
        return y.view(y.shape[0], module.num_heads, -1, y.shape[-1]).transpose(2, 3)  # [B, nh, T', d]

    q = project(module.query_conv, module.query_norm, module.query)
    k = project(module.key_conv, module.key_norm, module.key)
    v = project(module.value_conv, module.value_norm, module.value)
    batch, heads, length, head_dim = q.shape
    out = torch.zeros_like(q)
    half = module.window_size // 2 if module.window_size > 1 else length
    for b in range(batch):
        for t in range(length):
            if not q_mask[b, t]:
                continue
            keys = [j for j in range(max(0, t - half), min(length, t + half + 1)) if q_mask[b, j]]
            for h in range(heads):
                scores = torch.stack([q[b, h, t] @ k[b, h, j] / math.sqrt(head_dim) for j in keys])
                weights = torch.softmax(scores, dim=0)
                out[b, h, t] = sum(w * v[b, h, j] for w, j in zip(weights, keys, strict=True))
    out = out.transpose(2, 3).reshape(batch, heads * head_dim, length)
    return module.proj(out) * q_mask[:, None]


@pytest.mark.parametrize(("window", "stride"), [(-1, 1), (5, 1), (9, 1), (3, 2), (5, 2)])
def test_attention_equals_brute_force(window: int, stride: int) -> None:
    module = MaskedMHCA(16, num_heads=4, stride=stride, window_size=window).eval()
    x = torch.randn(2, 16, 24)
    mask = _mask([24, 13], 24)
    x = x * mask[:, None]
    out, out_mask = module(x, mask)
    assert torch.equal(out_mask, downsample_mask(mask, 24 // stride))
    torch.testing.assert_close(out, _brute_force_attention(module, x, mask), atol=1e-5, rtol=1e-5)


def test_local_window_really_is_local() -> None:
    """A change at time 0 reaches outputs within w//2 steps only (one attention layer, stride 1)."""
    module = MaskedMHCA(16, num_heads=2, window_size=5).eval()
    x = torch.randn(1, 16, 20)
    mask = torch.ones(1, 20, dtype=torch.bool)
    nudged = x.clone()
    nudged[:, :, 0] += 1.0
    changed = (module(nudged, mask)[0] - module(x, mask)[0]).abs().amax(dim=1)[0] > 1e-6
    # Depthwise k=3 convs spread the change to t=1, the window (±2) then to t ≤ 3.
    assert changed.nonzero().flatten().tolist() == [0, 1, 2, 3]


def test_window_covering_everything_equals_global() -> None:
    local = MaskedMHCA(16, num_heads=4, window_size=65).eval()
    glob = MaskedMHCA(16, num_heads=4, window_size=-1).eval()
    glob.load_state_dict(local.state_dict())
    x, mask = torch.randn(2, 16, 32), _mask([32, 20], 32)
    torch.testing.assert_close(local(x, mask)[0], glob(x, mask)[0])


def test_fully_padded_sample_gives_zeros_not_nan() -> None:
    module = MaskedMHCA(8, num_heads=2, window_size=3).eval()
    out, _ = module(torch.randn(1, 8, 12), torch.zeros(1, 12, dtype=torch.bool))
    assert torch.equal(out, torch.zeros_like(out))


def test_masked_conv_order_conv_mask_norm_relu_mask() -> None:
    conv = MaskedConv1d(4, 6, 3, with_norm=True, with_act=True)
    assert conv.conv.bias is None  # no bias before a norm
    with torch.no_grad():
        conv.norm.weight.uniform_(0.5, 1.5)
        conv.norm.bias.uniform_(-1, 1)
    x, mask = torch.randn(2, 4, 10), _mask([10, 6], 10)
    out, out_mask = conv(x, mask)
    raw = nn.functional.conv1d(x, conv.conv.weight, padding=1) * mask[:, None]
    expected = torch.relu(
        nn.functional.layer_norm(raw.transpose(1, 2), (6,), conv.norm.weight, conv.norm.bias, 1e-6)
    )
    torch.testing.assert_close(out, expected.transpose(1, 2) * mask[:, None])
    assert torch.equal(out_mask, mask)
    assert conv.norm.eps == 1e-6


def test_downsample_mask_is_nearest() -> None:
    mask = _mask([5, 7], 8)
    assert torch.equal(downsample_mask(mask, 4), mask[:, ::2])
    # Odd lengths follow F.interpolate(nearest): index floor(i * 5 / 3) = 0, 1, 3.
    odd = torch.tensor([[True, False, True, True, False]])
    assert downsample_mask(odd, 3).tolist() == [[True, False, True]]


def test_transformer_block_downsamples_and_keeps_padding_zero() -> None:
    block = TransformerBlock(16, 4, stride=2, path_pdrop=0.1).eval()
    x, mask = torch.randn(2, 16, 32), _mask([32, 11], 32)
    out, out_mask = block(x * mask[:, None], mask)
    assert out.shape == (2, 16, 16)
    assert out_mask.sum(dim=1).tolist() == [16, 6]
    assert torch.equal(out[1, :, 6:], torch.zeros(16, 10))
    assert block.ln1.eps == 1e-5 and block.attn.query_norm.eps == 1e-5


def test_transformer_block_matches_the_formula() -> None:
    """out = maxpool(x)·m + s_attn·MHCA(LN1(x)), then out + s_mlp·(MLP(LN2(out))·m); LN eps 1e-5."""
    block = TransformerBlock(16, 4, stride=2, path_pdrop=0.1).eval()
    scales = (block.drop_path_attn.scale, block.drop_path_mlp.scale, block.ln1.weight, block.ln2.bias)
    with torch.no_grad():
        for param in scales:
            param.uniform_(0.5, 1.5)
    mask = _mask([32, 11], 32)
    x = torch.randn(2, 16, 32) * mask[:, None]
    out, out_mask = block(x, mask)

    def norm(layer: nn.LayerNorm, t: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(t.transpose(1, 2), (16,), layer.weight, layer.bias, 1e-5).transpose(1, 2)

    attended, attended_mask = block.attn(norm(block.ln1, x), mask)
    keep = attended_mask[:, None].float()
    middle = F.max_pool1d(x, 3, stride=2, padding=1) * keep + block.drop_path_attn.scale * attended
    first, second = block.mlp[0], block.mlp[3]
    hidden = F.gelu(F.conv1d(norm(block.ln2, middle), first.weight, first.bias))
    hidden = F.conv1d(hidden, second.weight, second.bias)
    torch.testing.assert_close(out, middle + block.drop_path_mlp.scale * hidden * keep)
    assert torch.equal(out_mask, attended_mask)


def test_transformer_block_without_drop_path_has_no_scales() -> None:
    names = TransformerBlock(8, 2, path_pdrop=0.0).state_dict()
    assert not any("drop_path" in name for name in names)


def test_affine_drop_path_scale_and_stochastic_depth() -> None:
    layer = AffineDropPath(4, drop_prob=0.5)
    x = torch.ones(1000, 4, 3)
    torch.testing.assert_close(layer.eval()(x), torch.full_like(x, 1e-4))
    out = layer.train()(x)
    kept = out[:, 0, 0] != 0
    assert torch.allclose(out[kept], torch.full_like(out[kept], 2e-4))  # 1e-4 / keep_prob
    assert 400 < int(kept.sum()) < 600
    assert torch.equal(out[~kept], torch.zeros_like(out[~kept]))  # whole samples dropped


def test_sinusoid_position_encoding_formula() -> None:
    table = sinusoid_position_encoding(50, 8)
    assert table.shape == (1, 8, 50) and table.dtype == torch.float32
    pos, j = 7, 5  # odd channel: cos(pos / 10000^(2*(5//2)/8))
    assert table[0, j, pos].item() == pytest.approx(math.cos(pos / 10000 ** (4 / 8)), abs=1e-6)
    assert table[0, 4, pos].item() == pytest.approx(math.sin(pos / 10000 ** (4 / 8)), abs=1e-6)
