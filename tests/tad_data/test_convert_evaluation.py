"""A converted file is valid ground truth for tad-eval: perfect predictions score mAP 1.0."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tad_data import convert_dataset, load_annotations, write_conversion
from tad_eval import evaluate_detection, load_ground_truth, load_predictions, write_predictions


def test_converted_thumos_test_files_give_map_one_for_perfect_predictions(
    shared_data: Path, tmp_path: Path
) -> None:
    conversion = convert_dataset("thumos14", [shared_data / "thumos14" / "official_test_txt"])
    write_conversion(conversion, tmp_path / "thumos14.json")
    converted = load_annotations(tmp_path / "thumos14.json")
    perfect = {
        record.video_id: [
            {"segment": [item.start, item.end], "label": item.label, "score": 1.0}
            for item in record.instances
        ]
        for record in converted.videos.values()
    }
    write_predictions(tmp_path / "perfect.json", perfect)
    ground_truth = load_ground_truth(tmp_path / "thumos14.json", subset="validation")
    assert len(ground_truth.videos) == 212
    result = evaluate_detection(
        ground_truth, load_predictions(tmp_path / "perfect.json"), [0.3, 0.4, 0.5, 0.6, 0.7]
    )
    np.testing.assert_array_equal(result.mAP, np.ones(5))
    assert len(result.classes) == 20
