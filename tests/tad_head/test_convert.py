"""OpenTAD detector checkpoints: a fake state with exactly the §2.7 names and shapes loads strictly."""

from __future__ import annotations

import pytest
import torch

from official_layouts import opentad_detector_state
from tad_head import (
    ActionFormer,
    HeadConfig,
    ProjectionConfig,
    convert_opentad_state,
    opentad_loss_normalizer,
)


def _model(d: int = 32, c_in: int = 24, num_classes: int = 20) -> ActionFormer:
    return ActionFormer(
        ProjectionConfig(in_channels=c_in, embed_dim=d, max_seq_len=64), HeadConfig(num_classes, embed_dim=d)
    )


def test_fake_opentad_state_loads_strictly_and_changes_outputs() -> None:
    state = opentad_detector_state(32, 24, 20)
    state["module.backbone.model.backbone.blocks.0.attn.q_bias"] = torch.zeros(384)  # not ours: skipped
    model = _model()
    converted = convert_opentad_state({"state_dict_ema": state, "state_dict": {}, "epoch": 10}, model)
    model.load_state_dict(converted, strict=True)
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[f"module.{name}"]), name
    assert opentad_loss_normalizer(state) == 87.0
    other = _model()
    feats, mask = torch.randn(1, 24, 64), torch.ones(1, 64, dtype=torch.bool)
    assert not torch.allclose(
        model.eval()(feats, mask).cls_logits[0], other.eval()(feats, mask).cls_logits[0]
    )


def test_real_thumos_and_anet_layouts_match_the_key_listing() -> None:
    """Full-size shapes on the meta device: THUMOS (D 512, 20 classes), ANet (D 256, 1 class), S input."""
    for d, num_classes, use_abs_pe in ((512, 20, False), (256, 1, True)):
        state = opentad_detector_state(d, 384, num_classes, device="meta")
        with torch.device("meta"):
            model = ActionFormer(
                ProjectionConfig(in_channels=384, embed_dim=d, use_abs_pe=use_abs_pe, max_seq_len=768),
                HeadConfig(num_classes, embed_dim=d),
            )
        converted = convert_opentad_state(state, model)
        assert set(converted) == {name.removeprefix("module.") for name in state} - {
            "rpn_head.loss_normalizer"
        }
        model.load_state_dict(converted, strict=True, assign=True)


def test_prefix_and_container_variants() -> None:
    state = opentad_detector_state(16, 8, 3)
    model = _model(16, 8, 3)
    plain = {name.removeprefix("module."): value for name, value in state.items()}
    for checkpoint in (state, plain, {"state_dict": state}):
        model.load_state_dict(convert_opentad_state(checkpoint, model), strict=True)
    assert (
        opentad_loss_normalizer({"state_dict": {"module.projection.embed.0.conv.weight": torch.zeros(1)}})
        is None
    )


def test_wrong_shape_names_the_key_and_both_shapes() -> None:
    state = opentad_detector_state(32, 24, 20)
    with pytest.raises(ValueError) as error:
        convert_opentad_state(state, _model(num_classes=19))
    message = str(error.value)
    assert (
        "module.rpn_head.cls_head.weight" in message and "[20, 32, 3]" in message and "[19, 32, 3]" in message
    )


def test_architecture_mismatch_lists_missing_and_unexpected_keys() -> None:
    state = opentad_detector_state(32, 24, 20)
    del state["module.neck.fpn_norms.5.bias"]
    state["module.projection.branch.5.ln1.weight"] = torch.ones(32)
    with pytest.raises(
        ValueError, match=r"missing \['neck.fpn_norms.5.bias'\].*unexpected \['projection.branch.5"
    ):
        convert_opentad_state(state, _model())
    with pytest.raises(ValueError, match="expected a tensor"):
        convert_opentad_state({"module.rpn_head.cls_head.bias": [1, 2]}, _model())


def test_containers_are_read_as_tad_backbone_reads_them() -> None:
    """One rule for both libraries (tad_eval.unwrap_state): EMA weights first, an empty container skipped."""
    state = opentad_detector_state(16, 8, 3)
    model = _model(16, 8, 3)
    zeros = {name: torch.zeros_like(value) for name, value in state.items()}
    converted = convert_opentad_state({"state_dict": zeros, "state_dict_ema": state}, model)
    assert torch.equal(converted["rpn_head.cls_head.weight"], state["module.rpn_head.cls_head.weight"])
    converted = convert_opentad_state({"state_dict_ema": {}, "state_dict": state, "epoch": 3}, model)
    assert torch.equal(converted["rpn_head.cls_head.weight"], state["module.rpn_head.cls_head.weight"])
