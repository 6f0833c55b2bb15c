"""Checkpoint containers and the strict key/shape comparison shared by tad-backbone and tad-head."""

from __future__ import annotations

from tad_eval import StateMismatch, state_mismatches, strip_ddp_prefix, unwrap_state


def test_ema_weights_win_over_the_other_containers() -> None:
    weights = {"a": 1}
    checkpoint = {"state_dict": {"b": 2}, "state_dict_ema": weights, "model": {"c": 3}, "meta": {"epoch": 1}}
    assert unwrap_state(checkpoint) == (weights, "state_dict_ema")
    assert unwrap_state({"model": {"c": 3}, "module": {"d": 4}}) == ({"c": 3}, "model")
    assert unwrap_state({"module": {"d": 4}, "epoch": 3}) == ({"d": 4}, "module")


def test_empty_or_non_mapping_containers_are_skipped() -> None:
    checkpoint = {"state_dict_ema": {}, "state_dict": {"b": 2}}
    assert unwrap_state(checkpoint) == ({"b": 2}, "state_dict")
    flat = {"module.x": 1, "model": "vit_small"}  # a flat state dict: 'model' is not a container here
    assert unwrap_state(flat) == (flat, None)


def test_ddp_prefix_is_stripped_once() -> None:
    assert strip_ddp_prefix("module.backbone.x") == "backbone.x"
    assert strip_ddp_prefix("module.module.x") == "module.x"
    assert strip_ddp_prefix("backbone.module.x") == "backbone.module.x"


def test_mismatches_in_model_order_then_unexpected_in_file_order() -> None:
    expected = {"a": (2, 3), "b": (4,), "c": (), "d": (1,)}
    found = {"z": (9,), "d": [1], "a": (3, 2), "c": (), "y": (1, 1)}
    assert state_mismatches(expected, found) == [
        StateMismatch("a", "shape", (3, 2), (2, 3)),
        StateMismatch("b", "missing", None, (4,)),
        StateMismatch("z", "unexpected", (9,), None),
        StateMismatch("y", "unexpected", (1, 1), None),
    ]
    assert state_mismatches(expected, dict(expected)) == []
