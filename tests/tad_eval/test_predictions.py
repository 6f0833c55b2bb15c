"""Reading and writing prediction files (JSON and CSV), including every malformed-input error."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tad_eval import (
    GroundTruth,
    InputError,
    Predictions,
    evaluate_detection,
    evaluate_proposals,
    load_predictions,
    write_predictions,
)


def test_json_predictions_are_flat_arrays_in_file_order(pred_json):
    path = pred_json(
        {
            "v1": [(1.0, 2.0, "Run", 0.9), (3.0, 5.5, "Jump", 0.4)],
            "v2": [],
            "v3": [(0.5, 1.5, "Run", 0.7)],
        }
    )
    predictions = load_predictions(path)
    assert predictions.videos == ("v1", "v2", "v3")
    assert predictions.video_index.dtype == np.int64
    assert predictions.video_index.tolist() == [0, 0, 2]
    assert predictions.segments.dtype == np.float64
    assert predictions.segments.tolist() == [[1.0, 2.0], [3.0, 5.5], [0.5, 1.5]]
    assert predictions.scores.tolist() == [0.9, 0.4, 0.7]
    assert list(predictions.labels) == ["Run", "Jump", "Run"]
    assert predictions.label_names == ("Run", "Jump")
    assert predictions.label_codes.tolist() == [0, 1, 0]
    assert len(predictions) == 3
    assert predictions.source == str(path)


def test_numbers_given_as_strings_are_parsed(pred_json):
    predictions = load_predictions(pred_json({"v1": [("1.5", "2.25", "Run", "0.5"), (3, "4", "Run", 1)]}))
    assert predictions.segments.tolist() == [[1.5, 2.25], [3.0, 4.0]]
    assert predictions.scores.tolist() == [0.5, 1.0]


@pytest.mark.parametrize(
    ("item", "field", "problem"),
    [
        (
            {"segment": [1, 2], "label": "Run", "score": float("nan")},
            "results['v2'][1].score",
            "not a finite",
        ),
        (
            {"segment": [1, 2], "label": "Run", "score": float("inf")},
            "results['v2'][1].score",
            "not a finite",
        ),
        (
            {"segment": [1, float("-inf")], "label": "Run", "score": 1},
            "results['v2'][1].segment[1]",
            "not a finite",
        ),
        (
            {"segment": ["one", 2], "label": "Run", "score": 1},
            "results['v2'][1].segment[0]",
            "not a number: 'one'",
        ),
        (
            {"segment": [1, None], "label": "Run", "score": 1},
            "results['v2'][1].segment[1]",
            "not a number: None",
        ),
        (
            {"segment": [1, 2, 3], "label": "Run", "score": 1},
            "results['v2'][1].segment",
            "expected [start, end]",
        ),
        ({"segment": 5, "label": "Run", "score": 1}, "results['v2'][1].segment", "expected [start, end]"),
        ({"segment": "12", "label": "Run", "score": 1}, "results['v2'][1].segment", "expected [start, end]"),
        ({"segment": [1, 2], "label": 3, "score": 1}, "results['v2'][1].label", "expected a string label"),
        (
            {"segment": [1, 2], "label": "Run", "score": "high"},
            "results['v2'][1].score",
            "not a number: 'high'",
        ),
        ({"segment": [1, 2], "label": "Run", "score": True}, "results['v2'][1].score", "not a number: True"),
        ({"segment": [1, 2], "label": "Run"}, "results['v2'][1].score", "missing"),
        ("not an object", "results['v2'][1]", "expected an object"),
        (
            {"segment": [5, 2], "label": "Run", "score": 1},
            "results['v2'][1].segment",
            "end before start: [5.0, 2.0]",
        ),
        (
            {"segment": [-3, -1], "label": "Run", "score": 1},
            "results['v2'][1].segment",
            "negative time: [-3.0, -1.0]",
        ),
        ({"segment": [-1, 2], "label": "Run", "score": 1}, "results['v2'][1].segment", "negative time"),
        ({"segment": ["5", 2], "label": "Run", "score": 1}, "results['v2'][1].segment", "end before start"),
    ],
)
def test_bad_prediction_names_file_video_index_and_field(write_json, item, field, problem):
    good = {"segment": [1, 2], "label": "Run", "score": 0.5}
    path = write_json("pred.json", {"results": {"v1": [good], "v2": [good, item]}})
    with pytest.raises(InputError) as caught:
        load_predictions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {field}: ")
    assert problem in message
    assert "\n" not in message


def test_nan_written_as_json_literal_is_rejected(tmp_path):
    path = tmp_path / "pred.json"
    path.write_text('{"results": {"vid": [{"segment": [1, 2], "label": "A", "score": NaN}]}}')
    with pytest.raises(InputError, match=r"results\['vid'\]\[0\]\.score: not a finite number: nan"):
        load_predictions(path)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"result": {}}, "results"),
        ([1, 2], "results"),
        ({"results": [1, 2]}, "results"),
        ({"results": {"v1": {"segment": [1, 2]}}}, "results['v1']"),
    ],
)
def test_wrong_layout_names_the_field(write_json, payload, field):
    path = write_json("pred.json", payload)
    with pytest.raises(InputError, match="^" + re.escape(f"{path}: {field}: ")):
        load_predictions(path)


def test_invalid_json_and_missing_file_are_input_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"results": {')
    with pytest.raises(InputError, match=r"broken\.json: line 1 column \d+: invalid JSON"):
        load_predictions(broken)
    with pytest.raises(InputError, match=r"missing\.json: file: "):
        load_predictions(tmp_path / "missing.json")


def test_csv_with_header_in_any_column_order(tmp_path):
    path = tmp_path / "pred.csv"
    path.write_text("score,video,label,start,end\n0.9,v1,Run,1,2\n0.3,v2,Jump,2.5,4\n0.8,v1,Jump,0,1\n")
    predictions = load_predictions(path)
    assert predictions.videos == ("v1", "v2")
    assert predictions.video_index.tolist() == [0, 1, 0]
    assert predictions.segments.tolist() == [[1, 2], [2.5, 4], [0, 1]]
    assert predictions.scores.tolist() == [0.9, 0.3, 0.8]
    assert list(predictions.labels) == ["Run", "Jump", "Jump"]


def test_csv_without_header_uses_the_documented_column_order(tmp_path):
    path = tmp_path / "pred.csv"
    path.write_text("v1,1,2,Run,0.9\n\nv1,3,4,Run,0.1\n")
    predictions = load_predictions(path)
    assert predictions.segments.tolist() == [[1, 2], [3, 4]]
    assert predictions.scores.tolist() == [0.9, 0.1]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("v1,1,2,Run,nan", "line 3 (results['v1'][1]).score"),
        ("v1,x,2,Run,0.5", "line 3 (results['v1'][1]).segment[0]"),
        ("v1,1,2,Run", "line 3"),
    ],
)
def test_bad_csv_row_names_line_video_and_index(tmp_path, row, field):
    path = tmp_path / "pred.csv"
    path.write_text(f"video,start,end,label,score\nv1,1,2,Run,0.9\n{row}\n")
    with pytest.raises(InputError) as caught:
        load_predictions(path)
    assert str(caught.value).startswith(f"{path}: {field}: ")


def test_write_predictions_round_trips_numpy_values_atomically(tmp_path):
    path = tmp_path / "out" / "pred.json"
    results = {
        "v1": [{"segment": np.array([1.0, 2.5]), "label": "Run", "score": np.float32(0.5)}],
        "v2": [{"segment": [0, 1], "label": "Jump", "score": 0.25}],
    }
    write_predictions(path, results)
    payload = json.loads(path.read_text())
    assert payload["results"]["v1"] == [{"segment": [1.0, 2.5], "label": "Run", "score": 0.5}]
    assert set(payload) == {"version", "results", "external_data"}
    loaded = load_predictions(path)
    assert loaded.segments.tolist() == [[1.0, 2.5], [0.0, 1.0]]
    assert sorted(p.name for p in path.parent.iterdir()) == ["pred.json"]


def test_write_predictions_rejects_bad_entries_before_writing(tmp_path):
    path = tmp_path / "pred.json"
    with pytest.raises(InputError, match=r"results\['v1'\]\[0\]\.score"):
        write_predictions(path, {"v1": [{"segment": [1, 2], "label": "Run", "score": float("nan")}]})
    assert not path.exists()


def test_from_results_accepts_tuples_and_numpy_rows():
    predictions = Predictions.from_results(
        {"v": [{"segment": (1, 2), "label": "A", "score": np.float64(0.3)}]}
    )
    assert predictions.segments.tolist() == [[1.0, 2.0]]
    assert predictions.scores.tolist() == [0.3]


def test_zero_length_predictions_are_valid():
    predictions = Predictions.from_results({"v": [{"segment": [3, 3], "label": "A", "score": 0.5}]})
    assert predictions.segments.tolist() == [[3.0, 3.0]]


@pytest.mark.parametrize(
    ("row", "problem"), [("v1,5,2,Run,0.5", "end before start"), ("v1,-1,2,Run,0.5", "negative")]
)
def test_csv_inverted_or_negative_segment_names_line_video_and_index(tmp_path, row, problem):
    path = tmp_path / "pred.csv"
    path.write_text(f"video,start,end,label,score\nv1,1,2,Run,0.9\n{row}\n")
    with pytest.raises(InputError, match=re.escape(f"{path}: line 3 (results['v1'][1]).segment: {problem}")):
        load_predictions(path)


def test_write_predictions_refuses_an_inverted_segment(tmp_path):
    path = tmp_path / "pred.json"
    with pytest.raises(
        InputError, match=re.escape("results['v1'][1].segment: end before start: [1000.0, 990.0]")
    ):
        write_predictions(
            path,
            {
                "v1": [
                    {"segment": [1, 2], "label": "Run", "score": 0.5},
                    {"segment": [1000, 990], "label": "Run", "score": 0.5},
                ]
            },
        )
    assert not path.exists()


def test_predictions_changed_in_place_are_checked_again_by_the_evaluators():
    predictions = Predictions.from_results({"v": [{"segment": [0, 10], "label": "A", "score": 0.5}]})
    predictions.segments[0] = [10, 0]
    truth = GroundTruth.from_instances([("v", 0, 10, "A")])
    for evaluate in (evaluate_detection, evaluate_proposals):
        with pytest.raises(
            InputError, match=re.escape("<memory>: results['v'][0].segment: end before start")
        ):
            evaluate(truth, predictions, [0.5])


def test_windows_line_ends_read_like_unix_ones(tmp_path):
    unix, windows = tmp_path / "unix.csv", tmp_path / "windows.csv"
    unix.write_bytes(b"video,start,end,label,score\nv1,1,2,Run,0.9\n")
    windows.write_bytes(b"video,start,end,label,score\r\nv1,1,2,Run,0.9\r\n")
    assert load_predictions(windows).segments.tolist() == load_predictions(unix).segments.tolist() == [[1, 2]]
