"""Ground-truth reading (ActivityNet JSON, THUMOS14 text files), cleaning, subsets and blocked lists."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest

from tad_eval import (
    GroundTruth,
    InputError,
    clean_instances,
    load_blocked,
    load_ground_truth,
    read_thumos_txt,
)
from tad_eval.ground_truth import thumos_files

THUMOS14_TEST_COUNTS = {
    "BaseballPitch": 41,
    "BasketballDunk": 488,
    "Billiards": 106,
    "CleanAndJerk": 98,
    "CliffDiving": 217,
    "CricketBowling": 138,
    "CricketShot": 170,
    "Diving": 388,
    "FrisbeeCatch": 48,
    "GolfSwing": 36,
    "HammerThrow": 242,
    "HighJump": 135,
    "JavelinThrow": 169,
    "LongJump": 142,
    "PoleVault": 399,
    "Shotput": 144,
    "SoccerPenalty": 48,
    "TennisSwing": 141,
    "ThrowDiscus": 88,
    "VolleyballSpiking": 120,
}


@pytest.fixture
def thumos_folder(tmp_path):
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "Diving_test.txt").write_text("video_test_1  1.0 2.5\nvideo_test_2 10 12\n\n")
    (folder / "BaseballPitch_test.txt").write_text("video_test_2 3.5 4.0\n")
    (folder / "Ambiguous_test.txt").write_text("video_test_3 0 1\n")
    (folder / "Diving_val.txt").write_text("video_validation_1 5 6\n")
    (folder / "readme.txt").write_text("not an annotation file\n")
    return folder


def test_read_thumos_txt_folder_excludes_ambiguous_and_orders_by_file(thumos_folder):
    assert read_thumos_txt(thumos_folder, split="test") == [
        ("video_test_2", 3.5, 4.0, "BaseballPitch"),
        ("video_test_1", 1.0, 2.5, "Diving"),
        ("video_test_2", 10.0, 12.0, "Diving"),
    ]
    everything = read_thumos_txt(thumos_folder, include_ambiguous=True)
    assert ("video_test_3", 0.0, 1.0, "Ambiguous") in everything
    assert ("video_validation_1", 5.0, 6.0, "Diving") in everything
    assert len(everything) == 5


def test_read_thumos_txt_single_file(thumos_folder):
    assert read_thumos_txt(thumos_folder / "Diving_test.txt") == [
        ("video_test_1", 1.0, 2.5, "Diving"),
        ("video_test_2", 10.0, 12.0, "Diving"),
    ]


def test_thumos_files_give_label_and_split_per_file(thumos_folder):
    assert [(file.name, label, split) for file, label, split in thumos_files(thumos_folder)] == [
        ("BaseballPitch_test.txt", "BaseballPitch", "test"),
        ("Diving_test.txt", "Diving", "test"),
        ("Diving_val.txt", "Diving", "val"),
    ]
    assert thumos_files(thumos_folder, split="VAL") == [(thumos_folder / "Diving_val.txt", "Diving", "val")]
    assert thumos_files(thumos_folder / "readme.txt") == [(thumos_folder / "readme.txt", "readme", "")]
    with pytest.raises(InputError, match="absent: file: not found"):
        thumos_files(thumos_folder / "absent")


def test_read_thumos_txt_bad_line_names_file_and_line(thumos_folder):
    (thumos_folder / "Shotput_test.txt").write_text("video_test_9 1 2\nvideo_test_9 one 2\n")
    with pytest.raises(InputError, match=r"Shotput_test\.txt: line 2 start: not a number: 'one'"):
        read_thumos_txt(thumos_folder)
    (thumos_folder / "Shotput_test.txt").write_text("video_test_9 1\n")
    with pytest.raises(InputError, match=r"Shotput_test\.txt: line 1: expected 'video start end'"):
        read_thumos_txt(thumos_folder)


def test_read_thumos_txt_with_windows_line_ends(thumos_folder):
    (thumos_folder / "Shotput_test.txt").write_bytes(b"video_test_9 1 2\r\nvideo_test_9 3 4\r\n")
    assert read_thumos_txt(thumos_folder / "Shotput_test.txt") == [
        ("video_test_9", 1.0, 2.0, "Shotput"),
        ("video_test_9", 3.0, 4.0, "Shotput"),
    ]


def test_read_thumos_txt_negative_time_is_an_error(thumos_folder):
    (thumos_folder / "Shotput_test.txt").write_text("video_test_9 -3 -1\n")
    with pytest.raises(InputError, match=re.escape("Shotput_test.txt: line 1: negative time: [-3.0, -1.0]")):
        load_ground_truth(thumos_folder, subset="test")


def test_read_thumos_txt_non_finite_time_is_an_error(thumos_folder):
    (thumos_folder / "Shotput_test.txt").write_text("video_test_9 nan 2\n")
    with pytest.raises(InputError, match=r"Shotput_test\.txt: line 1 start: not a finite number: 'nan'"):
        load_ground_truth(thumos_folder, subset="test")


def test_read_thumos_txt_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no THUMOS14 annotation files"):
        read_thumos_txt(tmp_path)


def test_load_ground_truth_from_thumos_folder_with_subset(thumos_folder):
    truth = load_ground_truth(thumos_folder, subset="Test")
    assert truth.videos == ("video_test_2", "video_test_1")
    assert truth.classes == ("BaseballPitch", "Diving")
    assert len(truth) == 3
    with pytest.raises(
        InputError, match=re.escape("no videos in subset 'training'; subsets in the file: ['test', 'val']")
    ):
        load_ground_truth(thumos_folder, subset="training")


def test_json_ground_truth_arrays_subset_and_durations(anet_gt, write_json):
    path = anet_gt({"a": [(1, 2, "Run"), ("3.5", "7", "Jump")], "b": [], "c": [(0, 4, "Run")]})
    truth = load_ground_truth(path, subset="Validation")
    assert truth.videos == ("a", "b", "c")
    assert truth.classes == ("Run", "Jump")
    assert truth.video_index.tolist() == [0, 0, 2]
    assert truth.segments.tolist() == [[1, 2], [3.5, 7], [0, 4]]
    assert truth.label_index.tolist() == [0, 1, 0]
    assert list(truth.labels) == ["Run", "Jump", "Run"]
    assert truth.durations.tolist() == [100.0, 100.0, 100.0]
    assert truth.subset == "Validation" and truth.cleaned


def test_subset_with_no_videos_lists_existing_subsets(write_json):
    database = {
        "a": {"subset": "training", "annotations": []},
        "b": {"subset": "validation", "annotations": []},
    }
    path = write_json("gt.json", {"database": database})
    with pytest.raises(InputError) as caught:
        load_ground_truth(path, subset="testing")
    assert str(caught.value) == (
        f"{path}: subset: no videos in subset 'testing'; subsets in the file: ['training', 'validation']"
    )


@pytest.mark.parametrize(
    ("database", "field"),
    [
        ({"a": {"subset": "validation"}}, "database['a'].annotations"),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [1, "x"], "label": "R"}]}},
            "database['a'].annotations[0].segment[1]",
        ),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [1, 2], "label": 7}]}},
            "database['a'].annotations[0].label",
        ),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [1, 2]}]}},
            "database['a'].annotations[0]",
        ),
        ({"a": {"subset": "validation", "duration": "long", "annotations": []}}, "database['a'].duration"),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [float("nan"), 2], "label": "R"}]}},
            "database['a'].annotations[0].segment[0]",
        ),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [1, "inf"], "label": "R"}]}},
            "database['a'].annotations[0].segment[1]",
        ),
        (
            {"a": {"subset": "validation", "annotations": [{"segment": [-3, -1], "label": "R"}]}},
            "database['a'].annotations[0].segment",
        ),
        ({"a": {"subset": "validation", "duration": -5, "annotations": []}}, "database['a'].duration"),
    ],
)
def test_malformed_ground_truth_names_the_field(write_json, database, field):
    path = write_json("gt.json", {"database": database})
    with pytest.raises(InputError, match="^" + re.escape(f"{path}: {field}: ")):
        load_ground_truth(path)


def test_missing_database_is_an_input_error(write_json):
    path = write_json("gt.json", {"results": {}})
    with pytest.raises(InputError, match=re.escape(f"{path}: database: missing")):
        load_ground_truth(path)


def test_cleaning_drops_zero_length_inverted_and_duplicates_counting_them():
    instances = [
        ("v", 1.0, 5.0, "A"),
        ("v", 1.0005, 4.9995, "A"),  # duplicate of the first (both ends within 1e-3)
        ("v", 1.0005, 4.9995, "B"),  # other label: kept
        ("v", 1.0, 5.002, "A"),  # end differs by 2e-3: kept
        ("w", 1.0, 5.0, "A"),  # other video: kept
        ("v", 3.0, 3.0, "A"),  # zero length
        ("v", 6.0, 2.0, "A"),  # inverted
        ("v", 1.0, 5.0, "A"),  # exact duplicate
    ]
    kept, zero_length, duplicates = clean_instances(instances)
    assert kept == [instances[0], instances[2], instances[3], instances[4]]
    assert (zero_length, duplicates) == (2, 2)
    truth = GroundTruth.from_instances(instances)
    assert len(truth) == 4
    assert truth.warnings == (
        "ground truth: dropped 2 of 8 instances with end - start <= 0",
        "ground truth: dropped 2 of 8 instances duplicating an earlier one "
        "(same video and label, start and end within 0.001 s)",
    )
    raw = GroundTruth.from_instances(instances, clean=False)
    assert len(raw) == 8 and raw.warnings == (
        "ground truth: raw (--raw-gt): zero-length and duplicate instances kept, as the ActivityNet "
        "evaluation server does",
    )
    assert raw.segments[6].tolist() == [6.0, 2.0]


def test_duplicate_is_compared_with_kept_instances_only():
    # The second is a duplicate of the first and is dropped; the third is within 1e-3 of the
    # (dropped) second but not of the first, so it stays.
    kept, _, duplicates = clean_instances(
        [("v", 0.0, 1.0, "A"), ("v", 0.0009, 1.0, "A"), ("v", 0.0018, 1.0, "A")]
    )
    assert [item[1] for item in kept] == [0.0, 0.0018] and duplicates == 1


def test_class_with_only_dropped_instances_is_not_a_class():
    truth = GroundTruth.from_instances([("v", 1, 2, "A"), ("v", 2, 2, "B")])
    assert truth.classes == ("A",)
    assert GroundTruth.from_instances([("v", 1, 2, "A"), ("v", 2, 2, "B")], clean=False).classes == ("A", "B")


@pytest.mark.parametrize("content", ['["b", "c"]', "b\nc\n", "# blocked\nb\n\n  c  \n"])
def test_blocked_list_as_json_or_lines(tmp_path, anet_gt, content):
    blocked = tmp_path / "blocked.txt"
    blocked.write_text(content)
    assert load_blocked(blocked) == frozenset({"b", "c"})
    path = anet_gt({"a": [(1, 2, "Run")], "b": [(1, 2, "Run")], "c": [(3, 4, "Jump")]})
    truth = load_ground_truth(path, "validation", blocked=blocked)
    assert truth.videos == ("a",) and truth.classes == ("Run",)
    assert load_ground_truth(path, "validation", blocked=["a"]).videos == ("b", "c")


def test_blocked_json_with_non_strings_is_an_error(tmp_path):
    blocked = tmp_path / "blocked.json"
    blocked.write_text("[1, 2]")
    with pytest.raises(InputError, match="blocked videos: expected a list of video id strings, found 1"):
        load_blocked(blocked)


def test_real_thumos14_official_test_files(shared_data):
    folder = shared_data / "thumos14" / "official_test_txt"
    instances = read_thumos_txt(folder)
    assert collections.Counter(label for *_, label in instances) == THUMOS14_TEST_COUNTS
    assert len(instances) == 3358
    videos = {video for video, *_ in instances}
    assert len(videos) == 212
    # video_test_0000270 has (HammerThrow) instances; video_test_0001292 appears only in Ambiguous.
    assert "video_test_0000270" in videos and "video_test_0001292" not in videos
    with_ambiguous = read_thumos_txt(folder, include_ambiguous=True)
    assert len(with_ambiguous) == 3358 + 99
    assert "video_test_0001292" in {video for video, *_ in with_ambiguous}
    truth = load_ground_truth(folder, subset="test")
    assert len(truth) == 3358 and truth.warnings == () and len(truth.classes) == 20


def test_real_thumos14_json_equals_official_text_files(shared_data):
    from_json = load_ground_truth(shared_data / "thumos14" / "thumos14_gt.json", subset="Test")
    from_text = load_ground_truth(shared_data / "thumos14" / "official_test_txt", subset="test")
    assert len(from_json.videos) == 212 and len(from_json) == 3358

    def instances(truth):
        videos = np.array(truth.videos, dtype=object)[truth.video_index]
        return collections.Counter(
            zip(videos, map(tuple, truth.segments.tolist()), truth.labels, strict=True)
        )

    assert instances(from_json) == instances(from_text)


def test_real_activitynet13_validation_cleaning_counts(shared_data):
    path = shared_data / "activitynet13" / "activity_net_v1-3_gt.json"
    cleaned = load_ground_truth(path, subset="validation")
    raw = load_ground_truth(path, subset="validation", clean=False)
    assert len(raw) == 7293 and len(raw.videos) == 4728 and len(raw.classes) == 200
    assert (cleaned.dropped_zero_length, cleaned.dropped_duplicates) == (3, 19)
    assert len(cleaned) == 7293 - 22 and len(cleaned.videos) == 4728 and len(cleaned.classes) == 200
    assert cleaned.warnings[0] == "ground truth: dropped 3 of 7293 instances with end - start <= 0"
