"""The internal annotation format: reading, validation, deterministic writing, class lists, repair."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from tad_data import (
    AnnotationSet,
    Instance,
    TadDataError,
    TadDataWarning,
    VideoRecord,
    class_list_path,
    load_annotations,
    read_class_list,
    repair_instances,
    save_annotations,
    write_class_list,
)


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def database(**videos: dict) -> dict:
    return {"version": "test", "database": videos}


def video(subset: str = "training", annotations: list | None = None, **fields: object) -> dict:
    return {"subset": subset, "annotations": annotations if annotations is not None else [], **fields}


def test_load_reads_every_field_and_derives_sorted_classes(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "anno.json",
        database(
            v2=video(
                "Validation",
                [{"segment": [1.5, 3.0], "label": "jump"}],
                duration=10.0,
                fps=25,
                num_frames=250,
            ),
            v1=video("training", [{"segment": [0, 2], "label": "run"}, {"segment": [4, 5], "label": "jump"}]),
        ),
    )
    loaded = load_annotations(path)
    assert loaded.classes == ("jump", "run")
    assert loaded.version == "test"
    assert loaded.videos["v2"] == VideoRecord(
        "v2", "validation", 10.0, 25.0, 250, (Instance(1.5, 3.0, "jump"),)
    )
    assert loaded.videos["v1"].duration is None and loaded.videos["v1"].fps is None
    assert loaded.videos["v1"].instances == (Instance(0.0, 2.0, "run"), Instance(4.0, 5.0, "jump"))
    assert loaded.subsets == ("training", "validation")
    assert [record.video_id for record in loaded.subset("VALIDATION")] == ["v2"]
    assert loaded.class_index == {"jump": 0, "run": 1}
    assert loaded.num_instances == 3


def test_numbers_as_strings_and_opentad_frame_field_are_read(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "anno.json",
        database(
            v=video(annotations=[{"segment": ["1.25", " 2 "], "label": "a"}], duration="12.5", frame="300")
        ),
    )
    record = load_annotations(path).videos["v"]
    assert (record.duration, record.num_frames, record.instances[0].start, record.instances[0].end) == (
        12.5,
        300,
        1.25,
        2.0,
    )


def test_real_thumos_json_loads_as_is(shared_data: Path) -> None:
    loaded = load_annotations(shared_data / "thumos14" / "thumos14_gt.json")
    test = loaded.subset("Test")
    assert len(test) == 212
    assert sum(len(record.instances) for record in test) == 3358
    assert len(loaded.subset("validation")) == 200
    assert len(loaded.classes) == 20
    assert loaded.classes[5] == "CricketBowling"  # same ids as ActionFormer's label_id (sorted names)
    assert "video_test_0001292" not in loaded.videos


def test_real_activitynet_loads_as_is(shared_data: Path) -> None:
    loaded = load_annotations(shared_data / "activitynet13" / "activity_net_v1-3_gt.json")
    validation = loaded.subset("validation")
    assert len(validation) == 4728
    assert sum(len(record.instances) for record in validation) == 7293  # faithful: zero-length ones kept
    assert len(loaded.subset("training")) == 9649
    assert len(loaded.classes) == 200


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"annotations": []}, ["'v1'", "'subset'", "nothing"]),
        (video(duration="long"), ["'v1'", "'duration'", "'long'"]),
        (video(duration=-3), ["'v1'", "'duration'", "-3"]),
        (video(fps=True), ["'v1'", "'fps'", "bool"]),
        (video(num_frames=12.5), ["'v1'", "'num_frames'", "12.5"]),
        (video(num_frames=10, frame=11), ["'v1'", "'num_frames'", "11"]),
        (video(annotations={"segment": [0, 1]}), ["'v1'", "'annotations'", "dict"]),
        (video(annotations=[{"segment": [0], "label": "a"}]), ["'v1'", "annotations[0].segment", "[0]"]),
        (
            video(annotations=[{"segment": [0, "x"], "label": "a"}]),
            ["'v1'", "annotations[0].segment[1]", "'x'"],
        ),
        (video(annotations=[{"segment": [0, float("nan")], "label": "a"}]), ["'v1'", "segment[1]", "nan"]),
        (
            video(annotations=[{"segment": [5, 2], "label": "a"}]),
            ["'v1'", "annotations[0].segment", "before"],
        ),
        (
            video(annotations=[{"segment": [-3, -1], "label": "a"}]),
            ["'v1'", "annotations[0].segment", "negative time [-3.0, -1.0]"],
        ),
        (video(annotations=[{"segment": [0, 1], "label": 7}]), ["'v1'", "annotations[0].label", "7"]),
        ("not an object", ["'v1'", "str"]),
    ],
)
def test_schema_errors_name_file_video_field_and_value(
    tmp_path: Path, entry: object, expected: list[str]
) -> None:
    path = write_json(tmp_path / "bad.json", database(v1=entry))
    with pytest.raises(TadDataError) as caught:
        load_annotations(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_top_level_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"database": {', encoding="utf-8")
    with pytest.raises(TadDataError, match=r"broken.json: line 1 column 15: invalid JSON"):
        load_annotations(broken)
    with pytest.raises(TadDataError, match="'database'"):
        load_annotations(write_json(tmp_path / "list.json", {"database": []}))
    with pytest.raises(TadDataError, match="absent.json: file: No such file"):
        load_annotations(tmp_path / "absent.json")
    latin1 = tmp_path / "latin1.classes.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(TadDataError, match="latin1.classes.txt: byte 3: not UTF-8 text"):
        read_class_list(latin1)


def test_class_list_file_orders_classes_and_rejects_unknown_labels(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "anno.json", database(v=video(annotations=[{"segment": [0, 1], "label": "b"}]))
    )
    classes = tmp_path / "my_classes.txt"
    classes.write_text("c\nb\na\n\n", encoding="utf-8")
    assert load_annotations(path, classes).classes == ("c", "b", "a")
    classes.write_text("a\nc\n", encoding="utf-8")
    with pytest.raises(TadDataError) as caught:
        load_annotations(path, classes)
    assert "'v'" in str(caught.value) and "'b'" in str(caught.value) and "my_classes.txt" in str(caught.value)


def test_class_list_beside_the_annotation_file_is_used_automatically(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "anno.json", database(v=video(annotations=[{"segment": [0, 1], "label": "b"}]))
    )
    assert class_list_path(path) == tmp_path / "anno.classes.txt"
    class_list_path(path).write_text("z\nb\n", encoding="utf-8")
    assert load_annotations(path).classes == ("z", "b")


def test_read_class_list_errors(tmp_path: Path) -> None:
    path = tmp_path / "classes.txt"
    path.write_text("a\n\nb\n", encoding="utf-8")
    with pytest.raises(TadDataError, match="line 2"):
        read_class_list(path)
    path.write_text("a\nb\na\n", encoding="utf-8")
    with pytest.raises(TadDataError, match="line 3.*'a'.*line 1"):
        read_class_list(path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(TadDataError, match="empty"):
        read_class_list(path)
    with pytest.raises(TadDataError, match="one-name-per-line"):
        write_class_list(["ok", "two\nlines"], tmp_path / "out.txt")


def test_save_is_deterministic_sorted_and_round_trips(tmp_path: Path) -> None:
    records = {
        "b": VideoRecord(
            "b",
            "validation",
            7.5,
            30.0,
            225,
            (Instance(3.0, 4.0, "x"), Instance(0.1, 0.30000000000000004, "y")),
        ),
        "a": VideoRecord("a", "training", None, None, None, ()),
    }
    first = AnnotationSet(videos=records, classes=("y", "x"), version="v1")
    second = AnnotationSet(videos=dict(reversed(list(records.items()))), classes=("y", "x"), version="v1")
    save_annotations(first, tmp_path / "one.json", tmp_path / "one.txt")
    save_annotations(second, tmp_path / "two.json")
    one = (tmp_path / "one.json").read_bytes()
    assert one == (tmp_path / "two.json").read_bytes()
    assert (tmp_path / "one.txt").read_text(encoding="utf-8") == "y\nx\n"
    document = json.loads(one)
    assert list(document["database"]) == ["a", "b"]
    assert document["database"]["b"]["annotations"] == [
        {"label": "y", "segment": [0.1, 0.30000000000000004]},
        {"label": "x", "segment": [3.0, 4.0]},
    ]
    assert document["database"]["a"] == {
        "annotations": [],
        "duration": None,
        "fps": None,
        "num_frames": None,
        "subset": "training",
    }
    reloaded = load_annotations(tmp_path / "one.json", tmp_path / "one.txt")
    assert reloaded.classes == ("y", "x")
    assert reloaded.videos["b"].instances == (
        Instance(0.1, 0.30000000000000004, "y"),
        Instance(3.0, 4.0, "x"),
    )
    save_annotations(reloaded, tmp_path / "three.json")
    assert (tmp_path / "three.json").read_bytes() == one


def test_annotation_set_checks_labels_and_subset_lookup() -> None:
    record = VideoRecord("v", "training", None, None, None, (Instance(0.0, 1.0, "a"),))
    with pytest.raises(TadDataError, match="'v'.*unknown label 'a'"):
        AnnotationSet(videos={"v": record}, classes=("b",))
    with pytest.raises(TadDataError, match="duplicate"):
        AnnotationSet(videos={}, classes=("a", "a"))
    with pytest.raises(TadDataError, match="holds the record"):
        AnnotationSet(videos={"w": record}, classes=("a",))
    annotations = AnnotationSet(videos={"v": record}, classes=("a",))
    with pytest.raises(TadDataError, match=r"subset 'testing'.*\['training'\]"):
        annotations.subset("testing")


def test_repair_drops_zero_length_clips_and_warns_naming_videos() -> None:
    annotations = AnnotationSet(
        videos={
            "short": VideoRecord(
                "short",
                "training",
                10.0,
                None,
                None,
                (
                    Instance(2.0, 2.0, "a"),  # zero length: dropped
                    Instance(8.0, 12.0, "a"),  # past the end: clipped to 10
                    Instance(11.0, 13.0, "a"),  # starts after the end: dropped
                    Instance(-1.0, 1.0, "a"),  # before the start: clipped to 0
                    Instance(3.0, 4.0, "a"),  # fine
                ),
            ),
            "unknown": VideoRecord("unknown", "training", None, None, None, (Instance(5.0, 500.0, "a"),)),
        },
        classes=("a",),
        source="file.json",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        repaired = repair_instances(annotations)
    assert repaired.videos["short"].instances == (
        Instance(8.0, 10.0, "a"),
        Instance(0.0, 1.0, "a"),
        Instance(3.0, 4.0, "a"),
    )
    assert repaired.videos["unknown"].instances == (Instance(5.0, 500.0, "a"),)
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, TadDataWarning)]
    assert len(messages) == 3
    assert all(message.startswith("file.json:") and "short" in message for message in messages)
    assert any("zero-length annotation(s): 1" in message for message in messages)
    assert any("outside the video: 1" in message for message in messages)
    assert any("clipped annotation(s) reaching outside the video: 2" in message for message in messages)


def test_repair_is_silent_when_nothing_needs_repair() -> None:
    annotations = AnnotationSet(
        videos={"v": VideoRecord("v", "training", 5.0, None, None, (Instance(0.0, 5.0, "a"),))},
        classes=("a",),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repair_instances(annotations) == annotations
