"""Decoding, candidate selection, window merging, and padding never producing detections."""

from __future__ import annotations

import pytest
import torch

from tad_head import (
    POSTPROCESS_PRESETS,
    ActionFormer,
    Detections,
    HeadOutput,
    NMSConfig,
    PostProcessConfig,
    decode_valid,
    make_points,
    merge_windows,
    pad_to_valid_length,
    postprocess,
    select_candidates,
)


def test_select_candidates_threshold_topk_and_index_mapping() -> None:
    segments = torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    scores = torch.tensor([[0.5, 0.0005], [0.9, 0.2], [0.001, 0.3]])
    picked = select_candidates(segments, scores, PostProcessConfig(pre_nms_thresh=0.001, pre_nms_topk=3))
    assert picked.scores.tolist() == pytest.approx([0.9, 0.5, 0.3])  # 0.001 itself is not above 0.001
    assert picked.labels.tolist() == [0, 0, 1]
    assert picked.segments.tolist() == [[2, 3], [0, 1], [4, 5]]


def test_single_class_keeps_every_point_unfiltered() -> None:
    segments = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    picked = select_candidates(segments, torch.tensor([[0.0001], [0.5]]), PostProcessConfig(pre_nms_topk=1))
    assert picked.scores.tolist() == pytest.approx([0.0001, 0.5]) and picked.labels.tolist() == [0, 0]


def _hand_output() -> tuple[HeadOutput, torch.Tensor]:
    """Two levels of 8 and 4 points; video 1 is valid on its first 5 (level 0) and 3 (level 1) points.
    Zero offsets put each detection on its point; padded points get the highest logits."""
    masks = [
        torch.tensor([[True] * 8, [True] * 5 + [False] * 3]),
        torch.tensor([[True] * 4, [True] * 3 + [False]]),
    ]
    cls_logits = [
        torch.where(m[:, None], torch.zeros(2, 2, m.shape[1]), torch.full((2, 2, m.shape[1]), 20.0))
        for m in masks
    ]
    reg_offsets = [torch.zeros(2, 2, m.shape[1]) for m in masks]
    return HeadOutput(cls_logits, reg_offsets, masks), make_points([8, 4], [1, 2], [(0, 4), (4, 1e4)])


def test_padded_points_never_become_detections() -> None:
    output, points = _hand_output()
    decoded = decode_valid(output, points)
    assert [segments.shape[0] for segments, _ in decoded] == [12, 8]
    assert decoded[1][0][:, 0].tolist() == [0, 1, 2, 3, 4, 0, 2, 4]
    cfg = PostProcessConfig(nms=NMSConfig("gaussian", max_seg_num=100))
    detections = postprocess(output, points, cfg)
    assert len(detections[1].scores) == 16  # 8 valid points × 2 classes, none from padding
    assert detections[1].scores.max().item() == pytest.approx(0.5)  # the padded logits of 20 are gone
    assert float(detections[1].segments.max()) <= 4


def test_model_padding_never_reaches_detections(tiny_projection, tiny_head) -> None:
    model = ActionFormer(tiny_projection, tiny_head).eval()
    feats, mask = pad_to_valid_length(
        torch.randn(1, 24, 37), torch.ones(1, 37, dtype=torch.bool), tiny_projection
    )
    with torch.no_grad():
        output = model(feats, mask)
    points = make_points([m.shape[1] for m in output.masks], tiny_head.strides, tiny_head.regression_ranges)
    ((segments, scores),) = decode_valid(output, points)
    assert segments.shape[0] == sum(int(m.sum()) for m in output.masks) < points.shape[0]
    kept_positions = points[:, 0][torch.cat(output.masks, dim=1)[0]]
    assert float(kept_positions.max()) < 37  # every surviving point lies inside the real 37 steps
    candidates = postprocess(output, points, PostProcessConfig(pre_nms_thresh=0.0), apply_nms=False)[0]
    assert len(candidates.scores) == segments.shape[0] * 3


def test_merge_windows_shifts_and_clamps() -> None:
    first = Detections(torch.tensor([[1.0, 5.0]]), torch.tensor([0.5]), torch.tensor([1]))
    second = Detections(
        torch.tensor([[0.0, 2.0], [300.0, 420.0]]), torch.tensor([0.6, 0.7]), torch.tensor([0, 2])
    )
    merged = merge_windows([first, second], [0, 384])
    assert merged.segments.tolist() == [[1, 5], [384, 386], [684, 804]]
    assert merged.labels.tolist() == [1, 0, 2] and merged.scores.tolist() == pytest.approx([0.5, 0.6, 0.7])
    assert merge_windows([first, second], [0, 384], clamp=(0, 700)).segments[-1].tolist() == [684, 700]
    with pytest.raises(ValueError, match="offsets"):
        merge_windows([first], [0, 1])


def test_postprocess_presets_follow_the_configs() -> None:
    thumos, anet = POSTPROCESS_PRESETS["thumos14"], POSTPROCESS_PRESETS["activitynet13"]
    assert (thumos.pre_nms_thresh, thumos.pre_nms_topk, thumos.nms.method, thumos.nms.iou_threshold) == (
        0.001,
        2000,
        "gaussian",
        0.0,
    )
    assert (anet.nms.sigma, anet.nms.max_seg_num, anet.nms.min_score, anet.nms.multiclass) == (
        0.7,
        100,
        0.001,
        False,
    )
    assert POSTPROCESS_PRESETS["ego4d-mq"].nms.sigma == 2.0
    assert POSTPROCESS_PRESETS["epic-kitchens-100"].pre_nms_topk == 5000
    assert POSTPROCESS_PRESETS["multithumos"].nms.max_seg_num == 8000
