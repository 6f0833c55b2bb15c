"""``tad-data convert --dataset csv``: your own labels (video,start,end,label[,subset]) with fps and durations
read from the videos, each problem one line, ``--repair`` for the repairable ones."""

from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np
import pytest

import tad_eval
from tad_data import FORMATS, LabelProblems, TadDataWarning, convert_labels, load_annotations
from tad_data.cli import main
from tad_data.converters import DATASETS

FPS = 10
#: video id -> frames (10 fps): 3.0, 2.5, 2.0, 4.0 and 3.5 seconds
LENGTHS = {"a": 30, "b": 25, "c": 20, "d": 40, "e": 35}


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five grey 64x96 H.264 videos at 10 fps (the converter reads only their frame count and fps)."""
    folder = tmp_path_factory.mktemp("csv_videos")
    for video_id, frames in LENGTHS.items():
        with av.open(str(folder / f"{video_id}.mp4"), mode="w") as container:
            stream = container.add_stream("libx264", rate=FPS)
            stream.height, stream.width, stream.pix_fmt = 64, 96, "yuv420p"
            for _ in range(frames):
                image = np.full((64, 96, 3), 128, dtype=np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())
    return folder


def write_csv(folder: Path, *rows: str, header: str = "video,start,end,label") -> Path:
    path = folder / "labels.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


CLEAN = ("a,0.5,1.5,pour", "a.mp4,1.0,2.0,stir", "b,00:00:01.5,00:00:02,pour", "c,0,2,stir", "d,1,3,pour")


def test_rows_become_instances_with_fps_frames_and_duration_from_the_videos(
    videos: Path, tmp_path: Path
) -> None:
    converted = convert_labels("csv", write_csv(tmp_path, *CLEAN, "e,3,3.5,wave"), videos)
    annotations = converted.outputs[""]
    assert converted.missing_videos == ()
    assert annotations.classes == ("pour", "stir", "wave")  # sorted labels
    assert sorted(annotations.videos) == ["a", "b", "c", "d", "e"]  # "a.mp4" names the video "a"
    a = annotations.videos["a"]
    assert (a.fps, a.num_frames, a.duration) == (FPS, 30, 3.0)
    assert [(i.start, i.end, i.label) for i in a.instances] == [(0.5, 1.5, "pour"), (1.0, 2.0, "stir")]
    assert [(i.start, i.end) for i in annotations.videos["b"].instances] == [(1.5, 2.0)]  # HH:MM:SS.ff


def test_without_a_subset_column_a_seeded_split_puts_a_fifth_of_the_videos_in_validation(
    videos: Path, tmp_path: Path
) -> None:
    labels = write_csv(tmp_path, *CLEAN, "e,3,3.5,wave")

    def validation(seed: int) -> list[str]:
        annotations = convert_labels("csv", labels, videos, seed=seed).outputs[""]
        return [video_id for video_id, record in annotations.videos.items() if record.subset == "validation"]

    assert len(validation(0)) == 1 and validation(0) == validation(0)
    assert len({tuple(validation(seed)) for seed in range(6)}) > 1  # the seed chooses


def test_a_subset_column_names_the_subsets_by_role(videos: Path, tmp_path: Path) -> None:
    rows = ("a,0.5,1.5,pour,train", "b,1,2,pour,val", "c,0,2,stir,Test", "d,1,2,stir,training")
    annotations = convert_labels(
        "csv", write_csv(tmp_path, *rows, header="video,start,end,label,subset"), videos
    )
    subsets = {video_id: record.subset for video_id, record in annotations.outputs[""].videos.items()}
    assert subsets == {"a": "training", "b": "validation", "c": "testing", "d": "training"}


REPAIRABLE = (
    "a,0.5,1.5,pour",  # line 2: fine
    "missing,1,2,pour",  # 3: no such video
    "a,2,1,pour",  # 4: end before start
    "b,1,1,pour",  # 5: end equal to start
    "c,2.5,3,pour",  # 6: starts after the video's end (2 s)
    "d,3,9,stir",  # 7: ends past the video's end (4 s)
    "a,1.0,2.0,pour",  # 8: overlaps line 2 (same label)
    "a,1.2,1.4,stir",  # 9: overlaps line 2 too, but another label: fine
)


def test_every_repairable_problem_is_one_line_naming_file_line_video_and_value(
    videos: Path, tmp_path: Path
) -> None:
    labels = write_csv(tmp_path, *REPAIRABLE)
    with pytest.raises(LabelProblems) as caught:
        convert_labels("csv", labels, videos)
    lines = [str(problem) for problem in caught.value.problems]
    assert lines == [
        f"{labels}: line 3, video 'missing', field 'video': no video file "
        f"missing.{{mp4,mkv,webm,avi,MP4,mov}} in {videos} (--repair drops its 1 row(s) and lists the video "
        "in the .missing.txt file)",
        f"{labels}: line 4, video 'a': end 1 is not after start 2 (--repair drops it)",
        f"{labels}: line 5, video 'b': end 1 is not after start 1 (--repair drops it)",
        f"{labels}: line 6, video 'c': starts at 2.5 s, after the video's end (2 s) (--repair drops it)",
        f"{labels}: line 7, video 'd': ends at 9 s, past the video's end (4 s) (--repair clips it to 4 s)",
        f"{labels}: line 8, video 'a': [1, 2] overlaps [0.5, 1.5] of line 2, same label 'pour' "
        "(--repair merges them into one)",
    ]
    assert all("\n" not in line for line in lines)
    assert caught.value.summary == f"{labels}: 6 problem(s), 6 of them repairable with --repair"


def test_repair_drops_clips_and_merges_with_one_warning_each(videos: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = convert_labels("csv", write_csv(tmp_path, *REPAIRABLE), videos, repair=True)
    annotations = converted.outputs[""]
    spans = {
        video_id: [(i.start, i.end, i.label) for i in record.instances]
        for video_id, record in annotations.videos.items()
    }
    assert spans == {
        "a": [(0.5, 2.0, "pour"), (1.2, 1.4, "stir")],  # lines 2 and 8 merged, line 4 dropped
        "b": [],
        "c": [],
        "d": [(3.0, 4.0, "stir")],  # clipped to the end
    }
    assert converted.missing_videos == ("missing",)
    repaired = [str(w.message) for w in caught if issubclass(w.category, TadDataWarning)]
    assert (
        len(repaired) == 6
        and "line 7, video 'd'" in repaired[4]
        and "--repair clips it to 4 s" in repaired[4]
    )


def test_an_end_less_than_half_a_frame_past_the_video_is_rounding(videos: Path, tmp_path: Path) -> None:
    with pytest.warns(TadDataWarning, match="clipped annotation"):
        converted = convert_labels("csv", write_csv(tmp_path, "c,1,2.04,pour"), videos)  # c: 2.0 s, 10 fps
    assert converted.outputs[""].videos["c"].instances[0].end == 2.0
    with pytest.raises(LabelProblems, match="ends at 2.06 s"):
        convert_labels("csv", write_csv(tmp_path, "c,1,2.06,pour"), videos)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "a,one,2,pour",
            "line 2, video 'a', field 'start': expected seconds (12.5 or 00:00:12.5), got 'one'",
        ),
        ("a,1,nan,pour", "field 'end': expected seconds (12.5 or 00:00:12.5), got 'nan'"),
        ("a,-1,2,pour", "field 'start': expected seconds (12.5 or 00:00:12.5), got '-1'"),
        ("a,1,2,", "line 2, video 'a', field 'label': missing value"),
        (",1,2,pour", "line 2, field 'video': missing value"),
    ],
)
def test_values_that_cannot_be_repaired_stop_even_with_repair(
    videos: Path, tmp_path: Path, row: str, message: str
) -> None:
    with pytest.raises(LabelProblems, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert_labels("csv", write_csv(tmp_path, row, "b,1,2,pour"), videos, repair=True)


def test_one_video_in_two_subsets_cannot_be_repaired(videos: Path, tmp_path: Path) -> None:
    labels = write_csv(tmp_path, "a,0,1,pour,train", "a,1,2,pour,val", header="video,start,end,label,subset")
    with pytest.raises(LabelProblems, match="line 3, video 'a', field 'subset': 'validation', but line 2"):
        convert_labels("csv", labels, videos, repair=True)


def test_the_command_prints_every_problem_and_exits_2_then_repairs(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels, out = write_csv(tmp_path, *REPAIRABLE), tmp_path / "out" / "anno.json"
    argv = ["convert", "--dataset", "CSV", "--src", str(labels), "--videos", str(videos), "--out", str(out)]
    assert main(argv) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 7 and all(line.startswith("tad-data: error: ") for line in errors)
    assert errors[-1].endswith("6 problem(s), 6 of them repairable with --repair")
    assert not out.parent.exists()  # nothing written
    assert main([*argv, "--repair", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert sum(line.startswith("tad-data: warning: ") for line in captured.err.splitlines()) == 6
    assert load_annotations(out).classes == ("pour", "stir")
    assert (tmp_path / "out" / "anno.classes.txt").read_text() == "pour\nstir\n"
    assert (tmp_path / "out" / "anno.missing.txt").read_text() == "missing\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--dataset csv needs --videos DIR"),
        (["--videos", "{videos}", "--blocked", "x.json"], "--blocked does not apply to --dataset csv"),
        (["--videos", "{videos}", "--task", "verb"], "--task does not apply to --dataset csv"),
    ],
)
def test_the_csv_format_needs_the_videos_and_refuses_official_options(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    labels = write_csv(tmp_path, *CLEAN)
    argv = ["convert", "--dataset", "csv", "--src", str(labels), "--out", str(tmp_path / "anno.json")]
    assert main(argv + [item.format(videos=videos) for item in extra]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 1 and errors[0].startswith("tad-data: error: ") and message in errors[0]
    assert not (tmp_path / "anno.json").exists()


def test_repair_and_seed_belong_to_the_csv_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Diving_test.txt").write_text("video_test_1 1 2\n", encoding="utf-8")
    argv = ["convert", "--dataset", "thumos14", "--src", str(tmp_path / "Diving_test.txt")]
    assert main([*argv, "--out", str(tmp_path / "anno.json"), "--repair"]) == 2
    assert "--repair applies to --dataset csv only" in capsys.readouterr().err


def test_csv_is_a_format_not_a_dataset() -> None:
    assert "csv" in FORMATS
    assert tuple(DATASETS) == tad_eval.DATASETS  # the dataset vocabulary is untouched
    with pytest.raises(ValueError, match="unknown dataset 'csv'"):
        tad_eval.canonical_dataset("csv")
