"""PNG plots of a detection result (optional extra ``tad-eval[plot]``: needs matplotlib).

This module is imported only when plotting is asked for, so ``import tad_eval`` never loads matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tad_eval.detection import DetectionResult
from tad_eval.files import atomic_write

__all__ = ["plot_detection", "save_png"]


def plot_detection(
    result: DetectionResult, folder: str | Path, reference: Mapping[float, float] | None = None
) -> list[Path]:
    """Write ``map_vs_tiou.png`` (mAP against threshold) and ``per_class_ap.png`` (AP bars).

    Args:
        result: from :func:`tad_eval.evaluate_detection`.
        folder: output folder, created when missing.
        reference: mAP in % per threshold to draw beside the result (e.g. a paper's table).

    Returns:
        The two written files.
    """
    folder = Path(folder)
    curve = save_png(_map_curve(result, reference or {}), folder / "map_vs_tiou.png")
    bars = save_png(_class_bars(result), folder / "per_class_ap.png")
    return [curve, bars]


def _map_curve(result: DetectionResult, reference: Mapping[float, float]) -> Figure:
    figure = Figure(figsize=(5, 3.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(result.tiou_thresholds, 100 * result.mAP, marker="o", label="this result")
    axes.axhline(
        100 * result.average_mAP,
        linestyle="--",
        color="gray",
        label=f"average {100 * result.average_mAP:.2f}",
    )
    if reference:
        thresholds = sorted(reference)
        axes.plot(
            thresholds, [reference[t] for t in thresholds], marker="s", linestyle=":", label="reference"
        )
    axes.set(xlabel="tIoU threshold", ylabel="mAP (%)", title="mAP versus tIoU")
    axes.legend()
    axes.grid(alpha=0.3)
    return figure


def _class_bars(result: DetectionResult) -> Figure:
    """Mean AP over the thresholds per class, best first (one bar per class)."""
    mean_ap = result.per_class_ap.mean(axis=1)
    order = np.argsort(-mean_ap, kind="stable")
    figure = Figure(figsize=(6, 1 + 0.18 * len(order)), layout="constrained")
    axes = figure.subplots()
    axes.barh(np.arange(len(order)), 100 * mean_ap[order])
    axes.set_yticks(np.arange(len(order)), [result.classes[i] for i in order], fontsize=7)
    axes.invert_yaxis()
    axes.set(xlabel="AP averaged over tIoU thresholds (%)", title="Per-class AP")
    return figure


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` atomically (100 dpi) and return the path."""
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path
