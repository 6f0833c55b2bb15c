"""Plain greedy Python NMS: a readable, line-by-line statement of OpenTAD's ``nms_1d_cpu`` kernel.

This is the specification :mod:`tad_head.nms` is tested against (tests and ``benchmarks/nms_speed.py``),
not something to run in a pipeline: it is a loop over Python floats, O(N²) per class. It follows the kernel
step by step, including the array permutations (swap the best segment to the front; replace a dropped segment
by the last one) that decide which of two equal scores wins. Arithmetic is Python's float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tad_head.nms import NMSConfig

__all__ = [
    "batched_nms_reference",
    "hard_nms_reference",
    "segment_voting_reference",
    "soft_nms_reference",
]

Segment = tuple[float, float]


def _kernel_iou(a: Segment, b: Segment) -> float:
    """IoU with the kernel's ``area = x2 - x1 + 1e-6``."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / ((a[1] - a[0] + 1e-6) + (b[1] - b[0] + 1e-6) - inter)


def soft_nms_reference(
    segments: Sequence[Segment], scores: Sequence[float], cfg: NMSConfig
) -> tuple[list[int], list[float]]:
    """Soft-NMS of one class (``cfg.method`` linear or gaussian).

    Args:
        segments: ``(start, end)`` pairs.
        scores: one score per segment.
        cfg: method, ``iou_threshold``, ``sigma`` and ``min_score`` are used.

    Returns:
        Original indices of the kept segments in selection order, and their decayed scores.
    """
    segs, sc, inds = list(segments), list(scores), list(range(len(scores)))
    n = len(sc)
    i = 0
    while i < n:
        best = i
        for pos in range(i + 1, n):
            if sc[best] < sc[pos]:
                best = pos
        for array in (segs, sc, inds):
            array[i], array[best] = array[best], array[i]
        pos = i + 1
        while pos < n:
            iou = _kernel_iou(segs[i], segs[pos])
            if cfg.method == "gaussian":
                sc[pos] *= math.exp(-(iou * iou) / cfg.sigma)
            elif iou >= cfg.iou_threshold:
                sc[pos] *= 1 - iou
            if sc[pos] < cfg.min_score:  # drop it: the last segment takes its place and is examined next
                for array in (segs, sc, inds):
                    array[pos] = array[n - 1]
                n -= 1
            else:
                pos += 1
        i += 1
    return inds[:n], sc[:n]


def hard_nms_reference(segments: Sequence[Segment], scores: Sequence[float], cfg: NMSConfig) -> list[int]:
    """Hard NMS of one class: the original indices kept, by descending score (ties: input order).

    Args:
        segments: ``(start, end)`` pairs.
        scores: one score per segment.
        cfg: ``iou_threshold`` and ``min_score`` are used.
    """
    candidates = [k for k in range(len(scores)) if cfg.min_score <= 0 or scores[k] > cfg.min_score]
    order = sorted(candidates, key=lambda k: -scores[k])
    alive = [True] * len(order)
    for a in range(len(order)):
        if not alive[a]:
            continue
        for b in range(a + 1, len(order)):
            if alive[b] and _kernel_iou(segments[order[a]], segments[order[b]]) >= cfg.iou_threshold:
                alive[b] = False
    return [order[a] for a in range(len(order)) if alive[a]]


def segment_voting_reference(
    kept: Sequence[Segment], segments: Sequence[Segment], scores: Sequence[float], iou_threshold: float
) -> list[Segment]:
    """Each kept segment becomes the score-weighted mean of the inputs with plain IoU ≥ ``iou_threshold``."""
    voted = []
    for k in kept:
        total, start, end = 0.0, 0.0, 0.0
        for seg, score in zip(segments, scores, strict=True):
            inter = max(0.0, min(k[1], seg[1]) - max(k[0], seg[0]))
            union = (k[1] - k[0]) + (seg[1] - seg[0]) - inter
            if union > 0 and inter / union >= iou_threshold:
                total, start, end = total + score, start + score * seg[0], end + score * seg[1]
        voted.append((start / total, end / total) if total > 0 else tuple(k))
    return voted


def batched_nms_reference(
    segments: Sequence[Segment], scores: Sequence[float], labels: Sequence[int], cfg: NMSConfig
) -> tuple[list[Segment], list[float], list[int]]:
    """The whole ``batched_nms``: per class (ascending labels) or class-agnostic, voting, global sort and cap.

    Returns:
        Kept segments, scores and labels, by descending score (ties: class order, then selection order).
    """
    groups = sorted(set(labels)) if cfg.multiclass else [None]
    found: list[tuple[Segment, float, int]] = []
    for group in groups:
        members = [k for k in range(len(scores)) if group is None or labels[k] == group]
        member_segs = [segments[k] for k in members]
        member_scores = [scores[k] for k in members]
        if cfg.method == "hard":
            picked = hard_nms_reference(member_segs, member_scores, cfg)
            picked_scores = [member_scores[k] for k in picked]
        else:
            picked, picked_scores = soft_nms_reference(member_segs, member_scores, cfg)
        for k, score in list(zip(picked, picked_scores, strict=True))[: cfg.max_seg_num]:
            found.append((member_segs[k], score, labels[members[k]]))
    if not cfg.multiclass and cfg.voting_thresh > 0:
        voted = segment_voting_reference([f[0] for f in found], segments, scores, cfg.voting_thresh)
        found = [(seg, score, label) for seg, (_, score, label) in zip(voted, found, strict=True)]
    found = sorted(found, key=lambda f: -f[1])[: cfg.max_seg_num]
    return [f[0] for f in found], [f[1] for f in found], [f[2] for f in found]
