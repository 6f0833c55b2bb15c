"""The vectorised evaluator equals the plain one-prediction-at-a-time loop (tests/references/)."""

from __future__ import annotations

import numpy as np
import pytest
from eval_reference import reference_average_precision, reference_proposal_recall, reference_topk_recall
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tad_eval import (
    GroundTruth,
    InputError,
    Predictions,
    evaluate_detection,
    evaluate_proposals,
    load_ground_truth,
    topk_recall,
)

VIDEOS = ("v0", "v1", "v2")
LABELS = ("A", "B", "C")
THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.8999999999999999, 0.95)

# Times on a 0.5 s grid make exact tIoU ties and boundary values (0.5, 0.75 ...) common.
times = st.integers(min_value=0, max_value=40).map(lambda t: t / 2)


@st.composite
def scenario(draw, degenerate: bool, tied_scores: bool, crowded: bool = False):
    """Ground-truth instances and predictions over a few videos and labels.

    ``crowded`` puts many instances into few groups, like THUMOS14, where the evaluator narrows
    each prediction to the instances it can overlap.
    """
    videos, labels = (VIDEOS[:1], LABELS[:2]) if crowded else (VIDEOS, LABELS)

    def segment():
        start = draw(times)
        if degenerate:
            return start, draw(times)  # zero-length and inverted segments too
        return start, start + draw(st.integers(min_value=1, max_value=16)) / 2

    instances = []
    for _ in range(draw(st.integers(min_value=6 if crowded else 1, max_value=20 if crowded else 14))):
        start, end = segment()
        instances.append((draw(st.sampled_from(videos)), start, end, draw(st.sampled_from(labels))))
    count = draw(st.integers(min_value=0, max_value=40))
    if tied_scores:
        scores = [draw(st.integers(min_value=0, max_value=4)) / 4 for _ in range(count)]
    else:
        scores = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=count, max_size=count, unique=True))
    results: dict[str, list[dict]] = {}
    for score in scores:
        start, end = sorted(segment())  # a prediction may be zero-length, never inverted
        video = draw(st.sampled_from((*VIDEOS, "unknown")))
        label = draw(st.sampled_from((*LABELS, "D")))
        results.setdefault(video, []).append({"segment": [start, end], "label": label, "score": score})
    return instances, Predictions.from_results(results)


def assert_detection_matches_reference(instances, predictions, clean: bool):
    truth = GroundTruth.from_instances(instances, clean=clean)
    assert len(truth) > 0  # scenario() always draws an instance, and cleaning keeps one of each duplicate
    fast = evaluate_detection(truth, predictions, THRESHOLDS)
    plain = reference_average_precision(truth, predictions, THRESHOLDS)
    np.testing.assert_allclose(fast.per_class_ap, plain, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.mAP, plain.mean(axis=0), rtol=0, atol=1e-12)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(scenario(degenerate=False, tied_scores=False))
def test_detection_equals_plain_loop_on_tie_free_scores(data):
    assert_detection_matches_reference(*data, clean=True)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(scenario(degenerate=False, tied_scores=False, crowded=True))
def test_detection_equals_plain_loop_in_crowded_groups(data):
    assert_detection_matches_reference(*data, clean=True)


@settings(max_examples=200, deadline=None)
@given(scenario(degenerate=False, tied_scores=True))
def test_detection_equals_plain_loop_with_tied_scores(data):
    assert_detection_matches_reference(*data, clean=True)


@settings(max_examples=200, deadline=None)
@given(scenario(degenerate=True, tied_scores=False))
def test_detection_equals_plain_loop_on_raw_degenerate_ground_truth(data):
    assert_detection_matches_reference(*data, clean=False)


@settings(max_examples=150, deadline=None)
@given(st.booleans().flatmap(lambda crowded: scenario(degenerate=False, tied_scores=True, crowded=crowded)))
def test_topk_recall_equals_plain_loop(data):
    truth = GroundTruth.from_instances(data[0])
    fast = topk_recall(truth, data[1], THRESHOLDS, top_k=(1, 2, 5))
    plain = reference_topk_recall(truth, data[1], THRESHOLDS, (1, 2, 5))
    np.testing.assert_allclose(fast.per_class, plain, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.recall, plain.mean(axis=0), rtol=0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.booleans().flatmap(lambda crowded: scenario(degenerate=False, tied_scores=True, crowded=crowded)))
def test_proposal_recall_equals_plain_loop(data):
    truth = GroundTruth.from_instances(data[0])
    assume(any(video in truth.videos for video in data[1].videos))  # else an InputError, tested below
    fast = evaluate_proposals(truth, data[1], THRESHOLDS)
    recall, average_proposals, auc = reference_proposal_recall(truth, data[1], THRESHOLDS)
    np.testing.assert_allclose(fast.recall, recall, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.average_proposals, average_proposals, rtol=0, atol=1e-12)
    assert fast.auc == pytest.approx(auc, abs=1e-12)


def test_proposals_with_none_on_a_ground_truth_video_are_an_input_error():
    truth = GroundTruth.from_instances([("v0", 1.0, 2.0, "A")])
    elsewhere = Predictions.from_results({"v1": [{"segment": [1.0, 2.0], "label": "A", "score": 0.5}]})
    with pytest.raises(InputError, match="no proposals on the videos with ground-truth instances"):
        evaluate_proposals(truth, elsewhere, THRESHOLDS)


def random_predictions(truth: GroundTruth, per_video: int, seed: int) -> Predictions:
    """Predictions scattered around the instances (and anywhere), tie-free scores."""
    rng = np.random.default_rng(seed)
    results = {}
    for video_code, video in enumerate(truth.videos):
        own = np.flatnonzero(truth.video_index == video_code)
        items = []
        for _ in range(per_video):
            if own.size and rng.random() < 0.7:
                row = rng.choice(own)
                start, end = truth.segments[row]
                jitter = rng.normal(0, 0.15, 2) * max(end - start, 0.1)
                segment = sorted([max(start + jitter[0], 0.0), max(end + jitter[1], 0.0)])
                label = (
                    truth.classes[truth.label_index[row]] if rng.random() < 0.9 else rng.choice(truth.classes)
                )
            else:
                start = rng.uniform(0, 200)
                segment, label = [start, start + rng.uniform(0.5, 30)], rng.choice(truth.classes)
            items.append({"segment": segment, "label": str(label), "score": rng.random()})
        results[video] = items
    return Predictions.from_results(results)


def test_real_thumos14_equals_plain_loop(shared_data):
    truth = load_ground_truth(shared_data / "thumos14" / "official_test_txt", subset="test")
    ranked = random_predictions(truth, per_video=40, seed=7)
    thresholds = (0.3, 0.4, 0.5, 0.6, 0.7)
    fast = evaluate_detection(truth, ranked, thresholds)
    np.testing.assert_allclose(
        fast.per_class_ap, reference_average_precision(truth, ranked, thresholds), atol=1e-12
    )
    assert 0.1 < fast.average_mAP < 0.9


def test_real_activitynet13_raw_and_cleaned_equal_plain_loop(shared_data):
    path = shared_data / "activitynet13" / "activity_net_v1-3_gt.json"
    thresholds = np.linspace(0.5, 0.95, 10)
    for clean in (True, False):
        truth = load_ground_truth(path, subset="validation", clean=clean)
        ranked = random_predictions(truth, per_video=3, seed=11)
        fast = evaluate_detection(truth, ranked, thresholds)
        plain = reference_average_precision(truth, ranked, thresholds)
        np.testing.assert_allclose(fast.per_class_ap, plain, atol=1e-12)
