"""Loss values against direct formulas, and the order of the EMA normalizer update."""

from __future__ import annotations

import math

import pytest
import torch

from tad_head import LossConfig, LossNormalizer, detection_loss, diou_loss, make_points, sigmoid_focal_loss

LN2 = math.log(2)


def _focal(x: float, y: float, alpha: float = 0.25, gamma: float = 2.0) -> float:
    p = 1 / (1 + math.exp(-x))
    bce = -(y * math.log(p) + (1 - y) * math.log(1 - p))
    p_t = p * y + (1 - p) * (1 - y)
    return (alpha * y + (1 - alpha) * (1 - y)) * (1 - p_t) ** gamma * bce


def test_sigmoid_focal_loss_matches_the_formula() -> None:
    logits, targets = [2.0, -1.0, 0.3, -3.0], [1.0, 0.0, 0.9, 0.05]
    got = sigmoid_focal_loss(torch.tensor(logits), torch.tensor(targets))
    assert got.tolist() == pytest.approx(
        [_focal(x, y) for x, y in zip(logits, targets, strict=True)], rel=1e-5
    )
    # The binary case is RetinaNet's -α(1-p)^γ log p for a positive.
    p = 1 / (1 + math.exp(-2.0))
    assert got[0].item() == pytest.approx(-0.25 * (1 - p) ** 2 * math.log(p), rel=1e-5)
    half = sigmoid_focal_loss(
        torch.tensor([2.0], dtype=torch.float16), torch.tensor([1.0], dtype=torch.float16)
    )
    assert half.dtype == torch.float32


def test_diou_loss_by_hand() -> None:
    pred = torch.tensor([[0.0, 4.0], [0.0, 1.0], [2.0, 5.0]])
    target = torch.tensor([[2.0, 6.0], [3.0, 4.0], [2.0, 5.0]])
    # 1: IoU 2/6, centres 2 and 4 apart by 2, enclosing 6 -> 1 - (1/3 - 4/36). 2: disjoint, centres 3 apart,
    # enclosing 4 -> 1 + 9/16. 3: identical -> 0.
    assert diou_loss(pred, target).tolist() == pytest.approx([7 / 9, 1 + 9 / 16, 0.0], abs=1e-6)


def test_loss_normalizer_updates_before_use() -> None:
    normalizer = LossNormalizer(100.0)
    assert normalizer.update(9).item() == pytest.approx(90.9)  # 0.9·100 + 0.1·9
    assert normalizer.update(0).item() == pytest.approx(0.9 * 90.9 + 0.1)  # counts below 1 count as 1
    restored = LossNormalizer()
    restored.load_state_dict(normalizer.state_dict())
    assert restored.value.item() == normalizer.value.item() and restored.value.dtype == torch.float32


def test_loss_normalizer_is_a_buffer_updated_in_place() -> None:
    """DDP broadcasts into the buffer tensors it saw at wrapping time: a rebinding would leave it stale."""
    normalizer = LossNormalizer(100.0)
    buffer = normalizer.value
    returned = normalizer.update(9)
    assert normalizer.value is buffer and dict(normalizer.named_buffers()) == {"value": buffer}
    assert list(normalizer.state_dict()) == ["value"]
    returned += 1  # the returned divisor is a copy: autograd may hold it while the buffer moves on
    assert buffer.item() == pytest.approx(90.9)


def _toy() -> tuple:
    """Four points (stride 1); point 1 is positive with target distances (0.5, 2) and predicted (1, 1)."""
    points = make_points([4], [1], [(0, 100)])
    cls_logits = torch.zeros(1, 4, 1, requires_grad=True)
    reg_offsets = torch.ones(1, 4, 2, requires_grad=True)
    cls_targets = torch.tensor([[[0.0], [1.0], [0.0], [0.0]]])
    reg_targets = torch.zeros(1, 4, 2)
    reg_targets[0, 1] = torch.tensor([0.5, 2.0])
    return cls_logits, reg_offsets, torch.ones(1, 4, dtype=torch.bool), points, cls_targets, reg_targets


# Logit 0 gives p = 0.5: a positive costs 0.25·0.25·ln2, a negative 0.75·0.25·ln2.
CLS_SUM = 0.25 * 0.25 * LN2 + 3 * 0.75 * 0.25 * LN2
# Predicted [0, 2] against target [0.5, 3]: IoU 1.5/3, centres 1 and 1.75, enclosing 3.
REG_SUM = 1 - (0.5 - 0.75**2 / 9)


def test_detection_loss_training_divides_by_the_updated_ema() -> None:
    normalizer = LossNormalizer(100.0)
    losses = detection_loss(*_toy(), LossConfig(loss_weight=2.0), normalizer)
    divisor = 0.9 * 100 + 0.1 * 1
    assert losses.num_pos == 1
    assert losses.cls_loss.item() == pytest.approx(CLS_SUM / divisor, rel=1e-5)
    assert losses.reg_loss.item() == pytest.approx(REG_SUM / divisor, rel=1e-5)
    assert losses.total.item() == pytest.approx((CLS_SUM + 2 * REG_SUM) / divisor, rel=1e-5)
    assert normalizer.value.item() == pytest.approx(divisor)
    losses.total.backward()


def test_detection_loss_evaluation_divides_by_the_positive_count() -> None:
    losses = detection_loss(*_toy(), LossConfig(), None)
    assert losses.cls_loss.item() == pytest.approx(CLS_SUM, rel=1e-5)
    assert losses.total.item() == pytest.approx(CLS_SUM + REG_SUM, rel=1e-5)


def test_label_smoothing_and_invalid_points() -> None:
    cls_logits, reg_offsets, valid, points, cls_targets, reg_targets = _toy()
    valid = valid.clone()
    valid[0, 3] = False
    with torch.no_grad():
        cls_logits[0, 3, 0] = 50.0  # a padded point: must not count
    losses = detection_loss(
        cls_logits,
        reg_offsets,
        valid,
        points,
        cls_targets,
        reg_targets,
        LossConfig(label_smoothing=0.1),
        None,
    )
    expected = _focal(0.0, 0.95) + 2 * _focal(0.0, 0.05)  # y·0.9 + 0.1/(1 + 1)
    assert losses.cls_loss.item() == pytest.approx(expected, rel=1e-5)


def test_no_positives_and_adaptive_weight() -> None:
    cls_logits, reg_offsets, valid, points, cls_targets, reg_targets = _toy()
    losses = detection_loss(
        cls_logits, reg_offsets, valid, points, torch.zeros_like(cls_targets), reg_targets, LossConfig(), None
    )
    assert losses.num_pos == 0 and losses.reg_loss.item() == 0.0
    losses.total.backward()
    assert reg_offsets.grad is not None  # the graph stays connected
    adaptive = detection_loss(*_toy(), LossConfig(loss_weight=0.0), None)
    weight = CLS_SUM / REG_SUM
    assert adaptive.total.item() == pytest.approx(CLS_SUM + weight * REG_SUM, rel=1e-5)
