"""Seconds <-> feature grid: hand-computed values, clamping, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tad_data.errors import TadDataError
from tad_data.timegrid import TimeGrid, grid_to_seconds, seconds_to_grid


def test_window_grid_hand_values():
    # THUMOS: 30 fps, snippet_stride 4, window starting at frame 1536
    grid = TimeGrid(duration=200.0, fps=30.0, snippet_stride=4, window_start_frame=1536)
    np.testing.assert_allclose(grid.seconds_to_grid([[52.0, 60.0]]), [[6.0, 66.0]])  # (1560 - 1536) / 4 ...
    np.testing.assert_allclose(grid.grid_to_seconds([[6.0, 66.0]]), [[52.0, 60.0]])  # (6*4 + 1536) / 30 ...


def test_window_grid_with_offset_frames():
    grid = TimeGrid(duration=100.0, fps=10.0, snippet_stride=2, window_start_frame=20, offset_frames=4)
    np.testing.assert_allclose(grid.seconds_to_grid([5.0]), [(50 - 20 - 4) / 2])
    np.testing.assert_allclose(grid.grid_to_seconds([13.0]), [5.0])


def test_resize_grid_hand_values_and_clipping():
    grid = TimeGrid(duration=120.0, resize_length=192)
    np.testing.assert_allclose(grid.seconds_to_grid([[30.0, 60.0]]), [[48.0, 96.0]])
    np.testing.assert_allclose(
        grid.seconds_to_grid([[-5.0, 130.0]]), [[0.0, 192.0]]
    )  # clip(gt / duration, 0, 1)
    np.testing.assert_allclose(grid.grid_to_seconds([[48.0, 96.0]]), [[30.0, 60.0]])


def test_predictions_are_clamped_to_the_video():
    window = TimeGrid(duration=10.0, fps=10.0, snippet_stride=4, window_start_frame=80)
    np.testing.assert_allclose(window.grid_to_seconds([[-30.0, 1.0], [2.0, 50.0]]), [[0.0, 8.4], [8.8, 10.0]])
    resize = TimeGrid(duration=10.0, resize_length=100)
    np.testing.assert_allclose(resize.grid_to_seconds([[-3.0, 120.0]]), [[0.0, 10.0]])


def test_floor_frames_reproduces_opentad_thumos_ground_truth():
    grid = TimeGrid(duration=100.0, fps=30.0, snippet_stride=4)
    # OpenTAD: int(sec / duration * frame) / snippet_stride with frame = 3000
    seconds = np.array([[1.23, 4.56]])
    expected = np.floor(seconds / 100.0 * 3000) / 4
    np.testing.assert_allclose(grid.seconds_to_grid(seconds, floor_frames=True), expected)


def test_meta_dict_functions_match_the_dataclass():
    meta = {"duration": 50.0, "fps": 25.0, "snippet_stride": 4, "window_start_frame": 100, "offset_frames": 0}
    meta |= {"resize_length": None, "video_id": "v"}
    grid = TimeGrid.from_meta(meta)
    assert grid == TimeGrid(duration=50.0, fps=25.0, snippet_stride=4, window_start_frame=100)
    np.testing.assert_allclose(seconds_to_grid([[10.0, 20.0]], meta), [[37.5, 100.0]])
    np.testing.assert_allclose(grid_to_seconds([[37.5, 100.0]], meta), [[10.0, 20.0]])
    resize_meta = {"duration": 50.0, "fps": 25.0, "resize_length": 100}
    np.testing.assert_allclose(grid_to_seconds([[10.0, 20.0]], resize_meta), [[5.0, 10.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": 0.0, "fps": 30.0},
        {"duration": 10.0, "fps": None},
        {"duration": 10.0, "fps": -1.0},
        {"duration": 10.0, "resize_length": 0},
        {"duration": float("nan"), "resize_length": 10},
        {"duration": 10.0, "fps": 30.0, "snippet_stride": 0},
    ],
)
def test_invalid_grids_are_rejected(kwargs):
    with pytest.raises(TadDataError, match="TimeGrid"):
        TimeGrid(**kwargs)


@settings(max_examples=200, deadline=None)
@given(
    fps=st.floats(5, 120),
    stride=st.integers(1, 16),
    start=st.integers(0, 10_000),
    offset=st.integers(0, 8),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_window_round_trip(fps, stride, start, offset, fractions):
    duration = 1000.0
    seconds = np.array(fractions) * duration
    grid = TimeGrid(duration, fps, stride, start, offset)
    np.testing.assert_allclose(grid.grid_to_seconds(grid.seconds_to_grid(seconds)), seconds, atol=1e-7)


@settings(max_examples=200, deadline=None)
@given(
    duration=st.floats(0.5, 5000),
    length=st.integers(1, 2048),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_resize_round_trip(duration, length, fractions):
    seconds = np.array(fractions) * duration
    grid = TimeGrid(duration=duration, resize_length=length)
    np.testing.assert_allclose(
        grid.grid_to_seconds(grid.seconds_to_grid(seconds)), seconds, atol=1e-7 * duration
    )
    steps = np.array(fractions) * length
    np.testing.assert_allclose(grid.seconds_to_grid(grid.grid_to_seconds(steps)), steps, atol=1e-7 * length)
