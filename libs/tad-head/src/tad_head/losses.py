"""ActionFormer losses: sigmoid focal classification loss and DIoU regression loss over valid points.

Both are summed and divided by a normalizer: during training an EMA of the number of positive points, kept
in :class:`LossNormalizer`, a module with one buffer that the model owning it checkpoints with its state
dict; during evaluation ``max(num_pos, 1)`` of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tad_head.targets import decode_segments

__all__ = [
    "DetectionLosses",
    "LossConfig",
    "LossNormalizer",
    "detection_loss",
    "diou_loss",
    "sigmoid_focal_loss",
]


@dataclass(frozen=True)
class LossConfig:
    """Loss weights and the normalizer's schedule."""

    loss_weight: float = 1.0  # weight of the regression loss (THUMOS 1, ANet 2, EPIC 0.5; ≤ 0: adaptive)
    label_smoothing: float = 0.0  # targets become y·(1 - ε) + ε/(C + 1) (ANet and EPIC: 0.1)
    normalizer_init: float = 100.0  # initial EMA of the positive count (THUMOS 100, ANet 200, EPIC 250)
    normalizer_momentum: float = 0.9  # EMA momentum: new = m·old + (1 - m)·max(num_pos, 1)
    focal_alpha: float = 0.25  # focal loss weight of the positive class
    focal_gamma: float = 2.0  # focal loss focusing exponent


class LossNormalizer(nn.Module):
    """The EMA of the positive-point count that divides both losses during training.

    OpenTAD keeps it as the ``rpn_head.loss_normalizer`` buffer; here it is a small module with the float32
    buffer ``value``, so it travels with the model that owns it: its state dict (checkpoints, EMA), its
    device, and DDP's broadcast of buffers from rank 0 before each forward (OpenTAD's semantics). The
    buffer is updated in place, because DDP broadcasts into the buffer tensors it found at wrapping time.
    Seed it from an OpenTAD checkpoint with :func:`tad_head.actionformer.opentad_loss_normalizer`.
    """

    value: Tensor

    def __init__(self, init: float = 100.0, momentum: float = 0.9) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("value", torch.tensor(float(init), dtype=torch.float32))

    def update(self, num_pos: int) -> Tensor:
        """Fold this batch's positive count into the EMA and return the new value (the divisor to use).

        Args:
            num_pos: positive points in the batch; counts below 1 count as 1.

        Returns:
            A copy of the new value (the buffer itself changes again at the next update).
        """
        with torch.no_grad():
            self.value.copy_(self.momentum * self.value + (1 - self.momentum) * max(num_pos, 1))
        return self.value.clone()

    def extra_repr(self) -> str:
        return f"value={float(self.value):.4g}, momentum={self.momentum}"


class DetectionLosses(NamedTuple):
    """Normalised losses of one batch."""

    cls_loss: Tensor  # focal loss sum / normalizer
    reg_loss: Tensor  # (1 - DIoU) sum over positives / normalizer, before the loss weight
    total: Tensor  # cls_loss + loss_weight · reg_loss
    num_pos: int  # positive points in the batch


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Element-wise sigmoid focal loss (RetinaNet, fvcore form), computed in float32.

    Args:
        logits: raw scores of any shape.
        targets: same shape, in [0, 1] (soft targets allowed).
        alpha: weight of the positive term (negative: no alpha weighting).
        gamma: focusing exponent on ``1 - p_t``.

    Returns:
        ``alpha_t · (1 - p_t)^gamma · BCE(logits, targets)`` with ``p_t = p·y + (1 - p)·(1 - y)``.
    """
    logits, targets = logits.float(), targets.float()
    prob = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = bce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


def diou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``1 - DIoU`` of paired 1-D segments.

    Args:
        pred: ``[N, 2]`` predicted segments.
        target: ``[N, 2]`` target segments.
        eps: lower clamp of the union and of the squared enclosing length.

    Returns:
        ``[N]`` with ``DIoU = inter/union - (centre distance)² / (enclosing length)²``.
    """
    inter = (torch.minimum(pred[:, 1], target[:, 1]) - torch.maximum(pred[:, 0], target[:, 0])).clamp(min=0)
    union = (pred[:, 1] - pred[:, 0]) + (target[:, 1] - target[:, 0]) - inter
    iou = inter / union.clamp(min=eps)
    enclosing = torch.maximum(pred[:, 1], target[:, 1]) - torch.minimum(pred[:, 0], target[:, 0])
    centre_distance = ((target[:, 0] + target[:, 1]) / 2 - (pred[:, 0] + pred[:, 1]) / 2).abs()
    return 1 - (iou - centre_distance * centre_distance / (enclosing * enclosing).clamp(min=eps))


def detection_loss(
    cls_logits: Tensor,
    reg_offsets: Tensor,
    valid: Tensor,
    points: Tensor,
    cls_targets: Tensor,
    reg_targets: Tensor,
    cfg: LossConfig,
    normalizer: LossNormalizer | None,
) -> DetectionLosses:
    """Focal + DIoU loss of one batch (``AnchorFreeHead.losses``).

    Args:
        cls_logits: ``[B, P, C]`` raw logits (``tad_head.actionformer.concat_levels``).
        reg_offsets: ``[B, P, 2]`` predicted stride-normalised distances.
        valid: ``[B, P]`` bool, False on padded points (they contribute nothing).
        points: ``[P, 4]`` from :func:`tad_head.targets.make_points`.
        cls_targets: ``[B, P, C]`` from :func:`tad_head.targets.assign_targets`.
        reg_targets: ``[B, P, 2]`` from the same call.
        cfg: weights and focal parameters.
        normalizer: the training EMA, updated here **before** dividing; ``None`` for evaluation, which divides
            by ``max(num_pos, 1)`` of this batch.
    """
    pos = (cls_targets.sum(-1) > 0) & valid  # [B, P]
    num_pos = int(pos.sum().item())
    divisor = normalizer.update(num_pos).to(cls_logits.device) if normalizer is not None else max(num_pos, 1)

    targets = cls_targets[valid]  # [V, C]
    targets = targets * (1 - cfg.label_smoothing) + cfg.label_smoothing / (targets.shape[-1] + 1)
    focal = sigmoid_focal_loss(cls_logits[valid], targets, cfg.focal_alpha, cfg.focal_gamma)
    cls_loss = focal.sum() / divisor

    pred_segments = decode_segments(points, reg_offsets)[pos]  # [num_pos, 2]
    if num_pos == 0:
        reg_loss = pred_segments.sum() * 0  # keeps the graph connected
    else:
        gt_segments = decode_segments(points, reg_targets)[pos]
        reg_loss = diou_loss(pred_segments, gt_segments).sum() / divisor

    weight = cfg.loss_weight if cfg.loss_weight > 0 else cls_loss.detach() / max(reg_loss.item(), 0.01)
    return DetectionLosses(cls_loss, reg_loss, cls_loss + weight * reg_loss, num_pos)
