"""Converters from each dataset's official files, on small files written in the official formats
and on the real THUMOS14 / ActivityNet annotation files."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tad_eval
from tad_data import (
    Instance,
    TadDataError,
    TadDataWarning,
    convert_dataset,
    load_annotations,
    write_conversion,
)
from tad_data.converters import DATASETS, dataset_converter
from tad_data.converters.thumos import SPLIT_SUBSETS
from tad_eval.datasets import THUMOS_SPLITS


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def grey_frames(count: int) -> np.ndarray:
    """``count`` flat grey 64x96 RGB frames (the converters only read the frame count and fps)."""
    return np.full((count, 64, 96, 3), 128, dtype=np.uint8)


def only(conversion):  # the single output of a one-output dataset
    assert list(conversion.outputs) == [""]
    return conversion.outputs[""]


# ---------------------------------------------------------------------------------------------------------
# THUMOS14


@pytest.fixture
def thumos_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "thumos"
    write(folder / "Diving_val.txt", "video_validation_0000001 1.0 2.5\nvideo_validation_0000001  4.0 6.0\n")
    write(folder / "CliffDiving_val.txt", "video_validation_0000001 1.0 2.5\n")
    write(folder / "Diving_test.txt", "video_test_0000001 0.5 1.5\nvideo_test_0000002 3.0 9.0\n")
    write(folder / "Ambiguous_test.txt", "video_test_0000001 1.6 1.9\nvideo_test_0000003 0.0 1.0\n")
    write(folder / "readme.txt", "not an annotation file\n")
    return folder


def test_thumos_text_files_give_role_subsets_without_ambiguous(thumos_folder: Path) -> None:
    converted = only(convert_dataset("thumos14", [thumos_folder]))
    assert converted.classes == ("CliffDiving", "Diving")
    assert set(converted.videos) == {"video_validation_0000001", "video_test_0000001", "video_test_0000002"}
    assert converted.videos["video_validation_0000001"].subset == "training"
    assert converted.videos["video_test_0000002"].subset == "validation"
    assert converted.videos["video_test_0000002"].duration is None
    assert Counter(converted.videos["video_validation_0000001"].instances) == Counter(
        [Instance(1.0, 2.5, "Diving"), Instance(4.0, 6.0, "Diving"), Instance(1.0, 2.5, "CliffDiving")]
    )
    assert converted.num_instances == 5


def test_thumos_videos_fill_durations_clip_and_list_missing(
    thumos_folder: Path, tmp_path: Path, write_video: Callable[..., Path]
) -> None:
    videos = tmp_path / "videos"
    write_video(videos / "video_test_0000002.mp4", grey_frames(50), fps=10)  # 5 s: [3, 9] -> [3, 5]
    with pytest.warns(TadDataWarning, match="video_test_0000002"):
        conversion = convert_dataset("thumos14", [thumos_folder / "Diving_test.txt"], videos_dir=videos)
    record = only(conversion).videos["video_test_0000002"]
    assert (record.num_frames, record.fps, record.duration) == (50, 10.0, 5.0)
    assert record.instances == (Instance(3.0, 5.0, "Diving"),)
    assert conversion.missing_videos == ("video_test_0000001",)
    written = write_conversion(conversion, tmp_path / "out" / "thumos.json")
    assert [path.name for path in written] == ["thumos.json", "thumos.classes.txt", "thumos.missing.txt"]
    assert (tmp_path / "out" / "thumos.missing.txt").read_text(encoding="utf-8") == "video_test_0000001\n"


def test_thumos_subset_from_file_name_for_other_ids_and_bad_lines(tmp_path: Path) -> None:
    converted = only(convert_dataset("thumos", [write(tmp_path / "Run_val.txt", "clipA 1 2\n")]))
    assert converted.videos["clipA"].subset == "training"
    with pytest.raises(TadDataError, match="clipB"):
        convert_dataset("thumos14", [write(tmp_path / "Run.txt", "clipB 1 2\n")])
    with pytest.raises(TadDataError, match="Jump_test.txt.*line 2"):
        convert_dataset("thumos14", [write(tmp_path / "Jump_test.txt", "video_test_1 1 2\nvideo_test_1 1\n")])
    with pytest.raises(TadDataError, match=r"Hop_test.txt.*'video_test_1'.*\[5.0, 2.0\]"):
        convert_dataset("thumos14", [write(tmp_path / "Hop_test.txt", "video_test_1 5 2\n")])


def test_thumos_folder_without_annotation_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "empty" / "readme.txt", "not an annotation file\n")
    with pytest.raises(TadDataError, match="empty: files: no THUMOS14 annotation files"):
        convert_dataset("thumos14", [tmp_path / "empty"])
    with pytest.raises(FileNotFoundError):
        convert_dataset("thumos14", [tmp_path / "absent"])


def test_real_thumos_test_text_files_give_every_non_ambiguous_instance(shared_data: Path) -> None:
    converted = only(convert_dataset("thumos14", [shared_data / "thumos14" / "official_test_txt"]))
    assert len(converted.videos) == 212
    assert converted.num_instances == 3358
    assert converted.subsets == ("validation",)
    assert len(converted.classes) == 20 and "Ambiguous" not in converted.classes
    # The same instances, one for one, as ActionFormer's JSON test subset (which also drops Ambiguous).
    reference = load_annotations(shared_data / "thumos14" / "thumos14_gt.json")
    expected = Counter(
        (record.video_id, instance) for record in reference.subset("test") for instance in record.instances
    )
    got = Counter(
        (record.video_id, instance) for record in converted.videos.values() for instance in record.instances
    )
    assert got == expected


def test_real_thumos_json_is_accepted_and_mapped_to_roles(shared_data: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = only(convert_dataset("thumos14", [shared_data / "thumos14" / "thumos14_gt.json"]))
    assert len(converted.subset("training")) == 200
    assert len(converted.subset("validation")) == 212
    # video_test_0000270 (and 3 others) have instances starting after the JSON's duration: dropped, warned.
    assert any("video_test_0000270" in str(warning.message) for warning in caught)
    assert converted.videos["video_test_0000270"].duration == 176.25
    assert all(instance.end <= 176.25 for instance in converted.videos["video_test_0000270"].instances)


# ---------------------------------------------------------------------------------------------------------
# ActivityNet-1.3


def test_activitynet_official_json_with_videos_and_blocked_list(
    tmp_path: Path, write_video: Callable[..., Path]
) -> None:
    official = {
        "version": "VERSION 1.3",
        "taxonomy": [],
        "database": {
            "abc": {
                "subset": "training",
                "duration": 2.0,
                "resolution": "640x360",
                "url": "https://www.youtube.com/watch?v=abc",
                "annotations": [{"segment": [0.5, 2.7], "label": "Surfing"}],
            },
            "gone": {"subset": "validation", "duration": 5.0, "url": "", "annotations": []},
            "blocked1": {
                "subset": "validation",
                "duration": 5.0,
                "annotations": [{"segment": [1, 2], "label": "Rafting"}],
            },
            "t1": {"subset": "testing", "duration": 9.0, "annotations": []},
        },
    }
    source = write(tmp_path / "activity_net.v1-3.min.json", json.dumps(official))
    write_video(tmp_path / "videos" / "v_abc.mp4", grey_frames(30), fps=15)
    with pytest.warns(TadDataWarning, match="abc"):
        conversion = convert_dataset("ActivityNet-1.3", [source], tmp_path / "videos", blocked=["blocked1"])
    converted = only(conversion)
    assert set(converted.videos) == {"abc", "gone", "t1"}
    assert converted.videos["abc"].fps == 15.0 and converted.videos["abc"].num_frames == 30
    assert converted.videos["abc"].duration == 2.0  # the official duration is kept
    assert converted.videos["abc"].instances == (Instance(0.5, 2.0, "Surfing"),)
    assert converted.classes == ("Rafting", "Surfing")  # classes from the whole official file
    assert conversion.missing_videos == ("gone", "t1")
    assert converted.subsets == ("testing", "training", "validation")


def test_real_activitynet_counts(shared_data: Path) -> None:
    with pytest.warns(TadDataWarning):
        converted = only(
            convert_dataset("activitynet13", [shared_data / "activitynet13" / "activity_net_v1-3_gt.json"])
        )
    validation = converted.subset("validation")
    assert len(validation) == 4728
    assert sum(len(record.instances) for record in validation) == 7290  # 7,293 minus 3 zero-length
    assert len(converted.subset("training")) == 9649
    assert converted.num_instances == 22140  # 22,152 minus 12 zero-length
    assert len(converted.classes) == 200
    assert all(
        instance.end <= record.duration
        for record in converted.videos.values()
        for instance in record.instances
    )


# ---------------------------------------------------------------------------------------------------------
# EPIC-KITCHENS-100

EPIC_HEADER = (
    "narration_id,participant_id,video_id,narration_timestamp,start_timestamp,stop_timestamp,start_frame,"
    "stop_frame,narration,verb,verb_class,noun,noun_class,all_nouns,all_noun_classes\n"
)


@pytest.fixture
def epic_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "epic-kitchens-100-annotations"
    write(
        folder / "EPIC_100_train.csv",
        EPIC_HEADER
        + "P01_01_0,P01,P01_01,00:00:01.089,00:00:00.14,00:00:03.37,8,202,open door,open,1,door,2,"
        + "['door'],[2]\n"
        + 'P01_01_1,P01,P01_01,00:00:02.629,00:00:04.37,00:00:06.17,262,370,"turn on, light",take,0,light,1,'
        + "\"['light']\",[1]\n"
        + "P01_01_2,P01,P01_01,00:01:05.349,00:01:06.98,01:00:09.49,418,569,close door,close,2,door,2,"
        + "['door'],[2]\n",
    )
    write(
        folder / "EPIC_100_validation.csv",
        EPIC_HEADER
        + "P02_01_0,P02,P02_01,00:00:01.0,00:00:02.50,00:00:03.00,1,2,take tap,take,0,tap,0,['tap'],[0]\n",
    )
    write(
        folder / "EPIC_100_test_timestamps.csv",
        "narration_id,participant_id,video_id,start_timestamp,stop_timestamp,start_frame,stop_frame\n"
        "P03_01_0,P03,P03_01,00:00:01.00,00:00:02.00,60,120\n",
    )
    write(
        folder / "EPIC_100_video_info.csv",
        "video_id,duration,fps,resolution\nP01_01,3700.0,59.94,1920x1080\nP02_01,10.5,50.0,1920x1080\n"
        "P03_01,20.0,50.0,1920x1080\n",
    )
    write(
        folder / "EPIC_100_verb_classes.csv",
        "id,key,instances,category\n0,take,\"['take']\",x\n1,open,[],x\n2,close,[],x\n",
    )
    write(
        folder / "EPIC_100_noun_classes.csv",
        "id,key,instances,category\n0,tap,[],x\n1,light,[],x\n2,door,[],x\n",
    )
    write(folder / "EPIC_100_train.pkl", "ignored binary")
    return folder


def test_epic_gives_a_verb_and_a_noun_set_with_official_ids(epic_folder: Path, tmp_path: Path) -> None:
    conversion = convert_dataset("epic-kitchens-100", [epic_folder])
    verb, noun = conversion.outputs["verb"], conversion.outputs["noun"]
    assert verb.classes == ("take", "open", "close") and noun.classes == ("tap", "light", "door")
    assert verb.videos["P01_01"].instances == (
        Instance(0.14, 3.37, "open"),
        Instance(4.37, 6.17, "take"),
        Instance(66.98, 3609.49, "close"),
    )
    assert noun.videos["P01_01"].instances[1] == Instance(4.37, 6.17, "light")
    assert (verb.videos["P01_01"].subset, verb.videos["P02_01"].subset, verb.videos["P03_01"].subset) == (
        "training",
        "validation",
        "testing",
    )
    assert verb.videos["P02_01"].duration == 10.5 and verb.videos["P02_01"].fps is None
    assert verb.videos["P03_01"].instances == ()
    written = write_conversion(conversion, tmp_path / "out" / "epic.json")
    assert sorted(path.name for path in written) == [
        "epic_noun.classes.txt",
        "epic_noun.json",
        "epic_verb.classes.txt",
        "epic_verb.json",
    ]
    assert load_annotations(tmp_path / "out" / "epic_verb.json").classes == ("take", "open", "close")


def test_epic_without_class_files_uses_id_names(epic_folder: Path) -> None:
    verb = convert_dataset("epic", [epic_folder / "EPIC_100_train.csv"]).outputs["verb"]
    assert verb.classes == ("id_000", "id_001", "id_002")
    assert verb.videos["P01_01"].instances[0] == Instance(0.14, 3.37, "id_001")
    assert verb.videos["P01_01"].duration is None


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "x,P01,P01_01,0,00:00:0x.14,00:00:03.37,8,202,n,open,1,door,2,[],[]",
            ["line 2", "start_timestamp", "0x.14"],
        ),
        (
            "x,P01,P01_01,0,00:00:05.00,00:00:03.37,8,202,n,open,1,door,2,[],[]",
            ["line 2", "P01_01", "before"],
        ),
        (
            "x,P01,P01_01,0,00:00:01.00,00:00:03.37,8,202,n,open,one,door,2,[],[]",
            ["line 2", "verb_class", "'one'"],
        ),
        ("x,P01,,0,00:00:01.00,00:00:03.37,8,202,n,open,1,door,2,[],[]", ["line 2", "video_id", "missing"]),
    ],
)
def test_epic_bad_rows_name_file_row_field_and_value(tmp_path: Path, row: str, expected: list[str]) -> None:
    source = write(tmp_path / "EPIC_100_train.csv", EPIC_HEADER + row + "\n")
    with pytest.raises(TadDataError) as caught:
        convert_dataset("epic-kitchens-100", [source])
    assert str(source) in str(caught.value)
    for fragment in expected:
        assert fragment in str(caught.value)


def test_epic_missing_column_and_unknown_file(tmp_path: Path) -> None:
    source = write(
        tmp_path / "EPIC_100_train.csv", "video_id,start_timestamp,stop_timestamp,verb_class\nP01_01,a,b,1\n"
    )
    with pytest.raises(TadDataError, match=r"EPIC_100_train.csv: missing column\(s\) \['noun_class'\]"):
        convert_dataset("epic-kitchens-100", [source])
    with pytest.raises(TadDataError, match="not an official EPIC-KITCHENS-100 file"):
        convert_dataset("epic-kitchens-100", [write(tmp_path / "train.csv", "a\n")])


# ---------------------------------------------------------------------------------------------------------
# Ego4D moment queries


def ego4d_clip(
    clip_uid: str, start_sec: float, end_sec: float, start_frame: int, end_frame: int, labels: list
) -> dict:
    return {
        "clip_uid": clip_uid,
        "video_start_sec": start_sec,
        "video_end_sec": end_sec,
        "video_start_frame": start_frame,
        "video_end_frame": end_frame,
        "annotations": [{"annotator_uid": "a1", "labels": labels}],
    }


def ego4d_label(name: str, start: float, end: float, primary: bool = True) -> dict:
    return {"label": name, "video_start_time": start, "video_end_time": end, "primary": primary}


def test_ego4d_clips_primary_labels_clip_relative(tmp_path: Path) -> None:
    train = {
        "version": "v2",
        "date": "220429",
        "videos": [
            {
                "video_uid": "vid1",
                "split": "train",
                "clips": [
                    ego4d_clip(
                        "clipA",
                        100.0,
                        580.0,
                        3000,
                        17400,
                        [
                            ego4d_label("cut_veggies", 110.5, 130.25),
                            ego4d_label("wash_hands", 120.0, 125.0, primary=False),
                            ego4d_label("stir", 579.0, 600.0),
                        ],
                    ),
                    ego4d_clip("clipBroken", 0.0, 10.0, 0, 5, [ego4d_label("stir", 1.0, 2.0)]),  # 0.5 fps
                    ego4d_clip(
                        "clipNoPrimary", 0.0, 10.0, 0, 300, [ego4d_label("stir", 1.0, 2.0, primary=False)]
                    ),
                ],
            }
        ],
    }
    test = {
        "videos": [
            {
                "video_uid": "vid2",
                "split": "test",
                "clips": [{**ego4d_clip("clipT", 0, 8, 0, 240, []), "annotations": []}],
            }
        ]
    }
    folder = tmp_path / "ego4d"
    write(folder / "moments_train.json", json.dumps(train))
    write(folder / "moments_test_unannotated.json", json.dumps(test))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = only(convert_dataset("ego4d", [folder]))
    messages = [str(warning.message) for warning in caught]
    assert any("dropped 2 clip(s)" in message and "clipBroken" in message for message in messages)
    assert any("clipped annotation(s)" in message and "clipA" in message for message in messages)
    assert set(converted.videos) == {"clipA", "clipT"}
    clip = converted.videos["clipA"]
    assert (clip.subset, clip.duration, clip.num_frames, clip.fps) == ("training", 480.0, 14400, 30.0)
    assert clip.instances == (Instance(10.5, 30.25, "cut_veggies"), Instance(479.0, 480.0, "stir"))  # clipped
    assert converted.videos["clipT"].subset == "testing"
    assert converted.classes == ("cut_veggies", "stir")


def test_ego4d_schema_errors(tmp_path: Path) -> None:
    bad_split = write(
        tmp_path / "moments_val.json",
        json.dumps({"videos": [{"video_uid": "v", "split": "dev", "clips": []}]}),
    )
    with pytest.raises(TadDataError, match="moments_val.json: video 'v', field 'split'.*'dev'"):
        convert_dataset("ego4d-mq", [bad_split])
    clip = ego4d_clip("c", 0, 10, 0, 300, [ego4d_label("x", 1, 2)])
    del clip["video_end_sec"]
    missing = write(
        tmp_path / "moments_train.json",
        json.dumps({"videos": [{"video_uid": "v", "split": "train", "clips": [clip]}]}),
    )
    with pytest.raises(TadDataError, match="video 'c', field 'video_end_sec'"):
        convert_dataset("ego4d-mq", [missing])


# ---------------------------------------------------------------------------------------------------------
# Multi-THUMOS


def test_multithumos_per_class_files_and_class_list(tmp_path: Path) -> None:
    root = tmp_path / "multithumos"
    write(
        root / "annotations" / "Walk.txt",
        "video_validation_0000266 72.80 76.40\nvideo_test_0000004 1.0 2.0\n",
    )
    write(root / "annotations" / "BasketballDunk.txt", "video_test_0000004 1.5 1.9\n")
    write(root / "class_list.txt", "1 BasketballDunk\n2 Walk\n3 Sit\n")
    write(root / "README", "readme\n")
    converted = only(convert_dataset("multi-thumos", [root]))
    assert converted.classes == ("BasketballDunk", "Walk", "Sit")
    assert converted.videos["video_validation_0000266"].subset == "training"
    assert Counter(converted.videos["video_test_0000004"].instances) == Counter(
        [Instance(1.0, 2.0, "Walk"), Instance(1.5, 1.9, "BasketballDunk")]
    )
    write(root / "class_list.txt", "1 Walk\n")
    with pytest.raises(TadDataError, match="unknown label 'BasketballDunk'"):
        convert_dataset("multithumos", [root])


# ---------------------------------------------------------------------------------------------------------
# Charades

CHARADES_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"


def test_charades_actions_and_class_names(tmp_path: Path) -> None:
    folder = tmp_path / "Charades"
    write(
        folder / "Charades_v1_train.csv",
        CHARADES_HEADER
        + '46GP8,HR43,Kitchen,6,7,Yes,"A person cooks.",food;stove,"A person cooks.",'
        + '"c092 11.90 21.20;c147 0.00 12.60",24.83\n'
        + "ABCDE,HR43,Kitchen,6,7,Yes,s,o,d,,30.00\n",
    )
    write(
        folder / "Charades_v1_test.csv", CHARADES_HEADER + "TEST1,X,Garage,5,5,Yes,s,o,d,c000 1.0 40.0,31.5\n"
    )
    write(
        folder / "Charades_v1_classes.txt",
        "c000 Holding some clothes\nc092 Cooking something\nc147 Standing\n",
    )
    with pytest.warns(TadDataWarning, match="TEST1"):
        converted = only(convert_dataset("charades", [folder]))
    assert converted.classes == ("Holding some clothes", "Cooking something", "Standing")
    assert converted.videos["46GP8"].instances == (
        Instance(11.9, 21.2, "Cooking something"),
        Instance(0.0, 12.6, "Standing"),
    )
    assert converted.videos["46GP8"].duration == 24.83
    assert converted.videos["ABCDE"].instances == ()
    assert converted.videos["TEST1"].subset == "validation"
    assert converted.videos["TEST1"].instances == (Instance(1.0, 31.5, "Holding some clothes"),)


@pytest.mark.parametrize(
    ("actions", "length", "expected"),
    [
        ("c092 11.90", "24.8", ["'X1'", "'actions'", "'c092 11.90'"]),
        ("c092 11.90 abc", "24.8", ["'X1'", "'actions'", "'abc'"]),
        ("c092 11.90 3.0", "24.8", ["'X1'", "before"]),
        ("c092 -3 -1", "24.8", ["'X1'", "negative time in 'c092 -3 -1'"]),
        ("c999 1 2", "24.8", ["'X1'", "unknown class code 'c999'"]),
        ("c092 1 2", "long", ["'X1'", "'length'", "'long'"]),
    ],
)
def test_charades_bad_rows(tmp_path: Path, actions: str, length: str, expected: list[str]) -> None:
    write(tmp_path / "Charades_v1_classes.txt", "c092 Cooking something\n")
    source = write(
        tmp_path / "Charades_v1_train.csv", CHARADES_HEADER + f"X1,a,b,1,1,Yes,s,o,d,{actions},{length}\n"
    )
    with pytest.raises(TadDataError) as caught:
        convert_dataset("charades", [source, tmp_path / "Charades_v1_classes.txt"])
    assert f"{source}: line 2" in str(caught.value)
    for fragment in expected:
        assert fragment in str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# Common


def test_dataset_names_are_forgiving_and_unknown_ones_listed() -> None:
    assert dataset_converter("EPIC_Kitchens_100").name == "epic-kitchens-100"
    assert dataset_converter("Ego4D-MQ").name == "ego4d-mq"
    with pytest.raises(TadDataError, match="unknown dataset 'kinetics'.*thumos14.*charades"):
        dataset_converter("kinetics")


def test_converters_are_keyed_by_the_canonical_names_and_take_tad_evals_aliases() -> None:
    assert tuple(DATASETS) == tad_eval.DATASETS
    assert all(spec.name == name for name, spec in DATASETS.items())
    for alias in ("activitynet1.3", "anet", "ego4d", "epic", "epickitchens100", "Multi-THUMOS", "thumos"):
        assert dataset_converter(alias).name == tad_eval.canonical_dataset(alias)
    with pytest.raises(TadDataError, match="did you mean 'activitynet13'"):
        dataset_converter("activitynet12")


def test_thumos_file_splits_are_the_ones_tad_eval_reads() -> None:
    assert set(SPLIT_SUBSETS) == set(THUMOS_SPLITS)


def test_negative_times_in_thumos_text_files_are_an_error(tmp_path: Path) -> None:
    source = write(tmp_path / "Diving_test.txt", "video_test_0000001 1 2\nvideo_test_0000001 -3 -1\n")
    with pytest.raises(TadDataError, match=f"{source}: line 2: negative time"):
        convert_dataset("thumos14", [source])


def test_a_conversion_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    source = write(tmp_path / "Diving_test.txt", "video_test_0000001 1 2\n")
    (tmp_path / "videos").mkdir()
    conversion = convert_dataset("thumos14", [source], videos_dir=tmp_path / "videos")
    (tmp_path / "out" / "anno.missing.txt").mkdir(parents=True)  # the last file cannot be written
    with pytest.raises(IsADirectoryError, match="anno.missing.txt"):
        write_conversion(conversion, tmp_path / "out" / "anno.json")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["anno.missing.txt"]
    bad_class = convert_dataset(
        "thumos14", [write(tmp_path / " Diving_test.txt", "video_test_0000001 1 2\n")]
    )
    with pytest.raises(TadDataError, match="class name ' Diving' cannot be written"):
        write_conversion(bad_class, tmp_path / "out2" / "anno.json")
    assert not (tmp_path / "out2").exists()


def test_epic_verb_and_noun_files_are_written_together(epic_folder: Path, tmp_path: Path) -> None:
    conversion = convert_dataset("epic-kitchens-100", [epic_folder])
    (tmp_path / "out" / "epic_noun.classes.txt").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        write_conversion(conversion, tmp_path / "out" / "epic.json")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["epic_noun.classes.txt"]


def test_missing_source_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        convert_dataset("activitynet", [tmp_path / "absent.json"])


def test_undecodable_video_is_warned_about_and_listed_missing(tmp_path: Path) -> None:
    source = write(tmp_path / "Run_test.txt", "video_test_0000001 1 2\n")
    corrupt = write(tmp_path / "videos" / "video_test_0000001.mp4", "this is not an mp4 file")
    with pytest.warns(TadDataWarning, match=f"{corrupt}.*listed as missing"):
        conversion = convert_dataset("thumos14", [source], videos_dir=tmp_path / "videos")
    assert conversion.missing_videos == ("video_test_0000001",)
    assert only(conversion).videos["video_test_0000001"].duration is None


def test_one_task_of_epic_is_written_as_the_output(epic_folder: Path, tmp_path: Path, capsys) -> None:
    """`--task noun` writes only the nouns, under the requested name (the workflow's EPIC data entries)."""
    from tad_data.cli import main

    out = tmp_path / "noun" / "annotations.json"
    assert (
        main(["convert", "--dataset", "epic", "--src", str(epic_folder), "--task", "noun", "--out", str(out)])
        == 0
    )
    both = convert_dataset("epic-kitchens-100", [epic_folder])
    assert load_annotations(out).classes == both.outputs["noun"].classes != both.outputs["verb"].classes
    assert sorted(path.name for path in out.parent.iterdir()) == [
        "annotations.classes.txt",
        "annotations.json",
    ]
    assert (
        main(
            ["convert", "--dataset", "epic", "--src", str(epic_folder), "--task", "object", "--out", str(out)]
        )
        == 2
    )
    assert "--task: epic-kitchens-100 has no task 'object' (tasks: verb, noun)" in capsys.readouterr().err
