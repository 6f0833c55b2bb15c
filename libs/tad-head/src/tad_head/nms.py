"""1-D non-maximum suppression: hard, linear soft and Gaussian soft NMS, segment voting, per-class batching.

Semantics are those of OpenTAD's ``batched_nms`` and its C++ kernel ``nms_1d_cpu`` (hard NMS and soft-NMS),
re-expressed as vectorised torch code that runs unchanged on CPU and GPU:

- IoU uses ``area = x2 - x1 + 1e-6`` for both segments.
- ``hard``: score-sorted greedy NMS that removes every later segment with IoU ≥ ``iou_threshold``; with
  ``min_score > 0`` only scores ``> min_score`` take part.
- ``linear``: soft-NMS that multiplies a segment's score by ``1 - IoU`` when IoU ≥ ``iou_threshold``.
- ``gaussian``: soft-NMS with weight ``exp(-IoU²/sigma)`` for every overlap (not ``2·sigma²``;
  ``iou_threshold`` is unused).
- Soft-NMS drops a segment as soon as its decayed score falls below ``min_score``. The selected segment itself
  is never tested, so the best one always survives.
- Each class is capped at ``max_seg_num``; all classes are then sorted together by score and capped again.
- Segment voting runs only in class-agnostic mode.

Soft-NMS is sequential in its selections. Here each step is a handful of tensor operations over every class
at once: classes are packed into rows of a ``[G, L]`` table and the loop runs ``L`` (the largest class size)
steps. The table is permuted exactly as the C++ kernel permutes its arrays (swap the winner to the front;
move the last segment into the slot of a dropped one), so ties are broken the same way: among equal scores
the segment first in the kernel's current array order wins.

Sorts are stable (OpenTAD's unstable ``torch.sort`` leaves the order of exact ties unspecified).
Arithmetic is in the floating dtype of the inputs (float32 like the kernel, or float64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor

__all__ = ["Detections", "NMSConfig", "batched_nms", "segment_voting"]

NMSMethod = Literal["hard", "linear", "gaussian"]


@dataclass(frozen=True)
class NMSConfig:
    """One NMS setting.

    OpenTAD's ``use_soft_nms=False`` is ``hard``; ``use_soft_nms=True`` with ``method=1`` is ``linear``, and
    with ``method=2`` (its default) ``gaussian``.
    """

    method: NMSMethod = "gaussian"  # hard (remove), linear or gaussian (decay) suppression
    iou_threshold: float = 0.0  # hard: remove IoU ≥ thr; linear: decay only when IoU ≥ thr; gaussian: unused
    sigma: float = 0.5  # gaussian weight exp(-IoU²/sigma)
    min_score: float = 0.0  # soft: drop once a decayed score < min_score; hard (if > 0): keep scores above it
    max_seg_num: int = 100  # cap per class, and again after the final sort over all classes
    multiclass: bool = True  # NMS within each class (True) or over all segments together (False)
    voting_thresh: float = 0.0  # class-agnostic only: inputs with IoU ≥ thr vote on each kept segment; 0: off

    def __post_init__(self) -> None:
        if self.method not in ("hard", "linear", "gaussian"):
            raise ValueError(f"NMSConfig.method must be hard, linear or gaussian, got {self.method!r}")
        if self.max_seg_num < 1:
            raise ValueError(f"NMSConfig.max_seg_num must be ≥ 1, got {self.max_seg_num}")
        if self.method == "gaussian" and self.sigma <= 0:
            raise ValueError(f"NMSConfig.sigma must be > 0, got {self.sigma}")


class Detections(NamedTuple):
    """Detections of one video (or window), in feature-grid units."""

    segments: Tensor  # [N, 2] start, end
    scores: Tensor  # [N]
    labels: Tensor  # [N] int64 class index


def _pack(values: Tensor, groups: Tensor, num_groups: int, fill: Tensor) -> Tensor:
    """Scatter ``values [N, K]`` into rows by group, keeping input order inside a row: ``[G, L, K]``.

    Empty slots get ``fill [K]``.
    """
    order = torch.argsort(groups, stable=True)
    counts = torch.bincount(groups, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(groups.numel(), device=groups.device) - starts[groups[order]]
    packed = fill.to(values.dtype).expand(num_groups, int(counts.max()), values.shape[1]).clone()
    packed[groups[order], slot] = values[order]
    return packed


def _empty_slot(dtype: torch.dtype, device: torch.device) -> Tensor:
    """(x1, x2, area, score) of a slot without a segment: far beyond any real one (IoU 0) and scored -inf.

    It can never be selected before a real segment, never decays one, and stays -inf when decayed (its
    weight is exactly 1), so the selection loop needs no mask.
    """
    far = torch.finfo(dtype).max
    return torch.tensor([far, far, 1e-6, float("-inf")], dtype=dtype, device=device)


def _overlap(chosen: Tensor, others: Tensor) -> Tensor:
    """IoU as the kernel computes it. ``chosen [3, G]`` and ``others [3, G, W]`` hold (x1, x2, area)."""
    x1, x2, area = (chosen[k, :, None] for k in range(3))
    inter = torch.minimum(x2, others[1]).sub_(torch.maximum(x1, others[0])).clamp_(min=0)
    return inter.div_((area + others[2]).sub_(inter))  # [G, W]


def _decay(iou: Tensor, cfg: NMSConfig) -> Tensor:
    """Soft-NMS score multiplier for each overlap (``iou`` is overwritten)."""
    if cfg.method == "gaussian":
        return iou.mul_(iou).div_(-cfg.sigma).exp_()  # exp(-(iou²)/sigma); x/(-s) rounds like -(x)/s
    return torch.where(iou >= cfg.iou_threshold, 1 - iou, torch.ones_like(iou))


def _swap_to_front(table: Tensor, index: Tensor, step: int, best: Tensor) -> None:
    """Swap column ``step`` with column ``best[g]`` in every row ``g`` (in place)."""
    rows = torch.arange(index.shape[0], device=index.device)
    front, front_index = table[:, :, step].clone(), index[:, step].clone()
    table[:, :, step] = table[:, rows, best]
    index[:, step] = index[rows, best]
    table[:, rows, best] = front
    index[rows, best] = front_index


def _drop_below(
    table: Tensor, index: Tensor, end: Tensor, step: int, min_score: float, empty: Tensor
) -> Tensor:
    """Remove segments after ``step`` whose score fell below ``min_score``, the way the kernel does.

    The kernel walks forward and fills each dropped slot with the current last segment (dropping that too if
    it is low). The result: survivors inside the new length stay put, and the holes there are filled by the
    survivors beyond it, the last one first. Returns the new row lengths ``[G]``.
    """
    width = table.shape[2] - step - 1
    position = torch.arange(step + 1, table.shape[2], device=index.device)  # [W] absolute columns
    in_row = position < end[:, None]  # [G, W]
    dropped = in_row & (table[3, :, step + 1 :] < min_score)
    if not bool(dropped.any()):
        return end
    survivors = in_row & ~dropped
    new_end = torch.where(dropped.any(dim=1), step + 1 + survivors.sum(dim=1), end)
    inside = position < new_end[:, None]
    holes, fillers = dropped & inside, survivors & ~inside
    hole_rank = holes.cumsum(dim=1) - 1
    filler_rank = fillers.flip(1).cumsum(dim=1).flip(1) - 1  # the last filler fills the first hole
    relative = torch.arange(width, device=index.device).expand_as(holes)
    filler_at = torch.zeros((index.shape[0], width + 1), dtype=torch.long, device=index.device)
    filler_at.scatter_(1, torch.where(fillers, filler_rank, width), relative)  # column `width` is a dump
    source = torch.where(holes, filler_at.gather(1, hole_rank.clamp(min=0)), relative)  # [G, W]
    tail = table[:, :, step + 1 :]
    gone = (position >= new_end[:, None])[None]  # slots past the new end become `empty` [4, 1, 1]
    table[:, :, step + 1 :] = torch.where(gone, empty, tail.gather(2, source.expand_as(tail)))
    index[:, step + 1 :] = index[:, step + 1 :].gather(1, source)
    return new_end


def _soft_nms_rows(table: Tensor, index: Tensor, counts: Tensor, cfg: NMSConfig, may_drop: bool) -> Tensor:
    """Soft-NMS over every row of ``table [4, G, L]`` = (x1, x2, area, score) at once, in place.

    Slots past a row's segments hold :func:`_empty_slot`. ``may_drop`` is False when no score can fall below
    ``min_score``, which saves the drop bookkeeping. On return the first ``end[g]`` columns of row ``g`` hold
    the kept segments in selection order with their decayed scores, and ``index`` their original positions.
    Returns ``end [G]``.
    """
    length = table.shape[2]
    end = counts.clone()
    empty = _empty_slot(table.dtype, table.device)[:, None, None]
    for step in range(length):
        best = step + table[3, :, step:].argmax(dim=1)  # first maximum in the current order, like the kernel
        _swap_to_front(table, index, step, best)
        if step + 1 == length:
            break
        rest = table[:, :, step + 1 :]
        rest[3] *= _decay(_overlap(table[:3, :, step], rest[:3]), cfg)
        if may_drop:
            end = _drop_below(table, index, end, step, cfg.min_score, empty)
            if step + 1 >= int(end.max()):
                break
    return end


def _hard_nms_rows(table: Tensor, index: Tensor, counts: Tensor, cfg: NMSConfig) -> Tensor:
    """Greedy hard NMS per row: sorts ``table``/``index`` by score in place; returns the keep mask [G, L]."""
    keep = torch.arange(table.shape[2], device=index.device) < counts[:, None]
    # Empty slots score -inf and come last in each row, so the stable sort keeps them last.
    order = torch.sort(table[3], dim=1, descending=True, stable=True).indices
    table.copy_(table.gather(2, order.expand_as(table)))
    index.copy_(index.gather(1, order))
    for step in range(table.shape[2] - 1):
        suppress = _overlap(table[:3, :, step], table[:3, :, step + 1 :]) >= cfg.iou_threshold
        keep[:, step + 1 :] &= ~(suppress & keep[:, step, None])
    return keep


def segment_voting(kept: Tensor, segments: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Replace each kept segment by the score-weighted mean of the input segments overlapping it.

    Args:
        kept: ``[K, 2]`` segments after NMS.
        segments: ``[N, 2]`` all segments before NMS.
        scores: ``[N]`` their scores before NMS.
        iou_threshold: inputs with IoU ≥ this (plain IoU, no epsilon) vote.

    Returns:
        ``[K, 2]`` refined segments. A segment with no positive vote weight stays as it is (OpenTAD would
        divide by zero and produce NaN).
    """
    inter = (
        torch.minimum(kept[:, None, 1], segments[None, :, 1])
        - torch.maximum(kept[:, None, 0], segments[None, :, 0])
    ).clamp(min=0)
    union = (kept[:, 1] - kept[:, 0])[:, None] + (segments[:, 1] - segments[:, 0])[None] - inter
    weights = (inter / union >= iou_threshold).to(scores.dtype) * scores[None]  # [K, N]
    total = weights.sum(dim=1, keepdim=True)
    voted = (weights / total.clamp(min=torch.finfo(weights.dtype).tiny)) @ segments
    return torch.where(total > 0, voted, kept)


