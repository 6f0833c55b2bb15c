"""The detector: shapes per architecture, padding, masks, position encoding, optimizer groups, presets."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
import torch

import tad_eval
from tad_head import (
    DETECTOR_PRESETS,
    POSTPROCESS_PRESETS,
    ActionFormer,
    DetectorRecipe,
    HeadConfig,
    ProjectionConfig,
    detector_param_groups,
    detector_preset,
    max_div_factor,
    pad_to_valid_length,
)
from tad_head.layers import AffineDropPath, Scale

EGO4D_RANGES = detector_preset("ego4d-mq", in_channels=6, num_classes=2).head.regression_ranges


@pytest.mark.parametrize(
    ("arch", "windows", "length"),
    [
        ((2, 2, 5), -1, 64),  # THUMOS / ActivityNet
        ((3, 0, 5), -1, 64),  # Multi-THUMOS
        ((2, 2, 7), -1, 128),  # Charades
        ((2, 2, 5), 9, 256),  # EPIC (local window 9: div factor 32·8)
        ((2, 2, 9), (17,) * 7 + (-1,) * 3, 1024),  # Ego4D: 10 levels, mixed windows, div factor 64·16
    ],
)
def test_forward_shapes(arch: tuple[int, int, int], windows: int | tuple[int, ...], length: int) -> None:
    levels = 1 + arch[2]
    projection = ProjectionConfig(
        in_channels=6, embed_dim=8, arch=arch, mha_win_size=windows, max_seq_len=length
    )
    ranges = EGO4D_RANGES[:levels] if levels == 10 else tuple((2.0**i, 2.0 ** (i + 1)) for i in range(levels))
    head = HeadConfig(
        num_classes=5, embed_dim=8, strides=tuple(2**i for i in range(levels)), regression_ranges=ranges
    )
    model = ActionFormer(projection, head).eval()
    feats = torch.randn(2, 6, length - 9)
    feats, mask = pad_to_valid_length(feats, torch.ones(2, length - 9, dtype=torch.bool), projection)
    with torch.no_grad():
        out = model(feats, mask)
    assert len(model.projection.embed) == arch[0] and len(model.projection.stem) == arch[1]
    assert [x.shape for x in out.cls_logits] == [(2, 5, length // 2**i) for i in range(levels)]
    assert [x.shape for x in out.reg_offsets] == [(2, 2, length // 2**i) for i in range(levels)]
    assert [m.shape for m in out.masks] == [(2, length // 2**i) for i in range(levels)]
    assert all(bool((x >= 0).all()) for x in out.reg_offsets)  # ReLU on the scaled regression
    assert [block.attn.window_size for block in model.projection.branch] == list(projection.window_sizes[1:])


def test_max_div_factor_and_padding() -> None:
    ego4d = ProjectionConfig(
        in_channels=4, arch=(2, 2, 9), mha_win_size=(17,) * 7 + (-1,) * 3, max_seq_len=2048
    )
    assert max_div_factor(ego4d) == 1024  # level 6: stride 64 · (17 // 2) · 2
    assert max_div_factor(ProjectionConfig(in_channels=4)) == 32
    assert max_div_factor(ProjectionConfig(in_channels=4, mha_win_size=9)) == 256
    cfg = ProjectionConfig(in_channels=3, max_seq_len=64)
    feats, mask = pad_to_valid_length(torch.ones(1, 3, 50), torch.ones(1, 50, dtype=torch.bool), cfg)
    assert feats.shape == (1, 3, 64) and int(mask.sum()) == 50 and float(feats[..., 50:].abs().sum()) == 0
    feats, mask = pad_to_valid_length(torch.ones(1, 3, 65), torch.ones(1, 65, dtype=torch.bool), cfg)
    assert feats.shape == (1, 3, 96) and int(mask.sum()) == 65  # longer: next multiple of 32
    same = torch.ones(1, 3, 64)
    assert pad_to_valid_length(same, torch.ones(1, 64, dtype=torch.bool), cfg)[0] is same
    with pytest.raises(ValueError, match="divisible"):
        ProjectionConfig(in_channels=3, max_seq_len=80)


def test_padding_stays_zero_and_more_padding_changes_nothing(tiny_projection, tiny_head) -> None:
    """Padded steps are zero at every level, and padding to 96 instead of 64 leaves the real steps alone."""
    model = ActionFormer(tiny_projection, tiny_head).eval()
    feats, mask = pad_to_valid_length(
        torch.randn(1, 24, 40), torch.ones(1, 40, dtype=torch.bool), tiny_projection
    )
    levels, masks = model.projection(feats, mask)
    for level, level_mask in zip(levels, masks, strict=True):
        assert torch.equal(level * ~level_mask[:, None], torch.zeros_like(level))
    longer, _ = model.projection(
        torch.nn.functional.pad(feats, (0, 32)), torch.nn.functional.pad(mask, (0, 32))
    )
    for short, long, level_mask in zip(levels, longer, masks, strict=True):
        torch.testing.assert_close(short, long[..., : short.shape[-1]])
        assert int(level_mask.sum()) > 0


def test_position_encoding_is_rebuilt_scaled_and_stretched(tiny_head) -> None:
    cfg = ProjectionConfig(in_channels=24, embed_dim=32, max_seq_len=64, use_abs_pe=True)
    model = ActionFormer(cfg, tiny_head)
    assert "projection.pos_embed" not in model.state_dict()  # not persistent, like OpenTAD
    pe = model.projection.pos_embed
    assert pe.shape == (1, 32, 64)
    assert pe[0, 1, 0].item() == pytest.approx(1 / 32**0.5)  # cos(0) / sqrt(D)
    model.eval()
    stretched = model.projection.position_encoding(128)
    expected = torch.nn.functional.interpolate(pe, size=128, mode="linear", align_corners=False)
    torch.testing.assert_close(stretched, expected)
    torch.testing.assert_close(model.projection.position_encoding(64), pe)
    model.train()
    with pytest.raises(ValueError, match="max_seq_len"):
        model.projection.position_encoding(96)


def test_position_encoding_is_added_after_the_embedding_on_valid_steps_only(tiny_head) -> None:
    cfg = ProjectionConfig(in_channels=24, embed_dim=32, max_seq_len=64, use_abs_pe=True)
    model = ActionFormer(cfg, tiny_head).eval()
    seen: dict[str, torch.Tensor] = {}
    model.projection.embed[-1].register_forward_hook(lambda module, args, out: seen.update(embedded=out[0]))
    model.projection.stem[0].register_forward_pre_hook(lambda module, args: seen.update(stem_input=args[0]))
    mask = torch.arange(64)[None] < 40
    with torch.no_grad():
        model(torch.randn(1, 24, 64) * mask[:, None], mask)
    expected = seen["embedded"] + model.projection.pos_embed * mask[:, None]
    torch.testing.assert_close(seen["stem_input"], expected)
    assert torch.equal(seen["stem_input"][..., 40:], torch.zeros(1, 32, 24))


def test_head_initialisation(tiny_projection, tiny_head) -> None:
    model = ActionFormer(tiny_projection, tiny_head)
    torch.testing.assert_close(model.rpn_head.cls_head.bias, torch.full((3,), -4.59511985013459))
    assert [s.scale.item() for s in model.rpn_head.scale] == [1.0] * 6
    assert all(b.drop_path_attn.scale.mean().item() == pytest.approx(1e-4) for b in model.projection.stem)
    assert all(norm.eps == 1e-6 for norm in model.neck.fpn_norms)
    projection_biases = [m.bias for m in model.projection.modules() if isinstance(m, torch.nn.Conv1d)]
    assert all(b.abs().sum().item() == 0 for b in projection_biases if b is not None)


def test_regression_is_relu_of_the_scaled_head_per_level(tiny_projection, tiny_head) -> None:
    """reg = ReLU(scale_l · reg_head(feat)), with each level's own scale (a negative one zeroes positives)."""
    model = ActionFormer(tiny_projection, tiny_head).eval()
    with torch.no_grad():
        for level, scale in enumerate(model.rpn_head.scale):
            scale.scale.fill_(-2.0 if level == 0 else 0.5 * level)
    raw: list[torch.Tensor] = []
    model.rpn_head.reg_head.register_forward_hook(lambda module, args, out: raw.append(out))
    with torch.no_grad():
        out = model(torch.randn(2, 24, 64), torch.ones(2, 64, dtype=torch.bool))
    assert len(raw) == 6
    for level, (offsets, head) in enumerate(zip(out.reg_offsets, raw, strict=True)):
        torch.testing.assert_close(offsets, torch.relu(model.rpn_head.scale[level].scale * head))
    assert bool((raw[0] > 0).any()) and bool((out.reg_offsets[0][raw[0] > 0] == 0).all())


