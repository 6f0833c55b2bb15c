"""Points of the feature pyramid, segment decoding and ActionFormer's label assignment (OpenTAD semantics).

Everything is in feature-grid units of the level-0 sequence: a point of level ``l`` sits at ``t·2**l`` for
``t = 0 .. T_l - 1`` (no half-step offset) and regresses distances in units of its stride.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["TargetConfig", "assign_targets", "decode_segments", "make_points"]


@dataclass(frozen=True)
class TargetConfig:
    """How ground truth becomes per-point targets."""

    center_sample_radius: float | None = (
        1.5  # positive only within radius·stride of a GT centre; None: whole GT
    )
    filter_similar_gt: bool = (
        True  # multi-hot over GTs within 1e-3 of the shortest; False (Ego4D): all valid GTs
    )


def make_points(
    level_lengths: Sequence[int],
    strides: Sequence[int],
    regression_ranges: Sequence[tuple[float, float]],
    device: torch.device | str | None = None,
) -> Tensor:
    """All pyramid points, level by level, as rows ``[position, range_lo, range_hi, stride]``.

    Args:
        level_lengths: ``T_l`` per level.
        strides: stride per level (level-0 grid steps).
        regression_ranges: ``(lo, hi)`` per level.
        device: where to build the tensor.

    Returns:
        ``[P, 4]`` float32 with ``P = sum(T_l)``; point ``t`` of level ``l`` sits at ``t·stride_l``.
    """
    if not len(level_lengths) == len(strides) == len(regression_ranges):
        raise ValueError(
            f"make_points: {len(level_lengths)} levels, {len(strides)} strides, "
            f"{len(regression_ranges)} regression ranges"
        )
    rows = []
    for length, stride, (lo, hi) in zip(level_lengths, strides, regression_ranges, strict=True):
        position = torch.arange(length, dtype=torch.float32, device=device) * stride  # [T_l]
        fixed = torch.tensor([lo, hi, stride], dtype=torch.float32, device=device).expand(length, 3)
        rows.append(torch.cat([position[:, None], fixed], dim=1))  # [T_l, 4]
    return torch.cat(rows)


def decode_segments(points: Tensor, offsets: Tensor) -> Tensor:
    """Segments from per-point distances: ``start = p - r0·s``, ``end = p + r1·s``.

    Args:
        points: ``[P, 4]`` from :func:`make_points`.
        offsets: ``[..., P, 2]`` distances to start and end in units of the point's stride.

    Returns:
        ``[..., P, 2]`` segments in level-0 grid units.
    """
    position, stride = points[:, 0], points[:, 3]
    start = position - offsets[..., 0] * stride
    end = position + offsets[..., 1] * stride
    return torch.stack([start, end], dim=-1)


@torch.no_grad()
def _assign_one(
    points: Tensor, segments: Tensor, labels: Tensor, num_classes: int, cfg: TargetConfig
) -> tuple[Tensor, Tensor]:
    """Targets of one video: ``[P, C]`` multi-hot classes and ``[P, 2]`` stride-normalised distances."""
    num_points = points.shape[0]
    if segments.shape[0] == 0:
        return points.new_zeros((num_points, num_classes)), points.new_zeros((num_points, 2))
    position, range_lo, range_hi, stride = (points[:, i, None] for i in range(4))  # each [P, 1]
    gt_start, gt_end = segments[None, :, 0], segments[None, :, 1]  # [1, N]
    left, right = position - gt_start, gt_end - position  # [P, N] distances to the GT boundaries
    if cfg.center_sample_radius is None:
        inside = torch.minimum(left, right) > 0
    else:
        centre = 0.5 * (gt_start + gt_end)
        radius = stride * cfg.center_sample_radius
        # Strictly inside the centre region clipped to the GT: [max(c - r·s, start), min(c + r·s, end)].
        inside = (
            torch.minimum(
                position - torch.maximum(centre - radius, gt_start),
                torch.minimum(centre + radius, gt_end) - position,
            )
            > 0
        )
    reach = torch.maximum(left, right)
    in_range = (reach >= range_lo) & (reach <= range_hi)
    lengths = (
        (gt_end - gt_start).expand(num_points, -1).masked_fill(~(inside & in_range), float("inf"))
    )  # [P, N]
    min_length, nearest = lengths.min(dim=1)  # the shortest valid GT is the easiest to regress
    if cfg.filter_similar_gt:
        chosen = (lengths <= min_length[:, None] + 1e-3) & torch.isfinite(lengths)
    else:
        chosen = torch.isfinite(lengths)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"assign_targets: labels {labels.tolist()} outside [0, {num_classes})")
    one_hot = F.one_hot(labels.long(), num_classes).to(points.dtype)  # [N, C]
    cls_targets = (chosen.to(points.dtype) @ one_hot).clamp_(0.0, 1.0)  # [P, C]
    distances = torch.stack([left, right], dim=-1)  # [P, N, 2]
    reg_targets = distances[torch.arange(num_points, device=points.device), nearest] / stride
    return cls_targets, reg_targets


def assign_targets(
    points: Tensor,
    gt_segments: Sequence[Tensor],
    gt_labels: Sequence[Tensor],
    num_classes: int,
    cfg: TargetConfig = TargetConfig(),
) -> tuple[Tensor, Tensor]:
    """Per-point classification and regression targets for a batch (``AnchorFreeHead.prepare_targets``).

    Args:
        points: ``[P, 4]`` from :func:`make_points`.
        gt_segments: per video ``[N_i, 2]`` ground-truth segments in level-0 grid units.
        gt_labels: per video ``[N_i]`` class indices in ``[0, num_classes)``.
        num_classes: number of classes C.
        cfg: centre sampling and tie rules.

    Returns:
        ``cls_targets [B, P, C]`` (multi-hot, 0/1) and ``reg_targets [B, P, 2]`` (distances to the start and
        end of the shortest valid GT, divided by the point's stride; meaningless where ``cls_targets`` is 0).

    A point is a candidate for a GT when it lies strictly inside the GT's centre region (radius ``1.5·stride``
    around the centre, clipped to the GT) and ``max(left, right)`` lies in its level's regression range.
    Among candidates the shortest GT wins the regression target; with ``filter_similar_gt`` every candidate
    GT no longer than the shortest + 1e-3 adds its class, otherwise every candidate GT does.
    """
    if len(gt_segments) != len(gt_labels):
        raise ValueError(
            f"assign_targets: {len(gt_segments)} segment tensors but {len(gt_labels)} label tensors"
        )
    # Ground truth usually comes from the data loader on the CPU while the points live on the model's device.
    pairs = [
        _assign_one(points, segments.to(points), labels.to(points.device), num_classes, cfg)
        for segments, labels in zip(gt_segments, gt_labels, strict=True)
    ]
    return torch.stack([cls for cls, _ in pairs]), torch.stack([reg for _, reg in pairs])
