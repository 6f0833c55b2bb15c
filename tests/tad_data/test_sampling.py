"""Frame-index samplers against hand-computed indices (OpenTAD ``LoadFrames`` / window datasets)."""

from __future__ import annotations

import numpy as np
import pytest

from tad_data.errors import TadDataError
from tad_data.sampling import (
    clip_segments_to_window,
    frame_grid,
    random_trunc_window,
    resize_window,
    sliding_window,
    split_sliding_windows,
)


def _trunc(total, segments, rng, **kwargs):
    settings = dict(snippet_stride=4, scale_factor=1, window_size=4, trunc_thresh=0.75, crop_ratio=None)
    settings.update(kwargs)
    segments = np.array(segments, dtype=float)
    return random_trunc_window(total, segments, np.arange(len(segments)), rng=rng, **settings)


def test_frame_grid_steps_by_snippet_stride_over_scale_factor():
    np.testing.assert_array_equal(frame_grid(10, 4, 1), [0, 4, 8])
    np.testing.assert_array_equal(frame_grid(10, 4, 2), [0, 2, 4, 6, 8])
    with pytest.raises(TadDataError, match="multiple of scale_factor"):
        frame_grid(10, 4, 3)


def test_random_trunc_accepts_only_windows_holding_the_segment():
    # grid [0, 4, ..., 36] (10 steps), window 4 steps, segment [6, 8] fully inside: start in {4, 5, 6}
    starts = set()
    for seed in range(60):
        window = _trunc(40, [[6.0, 8.0]], np.random.default_rng(seed), trunc_thresh=1.0)
        start = window.start_frame // 4
        starts.add(start)
        np.testing.assert_array_equal(window.frame_indices, np.arange(start, start + 4) * 4)
        np.testing.assert_allclose(window.gt_segments, [[6 - start, 8 - start]])
        assert window.mask.all() and window.gt_labels.tolist() == [0]
    assert starts == {4, 5, 6}


def test_random_trunc_keeps_the_last_trial_when_no_window_is_accepted():
    window = _trunc(40, [[0.0, 9.0]], np.random.default_rng(0), trunc_thresh=0.75)  # 4/9 < 0.75 always
    assert window.gt_segments.shape == (0, 2) and window.gt_labels.shape == (0,)
    assert window.mask.all() and len(window.frame_indices) == 4
    assert np.all(np.diff(window.frame_indices) == 4)