def test_detector_param_groups(tiny_projection, tiny_head) -> None:
    model = ActionFormer(tiny_projection, tiny_head)
    decay, no_decay = detector_param_groups(model, lr=1e-4, weight_decay=0.05)
    assert (decay["weight_decay"], no_decay["weight_decay"], decay["lr"], no_decay["lr"]) == (
        0.05,
        0.0,
        1e-4,
        1e-4,
    )
    names = {id(p): n for n, p in model.named_parameters()}
    decay_names = {names[id(p)] for p in decay["params"]}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert decay_names | no_decay_names == set(names.values()) and not decay_names & no_decay_names
    assert "projection.stem.0.attn.query.weight" in decay_names
    assert "projection.embed.0.conv.weight" in decay_names and "rpn_head.cls_head.weight" in decay_names
    for name in (
        "rpn_head.cls_head.bias",
        "neck.fpn_norms.0.weight",
        "rpn_head.scale.3.scale",
        "projection.branch.4.drop_path_mlp.scale",
        "projection.stem.1.ln2.weight",
    ):
        assert name in no_decay_names
    modules = dict(model.named_modules())
    for name in no_decay_names - {n for n in no_decay_names if n.endswith("bias")}:
        assert isinstance(modules[name.rsplit(".", 1)[0]], (torch.nn.LayerNorm, Scale, AffineDropPath))
    assert [names[id(p)] for p in decay["params"]] == sorted(decay_names)


