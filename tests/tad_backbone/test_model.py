"""Model behaviour: parameter counts, chunking, adapters, modes, autocast."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tad_backbone import (
    ARCHITECTURES,
    VideoMAE,
    count_parameters,
    videomae_config,
)
from tad_backbone.layers import resample_position_table, sinusoid_position_table

# §2.6 of the reference: ViT parameters (M), parameters of one TIA, TIA total (M) with adapters in all blocks.
TABLE = {
    "s": (21.88, 83_905, 1.01),
    "b": (86.23, 333_697, 4.00),
    "l": (303.86, 592_385, 14.22),
    "h": (631.61, 924_801, 29.59),
    "g": (1011.61, 1_118_657, 44.75),
}


def _count(**config: object) -> tuple[int, int]:
    with torch.device("meta"):  # g has 1 B parameters: count without allocating them
        return count_parameters(VideoMAE(videomae_config(**config)))


@pytest.mark.parametrize("arch", sorted(TABLE))
def test_parameter_counts_match_the_official_table(arch: str) -> None:
    vit_m, per_adapter, total_m = TABLE[arch]
    vit, adapters = _count(arch=arch, mode="adapter")
    depth = videomae_config(arch).depth
    assert abs(vit / 1e6 - vit_m) < 0.01
    assert adapters == per_adapter * depth
    assert abs(adapters / 1e6 - total_m) < 0.01


def test_parameter_counts_of_the_g_variants() -> None:
    assert abs(_count(arch="g", mode="adapter", adapter_index=range(20, 40))[1] / 1e6 - 22.37) < 0.01
    vit, ladders = _count(arch="g", mode="side", adapter_index=range(20, 40), adapter_ratio=1 / 8)
    assert ladders == 20 * 529_057 and abs(vit / 1e6 - 1011.61) < 0.01
    assert videomae_config("g").mlp_dim == 6144


@pytest.mark.parametrize("arch", sorted(TABLE))
@pytest.mark.parametrize(
    ("mode", "index", "ratio"),
    [("frozen", None, 0.25), ("full", None, 0.25), ("adapter", None, 0.25), ("adapter", (1, 5), 0.5),
     ("side", (6, 7, 8, 9, 10, 11), 0.125)],
)  # fmt: skip
def test_arithmetic_parameter_counts_equal_the_model(arch, mode, index, ratio) -> None:
    """``VideoMAEConfig.parameter_counts`` (what info and plan use, without torch) against the modules."""
    config = videomae_config(arch, mode=mode, adapter_index=index, adapter_ratio=ratio)
    assert config.parameter_counts() == _count(arch=arch, mode=mode, adapter_index=index, adapter_ratio=ratio)


def test_sinusoid_table_matches_the_formula() -> None:
    table = sinusoid_position_table(1568, 384)[0].double()
    for position, channel in [(0, 0), (0, 1), (7, 10), (1567, 383), (500, 200)]:
        angle = position / 10000 ** (2 * (channel // 2) / 384)
        expected = math.sin(angle) if channel % 2 == 0 else math.cos(angle)
        assert table[position, channel].item() == pytest.approx(expected, abs=1e-6)


def _mmaction2_table(positions: int, dim: int) -> torch.Tensor:
    """mmaction2's ``get_sinusoid_encoding`` step by step (§2.2 of the reference): float64 torch,
    ``vec = (j - j % 2) / dim``, the integer positions times ``10000^-vec``, ``sin_`` / ``cos_`` in place on
    the even / odd channels, then float32."""
    vec = torch.arange(dim, dtype=torch.float64)
    vec = (vec - vec % 2) / dim
    vec = torch.pow(10000, -vec).view(1, -1)
    table = torch.arange(positions).view(-1, 1) * vec
    table[:, 0::2].sin_()
    table[:, 1::2].cos_()
    return table.to(torch.float32)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_position_table_equals_mmaction2_bit_for_bit(arch: str) -> None:
    """Every table the architectures build, including the S, B and g tables where tad-eval's numpy table
    is one float32 step off in 1-2 values."""
    config = videomae_config(arch)
    positions = config.pos_grid**2 * config.chunk_frames // config.tubelet_size
    table = sinusoid_position_table(positions, config.embed_dim)
    assert table.shape == (1, positions, config.embed_dim) and table.dtype == torch.float32
    assert torch.equal(table[0], _mmaction2_table(positions, config.embed_dim))


def test_position_table_is_resized_per_temporal_slice() -> None:
    table = torch.arange(2 * 4 * 4 * 3, dtype=torch.float32).reshape(1, 2 * 16, 3)
    same = resample_position_table(table, 4, (4, 4))
    assert same is table
    resized = resample_position_table(table, 4, (2, 2))
    slice_1 = table[0, 16:].reshape(4, 4, 3).permute(2, 0, 1)[None]
    expected = F.interpolate(slice_1, size=(2, 2), mode="bicubic", align_corners=False)[0].permute(1, 2, 0)
    assert resized.shape == (1, 8, 3)
    torch.testing.assert_close(resized[0, 4:].reshape(2, 2, 3), expected)


def _reference_features(model: VideoMAE, video: torch.Tensor) -> torch.Tensor:
    """The frozen ViT written out from §2.1-2.2: normalise, cut 16-frame chunks, 2×p×p tubelets in (t, h, w)
    order, the 224 px table resized bicubically per temporal slice, pre-LN blocks with a q/zero/v bias,
    no final norm, the spatial mean per step and the chunks of a video concatenated."""
    config, dim = model.config, model.config.embed_dim
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1, 1)
    per_video = []
    for clip_video in video.float():
        steps = []
        for start in range(0, clip_video.shape[1], 16):
            clip = (clip_video[:, start : start + 16] - mean) / std
            weight, bias = model.patch_embed.proj.weight, model.patch_embed.proj.bias
            grid = F.conv3d(clip[None], weight, bias, stride=weight.shape[2:])[0]  # [C, 8, h, w]
            t, h, w = grid.shape[1:]
            x = grid.flatten(1).T  # [(t h w), C]
            table = model.pos_embed.reshape(8, config.pos_grid, config.pos_grid, dim).permute(0, 3, 1, 2)
            table = F.interpolate(table, size=(h, w), mode="bicubic", align_corners=False)
            x = x + table.permute(0, 2, 3, 1).reshape(-1, dim)
            for block in model.blocks:
                attn, heads = block.attn, config.num_heads
                y = F.layer_norm(x, (dim,), block.norm1.weight, block.norm1.bias, 1e-6)
                wq, wk, wv = attn.qkv.weight.split(dim)
                q, k, v = y @ wq.T + attn.q_bias, y @ wk.T, y @ wv.T + attn.v_bias
                q, k, v = (z.reshape(-1, heads, dim // heads).transpose(0, 1) for z in (q, k, v))
                probs = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dim // heads), dim=-1)
                x = x + attn.proj((probs @ v).transpose(0, 1).reshape(-1, dim))
                y = F.layer_norm(x, (dim,), block.norm2.weight, block.norm2.bias, 1e-6)
                x = x + block.mlp.fc2(F.gelu(block.mlp.fc1(y)))
            steps.append(x.reshape(t, h * w, dim).mean(dim=1))  # [8, C]
        per_video.append(torch.cat(steps).T)  # [C, T/2]
    return torch.stack(per_video)


def test_forward_matches_a_hand_written_reference(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config(mode="frozen", depth=2)).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-zero q/v biases and norms, so a wrong bias layout or norm would show
        for name, param in model.named_parameters():
            if name.endswith(("q_bias", "v_bias")) or param.ndim == 1:
                param.copy_(0.5 * torch.randn(param.shape, generator=generator) + (name.endswith("weight")))
    video = random_video(batch=2, frames=32, size=48)
    with torch.no_grad():
        torch.testing.assert_close(model(video), _reference_features(model, video), rtol=1e-4, atol=1e-4)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 4 and all(m.eps == 1e-6 for m in norms)  # too small a difference to see above


def _pop(stack: list) -> None:
    """Leave a block in a forward hook (returning None keeps the block's output)."""
    stack.pop()


def test_output_shape_dtype_and_length(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config()).eval()
    video = random_video(batch=2, frames=48, size=48)
    features = model(video)
    assert features.shape == (2, 64, 24) and features.dtype == torch.float32
    resized = model(video, length=12)
    # 24 -> 12 steps with align_corners=False is the mean of neighbouring pairs.
    torch.testing.assert_close(resized, features.reshape(2, 64, 12, 2).mean(-1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 16"):
        model(random_video(frames=40))


def test_normalisation_is_inside_and_not_in_the_state_dict(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config()).eval()
    video = random_video()
    torch.testing.assert_close(model(video), model(video.float()))
    assert not any(key.startswith("normalize") for key in model.state_dict())
    assert torch.equal(model.state_dict()["pos_embed"], sinusoid_position_table(1568, 64))


def test_videos_of_a_batch_do_not_mix(tiny_config, random_video, nonzero_adapters) -> None:
    """(b, chunk) order: each video's chunks are contiguous and the temporal conv stays inside a video."""
    model = VideoMAE(tiny_config(mode="adapter"))
    nonzero_adapters(model)
    model.eval()
    video = random_video(batch=2, frames=48)
    together = model(video)
    alone = torch.cat([model(video[:1]), model(video[1:])])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_fresh_adapters_are_the_identity(tiny_config, random_video) -> None:
    frozen = VideoMAE(tiny_config(mode="frozen")).eval()
    video = random_video(frames=32)
    expected = frozen(video)
    for mode, index in (("adapter", None), ("side", (1, 3))):
        model = VideoMAE(tiny_config(mode=mode, adapter_index=index))
        model.load_state_dict(frozen.state_dict(), strict=False)
        if mode == "side":  # the side output is the last ladder input: block 3 is the last block here
            assert index[-1] == model.config.depth - 1
        torch.testing.assert_close(model.eval()(video), expected, rtol=0, atol=0)


def test_adapters_mix_neighbouring_chunks(tiny_config, random_video, nonzero_adapters) -> None:
    frozen = VideoMAE(tiny_config(mode="frozen")).eval()
    adapter = VideoMAE(tiny_config(mode="adapter"))
    adapter.load_state_dict(frozen.state_dict(), strict=False)
    nonzero_adapters(adapter)
    adapter.eval()
    video = random_video(frames=48)
    changed = video.clone()
    changed[:, :, 16:32] = 255 - changed[:, :, 16:32]  # chunk 1 of 3
    with torch.no_grad():
        steps = slice(16, 24)  # the 8 temporal tokens of chunk 2
        frozen_delta = (frozen(changed) - frozen(video))[..., steps].abs().max()
        adapter_delta = (adapter(changed) - adapter(video))[..., steps].abs().max()
        first_chunk_delta = (adapter(changed) - adapter(video))[..., :8].abs().max()
    assert frozen_delta == 0  # attention never crosses a chunk
    assert adapter_delta > 1e-3 and first_chunk_delta > 1e-3  # the temporal conv does, both ways


def test_adapter_mode_trains_only_adapters(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config(mode="adapter", adapter_index=(1, 3))).train()
    model(random_video()).square().mean().backward()
    with_grad = {name for name, p in model.named_parameters() if p.grad is not None}
    adapter_names = {name for name, _ in model.named_parameters() if ".adapter." in name}
    assert with_grad == adapter_names and len(adapter_names) == 2 * 9
    assert {name for name, _ in model.trainable_parameters()} == adapter_names
    (group,) = model.param_groups(lr=2e-4, weight_decay=0.05)
    assert len(group["params"]) == 18 and group["lr"] == 2e-4 and group["weight_decay"] == 0.05


def test_blocks_before_the_first_adapter_keep_nothing(tiny_config, random_video) -> None:
    """Activation checkpointing starts at the first block whose input needs gradients."""
    model = VideoMAE(tiny_config(mode="adapter", adapter_index=(2, 3))).train()
    saved_in_block: dict[int, int] = {i: 0 for i in range(4)}
    current: list[int] = []
    for index, block in enumerate(model.blocks):
        block.register_forward_pre_hook(lambda module, args, index=index: current.append(index))
        block.register_forward_hook(lambda module, args, out: _pop(current))

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if current:
            saved_in_block[current[-1]] += 1
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(random_video())
    assert saved_in_block[0] == saved_in_block[1] == 0
    assert saved_in_block[2] > 0  # the first adapter block runs without checkpointing
    assert saved_in_block[3] == 0  # checkpointed: only its input is kept, outside the block
    out.sum().backward()
    assert model.blocks[2].adapter.down_proj.weight.grad is not None


def test_side_mode_saves_no_vit_activation(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config(mode="side", adapter_index=(1, 2, 3))).train()
    inside_vit: list[bool] = []
    for block in model.blocks:
        block.register_forward_pre_hook(lambda module, args: inside_vit.append(True))
        block.register_forward_hook(lambda module, args, out: _pop(inside_vit))
    saved_inside = []
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: saved_inside.append(bool(inside_vit)) or t, lambda t: t
    ):
        out = model(random_video())
    assert saved_inside and not any(saved_inside)
    out.sum().backward()
    grads = {name.split(".")[0] for name, p in model.named_parameters() if p.grad is not None}
    assert grads == {"ladders"}


def test_frozen_mode_builds_no_graph_and_ignores_train(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config(mode="frozen", drop_path_rate=0.5)).train()
    video = random_video()
    out = model(video)
    assert not out.requires_grad and not model.training
    torch.testing.assert_close(model(video), out, rtol=0, atol=0)  # drop-path stays off
    assert model.param_groups(1e-4, 0.05) == []


def test_a_freshly_built_frozen_backbone_already_evaluates(tiny_config) -> None:
    assert not any(m.training for m in VideoMAE(tiny_config(mode="frozen", drop_path_rate=0.5)).modules())
    assert VideoMAE(tiny_config(mode="adapter")).training


def test_adapter_mode_keeps_drop_path_active_in_frozen_blocks(tiny_config, random_video) -> None:
    model = VideoMAE(tiny_config(mode="adapter", drop_path_rate=0.5))
    video = random_video(batch=4)
    model.train()
    assert not torch.equal(model(video), model(video))
    model.eval()
    torch.testing.assert_close(model(video), model(video), rtol=0, atol=0)


def test_full_mode_checkpointing_gives_the_same_gradients(tiny_config, random_video) -> None:
    video = random_video()
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = VideoMAE(
            tiny_config(mode="full", grad_checkpointing=checkpointing, drop_path_rate=0.0)
        ).train()
        model(video).square().mean().backward()
        assert all(p.grad is not None for p in model.parameters())
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_bf16_autocast_on_cpu_is_finite_and_close(tiny_config, random_video, nonzero_adapters) -> None:
    model = VideoMAE(tiny_config(mode="adapter"))
    nonzero_adapters(model)
    model.eval()
    video = random_video(frames=32)
    reference = model(video)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(video)
    assert mixed.dtype == torch.float32 and torch.isfinite(mixed).all()
    assert (mixed - reference).norm() / reference.norm() < 0.05
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(video).square().mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for _, p in model.trainable_parameters())


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="mode"):
        videomae_config("s", mode="lora")
    with pytest.raises(ValueError, match="adapter_index"):
        videomae_config("s", mode="adapter", adapter_index=(3, 12))
    with pytest.raises(ValueError, match="unknown architecture"):
        videomae_config("xl")
