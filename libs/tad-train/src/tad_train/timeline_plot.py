"""The picture of one video's detections (``tad-train detect``): thumbnails over a timeline of classes.

A strip of thumbnails, each the frame shown at the middle of its cell, runs along the top; below it, one
row per detected class (in class-list order) holds a bar per detection, darker for higher scores (the
colour bar on the right; higher scores are drawn over lower ones, and bars wide enough print their
score). The time axis reads mm:ss (h:mm:ss past an hour), and faint lines continue the thumbnail cells
down through the rows, so a bar can be matched with the pictures above it.

matplotlib is an optional dependency (``tad-train[plot]``), imported only here and only when drawing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tad_eval import atomic_write

__all__ = ["draw_timeline", "format_time"]

_DPI = 100
_WIDTH = 14.0  # inches: 1400 px
_THUMBNAILS = 10
_MAX_STRIP = 2.2  # inches: portrait videos get more, narrower thumbnails
_ROW = 0.42  # inches per class row
_BAR = 0.7  # bar height as a fraction of a row
_MIN_BAR_PX = 2.0  # a short action in a long video stays visible
_LABEL_PX = 36.0  # bars at least this wide show their score


def format_time(seconds: float, hours: bool = False) -> str:
    """``75.4`` -> ``01:15``; with ``hours`` ``3675`` -> ``1:01:15``."""
    whole = int(round(seconds))
    minutes, secs = divmod(whole, 60)
    if hours:
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def draw_timeline(
    path: str | os.PathLike[str],
    title: str,
    duration: float,
    aspect: float,
    detections: Sequence[dict[str, Any]],
    classes: Sequence[str],
    thumbnails: Callable[[np.ndarray], list[np.ndarray]],
) -> None:
    """Write the PNG of one video's detections.

    Args:
        path: the PNG file (written atomically).
        title: the line above the picture (video name, counts, threshold).
        duration: the video's length in seconds (the time axis).
        aspect: frame height / width (the thumbnails keep it).
        detections: ``[{"segment": [start, end], "label", "score"}]`` in seconds.
        classes: every class name in the order rows are drawn (only detected ones get a row).
        thumbnails: ``times -> [H, W, 3] uint8 images`` of the frames shown at those times.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    detected = {entry["label"] for entry in detections}
    rows = [name for name in classes if name in detected] + sorted(detected - set(classes))
    longest = max((len(name) for name in rows), default=8)
    left = min(max(1.0, 0.085 * longest + 0.35), 4.5)
    right = 1.2
    axis_width = _WIDTH - left - right
    count = max(_THUMBNAILS, math.ceil(axis_width * aspect / _MAX_STRIP))
    strip = axis_width / count * aspect
    timeline = max(len(rows), 1) * _ROW + 0.2
    top, gap, bottom = 0.55, 0.08, 0.65
    height = top + strip + gap + timeline + bottom

    figure = Figure(figsize=(_WIDTH, height), dpi=_DPI)
    FigureCanvasAgg(figure)

    def box(y: float, h: float, x: float = left, w: float = axis_width) -> list[float]:
        return [x / _WIDTH, y / height, w / _WIDTH, h / height]

    bars = figure.add_axes(box(bottom, timeline))
    pictures = figure.add_axes(box(bottom + timeline + gap, strip), sharex=bars)
    figure.suptitle(title, x=left / _WIDTH, y=1 - 0.12 / height, ha="left", va="top", fontsize=12)

    cell = duration / count
    times = (np.arange(count) + 0.5) * cell
    for index, image in enumerate(thumbnails(times)):
        margin = 0.02 * cell
        extent = (index * cell + margin, (index + 1) * cell - margin, 0.0, 1.0)
        pictures.imshow(image, extent=extent, aspect="auto", interpolation="antialiased")
    pictures.set_ylim(0, 1)
    pictures.set_yticks([])
    pictures.tick_params(axis="x", labelbottom=False, length=0)
    for spine in pictures.spines.values():
        spine.set_visible(False)

    shades = LinearSegmentedColormap.from_list("score", colormaps["Blues"](np.linspace(0.2, 1.0, 256)))
    norm = Normalize(0.0, 1.0)
    min_width = duration * _MIN_BAR_PX / (axis_width * _DPI)
    for row, name in enumerate(rows):
        entries = sorted((e for e in detections if e["label"] == name), key=lambda e: e["score"])
        spans = [(e["segment"][0], max(e["segment"][1] - e["segment"][0], min_width)) for e in entries]
        colours = [shades(norm(e["score"])) for e in entries]
        bars.broken_barh(spans, (row - _BAR / 2, _BAR), facecolors=colours, edgecolors="white", linewidth=0.5)
        label_width = _LABEL_PX * duration / (axis_width * _DPI)
        placed: list[tuple[float, float]] = []  # spans of bars, best first: a label must show on its bar
        for (start, width), entry, colour in reversed(list(zip(spans, entries, colours, strict=True))):
            label = (start, start + label_width)
            visible = width >= label_width and not any(a < label[1] and label[0] < b for a, b in placed)
            placed.append((start, start + width))
            if visible:
                bars.text(
                    start + 0.15 * label_width,
                    row,
                    f"{entry['score']:.2f}",
                    va="center",
                    fontsize=8,
                    color="white" if sum(colour[:3]) < 1.6 else "0.15",
                    clip_on=True,
                )
    for boundary in np.arange(1, count) * cell:
        bars.axvline(boundary, color="0.88", linewidth=0.8, zorder=0)
    bars.set_xlim(0, duration)
    bars.set_ylim(max(len(rows), 1) - 0.5, -0.5)
    bars.set_yticks(range(len(rows)), rows)
    bars.tick_params(axis="y", length=0)
    if not rows:
        bars.set_yticks([])
        bars.text(0.5, 0.5, "no detection above the threshold", transform=bars.transAxes, ha="center")
    hours = duration >= 3600
    bars.xaxis.set_major_locator(MaxNLocator(nbins=14, steps=[1, 1.5, 2, 3, 5, 6, 10], integer=True))
    bars.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_time(value, hours)))
    bars.set_xlabel("time (h:mm:ss)" if hours else "time (mm:ss)")
    for side in ("top", "right"):
        bars.spines[side].set_visible(False)

    colour_axis = figure.add_axes(box(bottom, timeline + gap + strip, x=left + axis_width + 0.25, w=0.18))
    figure.colorbar(ScalarMappable(norm=norm, cmap=shades), cax=colour_axis, label="score")

    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=_DPI)
