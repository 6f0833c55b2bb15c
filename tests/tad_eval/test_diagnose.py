"""DETAD-style error analysis: hand-built cases with known error types, bucket edges, and a plain
one-prediction-at-a-time port of DETAD's procedure that the vectorised analysis must equal."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
from eval_reference import tiou
from hypothesis import given, settings
from hypothesis import strategies as st

from tad_eval import (
    CHARACTERISTIC_SCALES,
    GroundTruth,
    Predictions,
    diagnose_detection,
    evaluate_detection,
    load_ground_truth,
    load_predictions,
)
from tad_eval.diagnose import ACTIVITYNET_SCALE, ERROR_TYPES, THUMOS14_SCALE, Buckets, CharacteristicScale

TP, DOUBLE, WRONG, LOCALIZATION, CONFUSION, BACKGROUND = range(6)


def truth_of(instances, durations=None, videos=None) -> GroundTruth:
    """Ground truth from ``(video, start, end, label)``; every video lasts 100 s unless given."""
    names = videos or list(dict.fromkeys(item[0] for item in instances))
    return GroundTruth.from_instances(
        instances, videos=names, durations=durations or dict.fromkeys(names, 100.0)
    )


def predictions_of(items) -> Predictions:
    """Predictions from ``(video, start, end, label, score)`` grouped by video, so rows keep item order."""
    videos = [item[0] for item in items]
    assert videos == sorted(videos, key=videos.index), "list each video's predictions together"
    results = defaultdict(list)
    for video, start, end, label, score in items:
        results[video].append({"segment": [start, end], "label": label, "score": score})
    return Predictions.from_results(dict(results))


def types_of(truth, items, thresholds=(0.5,)) -> list[list[int]]:
    return diagnose_detection(truth, predictions_of(items), "activitynet13", thresholds).error_types.tolist()


# --- hand-built cases: each prediction's error type is known -----------------------------------


def test_one_prediction_of_each_error_type():
    truth = truth_of([("v1", 10, 20, "A"), ("v1", 40, 50, "B")], videos=["v1", "v2"])
    items = [
        ("v1", 10, 20, "A", 0.9),  # true positive
        ("v1", 10, 20, "A", 0.8),  # the same instance again: double detection
        ("v1", 10, 20, "B", 0.7),  # on A's instance with label B: wrong label
        ("v1", 10, 14, "A", 0.6),  # tIoU 0.4 with A's instance: localization
        ("v1", 10, 13, "B", 0.5),  # tIoU 0.3 with A's instance, label B: confusion
        ("v1", 70, 80, "A", 0.4),  # overlaps nothing: background
        ("v1", 40, 50, "B", 0.95),  # true positive
        ("v2", 0, 5, "A", 0.3),  # a video without instances: background
    ]
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13")
    assert diagnosis.error_types.tolist() == [
        [TP, DOUBLE, WRONG, LOCALIZATION, CONFUSION, BACKGROUND, TP, BACKGROUND]
    ]
    # G = 1 for both classes, so part n holds each class's n-th ranked prediction.
    profile = [[entry[kind] for kind in ERROR_TYPES] for entry in diagnosis.false_positive_profile()]
    assert profile[:6] == [
        [2, 0, 0, 0, 0, 0],  # A: TP 0.9; B: TP 0.95
        [0, 1, 1, 0, 0, 0],  # A: double 0.8; B: wrong label 0.7
        [0, 0, 0, 1, 1, 0],  # A: localization 0.6; B: confusion 0.5
        [0, 0, 0, 0, 0, 1],  # A: background 0.4
        [0, 0, 0, 0, 0, 1],  # A: background 0.3
        [0, 0, 0, 0, 0, 0],
    ]
    assert diagnosis.profile_size.tolist() == [2, 2, 2, 1, 1, 0, 0, 0, 0, 0]


def test_boundary_tious_are_inclusive_as_in_detad():
    # tIoU exactly alpha: double detection / wrong label; exactly 0.1: localization / confusion.
    truth = truth_of([("v1", 0, 10, "A"), ("v2", 0, 10, "B")])
    items = [
        ("v1", 0, 10, "A", 0.9),  # true positive
        ("v1", 0, 5, "A", 0.8),  # 5 / 10 = 0.5 exactly, instance taken: double detection
        ("v1", 0, 5, "B", 0.7),  # 0.5 exactly, other label: wrong label
        ("v1", 0, 1, "A", 0.6),  # 0.1 exactly: localization
        ("v1", 0, 1, "B", 0.5),  # 0.1 exactly, other label: confusion
        ("v1", 0, 0.99, "A", 0.4),  # 0.099: background
        ("v1", 0, 0.99, "B", 0.3),  # 0.099, other label: background too
    ]
    assert types_of(truth, items) == [[TP, DOUBLE, WRONG, LOCALIZATION, CONFUSION, BACKGROUND, BACKGROUND]]


def test_double_detection_that_is_also_late_follows_detads_order():
    # Once the instance is taken, a later prediction is a double detection only at tIoU >= alpha;
    # below alpha it is a localization error (the tIoU rule comes first in DETAD), per threshold.
    truth = truth_of([("v1", 10, 20, "A")])
    items = [
        ("v1", 10, 20, "A", 0.9),  # true positive at both thresholds
        ("v1", 12, 22, "A", 0.8),  # shifted late: tIoU 8 / 12 = 0.667
        ("v1", 15, 25, "A", 0.7),  # shifted later: tIoU 5 / 15 = 0.333
    ]
    assert types_of(truth, items, (0.5, 0.7)) == [
        [TP, DOUBLE, LOCALIZATION],
        [TP, LOCALIZATION, LOCALIZATION],
    ]


def test_late_true_positive_when_the_first_prediction_misses():
    # A lower-scored prediction takes the instance when the first one is too far off at alpha.
    truth = truth_of([("v1", 10, 20, "A")])
    items = [("v1", 12, 22, "A", 0.9), ("v1", 10, 20, "A", 0.8)]
    assert types_of(truth, items, (0.5, 0.7)) == [[TP, DOUBLE], [LOCALIZATION, TP]]


@pytest.mark.parametrize(
    ("order", "expected"),
    [(["A", "B"], DOUBLE), (["B", "A"], WRONG)],
)
def test_equal_best_tiou_the_first_instance_in_the_file_decides(order, expected):
    # Instances of A and B on the same segment: the prediction's best overlap is a tie.
    truth = truth_of([("v1", 0, 10, label) for label in order])
    items = [("v1", 0, 10, "A", 0.9), ("v1", 0, 10, "A", 0.8)]
    assert types_of(truth, items) == [[TP, expected]]


def test_the_best_overlap_over_all_labels_decides_the_type():
    # 0.64 with the taken instance of its own label, 0.8 with an instance of B: wrong label (DETAD).
    truth = truth_of([("v1", 0, 10, "A"), ("v1", 2, 12, "B")])
    items = [("v1", 0, 10, "A", 0.9), ("v1", 3, 11, "A", 0.8)]  # 7 / 11 with A, 8 / 10 with B
    assert types_of(truth, items) == [[TP, WRONG]]


def test_ignored_predictions_have_type_minus_one_and_are_warned_about():
    truth = truth_of([("v1", 0, 10, "A")])
    items = [("v1", 0, 10, "A", 0.9), ("v1", 0, 10, "Z", 0.7), ("elsewhere", 0, 10, "A", 0.8)]
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13")
    assert diagnosis.error_types.tolist() == [[TP, -1, -1]]
    assert diagnosis.num_pred == 1 and len(diagnosis.warnings) == 2


def test_profile_parts_hold_g_predictions_of_each_class():
    # A has G = 2: its five predictions fill parts 1, 1, 2, 2, 3; B has G = 1: parts 1, 2.
    truth = truth_of([("v1", 0, 10, "A"), ("v1", 20, 30, "A"), ("v1", 40, 50, "B")])
    items = [("v1", 60 + i, 61 + i, "A", 0.9 - i / 10) for i in range(5)]
    items += [("v1", 40, 50, "B", 0.5), ("v1", 40, 50, "B", 0.4)]
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13")
    assert diagnosis.profile_size.tolist() == [3, 3, 1] + [0] * 7
    entries = diagnosis.false_positive_profile()
    assert [entry["true_positive"] for entry in entries[:3]] == [1, 0, 0]
    assert [entry["double_detection"] for entry in entries[:3]] == [0, 1, 0]
    assert [entry["background"] for entry in entries[:3]] == [2, 2, 1]
    assert entries[0]["percent"]["background"] == pytest.approx(200 / 3)
    assert entries[3]["percent"]["background"] is None  # an empty part has no shares


def test_predictions_beyond_ten_g_are_not_in_the_profile():
    truth = truth_of([("v1", 0, 10, "A")])
    items = [("v1", 50, 51, "A", 1 - i / 100) for i in range(12)]
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13")
    assert diagnosis.profile_size.tolist() == [1] * 10
    assert diagnosis.error_types.tolist() == [[BACKGROUND] * 12]  # still classified


def test_removal_gain_is_the_average_map_n_without_each_type():
    # Ranking: background, TP. AP_N = 1 * 1 / (1 + 1) = 0.5; without the background error it is 1.
    truth = truth_of([("v1", 0, 10, "A")])
    diagnosis = diagnose_detection(
        truth, predictions_of([("v1", 50, 60, "A", 0.9), ("v1", 0, 10, "A", 0.8)]), "activitynet13"
    )
    assert diagnosis.top_average_mAP_normalized == 0.5
    assert dict(zip(ERROR_TYPES[1:], diagnosis.removal_gain.tolist(), strict=True)) == {
        "double_detection": 0.0,
        "wrong_label": 0.0,
        "localization": 0.0,
        "confusion": 0.0,
        "background": 0.5,
    }


def test_normalised_ap_uses_the_average_instances_per_class():
    # A: 4 instances, B: 1 -> N = 2.5 (a float: DETAD's Python 2 code floored it to 2). B's ranking:
    # FP, TP. Plain AP 1/2; AP_N: recall 1, precision 1 * 2.5 / (1 * 2.5 + 1) = 5/7. A: its one TP
    # first, precision 1 either way: AP = AP_N = 1/4.
    instances = [("v1", 10 * i, 10 * i + 5, "A") for i in range(4)] + [("v1", 60, 70, "B")]
    items = [("v1", 0, 5, "A", 0.9), ("v1", 80, 90, "B", 0.8), ("v1", 60, 70, "B", 0.7)]
    diagnosis = diagnose_detection(truth_of(instances), predictions_of(items), "activitynet13")
    assert diagnosis.normaliser == 2.5
    assert diagnosis.mAP.tolist() == pytest.approx([(1 / 4 + 1 / 2) / 2])
    assert diagnosis.mAP_normalized.tolist() == pytest.approx([(1 / 4 + 5 / 7) / 2])


# --- false negatives and sensitivity -------------------------------------------------------------


@pytest.mark.parametrize(("false_positives", "missed"), [(37, 0), (40, 1)])
def test_a_ground_truth_found_below_five_percent_normalised_precision_is_missed(false_positives, missed):
    # N = 2. The second instance is matched after k false positives at recall 1: precision 2 / (2 + k),
    # 0.0513 for k = 37 (detected) and 0.0476 for k = 40 (missed, although matched).
    truth = truth_of([("v1", 0, 10, "A"), ("v2", 0, 10, "A")])
    items = [("v1", 0, 10, "A", 1.0)]
    items += [("v1", 50, 60, "A", 0.9 - i / 1000) for i in range(false_positives)]
    items += [("v2", 0, 10, "A", 0.1)]
    result = {
        r.name: r for r in diagnose_detection(truth, predictions_of(items), "activitynet13").characteristics
    }["length"]
    assert result.count.tolist() == [2, 0, 0, 0, 0]
    assert result.missed.tolist() == [[missed, 0, 0, 0, 0]]
    assert result.unmatched.tolist() == [[0] * 5]
    assert result.missed_fraction[0] == missed / 2


def test_sensitivity_per_bucket_leaves_out_predictions_of_other_buckets():
    # A short (XS) and a long (M) instance of one class, N = 2. Ranking: P0 finds the long one,
    # P1 is background, P2 finds the short one.
    # XS: P0 left out; FP then TP: AP_N = 1 * 2 / (2 + 1) = 2/3.  M: P2 left out; TP first: AP_N 1.
    # All: 1/2 * 1 + 1/2 * (1 * 2 / (2 + 1)) = 5/6.
    truth = truth_of([("v1", 0, 10, "A"), ("v2", 0, 100, "A")], durations={"v1": 100.0, "v2": 100.0})
    items = [("v2", 0, 100, "A", 0.9), ("v1", 50, 60, "A", 0.8), ("v1", 0, 10, "A", 0.7)]
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13")
    assert diagnosis.average_mAP_normalized == pytest.approx(5 / 6)
    results = {result.name: result for result in diagnosis.characteristics}
    assert results["length"].average_mAP_normalized.tolist() == pytest.approx(
        [2 / 3, np.nan, 1, np.nan, np.nan], nan_ok=True
    )
    assert results["coverage"].count.tolist() == [1, 0, 0, 0, 1]  # 0.1 and 1.0
    assert results["num_instances"].count.tolist() == [2, 0, 0, 0]


def test_a_bucket_class_without_predictions_has_ap_zero():
    truth = truth_of([("v1", 0, 10, "A"), ("v1", 20, 30, "B")])
    diagnosis = diagnose_detection(truth, predictions_of([("v1", 0, 10, "A", 0.9)]), "activitynet13")
    length = {result.name: result for result in diagnosis.characteristics}["length"]
    assert length.average_mAP_normalized[0] == 0.5  # A: 1, B: 0


def test_coverage_is_skipped_without_video_durations():
    truth = GroundTruth.from_instances([("v1", 0, 10, "A")])
    diagnosis = diagnose_detection(truth, predictions_of([("v1", 0, 10, "A", 0.9)]), "thumos14")
    assert [result.name for result in diagnosis.characteristics] == ["length", "num_instances"]
    assert any("coverage analysis skipped" in warning for warning in diagnosis.warnings)
    assert "coverage" not in diagnosis.to_json()["false_negatives"]


# --- bucket edges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("buckets", "values", "expected"),
    [
        (ACTIVITYNET_SCALE.length, [0, 1e-9, 30, 30.000001, 60, 120, 180, 180.1, 1e6],
         [0, 0, 0, 1, 1, 2, 3, 4, 4]),
        (ACTIVITYNET_SCALE.coverage, [0, 0.2, 0.2000001, 0.6, 0.6000000000000001, 0.61, 0.8, 1.0, 1.5],
         [0, 0, 1, 2, 2, 3, 3, 4, 4]),
        (ACTIVITYNET_SCALE.num_instances, [1, 2, 4, 5, 8, 9, 500], [0, 1, 1, 2, 2, 3, 3]),
        (THUMOS14_SCALE.length, [0.1, 3, 3.01, 6, 12, 18, 18.5], [0, 0, 1, 1, 2, 3, 4]),
        (THUMOS14_SCALE.coverage, [0.001, 0.02, 0.0201, 0.04, 0.06, 0.08, 0.0801, 1.0],
         [0, 0, 1, 1, 2, 3, 4, 4]),
        (THUMOS14_SCALE.num_instances, [1, 2, 40, 41, 80, 81], [0, 1, 1, 2, 2, 3]),
    ],
)  # fmt: skip
def test_buckets_are_right_closed_and_the_first_includes_its_lower_edge(buckets, values, expected):
    assert buckets.assign(np.array(values, dtype=np.float64)).tolist() == expected


def test_detad_bucket_edges_and_the_dataset_table():
    assert ACTIVITYNET_SCALE.coverage.edges == (0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0)
    assert ACTIVITYNET_SCALE.length.edges == (0, 30, 60, 120, 180, math.inf)
    assert ACTIVITYNET_SCALE.num_instances.edges == (-1, 1, 4, 8, math.inf)
    assert THUMOS14_SCALE.coverage.edges == (0, 0.02, 0.04, 0.06, 0.08, 1)
    assert THUMOS14_SCALE.length.edges == (0, 3, 6, 12, 18, math.inf)
    assert THUMOS14_SCALE.num_instances.edges == (-1, 1, 40, 80, math.inf)
    assert ACTIVITYNET_SCALE.length.labels == ("XS", "S", "M", "L", "XL")
    assert ACTIVITYNET_SCALE.num_instances.labels == ("XS", "S", "M", "L")
    assert (
        CHARACTERISTIC_SCALES["thumos14"] is THUMOS14_SCALE
        and CHARACTERISTIC_SCALES["activitynet13"] is ACTIVITYNET_SCALE
    )
    assert ACTIVITYNET_SCALE.length.describe(1, " s") == "30-60 s"
    assert ACTIVITYNET_SCALE.num_instances.describe(1, "", integer=True) == "2-4"


def test_ground_truth_at_the_length_edges_lands_in_the_lower_bucket():
    # Lengths 30, 60, 120, 180 s are the upper edges of XS..L; 181 s is XL; five instances in one video.
    lengths = [30, 60, 120, 180, 181]
    instances, start = [], 0.0
    for length in lengths:
        instances.append(("v1", start, start + length, "A"))
        start += length
    truth = truth_of(instances, durations={"v1": 10_000.0})
    diagnosis = diagnose_detection(truth, predictions_of([("v1", 0, 30, "A", 0.9)]), "activitynet13")
    results = {result.name: result for result in diagnosis.characteristics}
    assert results["length"].count.tolist() == [1, 1, 1, 1, 1]
    assert results["length"].missed.tolist() == [[0, 1, 1, 1, 1]]
    assert results["num_instances"].count.tolist() == [0, 0, 5, 0]


def test_unknown_dataset_is_a_value_error():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        diagnose_detection(truth_of([("v1", 0, 1, "A")]), predictions_of([]), "imagenet")


# --- report.json ---------------------------------------------------------------------------------


def test_report_json_has_the_documented_keys_and_no_nan():
    truth = truth_of([("v1", 10, 20, "A"), ("v1", 40, 50, "B")])
    items = [("v1", 10, 20, "A", 0.9), ("v1", 10, 20, "B", 0.7), ("v1", 70, 80, "A", 0.4)]
    document = json.loads(
        json.dumps(
            diagnose_detection(truth, predictions_of(items), "activitynet13").to_json(), allow_nan=False
        )
    )
    assert document["settings"]["tiou_thresholds"] == [0.5]
    assert document["settings"]["buckets"]["length"]["edges"] == [0, 30, 60, 120, 180, None]
    assert [entry["n"] for entry in document["false_positives"]] == list(range(1, 11))
    for entry in document["false_positives"]:
        assert all(type(entry[kind]) is int for kind in ERROR_TYPES)
        assert entry["false_positive"] == sum(entry[kind] for kind in ERROR_TYPES[1:])
    assert list(document["removal_gain"]) == list(ERROR_TYPES[1:])
    assert list(document["false_negatives"]) == ["coverage", "length", "num_instances"]
    xs = document["false_negatives"]["length"][0]
    assert (xs["bucket"], xs["range"], xs["count"], xs["missed_fraction"]) == ("XS", [0, 30], 2, 0.5)
    assert document["false_negatives"]["length"][1]["missed_fraction"] is None  # empty bucket
    assert document["sensitivity"]["length"][0]["average_mAP_normalized"] == pytest.approx(0.5)
    assert len(document["precision_recall"]["precision"]["0.5"]) == 101


def test_several_thresholds_average_the_profile_and_keep_integers_per_threshold():
    truth = truth_of([("v1", 10, 20, "A")])
    items = [("v1", 10, 20, "A", 0.9), ("v1", 12, 22, "A", 0.8)]
    document = diagnose_detection(truth, predictions_of(items), "activitynet13", (0.5, 0.7)).to_json()
    assert document["false_positives"][1]["double_detection"] == 0.5
    assert document["false_positives"][1]["localization"] == 0.5
    per_tiou = document["false_positives_per_tiou"]
    assert [entry["tiou"] for entry in per_tiou] == [0.5, 0.7]
    assert (
        per_tiou[0]["profile"][1]["double_detection"] == 1 and per_tiou[1]["profile"][1]["localization"] == 1
    )


# --- equality with a plain port of DETAD's procedure ---------------------------------------------

VIDEOS = ("v0", "v1", "v2")
LABELS = ("A", "B", "C")
# A 0.5 s grid makes boundary tIoUs (0.5, 0.1 ...) and equal overlaps common.
times = st.integers(min_value=0, max_value=60).map(lambda t: t / 2)


@st.composite
def scenario(draw):
    instances = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        start = draw(times)
        instances.append(
            (
                draw(st.sampled_from(VIDEOS)),
                start,
                start + draw(st.integers(1, 40)) / 2,
                draw(st.sampled_from(LABELS)),
            )
        )
    count = draw(st.integers(min_value=0, max_value=45))
    scores = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=count, max_size=count, unique=True))
    items = []
    for score in scores:
        start = draw(times)
        video = draw(st.sampled_from((*VIDEOS, "unknown")))
        items.append(
            (video, start, start + draw(st.integers(1, 30)) / 2, draw(st.sampled_from((*LABELS, "D"))), score)
        )
    items.sort(key=lambda item: (*VIDEOS, "unknown").index(item[0]))  # grouped by video: rows keep item order
    durations = {video: draw(st.sampled_from([40.0, 60.0, 400.0])) for video in VIDEOS}
    thresholds = draw(
        st.sampled_from([(0.5,), (0.3, 0.5, 0.7), (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)])
    )
    return instances, items, durations, thresholds


def detad_ap(hits: list[bool], positives: int, normaliser: float) -> float:
    """DETAD's ``interpolated_prec_rec`` on the precision R*K / (R*K + FP)."""
    precision, recall, found, false = [], [], 0, 0
    for hit in hits:
        found, false = found + hit, false + (not hit)
        recall.append(found / positives)
        precision.append(recall[-1] * normaliser / (recall[-1] * normaliser + false))
    mprec, mrec = [0.0, *precision, 0.0], [0.0, *recall, 1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def detad_bucket(edges, value) -> int:
    """pandas.cut(right=True, include_lowest=True), out-of-range values clamped to the end buckets."""
    for index in range(len(edges) - 1):
        if value <= edges[index + 1]:
            return index
    return len(edges) - 2


def detad_reference(truth: GroundTruth, items, thresholds, scale: CharacteristicScale) -> dict:
    """DETAD's analyses, one prediction at a time (ranking and tie-breaking as tad-eval's)."""
    instances = [
        (truth.videos[v], s, e, truth.classes[c])
        for v, (s, e), c in zip(
            truth.video_index.tolist(), truth.segments.tolist(), truth.label_index.tolist(), strict=True
        )
    ]
    classes = list(truth.classes)
    normaliser = len(instances) / len(classes)
    rows = [r for r, item in enumerate(items) if item[0] in truth.videos and item[3] in classes]
    ranking = {c: sorted((r for r in rows if items[r][3] == c), key=lambda r: -items[r][4]) for c in classes}
    positives = {c: sum(1 for item in instances if item[3] == c) for c in classes}
    matched = [dict.fromkeys(rows) for _ in thresholds]  # threshold -> row -> instance or None
    for t, threshold in enumerate(thresholds):
        for c in classes:
            taken = set()
            for r in ranking[c]:
                video, start, end = items[r][:3]
                candidates = [m for m, item in enumerate(instances) if item[0] == video and item[3] == c]
                candidates.sort(key=lambda m: (-tiou((start, end), instances[m][1:3]), m))
                for m in candidates:
                    if tiou((start, end), instances[m][1:3]) < threshold:
                        break
                    if m not in taken:
                        taken.add(m)
                        matched[t][r] = m
                        break
    types = [{} for _ in thresholds]
    for t, threshold in enumerate(thresholds):
        for r in rows:
            if matched[t][r] is not None:
                types[t][r] = TP
                continue
            video, start, end, label = items[r][:4]
            overlaps = [
                (tiou((start, end), item[1:3]), m) for m, item in enumerate(instances) if item[0] == video
            ]
            best, best_m = max(overlaps, key=lambda pair: (pair[0], -pair[1])) if overlaps else (0.0, None)
            same = best_m is not None and instances[best_m][3] == label
            if best >= threshold:
                types[t][r] = DOUBLE if same else WRONG
            elif best >= 0.1:
                types[t][r] = LOCALIZATION if same else CONFUSION
            else:
                types[t][r] = BACKGROUND
    profile = np.zeros((len(thresholds), 10, 6), dtype=np.int64)
    for t in range(len(thresholds)):
        for c in classes:
            for rank, r in enumerate(ranking[c]):
                if rank // positives[c] < 10:
                    profile[t, rank // positives[c], types[t][r]] += 1

    def average_map(keep, positives_of, normalise=True) -> float:
        """Mean over thresholds and classes of AP(_N) of the rankings filtered by keep(t, c, r)."""
        values = []
        for t in range(len(thresholds)):
            for c in classes:
                hits = [matched[t][r] is not None for r in ranking[c] if keep(t, c, r)]
                values.append(detad_ap(hits, positives_of(c), normaliser if normalise else positives_of(c)))
        return float(np.mean(values))

    def in_top(c, r):
        return ranking[c].index(r) < 10 * positives[c]

    gains, gains_plain = [], []
    for normalise, out in ((True, gains), (False, gains_plain)):
        base = average_map(lambda t, c, r: in_top(c, r), positives.get, normalise)
        for kind in range(1, 6):
            out.append(
                average_map(
                    lambda t, c, r, k=kind: in_top(c, r) and types[t][r] != k, positives.get, normalise
                )
                - base
            )
    missed = {}
    values = {
        "coverage": [(e - s) / truth.durations[truth.videos.index(v)] for v, s, e, _ in instances],
        "length": [e - s for _, s, e, _ in instances],
        "num_instances": [sum(1 for other in instances if other[0] == v) for v, _, _, _ in instances],
    }
    bucket = {name: [detad_bucket(getattr(scale, name).edges, x) for x in xs] for name, xs in values.items()}
    detected = [set() for _ in thresholds]
    for t in range(len(thresholds)):
        for c in classes:
            found, false = 0, 0
            for r in ranking[c]:
                found, false = found + (matched[t][r] is not None), false + (matched[t][r] is None)
                recall = found / positives[c]
                if matched[t][r] is not None and recall * normaliser / (recall * normaliser + false) > 0.05:
                    detected[t].add(matched[t][r])
    sensitivity = {}
    for name, of in bucket.items():
        size = len(getattr(scale, name).labels)
        missed[name] = [
            [
                sum(1 for m in range(len(instances)) if of[m] == b and m not in detected[t])
                for b in range(size)
            ]
            for t in range(len(thresholds))
        ]
        sensitivity[name] = []
        for b in range(size):
            per_class = []
            for c in classes:
                count = sum(1 for m, item in enumerate(instances) if item[3] == c and of[m] == b)
                if count == 0:
                    continue
                keep = [
                    r
                    for r in ranking[c]
                    if all(matched[t][r] is None or of[matched[t][r]] == b for t in range(len(thresholds)))
                ]
                per_class.append(
                    np.mean(
                        [
                            detad_ap([matched[t][r] is not None for r in keep], count, normaliser)
                            for t in range(len(thresholds))
                        ]
                    )
                )
            sensitivity[name].append(np.mean(per_class) if per_class else np.nan)
    return {
        "types": types,
        "profile": profile,
        "removal_gain": gains,
        "removal_gain_unnormalized": gains_plain,
        "average_mAP_normalized": average_map(lambda t, c, r: True, positives.get),
        "missed": missed,
        "sensitivity": sensitivity,
    }


@settings(max_examples=80, deadline=None)
@given(scenario())
def test_analysis_equals_a_plain_port_of_detad(data):
    instances, items, durations, thresholds = data
    truth = truth_of(instances, durations=durations, videos=list(VIDEOS))
    predictions = predictions_of(items)
    diagnosis = diagnose_detection(truth, predictions, "activitynet13", thresholds)
    expected = detad_reference(truth, items, thresholds, ACTIVITYNET_SCALE)
    for t in range(len(thresholds)):
        assert {r: diagnosis.error_types[t, r] for r in expected["types"][t]} == expected["types"][t]
    np.testing.assert_array_equal(diagnosis.profile, expected["profile"])
    np.testing.assert_allclose(diagnosis.removal_gain, expected["removal_gain"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        diagnosis.removal_gain_unnormalized, expected["removal_gain_unnormalized"], rtol=0, atol=1e-12
    )
    assert diagnosis.average_mAP_normalized == pytest.approx(expected["average_mAP_normalized"], abs=1e-12)
    for result in diagnosis.characteristics:
        assert result.missed.tolist() == expected["missed"][result.name]
        np.testing.assert_allclose(
            result.average_mAP_normalized, expected["sensitivity"][result.name], rtol=0, atol=1e-12
        )
    np.testing.assert_array_equal(diagnosis.mAP, evaluate_detection(truth, predictions, thresholds).mAP)


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_type_counts_add_up_to_the_false_positives_of_each_part(data):
    instances, items, durations, thresholds = data
    truth = truth_of(instances, durations=durations, videos=list(VIDEOS))
    diagnosis = diagnose_detection(truth, predictions_of(items), "activitynet13", thresholds)
    true_positives = diagnosis.profile[:, :, TP]
    false_positives = diagnosis.profile[:, :, 1:].sum(axis=2)
    np.testing.assert_array_equal(false_positives, diagnosis.profile_size[None, :] - true_positives)
    assert (diagnosis.error_types >= 0).sum(axis=1).tolist() == [diagnosis.num_pred] * len(thresholds)


# --- real ground truth ---------------------------------------------------------------------------


def jittered_predictions(truth: GroundTruth, per_video: int, seed: int) -> Predictions:
    """Around the instances (jittered, mostly the right label) and anywhere; distinct scores."""
    rng = np.random.default_rng(seed)
    scores = rng.permutation(len(truth.videos) * per_video)
    items = []
    for video_code, video in enumerate(truth.videos):
        own = np.flatnonzero(truth.video_index == video_code)
        for _ in range(per_video):
            if own.size and rng.random() < 0.7:
                row = rng.choice(own)
                start, end = truth.segments[row]
                jitter = rng.normal(0, 0.2, 2) * (end - start)
                label = truth.classes[
                    truth.label_index[row] if rng.random() < 0.85 else rng.integers(len(truth.classes))
                ]
                shifted = max(start + jitter[0], 0.0)  # negative times are invalid predictions
                items.append((video, shifted, max(end + jitter[1], shifted + 0.1), label))
            else:
                start = rng.uniform(0, 300)
                items.append(
                    (
                        video,
                        start,
                        start + rng.uniform(0.5, 60),
                        truth.classes[rng.integers(len(truth.classes))],
                    )
                )
    return predictions_of([(*item, float(score)) for item, score in zip(items, scores, strict=True)])


def check_real(truth: GroundTruth, predictions: Predictions, dataset: str, thresholds) -> None:
    diagnosis = diagnose_detection(truth, predictions, dataset, thresholds)
    np.testing.assert_array_equal(diagnosis.mAP, evaluate_detection(truth, predictions, thresholds).mAP)
    true_positives = diagnosis.profile[:, :, TP]
    np.testing.assert_array_equal(
        diagnosis.profile[:, :, 1:].sum(axis=2), diagnosis.profile_size - true_positives
    )
    assert all(result.count.sum() == len(truth) for result in diagnosis.characteristics)
    assert len(diagnosis.characteristics) == 3
    json.dumps(diagnosis.to_json(), allow_nan=False)


def test_real_thumos14_test_ground_truth(shared_data):
    truth = load_ground_truth(shared_data / "thumos14" / "thumos14_gt.json", "test")
    check_real(truth, jittered_predictions(truth, 30, seed=3), "thumos14", (0.5,))


@pytest.mark.slow
def test_real_activitynet_validation_ground_truth(shared_data):
    truth = load_ground_truth(shared_data / "activitynet13" / "activity_net_v1-3_gt.json", "validation")
    check_real(truth, jittered_predictions(truth, 10, seed=4), "activitynet13", np.linspace(0.5, 0.95, 10))


def test_predictions_from_a_file_keep_their_file_order(tmp_path, anet_gt, pred_json):
    gt = anet_gt({"v1": [(10, 20, "A")]})
    pred = pred_json({"v1": [(70, 80, "A", 0.1), (10, 20, "A", 0.9), (10, 20, "A", 0.5)]})
    diagnosis = diagnose_detection(load_ground_truth(gt), load_predictions(pred), "activitynet13")
    assert diagnosis.error_types.tolist() == [[BACKGROUND, TP, DOUBLE]]
    assert isinstance(Buckets(("X",), (0.0, 1.0)).assign(np.array([2.0]))[0], np.integer)
