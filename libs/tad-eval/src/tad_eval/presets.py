"""Per-dataset evaluation presets, keyed by the canonical dataset names of :mod:`tad_eval.datasets`:
tIoU thresholds exactly as the field computes them, and the subsets evaluated by default.

ActivityNet's thresholds are the official evaluator's ``numpy.linspace(0.5, 0.95, 10)`` (its
0.8999999999999999 is not the literal 0.9, which matters for a tIoU of exactly 0.9); the others are
the literal lists of the OpenTAD / AdaTAD configurations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["PRESETS", "DatasetName", "DatasetPreset", "parse_tiou"]

#: The canonical names of :data:`tad_eval.datasets.DATASETS` (a test keeps the two equal).
DatasetName = Literal["thumos14", "activitynet13", "epic-kitchens-100", "ego4d-mq", "multithumos", "charades"]


@dataclass(frozen=True)
class DatasetPreset:
    """How one benchmark is evaluated."""

    name: DatasetName  # canonical dataset name (the CLI's --dataset also takes aliases)
    tiou_thresholds: tuple[float, ...]  # detection mAP thresholds
    # Names of the evaluation subset, most specific first (case-insensitive); the first one the file has
    # is evaluated. Official/ActionFormer files name the THUMOS14 test set "Test"; OpenTAD's and
    # tad-data's files call the labelled evaluation split "validation" (their "training" is THUMOS val).
    default_subsets: tuple[str, ...]
    top_k: tuple[int, ...] = ()  # also report Recall@k x #GT for these k (Ego4D-MQ)


_TENTHS_1_TO_5 = (0.1, 0.2, 0.3, 0.4, 0.5)
_TENTHS_1_TO_9 = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

PRESETS: dict[str, DatasetPreset] = {
    "thumos14": DatasetPreset("thumos14", (0.3, 0.4, 0.5, 0.6, 0.7), ("test", "validation")),
    "activitynet13": DatasetPreset(
        "activitynet13", tuple(np.linspace(0.5, 0.95, 10).tolist()), ("validation",)
    ),
    "epic-kitchens-100": DatasetPreset("epic-kitchens-100", _TENTHS_1_TO_5, ("val", "validation")),
    "ego4d-mq": DatasetPreset("ego4d-mq", _TENTHS_1_TO_5, ("val", "validation"), top_k=(1, 5)),
    "multithumos": DatasetPreset("multithumos", _TENTHS_1_TO_9, ("test", "validation")),
    "charades": DatasetPreset("charades", _TENTHS_1_TO_9, ("testing", "validation")),
}


def parse_tiou(text: str) -> tuple[float, ...]:
    """Thresholds from ``"0.3,0.5"`` (a list) or ``"0.5:0.95:0.05"`` (start:stop:step, stop included).

    A range is ``numpy.linspace(start, stop, round((stop - start) / step) + 1)``, so
    ``0.5:0.95:0.05`` gives exactly the ActivityNet thresholds.

    Raises:
        ValueError: the text is neither form, or a step does not divide the range.
    """
    text = text.strip()
    if ":" not in text:
        return tuple(float(part) for part in text.split(","))
    parts = [float(part) for part in text.split(":")]
    if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
        raise ValueError(f"expected start:stop:step with step > 0 and stop >= start, got {text!r}")
    start, stop, step = parts
    steps = round((stop - start) / step)
    if abs(steps * step - (stop - start)) > 1e-9:
        raise ValueError(f"step {step} does not divide {start}..{stop}")
    return tuple(np.linspace(start, stop, steps + 1).tolist())
