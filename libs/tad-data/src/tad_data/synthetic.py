"""A synthetic temporal-action-detection dataset: real H.264 videos whose actions can be seen.

`write_synthetic_dataset` (CLI: ``tad-data synth``) writes::

    DIR/annotations.json           internal annotation format (training and validation subsets)
    DIR/annotations.classes.txt    class list, found by `load_annotations` beside the JSON
    DIR/videos/synth_0000.mp4      one H.264 (libx264, yuv420p) video per id

Every video shows a low-saturation textured background drifting in a random direction. Each
action instance (2-4 per video, 1.5-4 s long, never overlapping) draws one bright, fully saturated
shape whose form, colour and motion belong to its class: class ``k`` has shape ``SHAPES[k % 6]``,
motion ``MOTIONS[k % 4]`` and hue ``k / num_classes``. Outside instances no saturated pixel is
drawn, so a detector can learn classes and boundaries from a few videos.

Instance boundaries are whole frames (``start = first_frame / fps``, ``end = (last_frame + 1) / fps``);
the same seed gives the same annotation bytes and the same video bytes. Every file is written as
every tad-* output is (`tad_eval.files`): a video appears complete or not at all, and the annotation
file and its class list appear together.
"""

from __future__ import annotations

import argparse
import colorsys
import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from tad_data.annotations import AnnotationSet, Instance, VideoRecord, class_list_path, save_annotations
from tad_data.errors import TadDataError
from tad_eval.files import atomic_write

__all__ = ["MOTIONS", "SHAPES", "SyntheticDataset", "add_command", "class_name", "write_synthetic_dataset"]

#: Shape of class k: SHAPES[k % len(SHAPES)].
SHAPES = ("disc", "square", "triangle", "cross", "ring", "diamond")

#: Motion of class k: MOTIONS[k % len(MOTIONS)] (with the shape, unique for the first 12 classes).
MOTIONS = ("slide", "rise", "orbit", "zigzag")

#: Fraction of the frame's short side covered by a shape.
_SHAPE_FRACTION = 0.3


@dataclass(frozen=True)
class SyntheticDataset:
    """Where `write_synthetic_dataset` put things."""

    root: Path  # the output folder
    annotation_path: Path  # DIR/annotations.json
    classes_path: Path  # DIR/annotations.classes.txt
    video_dir: Path  # DIR/videos
    annotations: AnnotationSet  # what annotation_path holds


def class_name(index: int) -> str:
    """The name of synthetic class ``index``, e.g. ``class03_cross_slide``."""
    shape = SHAPES[index % len(SHAPES)]
    motion = MOTIONS[index % len(MOTIONS)]
    return f"class{index:02d}_{shape}_{motion}"


def _class_color(index: int, num_classes: int) -> np.ndarray:
    red, green, blue = colorsys.hsv_to_rgb(index / num_classes, 1.0, 1.0)
    return np.array([red, green, blue]) * 255


def _shape_mask(shape: str, side: int) -> np.ndarray:
    """``bool [side, side]`` silhouette of a shape."""
    coords = (np.arange(side) + 0.5) / side * 2 - 1  # [-1, 1]
    y, x = np.meshgrid(coords, coords, indexing="ij")
    radius = np.hypot(x, y)
    masks = {
        "disc": radius <= 1,
        "square": (np.abs(x) <= 0.85) & (np.abs(y) <= 0.85),
        "triangle": (y >= -0.9) & (y <= 0.9) & (np.abs(x) <= (y + 0.9) / 1.8 * 0.95),  # apex up
        "cross": ((np.abs(x) <= 0.3) | (np.abs(y) <= 0.3)) & (np.abs(x) <= 1) & (np.abs(y) <= 1),
        "ring": (radius <= 1) & (radius >= 0.55),
        "diamond": np.abs(x) + np.abs(y) <= 1,
    }
    return masks[shape]


def _position(motion: str, progress: float) -> tuple[float, float]:
    """Shape centre as (y, x) fractions of the free area, for progress in [0, 1] through the instance."""
    if motion == "slide":
        return 0.5, progress
    if motion == "rise":
        return 1 - progress, 0.5
    if motion == "orbit":
        angle = 2 * math.pi * progress
        return 0.5 + 0.4 * math.sin(angle), 0.5 + 0.4 * math.cos(angle)
    return 0.5 + 0.4 * math.sin(4 * math.pi * progress), progress  # zigzag