def _check_inputs(dets: Detections) -> None:
    segments, scores, labels = dets
    if segments.ndim != 2 or segments.shape[1] != 2 or scores.shape != (segments.shape[0],):
        raise ValueError(
            f"batched_nms: need segments [N, 2] and scores [N], "
            f"got {list(segments.shape)} and {list(scores.shape)}"
        )
    if labels.shape != scores.shape:
        raise ValueError(f"batched_nms: labels {list(labels.shape)} do not match scores {list(scores.shape)}")
    if not bool(torch.isfinite(segments).all()) or bool(torch.isnan(scores).any()):
        raise ValueError("batched_nms: segments must be finite and scores not NaN")
    if bool((segments[:, 1] < segments[:, 0]).any()):
        raise ValueError("batched_nms: a segment ends before it starts")


def batched_nms(dets: Detections, cfg: NMSConfig) -> Detections:
    """NMS per class (or class-agnostic), optional voting, then a global score sort capped at ``max_seg_num``.

    Args:
        dets: candidate segments ``[N, 2]``, scores ``[N]`` and integer labels ``[N]`` of one video.
        cfg: the NMS setting.

    Returns:
        Kept detections sorted by descending score, at most ``cfg.max_seg_num`` of them, on the input device.
    """
    _check_inputs(dets)
    dtype = dets.segments.dtype if dets.segments.is_floating_point() else torch.float32
    segments, scores, labels = dets.segments.to(dtype), dets.scores.to(dtype), dets.labels.long()
    candidates = Detections(segments, scores, labels)
    if cfg.method == "hard" and cfg.min_score > 0:
        above = scores > cfg.min_score
        candidates = Detections(segments[above], scores[above], labels[above])
    if candidates.scores.numel() == 0:
        return candidates
    if cfg.multiclass:
        _, groups = torch.unique(candidates.labels, return_inverse=True)  # ascending classes, as OpenTAD
    else:
        groups = torch.zeros_like(candidates.labels)
    num_groups = int(groups.max()) + 1
    x1, x2 = candidates.segments.unbind(dim=1)
    columns = torch.stack([x1, x2, x2 - x1 + 1e-6, candidates.scores], dim=1)  # [N, 4] with the kernel's area
    empty = _empty_slot(columns.dtype, columns.device)
    table = _pack(columns, groups, num_groups, empty).permute(2, 0, 1).contiguous()  # [4, G, L]
    positions = torch.arange(groups.numel(), device=groups.device)[:, None]
    index = _pack(positions, groups, num_groups, positions.new_tensor([-1]))[:, :, 0]  # [G, L]
    counts = torch.bincount(groups, minlength=num_groups)
    if cfg.method == "hard":
        keep = _hard_nms_rows(table, index, counts, cfg)
        keep &= keep.cumsum(dim=1) <= cfg.max_seg_num
    else:
        # Weights lie in [0, 1]: scores ≥ 0 cannot fall below a min_score ≤ 0.
        may_drop = cfg.min_score > 0 or bool((candidates.scores < cfg.min_score).any())
        end = _soft_nms_rows(table, index, counts, cfg, may_drop).clamp(max=cfg.max_seg_num)
        keep = torch.arange(table.shape[2], device=index.device) < end[:, None]
    # Row-major selection: class by class (ascending), each in selection order, as OpenTAD concatenates them.
    kept_segments, kept_scores, kept = table[:2, keep].T, table[3, keep], index[keep]
    if not cfg.multiclass and cfg.voting_thresh > 0:  # votes come from every input, as in OpenTAD
        kept_segments = segment_voting(kept_segments, segments, scores, cfg.voting_thresh)
    order = torch.sort(kept_scores, descending=True, stable=True).indices[: cfg.max_seg_num]
    return Detections(kept_segments[order], kept_scores[order], candidates.labels[kept[order]])
