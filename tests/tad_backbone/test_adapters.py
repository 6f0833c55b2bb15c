"""The temporal-informative adapter against a hand-written version of the reference math (§2.3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tad_backbone import TemporalAdapter


def _reference(adapter: TemporalAdapter, x: torch.Tensor, videos: int, h: int, w: int) -> torch.Tensor:
    """z = GELU(down(x)); a = pw(dw3(z)) along each video's whole token sequence (zero ends);
    out = gamma * up(z + a) + x — written with explicit time shifts instead of convolutions."""
    z = F.gelu(x @ adapter.down_proj.weight.T + adapter.down_proj.bias)  # [(b n), t*h*w, d]
    d = z.shape[-1]
    seq = z.reshape(videos, -1, h * w, d)  # [b, T, hw, d]: chunks of a video concatenated in time
    zero = torch.zeros_like(seq[:, :1])
    previous = torch.cat([zero, seq[:, :-1]], dim=1)
    following = torch.cat([seq[:, 1:], zero], dim=1)
    kernel = adapter.dwconv.weight[:, 0, :]  # [d, 3]: taps for t-1, t, t+1
    depthwise = previous * kernel[:, 0] + seq * kernel[:, 1] + following * kernel[:, 2] + adapter.dwconv.bias
    pointwise = depthwise @ adapter.conv.weight[:, :, 0].T + adapter.conv.bias
    mixed = z + pointwise.reshape(z.shape)
    return adapter.gamma * (mixed @ adapter.up_proj.weight.T + adapter.up_proj.bias) + x


def test_adapter_math_matches_the_reference() -> None:
    torch.manual_seed(0)
    adapter = TemporalAdapter(dim=32, hidden_dim=8)
    with torch.no_grad():
        adapter.up_proj.weight.normal_(0, 0.2)
        adapter.up_proj.bias.normal_(0, 0.1)
        adapter.gamma.fill_(0.7)
    videos, chunks, t, h, w = 2, 3, 8, 2, 3
    x = torch.randn(videos * chunks, t * h * w, 32)
    torch.testing.assert_close(adapter(x, videos, (t, h, w)), _reference(adapter, x, videos, h, w))
    ladder = TemporalAdapter(dim=32, hidden_dim=8, residual=False)
    ladder.load_state_dict(adapter.state_dict())
    torch.testing.assert_close(ladder(x, videos, (t, h, w)), _reference(adapter, x, videos, h, w) - x)


def test_adapter_initialisation_follows_the_official_code() -> None:
    torch.manual_seed(0)
    adapter = TemporalAdapter(dim=1408, hidden_dim=352)  # VideoMAEv2-g
    assert torch.all(adapter.up_proj.weight == 0) and torch.all(adapter.up_proj.bias == 0)
    assert adapter.gamma.shape == (1,) and adapter.gamma.item() == 1.0
    assert torch.all(adapter.dwconv.bias == 0) and torch.all(adapter.conv.bias == 0)
    assert torch.all(adapter.down_proj.bias == 0)
    assert abs(adapter.dwconv.weight.std().item() / math.sqrt(2 / 3) - 1) < 0.1
    assert abs(adapter.conv.weight.std().item() / math.sqrt(2 / 352) - 1) < 0.05
    assert abs(adapter.down_proj.weight.std().item() / 0.02 - 1) < 0.05
    assert adapter.down_proj.weight.abs().max() <= 2.0
    assert sum(p.numel() for p in adapter.parameters()) == 1_118_657