def _background(
    rng: np.random.Generator, height: int, width: int, detail: float
) -> tuple[np.ndarray, np.ndarray]:
    """A low-saturation texture ``[2H, 2W, 3]`` and its drift in pixels per frame ``(dy, dx)``."""
    cells = rng.uniform(60, 150, size=(8, 8))
    texture = np.kron(cells, np.ones((2 * height // 8 + 1, 2 * width // 8 + 1)))[: 2 * height, : 2 * width]
    stripes = 18 * np.sin(2 * np.pi * np.arange(2 * width) / max(4, width // 4))
    gray = texture + stripes[None, :]
    tint = rng.uniform(-8, 8, size=3)
    image = np.clip(gray[:, :, None] + tint, 0, 255)
    angle = rng.uniform(0, 2 * math.pi)
    drift = np.array([math.sin(angle), math.cos(angle)]) * rng.uniform(0.5, 1.5)
    if detail > 0:  # fine grain the encoder must follow as it drifts: natural-video bitrates
        image = np.clip(image + rng.normal(0, detail, size=gray.shape)[:, :, None], 0, 255)
    return image, drift


def _place_instances(
    rng: np.random.Generator, num_frames: int, fps: float, num_classes: int
) -> list[tuple[int, int, int]]:
    """Non-overlapping ``(first_frame, end_frame_exclusive, class)`` triples, sorted by start."""
    count = int(rng.integers(2, 5))
    lengths = [max(2, round(rng.uniform(1.5, 4.0) * fps)) for _ in range(count)]
    while sum(lengths) + count > num_frames and lengths:  # a short video holds fewer instances
        lengths.pop()
    free = num_frames - sum(lengths)
    cuts = np.sort(rng.integers(0, free + 1, size=len(lengths)))
    instances, offset = [], 0
    for length, cut in zip(lengths, cuts, strict=True):
        start = int(cut) + offset
        instances.append((start, start + length, int(rng.integers(num_classes))))
        offset += length
    return instances


def _render_video(
    path: Path,
    rng: np.random.Generator,
    num_frames: int,
    fps: int,
    size: tuple[int, int],
    instances: list,
    num_classes: int,
    detail: float,
) -> None:
    height, width = size
    texture, drift = _background(rng, height, width, detail)
    side = max(3, round(_SHAPE_FRACTION * min(height, width)))
    masks = {shape: _shape_mask(shape, side) for shape in SHAPES}
    active = np.full(num_frames, -1)
    for index, (start, end, _) in enumerate(instances):
        active[start:end] = index
    with atomic_write(path, "wb") as handle, av.open(handle, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # one thread and no macroblock-tree rate control: x264 then writes the same bytes every time
        stream.options = {"crf": "20", "preset": "veryfast", "x264-params": "mbtree=0"}
        stream.codec_context.thread_count = 1
        for frame_index in range(num_frames):
            offset_y = int(drift[0] * frame_index) % height
            offset_x = int(drift[1] * frame_index) % width
            frame = texture[offset_y : offset_y + height, offset_x : offset_x + width].copy()
            if active[frame_index] >= 0:
                start, end, label = instances[active[frame_index]]
                shape = SHAPES[label % len(SHAPES)]
                motion = MOTIONS[label % len(MOTIONS)]
                progress = (frame_index - start) / max(1, end - start - 1)
                center_y, center_x = _position(motion, progress)
                top, left = round(center_y * (height - side)), round(center_x * (width - side))
                patch = frame[top : top + side, left : left + side]
                patch[masks[shape]] = _class_color(label, num_classes)
            video_frame = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_synthetic_dataset(
    out_dir: str | os.PathLike[str],
    num_videos: int,
    num_classes: int,
    seed: int,
    size: int | tuple[int, int] = 64,
    fps: int = 15,
    min_duration: float = 10.0,
    max_duration: float = 20.0,
    validation_fraction: float = 0.25,
    texture_detail: float = 0.0,
) -> SyntheticDataset:
    """Write a synthetic dataset (videos, annotation file, class list); see the module docstring.

    Args:
        out_dir: the output folder (created; existing files of the same names are replaced).
        num_videos: how many videos.
        num_classes: how many action classes.
        seed: the random seed; the same seed gives the same annotation bytes.
        size: frame side in pixels, or ``(height, width)`` (even numbers; H.264 4:2:0).
        fps: frames per second.
        min_duration: shortest video in seconds.
        max_duration: longest video in seconds.
        validation_fraction: share of videos (the last ones; at least one when it is positive and
            there are two or more videos) in the ``validation`` subset; the rest are ``training``.
        texture_detail: standard deviation (gray levels) of fine grain on the background; 0 keeps
            files tiny, about 20 gives natural-video bitrates (THUMOS-like at 320x180, 30 fps).
    """
    height, width = (size, size) if isinstance(size, int) else size
    if num_videos <= 0 or num_classes <= 0:
        raise TadDataError(
            f"synth: need at least one video and one class, got {num_videos} videos, {num_classes} classes"
        )
    if height < 16 or width < 16 or height % 2 or width % 2:
        raise TadDataError(f"synth: frame size must be even and at least 16 pixels, got {height}x{width}")
    if not 0 < min_duration <= max_duration or fps <= 0:
        raise TadDataError(f"synth: bad timing (fps={fps}, durations {min_duration}..{max_duration} s)")
    root = Path(out_dir)
    video_dir = root / "videos"
    num_validation = 0
    if num_videos >= 2 and validation_fraction > 0:
        num_validation = max(1, round(num_videos * validation_fraction))
    classes = tuple(class_name(index) for index in range(num_classes))
    videos = {}
    for video_index in range(num_videos):
        rng = np.random.default_rng([seed, video_index])
        video_id = f"synth_{video_index:04d}"
        num_frames = max(2, round(rng.uniform(min_duration, max_duration) * fps))
        instances = _place_instances(rng, num_frames, fps, num_classes)
        path = video_dir / f"{video_id}.mp4"
        _render_video(path, rng, num_frames, fps, (height, width), instances, num_classes, texture_detail)
        videos[video_id] = VideoRecord(
            video_id=video_id,
            subset="validation" if video_index >= num_videos - num_validation else "training",
            duration=num_frames / fps,
            fps=float(fps),
            num_frames=num_frames,
            instances=tuple(
                Instance(start / fps, end / fps, classes[label]) for start, end, label in instances
            ),
        )
    annotations = AnnotationSet(videos=videos, classes=classes, version="tad-data synthetic 1")
    annotation_path = root / "annotations.json"
    save_annotations(annotations, annotation_path, class_list_path(annotation_path))
    return SyntheticDataset(root, annotation_path, class_list_path(annotation_path), video_dir, annotations)


def _run(args: argparse.Namespace) -> int:
    dataset = write_synthetic_dataset(
        args.out, args.videos, args.classes, args.seed, size=args.size, fps=args.fps
    )
    print(
        f"wrote {len(dataset.annotations.videos)} videos ({dataset.annotations.num_instances} instances, "
        f"{len(dataset.annotations.classes)} classes) to {dataset.root}"
    )
    return 0


_EXAMPLES = """\
examples:
  tad-data synth --out data/synth --videos 8 --classes 3 --seed 0
  tad-data synth --out data/synth_large --videos 64 --classes 12 --seed 1 --size 128 --fps 30
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tad-data synth``."""
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic dataset of H.264 videos with visible actions",
        description="Write DIR/videos/synth_NNNN.mp4, DIR/annotations.json and DIR/annotations.classes.txt:\n"
        "H.264 videos in which each action class draws its own shape, colour and motion.\n",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--videos", type=int, required=True, help="number of videos")
    parser.add_argument("--classes", type=int, required=True, help="number of action classes")
    parser.add_argument(
        "--seed", type=int, required=True, help="random seed (same seed, same annotation bytes)"
    )
    parser.add_argument("--size", type=int, default=64, help="frame side in pixels, even (default 64)")
    parser.add_argument("--fps", type=int, default=15, help="frames per second (default 15)")
    parser.set_defaults(run=_run)
