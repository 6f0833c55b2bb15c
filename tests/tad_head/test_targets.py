"""Points, decoding and label assignment, checked against hand-worked toy ground truth."""

from __future__ import annotations

import pytest
import torch

from tad_head import TargetConfig, assign_targets, decode_segments, make_points

# Level 0: positions 0..7 (stride 1, range [0, 4]); level 1: positions 0, 2, 4, 6 (stride 2, range [4, 1e4]).
POINTS = make_points([8, 4], [1, 2], [(0, 4), (4, 10000)])


def _assign(segments: list[list[float]], labels: list[int], num_classes: int, **cfg) -> tuple:
    cls, reg = assign_targets(
        POINTS, [torch.tensor(segments)], [torch.tensor(labels)], num_classes, TargetConfig(**cfg)
    )
    return cls[0], reg[0]


def test_points_layout() -> None:
    assert POINTS.shape == (12, 4)
    assert POINTS[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 2, 4, 6]  # arange(T_l)·stride, no offset
    assert POINTS[8].tolist() == [0, 4, 10000, 2]


def test_decode_segments() -> None:
    offsets = torch.zeros(12, 2)
    offsets[9] = torch.tensor([1.5, 0.25])  # level-1 point at 2: start 2 - 1.5·2, end 2 + 0.25·2
    assert decode_segments(POINTS, offsets)[9].tolist() == [-1.0, 2.5]


def test_hand_checked_assignment() -> None:
    """A = [1, 4] (class 1, centre 2.5) and B = [0, 10] (class 0, centre 5).

    Level 0 (radius 1.5): A's centre region clipped to A is [1, 4]; 2 and 3 lie strictly inside (1 and 4 sit
    on its border) and reach ≤ 4. B's region [3.5, 6.5] holds 4, 5, 6 but they reach 6, 5, 6 > 4.
    Level 1 (radius 3): A at 2 reaches 2 < 4. B's region [2, 8] strictly holds 4 and 6, reaching 6 ∈ [4, 1e4].
    """
    cls, reg = _assign([[1.0, 4.0], [0.0, 10.0]], [1, 0], num_classes=2)
    positive = {i: cls[i].tolist() for i in range(12) if cls[i].sum() > 0}
    assert positive == {2: [0, 1], 3: [0, 1], 10: [1, 0], 11: [1, 0]}
    assert reg[2].tolist() == [1, 2] and reg[3].tolist() == [2, 1]
    assert reg[10].tolist() == [2, 3] and reg[11].tolist() == [3, 2]  # (4, 6)/2 and (6, 4)/2


def test_regression_ranges_are_inclusive_at_both_ends() -> None:
    """GT [0, 8]: level-0 point 4 reaches exactly 4 (its hi); level-1 points 2, 4, 6 reach 6, 4, 6 (lo 4)."""
    cls, _ = _assign([[0.0, 8.0]], [0], num_classes=1)
    assert [i for i in range(12) if cls[i, 0] == 1] == [4, 9, 10, 11]


def test_similar_lengths_give_multi_hot_labels() -> None:
    """At point 3, C [2, 5] (len 3), D [2, 5.0005] (len 3.0005) and E [1.5, 5.5] (len 4) are all valid."""
    segments, labels = [[2.0, 5.0], [2.0, 5.0005], [1.5, 5.5]], [0, 2, 1]
    cls, reg = _assign(segments, labels, num_classes=3)
    assert cls[3].tolist() == [1, 0, 1]  # C and D (within 1e-3 of the shortest), not E
    assert reg[3].tolist() == [1, 2]  # regression from the shortest, C
    cls, reg = _assign(segments, labels, num_classes=3, filter_similar_gt=False)
    assert cls[3].tolist() == [1, 1, 1]  # Ego4D: every valid GT
    assert reg[3].tolist() == [1, 2]


def test_similar_length_tolerance_is_one_thousandth() -> None:
    """At point 3, C [2, 5] (len 3) and G [2, 5.002] (len 3.002) are both valid but 0.002 apart: no tie."""
    cls, reg = _assign([[2.0, 5.0], [2.0, 5.002]], [0, 1], num_classes=2)
    assert cls[3].tolist() == [1, 0] and reg[3].tolist() == [1, 2]


def test_duplicate_gts_clamp_to_one() -> None:
    cls, _ = _assign([[2.0, 5.0], [2.0, 5.0]], [1, 1], num_classes=2)
    assert cls.max().item() == 1.0


def test_centre_sampling_radius() -> None:
    """One level, stride 1, any reach: GT [0.5, 7.5] (centre 4) is positive at 3, 4, 5 within radius 1.5,
    and at every point strictly inside it without centre sampling."""
    points = make_points([10], [1], [(0, 100)])
    gt, label = [torch.tensor([[0.5, 7.5]])], [torch.tensor([0])]
    cls, _ = assign_targets(points, gt, label, 1)
    assert cls[0, :, 0].nonzero().flatten().tolist() == [3, 4, 5]
    cls, _ = assign_targets(points, gt, label, 1, TargetConfig(center_sample_radius=None))
    assert cls[0, :, 0].nonzero().flatten().tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_empty_ground_truth_and_bad_labels() -> None:
    cls, reg = assign_targets(POINTS, [torch.zeros(0, 2)], [torch.zeros(0, dtype=torch.long)], 4)
    assert cls.shape == (1, 12, 4) and reg.shape == (1, 12, 2) and cls.sum() == 0
    with pytest.raises(ValueError, match="outside"):
        _assign([[1.0, 4.0]], [3], num_classes=3)


def test_ground_truth_is_moved_to_the_points_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loader tensors (CPU) meet points on the model's device (CUDA in training): both must be moved.

    Points on the ``meta`` device stand in for a GPU; the per-video assignment is replaced by a recorder, so
    the test checks where the inputs are placed without computing on ``meta``.
    """
    import tad_head.targets as targets

    seen = []

    def record(points, segments, labels, num_classes, cfg):
        seen.append((segments.device, labels.device))
        return points.new_zeros((points.shape[0], num_classes)), points.new_zeros((points.shape[0], 2))

    monkeypatch.setattr(targets, "_assign_one", record)
    points = make_points([8, 4], [1, 2], [(0, 4), (4, 10000)], device="meta")
    assign_targets(points, [torch.tensor([[1.0, 3.0]])], [torch.tensor([0])], num_classes=2)
    assert seen == [(torch.device("meta"), torch.device("meta"))]