def test_presets_build_and_match_the_configs() -> None:
    for name in DETECTOR_PRESETS:
        preset = detector_preset(name, in_channels=384, num_classes=3)
        assert preset.projection.num_levels == len(preset.head.strides)
        assert preset.head.embed_dim == preset.projection.embed_dim and preset.head.num_classes == 3
    ego4d = detector_preset("ego4d-mq", 1024, 110)
    assert ego4d.projection.window_sizes == (17,) * 7 + (-1,) * 3 and not ego4d.targets.filter_similar_gt
    assert ego4d.head.strides[-1] == 512 and ego4d.head.regression_ranges[6] == (64, 256)
    assert ego4d.projection.arch == (2, 2, 9) and ego4d.projection.max_seq_len == 2048
    assert (ego4d.projection.input_pdrop, ego4d.projection.proj_pdrop) == (0.2, 0.1)
    assert detector_preset("epic-kitchens-100", 1024, 97).head.regression_ranges[1] == (2, 8)  # overlapping
    charades = detector_preset("charades", 384, 157)
    assert charades.head.strides == (1, 2, 4, 8, 16, 32, 64, 128) and charades.projection.input_pdrop == 0.3
    assert detector_preset("multithumos", 384, 65).projection.arch == (3, 0, 5)
    anet = detector_preset("activitynet13", 384, 1)
    assert (anet.loss.normalizer_init, anet.loss.loss_weight, anet.loss.label_smoothing) == (200, 2.0, 0.1)
    assert anet.head.num_classes == 1 and anet.projection.use_abs_pe and anet.projection.embed_dim == 256
    assert anet.head.embed_dim == 256 and anet.projection.max_seq_len == 192
    assert not anet.postprocess.nms.multiclass and anet.postprocess.nms.voting_thresh == 0.9
    thumos = detector_preset("thumos14", 384, 20)
    assert (
        thumos.postprocess.nms.sigma,
        thumos.postprocess.nms.max_seg_num,
        thumos.postprocess.nms.min_score,
    ) == (
        0.7,
        2000,
        0.0,
    )
    assert detector_preset("epic-kitchens-100", 1024, 300).loss.normalizer_init == 250
    assert replace(thumos.head, num_classes=5).num_classes == 5


def test_presets_are_typed_keyed_by_canonical_names_and_take_the_class_count_from_the_caller() -> None:
    assert tuple(DETECTOR_PRESETS) == tuple(POSTPROCESS_PRESETS) == tad_eval.DATASETS
    assert all(isinstance(recipe, DetectorRecipe) for recipe in DETECTOR_PRESETS.values())
    assert all(not isinstance(getattr(recipe, f.name), dict) for recipe in DETECTOR_PRESETS.values()
               for f in fields(recipe))  # fmt: skip
    assert "num_classes" not in {f.name for f in fields(DetectorRecipe)}
    # EPIC-KITCHENS-100: 97 verbs, 300 nouns (293 of them in the labelled splits): the class list decides.
    for num_classes in (97, 293, 300):
        assert detector_preset("epic-kitchens-100", 1024, num_classes).head.num_classes == num_classes
    with pytest.raises(ValueError, match="use 'thumos14', not 'thumos'"):
        detector_preset("thumos", 384, 20)
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'"):
        detector_preset("kinetics", 384, 400)
    with pytest.raises(ValueError, match="num_classes must be at least 1"):
        detector_preset("thumos14", 384, 0)


def test_thumos_s_detector_size_matches_the_analytic_count() -> None:
    """§2.6: about 26.7 M parameters for THUMOS (D 512, 20 classes) on VideoMAE-S features (384)."""
    preset = detector_preset("thumos14", 384, 20)
    with torch.device("meta"):
        model = ActionFormer(preset.projection, preset.head)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(26.7, abs=0.05)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="one per level"):
        ProjectionConfig(in_channels=4, mha_win_size=(9, 9))
    with pytest.raises(ValueError, match="regression ranges"):
        HeadConfig(num_classes=2, strides=(1, 2))
    with pytest.raises(ValueError, match="pyramid levels"):
        ActionFormer(
            ProjectionConfig(in_channels=4, embed_dim=16, arch=(2, 2, 3)), HeadConfig(2, embed_dim=16)
        )
