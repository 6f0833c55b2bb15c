"""Vectorised NMS against the plain greedy reference (hypothesis), plus hand-checked kernel semantics."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nms_reference import batched_nms_reference, soft_nms_reference

from tad_head import Detections, NMSConfig, batched_nms, segment_voting

IOU_THRESHOLDS = st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7])
MIN_SCORES = st.sampled_from([0.0, 0.001, 0.2, 0.5])
MAX_SEGS = st.sampled_from([1, 3, 100])


@st.composite
def detections(draw: st.DrawFn, grid_scores: bool) -> Detections:
    """Up to 40 segments on a quarter grid (so exact ties and duplicates happen), 1-4 classes, float64."""
    n = draw(st.integers(0, 40))
    starts = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    if grid_scores:
        scores = [k / 16 for k in draw(st.lists(st.integers(0, 16), min_size=n, max_size=n))]
    else:
        scores = draw(st.lists(st.floats(0, 1, allow_subnormal=False), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    segments = torch.tensor([[s / 4, (s + length) / 4] for s, length in zip(starts, lengths, strict=True)])
    return Detections(
        segments.reshape(n, 2).double(),
        torch.tensor(scores, dtype=torch.float64),
        torch.tensor(labels, dtype=torch.long),
    )


def assert_matches_reference(dets: Detections, cfg: NMSConfig) -> None:
    got = batched_nms(dets, cfg)
    segments, scores, labels = batched_nms_reference(
        [tuple(s) for s in dets.segments.tolist()], dets.scores.tolist(), dets.labels.tolist(), cfg
    )
    assert got.labels.tolist() == labels
    assert got.scores.tolist() == pytest.approx(scores, abs=1e-9)
    assert got.segments.reshape(-1).tolist() == pytest.approx([x for s in segments for x in s], abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    dets=detections(grid_scores=True),
    sigma=st.sampled_from([0.3, 0.5, 0.7, 2.0]),
    min_score=MIN_SCORES,
    max_seg_num=MAX_SEGS,
    multiclass=st.booleans(),
)
def test_gaussian_soft_nms_matches_reference(dets, sigma, min_score, max_seg_num, multiclass) -> None:
    cfg = NMSConfig(
        "gaussian", sigma=sigma, min_score=min_score, max_seg_num=max_seg_num, multiclass=multiclass
    )
    assert_matches_reference(dets, cfg)


@pytest.mark.parametrize("method", ["linear", "hard"])
@settings(max_examples=150, deadline=None)
@given(
    dets=detections(grid_scores=True),
    iou_threshold=IOU_THRESHOLDS,
    min_score=MIN_SCORES,
    max_seg_num=MAX_SEGS,
    multiclass=st.booleans(),
)
def test_thresholded_nms_matches_reference(
    method, dets, iou_threshold, min_score, max_seg_num, multiclass
) -> None:
    """Linear soft-NMS and hard NMS, the two methods that use ``iou_threshold``."""
    cfg = NMSConfig(
        method, iou_threshold, min_score=min_score, max_seg_num=max_seg_num, multiclass=multiclass
    )
    assert_matches_reference(dets, cfg)


@settings(max_examples=150, deadline=None)
@given(
    dets=detections(grid_scores=False),
    method=st.sampled_from(["hard", "linear", "gaussian"]),
    voting_thresh=st.sampled_from([0.3, 0.7, 0.9]),
    min_score=MIN_SCORES,
    max_seg_num=MAX_SEGS,
)
def test_segment_voting_matches_reference(dets, method, voting_thresh, min_score, max_seg_num) -> None:
    cfg = NMSConfig(
        method,
        iou_threshold=0.5,
        sigma=0.7,
        min_score=min_score,
        max_seg_num=max_seg_num,
        multiclass=False,
        voting_thresh=voting_thresh,
    )
    assert_matches_reference(dets, cfg)


@settings(max_examples=100, deadline=None)
@given(
    dets=detections(grid_scores=False), method=st.sampled_from(["linear", "gaussian"]), min_score=MIN_SCORES
)
def test_continuous_scores_match_reference(dets, method, min_score) -> None:
    assert_matches_reference(dets, NMSConfig(method, iou_threshold=0.3, sigma=0.5, min_score=min_score))


def _dets(segments: list[list[float]], scores: list[float], labels: list[int] | None = None) -> Detections:
    labels = labels if labels is not None else [0] * len(scores)
    return Detections(
        torch.tensor(segments, dtype=torch.float64).reshape(-1, 2),
        torch.tensor(scores, dtype=torch.float64),
        torch.tensor(labels, dtype=torch.long),
    )


def test_gaussian_weight_is_exp_of_minus_iou_squared_over_sigma() -> None:
    out = batched_nms(_dets([[0, 10], [5, 15]], [0.9, 0.8]), NMSConfig("gaussian", sigma=0.7))
    iou = 5 / (10 + 1e-6 + 10 + 1e-6 - 5)  # the kernel's +1e-6 on each length
    assert out.scores.tolist() == pytest.approx([0.9, 0.8 * math.exp(-(iou**2) / 0.7)], abs=1e-12)
    assert out.scores[1].item() != pytest.approx(0.8 * math.exp(-(iou**2) / (2 * 0.7**2)), abs=1e-3)


def test_linear_decays_only_at_or_above_the_threshold() -> None:
    """a [0, 10] is kept; it decays b [5, 15] (IoU 5/15 ≥ 0.2) but not c [9, 19] (IoU 1/19 < 0.2); c, now the
    best, decays b again (IoU 6/14)."""
    dets = _dets([[0, 10], [5, 15], [9, 19]], [0.9, 0.8, 0.7])
    out = batched_nms(dets, NMSConfig("linear", iou_threshold=0.2))
    decayed_b = 0.8 * (1 - 5 / (15 + 2e-6)) * (1 - 6 / (14 + 2e-6))  # the kernel's +1e-6 on each length
    assert out.scores.tolist() == pytest.approx([0.9, 0.7, decayed_b], abs=1e-12)
    assert out.segments[:, 0].tolist() == [0, 9, 5]


def test_hard_nms_suppresses_at_or_above_threshold_and_threshold_zero_keeps_one() -> None:
    dets = _dets([[0, 10], [1, 11], [20, 30]], [0.9, 0.95, 0.5])
    assert batched_nms(dets, NMSConfig("hard", iou_threshold=0.5)).scores.tolist() == [0.95, 0.5]
    assert batched_nms(dets, NMSConfig("hard", iou_threshold=0.0)).scores.tolist() == [0.95]  # IoU 0 ≥ 0


def test_ties_follow_the_kernels_array_order() -> None:
    """b and c tie at 0.5; selecting a swaps it with b (slot 0), so c (now slot 1) precedes b (slot 2)."""
    dets = _dets([[0, 1], [10, 11], [20, 21]], [0.5, 0.5, 0.9], [7, 7, 7])  # b, c, a
    out = batched_nms(dets, NMSConfig("gaussian"))
    assert out.segments[:, 0].tolist() == [20, 10, 0]
    assert soft_nms_reference([(0, 1), (10, 11), (20, 21)], [0.5, 0.5, 0.9], NMSConfig())[0] == [2, 1, 0]


def test_min_score_drops_decayed_segments_but_never_the_selected_one() -> None:
    """b (a duplicate) decays to 0.034 and c [5, 15] to 0.224; d never overlaps but is below 0.1 anyway."""
    dets = _dets([[0, 10], [0, 10], [5, 15], [50, 51]], [0.3, 0.25, 0.28, 0.05])
    out = batched_nms(dets, NMSConfig("gaussian", sigma=0.5, min_score=0.1))
    assert out.scores.tolist() == pytest.approx([0.3, 0.28 * math.exp(-((5 / (15 + 2e-6)) ** 2) / 0.5)])
    lone = batched_nms(_dets([[0, 1]], [0.01]), NMSConfig("gaussian", min_score=0.1))
    assert lone.scores.tolist() == [0.01]  # the first selection is never tested against min_score


def test_max_segments_per_class_then_global() -> None:
    segments = [[10 * k, 10 * k + 1] for k in range(6)]
    dets = _dets(segments, [0.9, 0.8, 0.7, 0.95, 0.6, 0.5], [0, 0, 0, 1, 1, 1])
    out = batched_nms(dets, NMSConfig("gaussian", max_seg_num=2))
    assert out.scores.tolist() == [0.95, 0.9]
    assert out.labels.tolist() == [1, 0]


def test_voting_only_in_class_agnostic_mode() -> None:
    dets = _dets([[0, 10], [1, 11], [30, 40]], [0.9, 0.6, 0.8])
    agnostic = batched_nms(dets, NMSConfig("gaussian", multiclass=False, voting_thresh=0.5))
    assert agnostic.segments[0].tolist() == pytest.approx([0.6 / 1.5, 15.6 / 1.5])  # (0.9·a + 0.6·b) / 1.5
    assert agnostic.segments[1].tolist() == [30, 40]
    multiclass = batched_nms(dets, NMSConfig("gaussian", multiclass=True, voting_thresh=0.5))
    assert multiclass.segments[0].tolist() == [0, 10]
    kept = torch.tensor([[0.0, 1.0]])
    assert segment_voting(kept, torch.tensor([[5.0, 6.0]]), torch.tensor([1.0]), 0.5).tolist() == [[0.0, 1.0]]


def _random_detections(count: int, classes: int, span: float, max_length: float, seed: int) -> Detections:
    """float32 candidates with random starts in [0, span), lengths below ``max_length`` and uniform scores."""
    generator = torch.Generator().manual_seed(seed)
    starts = torch.rand(count, generator=generator) * span
    segments = torch.stack([starts, starts + torch.rand(count, generator=generator) * max_length], dim=1)
    labels = torch.randint(0, classes, (count,), generator=generator)
    return Detections(segments, torch.rand(count, generator=generator), labels)


def test_float32_matches_the_reference_closely() -> None:
    dets = _random_detections(300, classes=4, span=200, max_length=30, seed=3)
    cfg = NMSConfig("gaussian", sigma=0.7, max_seg_num=300)
    got = batched_nms(dets, cfg)
    assert got.scores.dtype == torch.float32
    _, scores, labels = batched_nms_reference(
        [tuple(s) for s in dets.segments.double().tolist()],
        dets.scores.double().tolist(),
        dets.labels.tolist(),
        cfg,
    )
    assert got.labels.tolist() == labels
    assert got.scores.tolist() == pytest.approx(scores, abs=1e-6)


def test_empty_and_bad_input() -> None:
    empty = batched_nms(_dets([], []), NMSConfig())
    assert empty.segments.shape == (0, 2) and empty.scores.shape == (0,)
    assert batched_nms(_dets([[0, 1]], [0.05]), NMSConfig("hard", min_score=0.1)).scores.numel() == 0
    with pytest.raises(ValueError, match="ends before it starts"):
        batched_nms(_dets([[2, 1]], [0.5]), NMSConfig())
    with pytest.raises(ValueError, match="NaN"):
        batched_nms(_dets([[0, 1]], [float("nan")]), NMSConfig())
    with pytest.raises(ValueError, match="max_seg_num"):
        NMSConfig(max_seg_num=0)


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    dets = _random_detections(2000, classes=20, span=500, max_length=40, seed=0)
    for cfg in (
        NMSConfig("gaussian", sigma=0.7, max_seg_num=2000),
        NMSConfig("linear", min_score=0.3),
        NMSConfig("hard", iou_threshold=0.5),
        NMSConfig(multiclass=False, voting_thresh=0.9, min_score=0.001),
    ):
        cpu = batched_nms(Detections(*(t.double() if t.is_floating_point() else t for t in dets)), cfg)
        cuda = batched_nms(
            Detections(*(t.cuda().double() if t.is_floating_point() else t.cuda() for t in dets)), cfg
        )
        assert cuda.labels.cpu().tolist() == cpu.labels.tolist()
        torch.testing.assert_close(cuda.scores.cpu(), cpu.scores)
        torch.testing.assert_close(cuda.segments.cpu(), cpu.segments)
