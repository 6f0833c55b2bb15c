"""From raw head outputs to per-video detections in feature-grid units (OpenTAD's ``post_processing``).

Steps: decode every valid point (padded points are discarded here, so they can never become detections),
sigmoid the logits, keep candidates above ``pre_nms_thresh`` and the top ``pre_nms_topk`` (multi-class heads
only), merge the windows of a video (sliding-window datasets), then :func:`tad_head.nms.batched_nms`.
Seconds are tad-data's business: it converts the grid-unit segments returned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from tad_head.actionformer import HeadOutput, concat_levels
from tad_head.nms import Detections, NMSConfig, batched_nms
from tad_head.targets import decode_segments

__all__ = [
    "POSTPROCESS_PRESETS",
    "PostProcessConfig",
    "decode_valid",
    "merge_windows",
    "postprocess",
    "select_candidates",
]


@dataclass(frozen=True)
class PostProcessConfig:
    """Candidate selection before NMS, and the NMS itself."""

    pre_nms_thresh: float = 0.001  # multi-class: keep (point, class) scores strictly above this
    pre_nms_topk: int = 2000  # multi-class: then keep at most this many, best first (per window)
    nms: NMSConfig = field(default_factory=NMSConfig)  # the NMS applied per video


# Per-dataset settings of the AdaTAD configs, keyed by canonical dataset name (soft-NMS everywhere; voting
# only acts class-agnostically). Variants of one dataset (THUMOS with a frozen backbone, ActivityNet with a
# multi-class head) are written out by the experiments that use them.
POSTPROCESS_PRESETS: dict[str, PostProcessConfig] = {
    "thumos14": PostProcessConfig(
        0.001, 2000, NMSConfig("gaussian", sigma=0.7, max_seg_num=2000, voting_thresh=0.7)
    ),
    "activitynet13": PostProcessConfig(
        nms=NMSConfig(
            "gaussian", sigma=0.7, min_score=0.001, max_seg_num=100, multiclass=False, voting_thresh=0.9
        )
    ),
    "epic-kitchens-100": PostProcessConfig(
        0.001, 5000, NMSConfig("gaussian", sigma=0.4, min_score=0.001, max_seg_num=2000, voting_thresh=0.75)
    ),
    "ego4d-mq": PostProcessConfig(
        0.001, 5000, NMSConfig("gaussian", sigma=2.0, min_score=0.001, max_seg_num=2000, voting_thresh=0.95)
    ),
    "multithumos": PostProcessConfig(
        0.001, 8000, NMSConfig("gaussian", sigma=0.5, max_seg_num=8000, voting_thresh=0.7)
    ),
    "charades": PostProcessConfig(
        0.001, 2000, NMSConfig("gaussian", sigma=0.3, max_seg_num=1000, voting_thresh=0.7)
    ),
}


def decode_valid(output: HeadOutput, points: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Decoded segments and sigmoid scores of the valid points of each video in the batch.

    Args:
        output: raw head outputs.
        points: ``[P, 4]`` from :func:`tad_head.targets.make_points` for the same level lengths.

    Returns:
        Per video ``(segments [N_b, 2], scores [N_b, C])`` in point order (level 0 first); ``N_b`` counts the
        points whose mask is True, so padding never reaches the detections.
    """
    cls_logits, reg_offsets, valid = concat_levels(output)  # [B, P, C], [B, P, 2], [B, P]
    if points.shape[0] != valid.shape[1]:
        raise ValueError(
            f"decode_valid: {points.shape[0]} points for {valid.shape[1]} head outputs per video"
        )
    segments = decode_segments(points, reg_offsets)  # [B, P, 2]
    scores = cls_logits.sigmoid()
    return [(segments[b][valid[b]], scores[b][valid[b]]) for b in range(valid.shape[0])]


def select_candidates(segments: Tensor, scores: Tensor, cfg: PostProcessConfig) -> Detections:
    """Turn per-point class scores into NMS candidates.

    Args:
        segments: ``[N, 2]`` decoded segments of one video or window.
        scores: ``[N, C]`` sigmoid scores.
        cfg: threshold and top-k.

    Returns:
        With ``C > 1``: one candidate per (point, class) with score ``> pre_nms_thresh``, the best
        ``pre_nms_topk`` of them, best first (ties: point-major order). With ``C == 1``: every point, in
        point order, label 0 (no threshold, no top-k, as OpenTAD).
    """
    num_classes = scores.shape[-1]
    if num_classes == 1:
        labels = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
        return Detections(segments, scores[:, 0], labels)
    flat = scores.flatten()  # [N·C], index = point·C + class
    above = torch.nonzero(flat > cfg.pre_nms_thresh).squeeze(1)
    order = torch.sort(flat[above], descending=True, stable=True).indices[: cfg.pre_nms_topk]
    picked = above[order]
    return Detections(segments[picked // num_classes], flat[picked], picked % num_classes)


def merge_windows(
    windows: Sequence[Detections], offsets: Sequence[float], clamp: tuple[float, float] | None = None
) -> Detections:
    """Concatenate the detections of the windows of one video, shifted into video grid units.

    Args:
        windows: candidates of each window, in window grid units.
        offsets: start of each window in video grid units (e.g. 0, 384, 768 for THUMOS at overlap 0.5).
        clamp: optional ``(lo, hi)`` in video grid units to clip the segments to, i.e. the video's extent:
            OpenTAD clips to ``[0, duration]`` when it converts each window to seconds, before NMS.

    OpenTAD also rounds to 2 decimals of a second before this merge; tad-head stays in grid units, which
    changes nothing but the rounding and the weight of the kernel's ``+1e-6`` area term.
    """
    if len(windows) != len(offsets):
        raise ValueError(f"merge_windows: {len(windows)} windows but {len(offsets)} offsets")
    if not windows:
        raise ValueError("merge_windows: no windows")
    segments = torch.cat([w.segments + offset for w, offset in zip(windows, offsets, strict=True)])
    if clamp is not None:
        segments = segments.clamp(min=clamp[0], max=clamp[1])
    return Detections(
        segments, torch.cat([w.scores for w in windows]), torch.cat([w.labels for w in windows])
    )


def postprocess(
    output: HeadOutput, points: Tensor, cfg: PostProcessConfig, apply_nms: bool = True
) -> list[Detections]:
    """Detections of each video (or window) of a batch.

    Args:
        output: raw head outputs.
        points: ``[P, 4]`` pyramid points.
        cfg: candidate selection and NMS.
        apply_nms: False for sliding-window datasets, where NMS runs once per video after
            :func:`merge_windows` (``batched_nms(merge_windows(...), cfg.nms)``).

    Returns:
        Per batch item, detections in grid units (best first when NMS ran).
    """
    detections = []
    with torch.no_grad():
        for segments, scores in decode_valid(output, points):
            candidates = select_candidates(segments.float(), scores.float(), cfg)
            detections.append(batched_nms(candidates, cfg.nms) if apply_nms else candidates)
    return detections
