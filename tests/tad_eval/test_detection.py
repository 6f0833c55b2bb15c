"""Detection mAP: hand-computed cases, tie-breaking, presets and every defined edge case."""

from __future__ import annotations

import numpy as np
import pytest

from tad_eval import (
    PRESETS,
    GroundTruth,
    InputError,
    Predictions,
    evaluate_detection,
    load_ground_truth,
    load_predictions,
    parse_tiou,
    segment_iou,
)


def predictions(results: dict[str, list[tuple[float, float, str, float]]]) -> Predictions:
    return Predictions.from_results(
        {
            video: [
                {"segment": [start, end], "label": label, "score": score}
                for start, end, label, score in items
            ]
            for video, items in results.items()
        }
    )


@pytest.fixture
def two_class_truth() -> GroundTruth:
    return GroundTruth.from_instances(
        [("v1", 0, 10, "A"), ("v1", 20, 30, "A"), ("v1", 5, 15, "B"), ("v2", 0, 5, "A")]
    )


def test_hand_computed_two_classes(two_class_truth):
    # Class A (3 instances), ranked: [0,10] tIoU 1 -> TP; [1,10] best instance taken, next has
    # tIoU 0 -> FP; [21,30] tIoU 0.9 -> TP; v2 [0,4] tIoU 0.8 -> TP.
    #   at 0.5: TP FP TP TP: precision 1, 1/2, 2/3, 3/4 -> envelope 1, 3/4, 3/4, 3/4;
    #           AP = 1/3 * (1 + 3/4 + 3/4) = 5/6
    #   at 0.85: [0,4] (0.8) -> FP: TP FP TP FP -> AP = 1/3 * (1 + 2/3) = 5/9
    #   at 0.95: only [0,10] -> AP = 1/3
    # Class B: [5,14] tIoU 0.9 -> AP 1, 1, 0.
    result = evaluate_detection(
        two_class_truth,
        predictions(
            {
                "v1": [(0, 10, "A", 0.9), (1, 10, "A", 0.8), (21, 30, "A", 0.7), (5, 14, "B", 0.6)],
                "v2": [(0, 4, "A", 0.5)],
            }
        ),
        [0.5, 0.85, 0.95],
    )
    assert result.classes == ("A", "B")
    np.testing.assert_allclose(result.per_class_ap, [[5 / 6, 5 / 9, 1 / 3], [1, 1, 0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.mAP, [(5 / 6 + 1) / 2, (5 / 9 + 1) / 2, 1 / 6], rtol=0, atol=1e-15)
    assert result.average_mAP == pytest.approx(np.mean(result.mAP), abs=1e-15)
    assert (result.num_gt, result.num_pred) == (4, 5)
    assert result.num_gt_per_class.tolist() == [3, 1]
    assert result.warnings == ()


def test_result_json_has_exactly_the_documented_schema(two_class_truth):
    result = evaluate_detection(two_class_truth, predictions({"v1": [(0, 10, "A", 0.9)]}), [0.5, 0.7])
    document = result.to_json()
    assert list(document) == [
        "tiou_thresholds",
        "mAP",
        "average_mAP",
        "per_class",
        "num_gt",
        "num_pred",
        "warnings",
    ]
    assert document["tiou_thresholds"] == [0.5, 0.7]
    assert document["per_class"] == {"A": [1 / 3, 1 / 3], "B": [0.0, 0.0]}
    assert document["mAP"] == [1 / 6, 1 / 6]
    assert isinstance(document["average_mAP"], float) and document["num_pred"] == 1


def test_equal_scores_rank_in_file_order():
    truth = GroundTruth.from_instances([("v", 0, 10, "A")])
    miss_first = predictions({"v": [(50, 60, "A", 0.5), (0, 10, "A", 0.5)]})
    hit_first = predictions({"v": [(0, 10, "A", 0.5), (50, 60, "A", 0.5)]})
    assert evaluate_detection(truth, miss_first, [0.5]).mAP.tolist() == [0.5]
    assert evaluate_detection(truth, hit_first, [0.5]).mAP.tolist() == [1.0]


def test_equal_tiou_takes_the_instance_first_in_the_ground_truth_file():
    # [5,15] has tIoU 1/3 with both instances and takes [0,10]; [10,20] then still finds its own.
    truth = GroundTruth.from_instances([("v", 0, 10, "A"), ("v", 10, 20, "A")])
    result = evaluate_detection(truth, predictions({"v": [(5, 15, "A", 0.9), (10, 20, "A", 0.8)]}), [0.3])
    assert result.mAP.tolist() == [1.0]
    # Reversed file order: [5,15] takes [10,20], and [10,20] (tIoU 0 with [0,10]) is a false positive.
    truth = GroundTruth.from_instances([("v", 10, 20, "A"), ("v", 0, 10, "A")])
    result = evaluate_detection(truth, predictions({"v": [(5, 15, "A", 0.9), (10, 20, "A", 0.8)]}), [0.3])
    assert result.mAP.tolist() == [0.5]


def test_highest_tiou_instance_is_preferred_then_next_best_free_one():
    truth = GroundTruth.from_instances([("v", 0, 10, "A"), ("v", 2, 12, "A")])
    # First prediction: tIoU 0.8 with [2,12], 0.6... with [0,10] -> takes [2,12].
    # Second: prefers [2,12] (taken) -> falls back to [0,10] (tIoU 0.7 >= 0.5) -> TP.
    ranked = predictions({"v": [(2, 12, "A", 0.9), (1, 11, "A", 0.8)]})
    assert evaluate_detection(truth, ranked, [0.5]).mAP.tolist() == [1.0]


def test_activitynet_preset_uses_linspace_value_at_the_exact_boundary():
    # tIoU of [0, 6.3] with [0, 7] is exactly 0.8999999999999999 in the official arithmetic.
    assert segment_iou(np.array([[0.0, 6.3]]), np.array([[0.0, 7.0]]))[0] == 0.8999999999999999
    truth = GroundTruth.from_instances([("v", 0, 7, "A")])
    ranked = predictions({"v": [(0, 6.3, "A", 0.9)]})
    thresholds = PRESETS["activitynet13"].tiou_thresholds
    assert thresholds == tuple(np.linspace(0.5, 0.95, 10).tolist()) and thresholds[8] == 0.8999999999999999
    result = evaluate_detection(truth, ranked, thresholds)
    assert result.per_class_ap[0].tolist() == [1.0] * 9 + [0.0]
    assert evaluate_detection(truth, ranked, [0.9]).mAP.tolist() == [0.0]


def test_presets_and_threshold_parsing():
    assert PRESETS["thumos14"].tiou_thresholds == (0.3, 0.4, 0.5, 0.6, 0.7)
    assert (
        PRESETS["epic-kitchens-100"].tiou_thresholds
        == PRESETS["ego4d-mq"].tiou_thresholds
        == (0.1, 0.2, 0.3, 0.4, 0.5)
    )
    assert PRESETS["multithumos"].tiou_thresholds == PRESETS["charades"].tiou_thresholds
    assert PRESETS["charades"].tiou_thresholds == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert PRESETS["ego4d-mq"].top_k == (1, 5) and PRESETS["activitynet13"].top_k == ()
    assert parse_tiou("0.5:0.95:0.05") == PRESETS["activitynet13"].tiou_thresholds
    assert parse_tiou("0.3,0.5") == (0.3, 0.5)
    assert parse_tiou("0.5") == (0.5,)
    with pytest.raises(ValueError, match="does not divide"):
        parse_tiou("0.5:0.95:0.04")
    with pytest.raises(ValueError, match="could not convert"):
        parse_tiou("0.5,high")


@pytest.mark.parametrize("thresholds", [[], [0.0], [1.5], [float("nan")]])
def test_thresholds_outside_zero_one_are_rejected(two_class_truth, thresholds):
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        evaluate_detection(two_class_truth, predictions({}), thresholds)


def test_class_without_predictions_scores_zero_and_counts_in_the_mean(two_class_truth):
    result = evaluate_detection(two_class_truth, predictions({"v1": [(5, 15, "B", 0.5)]}), [0.5])
    assert result.per_class == {"A": [0.0], "B": [1.0]}
    assert result.mAP.tolist() == [0.5]


def test_no_predictions_at_all_gives_zero(two_class_truth):
    result = evaluate_detection(two_class_truth, predictions({}), [0.5])
    assert result.mAP.tolist() == [0.0] and result.num_pred == 0


def test_unknown_label_and_unknown_video_are_ignored_and_counted(two_class_truth):
    ranked = predictions(
        {
            "v1": [(0, 10, "A", 0.9), (0, 10, "Swim", 0.95), (0, 10, "Fly", 0.9)],
            "v9": [(0, 10, "A", 0.99), (0, 10, "B", 0.98)],
            "v8": [(0, 10, "A", 0.99)],
        }
    )
    result = evaluate_detection(two_class_truth, ranked, [0.5])
    # Ignoring them leaves exactly the single true positive on v1.
    assert result.per_class == {"A": [1 / 3], "B": [0.0]}
    assert result.num_pred == 1
    assert result.warnings == (
        "predictions: ignored 3 predictions on 2 videos absent from the ground truth (e.g. 'v9', 'v8')",
        "predictions: ignored 2 predictions with 2 labels absent from the ground truth (e.g. 'Swim', 'Fly')",
    )


def test_prediction_on_a_ground_truth_video_without_that_class_is_a_false_positive():
    truth = GroundTruth.from_instances([("v1", 0, 10, "A"), ("v2", 0, 10, "B")])
    ranked = predictions({"v2": [(0, 10, "A", 0.9)], "v1": [(0, 10, "A", 0.8)]})
    assert evaluate_detection(truth, ranked, [0.5]).per_class["A"] == [0.5]


def test_video_without_instances_counts_predictions_as_false_positives():
    truth = GroundTruth.from_instances([("v1", 0, 10, "A")], videos=["v1", "empty"])
    ranked = predictions({"empty": [(0, 10, "A", 0.9)], "v1": [(0, 10, "A", 0.8)]})
    result = evaluate_detection(truth, ranked, [0.5])
    assert result.per_class["A"] == [0.5] and result.warnings == ()


def test_duplicate_ground_truth_cleaned_versus_raw():
    instances = [("v", 1, 5, "A"), ("v", 1, 5, "A"), ("v", 1.0004, 5.0004, "A")]
    ranked = predictions({"v": [(1, 5, "A", 0.9)]})
    cleaned = evaluate_detection(GroundTruth.from_instances(instances), ranked, [0.5])
    raw = evaluate_detection(GroundTruth.from_instances(instances, clean=False), ranked, [0.5])
    assert cleaned.mAP.tolist() == [1.0] and cleaned.num_gt == 1
    assert "dropped 2 of 3 instances duplicating" in cleaned.warnings[0]
    assert raw.mAP.tolist() == [pytest.approx(1 / 3, abs=1e-15)] and raw.num_gt == 3
    assert raw.warnings[0].startswith("ground truth: raw (--raw-gt)")


def test_zero_length_ground_truth_raw_follows_the_official_nan_rule():
    # Official arithmetic: a zero-length prediction against a zero-length instance gives 0/0 = NaN,
    # and `NaN < threshold` is False, so it is matched -- wherever the two points are.
    instances = [("v", 3, 3, "A"), ("v", 10, 20, "B")]
    ranked = predictions({"v": [(7, 7, "A", 0.9), (10, 20, "B", 0.8)]})
    raw = evaluate_detection(GroundTruth.from_instances(instances, clean=False), ranked, [0.5])
    assert raw.per_class == {"A": [1.0], "B": [1.0]}
    cleaned = evaluate_detection(GroundTruth.from_instances(instances), ranked, [0.5])
    assert cleaned.per_class == {"B": [1.0]}
    assert cleaned.warnings == (
        "ground truth: dropped 1 of 2 instances with end - start <= 0",
        "predictions: ignored 1 predictions with 1 labels absent from the ground truth (e.g. 'A')",
    )


def test_inverted_ground_truth_raw_is_an_unmatchable_positive():
    # [6, 2] against [0, 3]: intersection 0, union (2 - 6) + 3 = -1, tIoU -0.0 < threshold.
    instances = [("v", 6, 2, "A"), ("v", 10, 20, "A")]
    ranked = predictions({"v": [(0, 3, "A", 0.9), (10, 20, "A", 0.8)]})
    raw = evaluate_detection(GroundTruth.from_instances(instances, clean=False), ranked, [0.5])
    assert raw.mAP.tolist() == [pytest.approx(0.25, abs=1e-15)]  # FP then TP: recall 1/2 at precision 1/2
    cleaned = evaluate_detection(GroundTruth.from_instances(instances), ranked, [0.5])
    assert cleaned.mAP.tolist() == [0.5]  # FP then TP with the single remaining instance


def test_numbers_as_strings_evaluate_like_numbers(anet_gt, pred_json):
    as_strings = evaluate_detection(
        load_ground_truth(anet_gt({"v": [("0", "10.5", "A")]}, name="s.json")),
        load_predictions(pred_json({"v": [("0", "10", "A", "0.5")]}, name="ps.json")),
        [0.5],
    )
    as_numbers = evaluate_detection(
        load_ground_truth(anet_gt({"v": [(0, 10.5, "A")]}, name="n.json")),
        load_predictions(pred_json({"v": [(0, 10, "A", 0.5)]}, name="pn.json")),
        [0.5],
    )
    assert as_strings.to_json() == as_numbers.to_json() and as_numbers.mAP.tolist() == [1.0]


def test_ground_truth_without_instances_is_an_input_error():
    truth = GroundTruth.from_instances([], videos=["v"], source="gt.json")
    with pytest.raises(InputError, match="gt.json: annotations: no ground-truth instances"):
        evaluate_detection(truth, predictions({}), [0.5])


def test_thresholds_are_reported_in_the_order_given(two_class_truth):
    ranked = predictions({"v1": [(0, 10, "A", 0.9)]})
    result = evaluate_detection(two_class_truth, ranked, [0.7, 0.3])
    assert result.tiou_thresholds == (0.7, 0.3)
