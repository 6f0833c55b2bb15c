"""Decoding with decord: colours, frame counts, frame order, and every kind of broken video."""

from __future__ import annotations

import warnings

import av
import numpy as np
import pytest

from tad_data.errors import TadDataError, TadDataWarning
from tad_data.video import decode_frames, open_video, read_frames, video_info, warn_frame_count_mismatch

#: Solid colours written one per frame; yuv420p round trips them to within a few levels.
COLOURS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [255, 255, 255], [0, 0, 0], [200, 120, 40]],
    dtype=np.uint8,
)


@pytest.fixture
def colour_video(tmp_path, write_video):
    frames = np.broadcast_to(COLOURS[:, None, None, :], (len(COLOURS), 48, 80, 3))
    return write_video(tmp_path / "colours.mp4", frames, fps=12)


def test_decode_all_frames_gives_the_written_colours(colour_video):
    frames = decode_frames(colour_video)
    assert frames.dtype == np.uint8 and frames.shape == (len(COLOURS), 48, 80, 3)
    means = frames.reshape(len(COLOURS), -1, 3).mean(axis=1)
    np.testing.assert_allclose(means, COLOURS, atol=6)


def test_decode_selected_indices_in_the_given_order(colour_video):
    frames = decode_frames(colour_video, [4, 0, 0, 2])
    means = frames.reshape(4, -1, 3).mean(axis=1)
    np.testing.assert_allclose(means, COLOURS[[4, 0, 0, 2]], atol=6)


def test_video_info_reads_count_fps_and_size(colour_video):
    info = video_info(colour_video)
    assert (info.num_frames, info.fps, info.height, info.width) == (len(COLOURS), 12.0, 48, 80)
    assert info.duration == pytest.approx(len(COLOURS) / 12)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(TadDataError, match="nope.mp4: video file not found"):
        decode_frames(tmp_path / "nope.mp4")


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(TadDataError, match="corrupt.mp4: cannot open the video"):
        decode_frames(path)


def test_truncated_file_without_index_names_the_file(tmp_path, colour_video):
    path = tmp_path / "truncated.mp4"
    path.write_bytes(colour_video.read_bytes()[: colour_video.stat().st_size // 2])  # the index is at the end
    with pytest.raises(TadDataError, match="truncated.mp4: cannot open the video"):
        video_info(path)


def test_truncated_data_with_index_first_fails_when_decoding(tmp_path, write_video):
    noise = np.random.default_rng(1).integers(0, 256, (60, 64, 96, 3), dtype=np.uint8)
    whole = write_video(tmp_path / "whole.mp4", noise, faststart=True)
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    with pytest.raises(TadDataError, match="cut.mp4"):
        decode_frames(path)


def test_zero_frame_video_names_the_file(tmp_path):
    path = tmp_path / "empty.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(TadDataError, match="empty.mp4"):
        decode_frames(path)


def test_index_out_of_range_names_file_and_index(colour_video):
    reader = open_video(colour_video)
    with pytest.raises(TadDataError, match=r"colours.mp4: frame index 7 is outside the video's 7 frames"):
        read_frames(reader, [0, 7], colour_video)


def test_frame_count_mismatch_warns_once_per_video(tmp_path):
    path = tmp_path / "v.mp4"
    with pytest.warns(TadDataWarning, match="'vid-a': the annotation says 10 frames but 9 decode; using 9"):
        warn_frame_count_mismatch("vid-a", 10, 9, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_frame_count_mismatch("vid-a", 10, 9, path)  # already warned: silent
        warn_frame_count_mismatch("vid-b", 9, 9, path)  # agrees: silent
        warn_frame_count_mismatch("vid-c", None, 9, path)  # unknown: silent