def test_random_trunc_clips_kept_segments_to_the_window():
    starts = {_trunc(40, [[2.0, 7.0]], np.random.default_rng(seed)).start_frame // 4 for seed in range(80)}
    assert starts == {2, 3}  # [2, 6] keeps 0.8, [3, 7] keeps 0.8; start 1 or 4 keeps 0.6
    windows = [_trunc(40, [[2.0, 7.0]], np.random.default_rng(seed)) for seed in range(80)]
    window = next(w for w in windows if w.start_frame == 8)
    np.testing.assert_allclose(window.gt_segments, [[0.0, 4.0]])  # [2, 7] clipped to [2, 6], shifted by 2


def test_random_trunc_short_video_without_crop_ratio_is_padded_and_masked():
    # 20 frames -> grid [0, 4, 8, 12, 16] (5 steps) < window 8: whole video, edge padding, gt untouched
    window = _trunc(20, [[1.0, 7.0]], np.random.default_rng(0), window_size=8)
    np.testing.assert_array_equal(window.frame_indices, [0, 4, 8, 12, 16, 16, 16, 16])
    np.testing.assert_array_equal(window.mask, [True] * 5 + [False] * 3)
    np.testing.assert_allclose(window.gt_segments, [[1.0, 7.0]])
    assert window.start_frame == 0


def test_random_trunc_short_video_with_crop_ratio_draws_length_in_range():
    # 5 steps, crop_ratio (0.9, 1.0): length in [round(4.5) = 4 (half to even), 5]
    seen = set()
    for seed in range(40):
        window = _trunc(20, [[1.0, 3.0]], np.random.default_rng(seed), window_size=8, crop_ratio=(0.9, 1.0))
        valid = int(window.mask.sum())
        seen.add(valid)
        frames = window.frame_indices
        assert np.all(frames[valid:] == frames[valid - 1])  # edge padding
        np.testing.assert_array_equal(np.diff(frames[:valid]), 4)
        if valid == 4:
            start = window.start_frame // 4
            np.testing.assert_allclose(window.gt_segments, [[1.0 - start, 3.0 - start]])
    assert seen == {4, 5}


def test_random_trunc_with_scale_factor_two():
    # snippet_stride 4, scale_factor 2: frames every 2; window 4 steps = 8 frames; gt [3, 5] = frames [6, 10]
    starts = set()
    for seed in range(80):
        window = _trunc(40, [[3.0, 5.0]], np.random.default_rng(seed), scale_factor=2, trunc_thresh=1.0)
        first = window.start_frame // 2  # in units of the 2-frame grid
        starts.add(first)
        np.testing.assert_array_equal(window.frame_indices, np.arange(first, first + 8) * 2)
        np.testing.assert_allclose(window.gt_segments, [[(6 - first) / 2, (10 - first) / 2]])
        assert window.mask.shape == (4,) and window.mask.all()
    assert starts == {2, 3, 4, 5, 6}


def test_random_trunc_short_video_with_scale_factor_masks_whole_steps():
    window = _trunc(10, [[0.5, 1.5]], np.random.default_rng(0), scale_factor=2)  # 5 frames, 8 wanted
    np.testing.assert_array_equal(window.frame_indices, [0, 2, 4, 6, 8, 8, 8, 8])
    np.testing.assert_array_equal(window.mask, [True, True, False, False])  # 5 // 2 valid steps


def test_random_trunc_is_reproducible_per_seed():
    first = _trunc(400, [[10.0, 20.0], [50.0, 60.0]], np.random.default_rng(7), window_size=16)
    again = _trunc(400, [[10.0, 20.0], [50.0, 60.0]], np.random.default_rng(7), window_size=16)
    np.testing.assert_array_equal(first.frame_indices, again.frame_indices)
    np.testing.assert_array_equal(first.gt_segments, again.gt_segments)


@pytest.mark.parametrize(
    ("num_frames", "overlap", "expected"),
    [
        (4000, 0.5, [(0, 768), (232, 768)]),  # 1000 steps: last window right-aligned to the end
        (1000, 0.5, [(0, 250)]),  # shorter than one window
        (6144, 0.5, [(0, 768), (384, 768), (768, 768), (768, 768)]),  # OpenTAD repeats the last window here
        (4400, 0.5, [(0, 768), (332, 768)]),
        (4800, 0.5, [(0, 768), (384, 768), (432, 768)]),
        (4000, 0.25, [(0, 768)]),  # 1000 // 576 = 1 window: OpenTAD's val split leaves the tail out
        (4001, 0.5, [(0, 768), (233, 768)]),  # 1001 steps (arange(0, 4001, 4))
    ],
)
def test_split_sliding_windows_matches_opentad(num_frames, overlap, expected):
    assert split_sliding_windows(num_frames, 4, 768, overlap) == expected


def test_sliding_window_pads_the_short_last_window():
    frames, mask = sliding_window(20, 3, 2, snippet_stride=4, scale_factor=1, window_size=4)
    np.testing.assert_array_equal(frames, [12, 16, 16, 16])
    np.testing.assert_array_equal(mask, [True, True, False, False])


def test_sliding_window_uses_the_decoded_frame_count():
    # 14 decoded frames: grid [0, 4, 8, 12]
    frames, mask = sliding_window(14, 3, 2, snippet_stride=4, scale_factor=1, window_size=4)
    np.testing.assert_array_equal(frames, [12, 12, 12, 12])
    np.testing.assert_array_equal(mask, [True, False, False, False])


def test_sliding_window_with_scale_factor_two():
    frames, mask = sliding_window(20, 1, 3, snippet_stride=4, scale_factor=2, window_size=4)
    np.testing.assert_array_equal(frames, [4, 6, 8, 10, 12, 14, 14, 14])
    np.testing.assert_array_equal(mask, [True, True, True, False])


def test_sliding_window_full_window():
    frames, mask = sliding_window(100, 2, 4, snippet_stride=4, scale_factor=1, window_size=4)
    np.testing.assert_array_equal(frames, [8, 12, 16, 20])
    assert mask.all()


@pytest.mark.parametrize(
    ("total", "window", "scale", "expected"),
    [
        (10, 4, 1, [1, 3, 6, 8]),  # arange(0.75, 10.75, 2.5) rounded
        (8, 4, 1, [0, 2, 4, 6]),  # 0.5, 2.5, ... round half to even
        (3, 4, 2, [0, 0, 0, 1, 1, 2, 2, 2]),  # fewer frames than samples: clipped, repeated
        (768, 192, 4, list(range(768))),  # one frame each
    ],
)
def test_resize_window_uniform_centres(total, window, scale, expected):
    frames, mask = resize_window(total, window, scale)
    np.testing.assert_array_equal(frames, expected)
    assert mask.shape == (window,) and mask.all()


def test_resize_window_length_for_awkward_strides():
    for total in (1000, 1001, 2999, 4567, 12345):
        frames, _ = resize_window(total, 192, 4)
        assert len(frames) == 768 and frames[0] >= 0 and frames[-1] <= total - 1
        assert np.all(np.diff(frames) >= 0)


def test_clip_segments_to_window_uses_completeness():
    segments = np.array([[-2.0, 4.0], [8.0, 12.0], [3.0, 5.0], [20.0, 25.0]])
    labels = np.array([0, 1, 2, 3])
    kept, kept_labels = clip_segments_to_window(segments, labels, num_steps=10, min_completeness=0.75)
    np.testing.assert_allclose(kept, [[3.0, 5.0]])
    assert kept_labels.tolist() == [2]
    kept, kept_labels = clip_segments_to_window(segments, labels, num_steps=10, min_completeness=0.5)
    np.testing.assert_allclose(kept, [[0.0, 4.0], [3.0, 5.0]])  # 4/6 inside; [8, 12] keeps [8, 9]: 1/4
    assert kept_labels.tolist() == [0, 2]
