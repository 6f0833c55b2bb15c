"""``tad-data probe``: every annotated video exists, decodes and agrees with its annotation."""

from __future__ import annotations

import json
import shutil

import pytest

from tad_data.cli import main


def test_probe_clean_dataset_exits_0(synthetic_dataset, capsys):
    code = main(
        [
            "probe",
            "--videos",
            str(synthetic_dataset.video_dir),
            "--anno",
            str(synthetic_dataset.annotation_path),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == "checked 6 videos: no problems"


@pytest.fixture
def broken_copy(synthetic_dataset, tmp_path):
    """A copy of the synthetic dataset with one problem of each kind."""
    video_dir = tmp_path / "videos"
    shutil.copytree(synthetic_dataset.video_dir, video_dir)
    (video_dir / "synth_0001.mp4").unlink()  # missing
    data = (video_dir / "synth_0002.mp4").read_bytes()
    (video_dir / "synth_0002.mp4").write_bytes(data[: len(data) // 2])  # truncated
    document = json.loads(synthetic_dataset.annotation_path.read_text())
    database = document["database"]
    frames_3 = database["synth_0003"]["num_frames"]
    database["synth_0003"]["num_frames"] = frames_3 + 5  # wrong frame count
    database["synth_0004"]["fps"] = 30.0  # wrong fps
    anno = tmp_path / "anno.json"
    anno.write_text(json.dumps(document))
    shutil.copy(synthetic_dataset.classes_path, tmp_path / "anno.classes.txt")
    return video_dir, anno, frames_3


def test_probe_reports_each_problem_and_exits_1(broken_copy, capsys):
    video_dir, anno, frames_3 = broken_copy
    assert main(["probe", "--videos", str(video_dir), "--anno", str(anno)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["video", "problem", "detail"]
    rows = [line.split(maxsplit=2) for line in lines[1:-1]]
    assert [row[:2] for row in rows] == [
        ["synth_0001", "missing"],
        ["synth_0002", "undecodable"],
        ["synth_0003", "frame-count"],
        ["synth_0004", "fps"],
    ]
    assert rows[0][2].startswith("no synth_0001{.mp4|")
    assert "synth_0002.mp4: cannot open the video" in rows[1][2]
    assert rows[2][2] == f"annotation {frames_3 + 5} frames, decoded {frames_3}"
    assert rows[3][2] == "annotation 30.000 fps, video 15.000 fps"
    assert lines[-1] == "checked 6 videos: 4 problems in 4 videos"


def test_probe_fps_tolerance_is_relative(broken_copy, capsys):
    video_dir, anno, _ = broken_copy
    document = json.loads(anno.read_text())
    document["database"]["synth_0004"]["fps"] = 15.1  # 0.7% off
    anno.write_text(json.dumps(document))
    main(["probe", "--videos", str(video_dir), "--anno", str(anno)])
    assert "fps" not in [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:-1]]
    main(["probe", "--videos", str(video_dir), "--anno", str(anno), "--fps-tolerance", "0.001"])
    assert "synth_0004  fps" in capsys.readouterr().out.replace("   ", "  ")


@pytest.mark.parametrize("case", ["no-anno", "no-videos", "bad-json", "negative-time"])
def test_probe_bad_input_exits_2(synthetic_dataset, tmp_path, capsys, case):
    anno, videos = str(synthetic_dataset.annotation_path), str(synthetic_dataset.video_dir)
    if case == "no-anno":
        anno = str(tmp_path / "missing.json")
    elif case == "no-videos":
        videos = str(tmp_path / "nowhere")
    elif case == "bad-json":
        (tmp_path / "bad.json").write_text("{not json")
        anno = str(tmp_path / "bad.json")
    else:
        document = {"database": {"synth_0000": {"subset": "training", "annotations": []}}}
        document["database"]["synth_0000"]["annotations"].append({"segment": [-3, -1], "label": "x"})
        (tmp_path / "negative.json").write_text(json.dumps(document))
        anno = str(tmp_path / "negative.json")
    assert main(["probe", "--videos", videos, "--anno", anno]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tad-data: error:") and len(err.strip().splitlines()) == 1
    if case == "negative-time":
        assert "negative time [-3.0, -1.0]" in err
