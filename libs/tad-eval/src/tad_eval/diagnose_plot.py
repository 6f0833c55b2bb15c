"""PNG plots of a :class:`~tad_eval.diagnose.Diagnosis` (optional extra ``tad-eval[plot]``: needs matplotlib).

Imported only when plotting is asked for, so ``import tad_eval`` never loads matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tad_eval.diagnose import CHARACTERISTICS, RECALL_LEVELS, CharacteristicResult, Diagnosis
from tad_eval.plot import save_png

__all__ = ["plot_diagnosis"]

#: One colour per outcome, in ERROR_TYPES order (DETAD's palette: greens for true positives and
#: double detections, blue wrong label, reds localization and confusion, pale blue background).
_COLORS = ("#33a02c", "#b2df8a", "#1f78b4", "#fb9a99", "#e31a1c", "#a6cee3")
_NAMES = ("true positive", "double detection", "wrong label", "localization", "confusion", "background")
_CHARACTERISTIC_COLORS = {"coverage": "#386cb0", "length": "#f0027f", "num_instances": "#bf5b17"}
_CHARACTERISTIC_NAMES = {"coverage": "Coverage", "length": "Length", "num_instances": "# instances"}


def plot_diagnosis(diagnosis: Diagnosis, folder: str | Path) -> list[Path]:
    """Write ``false_positive_profile.png``, ``false_negatives.png``, ``sensitivity.png`` and
    ``precision_recall.png`` into ``folder`` (created when missing) and return their paths."""
    folder = Path(folder)
    return [
        save_png(_false_positive_profile(diagnosis), folder / "false_positive_profile.png"),
        save_png(_per_bucket(diagnosis, sensitivity=False), folder / "false_negatives.png"),
        save_png(_per_bucket(diagnosis, sensitivity=True), folder / "sensitivity.png"),
        save_png(_precision_recall(diagnosis), folder / "precision_recall.png"),
    ]


def _subject(diagnosis: Diagnosis, with_tiou: bool = True) -> str:
    """The dataset, the prediction file, the ground-truth file (and the thresholds), for titles."""
    files = (
        f"{diagnosis.dataset}: {Path(diagnosis.prediction_source).name} "
        f"vs {Path(diagnosis.ground_truth_source).name}"
    )
    thresholds = diagnosis.tiou_thresholds
    if not with_tiou:
        return files
    if len(thresholds) == 1:
        return f"{files}, tIoU {thresholds[0]:g}"
    return f"{files}, mean over tIoU {thresholds[0]:g}..{thresholds[-1]:g} ({len(thresholds)} thresholds)"


def _false_positive_profile(diagnosis: Diagnosis) -> Figure:
    """Stacked shares of each outcome over the parts 1G..10G, and the removal gains as bars."""
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    figure.suptitle(f"False-positive analysis — {_subject(diagnosis)}")
    profile_axes, gain_axes = figure.subplots(1, 2, width_ratios=(1.6, 1))
    parts = int(np.count_nonzero(diagnosis.profile_size))  # non-empty parts come first
    counts = diagnosis.profile.mean(axis=0)[:parts]  # [parts, 6]
    shares = 100 * counts / np.maximum(diagnosis.profile_size[:parts, None], 1)
    x = np.arange(1, parts + 1)
    if parts > 1:
        profile_axes.stackplot(x, shares.T, colors=_COLORS, labels=_NAMES, alpha=0.9)
    elif parts == 1:  # a single part has no area to fill: one stacked bar
        bottom = 0.0
        for share, color, name in zip(shares[0], _COLORS, _NAMES, strict=True):
            profile_axes.bar(x, share, bottom=bottom, color=color, label=name, width=0.5)
            bottom += share
    profile_axes.set_xticks(x, [f"{n}G" for n in x])
    profile_axes.set(
        xlabel="predictions of each class by rank: part nG = ranks (n-1)G+1..nG (G: its ground truth)",
        ylabel="share of the part's predictions (%)",
        title="False-positive profile",
        ylim=(0, 100),
    )
    if parts:
        profile_axes.set_xlim(x[0] - 0.5 if parts == 1 else x[0], x[-1] + 0.5 if parts == 1 else x[-1])
    handles, labels = profile_axes.get_legend_handles_labels()
    profile_axes.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    profile_axes.grid(axis="y", alpha=0.3)

    gains = 100 * diagnosis.removal_gain
    bars = gain_axes.bar(np.arange(len(gains)), gains, color=_COLORS[1:])
    gain_axes.bar_label(bars, fmt="%.2f", fontsize=8)
    gain_axes.set_xticks(np.arange(len(gains)), [name.replace(" ", "\n") for name in _NAMES[1:]], fontsize=8)
    gain_axes.set(
        xlabel="error type removed",
        ylabel="average-mAP$_N$ improvement (points)",
        title="Removing each error type from the top 10G\n"
        f"(base average-mAP$_N$ {100 * diagnosis.top_average_mAP_normalized:.2f})",
    )
    gain_axes.set_ylim(min(0.0, gains.min() * 1.2), max(gains.max() * 1.2, 1e-3))
    gain_axes.grid(axis="y", alpha=0.3)
    return figure


def _per_bucket(diagnosis: Diagnosis, sensitivity: bool) -> Figure:
    """One panel per characteristic: missed ground truth (%) or average-mAP_N (%) per bucket."""
    results = diagnosis.characteristics
    figure = Figure(figsize=(4 * max(len(results), 1) + 1, 4.2), layout="constrained")
    kind = "Sensitivity (average-mAP$_N$ per bucket)" if sensitivity else "False negatives per bucket"
    figure.suptitle(f"{kind} — {_subject(diagnosis)}")
    panels = np.atleast_1d(figure.subplots(1, len(results), sharey=True)) if results else []
    for axes, result in zip(panels, results, strict=True):
        _bucket_panel(axes, result, sensitivity)
        if sensitivity:
            base = 100 * diagnosis.average_mAP_normalized
            line = axes.axhline(base, linestyle="--", color="black", linewidth=1)
    if sensitivity and results:
        figure.legend(
            [line], [f"all instances: average-mAP$_N$ {base:.2f}"], loc="outside lower center", fontsize=9
        )
    return figure


def _bucket_panel(axes: Axes, result: CharacteristicResult, sensitivity: bool) -> None:
    characteristic = CHARACTERISTICS[result.name]
    values = 100 * (result.average_mAP_normalized if sensitivity else result.missed_fraction)
    x = np.arange(len(result.buckets.labels))
    present = ~np.isnan(values)
    bars = axes.bar(x[present], values[present], color=_CHARACTERISTIC_COLORS[result.name])
    axes.bar_label(bars, fmt="%.1f", fontsize=8)
    ranges = [result.buckets.describe(i, characteristic.unit, characteristic.integer) for i in x]
    ticks = [
        f"{label}\n{text}\nn={count}"
        for label, text, count in zip(result.buckets.labels, ranges, result.count, strict=True)
    ]
    axes.set_xticks(x, ticks, fontsize=8)
    axes.set_title(f"{_CHARACTERISTIC_NAMES[result.name]}: {characteristic.title}", fontsize=9)
    axes.set_xlabel("bucket (n: ground-truth instances)")
    axes.set_ylim(0, 105)
    axes.set_ylabel("average-mAP$_N$ (%)" if sensitivity else "ground truth missed (%)")
    axes.grid(axis="y", alpha=0.3)


def _precision_recall(diagnosis: Diagnosis) -> Figure:
    """Interpolated precision against recall, mean over classes, one curve per threshold."""
    figure = Figure(figsize=(6.5, 5), layout="constrained")
    axes = figure.subplots()
    colors = _threshold_colors(len(diagnosis.tiou_thresholds))
    for threshold, precision, value, color in zip(
        diagnosis.tiou_thresholds, diagnosis.precision, diagnosis.mAP, colors, strict=True
    ):
        axes.plot(
            RECALL_LEVELS, 100 * precision, color=color, label=f"tIoU {threshold:.2f}: mAP {100 * value:.2f}"
        )
    axes.set(
        xlabel="recall",
        ylabel="interpolated precision, mean over classes (%)",
        title=f"Precision-recall per tIoU\n{_subject(diagnosis, with_tiou=False)}",
        xlim=(0, 1),
        ylim=(0, 101),
    )
    axes.title.set_fontsize(9)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return figure


def _threshold_colors(count: int) -> list[tuple[float, ...]]:
    return [colormaps["viridis"](value) for value in np.linspace(0.0, 0.9, count)]
