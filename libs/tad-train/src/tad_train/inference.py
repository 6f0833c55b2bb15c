"""Inference: windows -> candidates (per process) -> one NMS per video -> seconds -> a predictions file.

A test set is a list of windows (sliding windows of long videos, THUMOS-style, or one resized window per
video, ActivityNet-style; tad-data's ``TestDataset``). Each process of a ``torchrun`` job takes every
``world``-th window, so no window is computed twice and none is padded in; the candidates travel to rank 0
with their dataset index, are put back in dataset order, merged per video in grid units
(``tad_head.merge_windows``, clipped to the video as OpenTAD clips each window when it converts it to
seconds), suppressed once with the dataset's NMS (``tad_head.batched_nms``) and converted to seconds with
the video's time grid (``tad_data.TimeGrid``). The file is the same for any number of processes.

Class-agnostic experiments (ActivityNet) label every segment ``"action"``; ``tad-head fuse`` (or
``evaluation.classifier``) gives them class names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from tad_data import TestDataset, TimeGrid, collate
from tad_head import Detections, PostProcessConfig, batched_nms, merge_windows
from tad_train.config import ExperimentConfig
from tad_train.model import AdaTAD

__all__ = [
    "AGNOSTIC_LABEL",
    "WindowCandidates",
    "build_test_dataset",
    "gather_windows",
    "predict_windows",
    "video_results",
]

#: The label of every detection of a class-agnostic model, before classifier fusion.
AGNOSTIC_LABEL = "action"


@dataclass(frozen=True)
class WindowCandidates:
    """The NMS candidates of one test window, in that window's grid units, on the CPU."""

    index: int  # position of the window in the test dataset (restores the order after a gather)
    meta: Mapping[str, Any]  # the window's meta (tad_data.datasets): video_id, duration, fps, grid offsets
    detections: Detections


def build_test_dataset(config: ExperimentConfig) -> TestDataset:
    """The windows of the experiment's test subset."""
    dataset = config.data.dataset(config.data.test_subset, min_gt_scale=0.0, seed=config.trainer.seed)
    return TestDataset(dataset, config.test_sampler, config.eval_transform)


class _Strided(Dataset):
    """Every ``world``-th window starting at ``rank``, each sample tagged with its dataset index."""

    def __init__(self, dataset: Dataset, rank: int, world: int) -> None:
        self.dataset = dataset
        self.indices = list(range(rank, len(dataset), world))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> dict[str, Any]:
        index = self.indices[position]
        return {**self.dataset[index], "index": index}


def _collate_indexed(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {**collate(samples), "index": [sample["index"] for sample in samples]}


def predict_windows(
    model: AdaTAD,
    dataset: Dataset,
    postprocess: PostProcessConfig,
    batch_size: int,
    num_workers: int = 0,
    amp_dtype: torch.dtype | None = None,
    chunk_batch: int | None = None,
    rank: int = 0,
    world: int = 1,
    progress: bool = False,
    desc: str = "infer",
) -> list[WindowCandidates]:
    """Candidates of this process's share of the windows (every ``world``-th, from ``rank``).

    Args:
        model: the detector, on its device; evaluated in eval mode.
        dataset: the test windows (``tad_data.TestDataset``).
        postprocess: candidate selection (``pre_nms_thresh``, ``pre_nms_topk``); NMS runs per video later.
        batch_size: windows per forward pass.
        num_workers: DataLoader workers.
        amp_dtype: autocast dtype on the model's device, or None.
        chunk_batch: stream the backbone this many 16-frame chunks at a time (bounded memory); None: whole
            windows.
        rank: this process.
        world: number of processes.
        progress: show a progress bar.
        desc: the progress bar's name.
    """
    from tqdm import tqdm

    share = _Strided(dataset, rank, world)
    loader = DataLoader(
        share, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=_collate_indexed
    )
    device = model.loss_normalizer.value.device
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    was_training = model.training
    model.eval()
    windows = []
    try:
        with autocast:
            for batch in tqdm(loader, desc=desc, unit="batch", disable=not progress, dynamic_ncols=True):
                candidates = model.predict(batch, postprocess, chunk_batch=chunk_batch)
                for index, meta, found in zip(batch["index"], batch["meta"], candidates, strict=True):
                    windows.append(WindowCandidates(index, meta, Detections(*(t.cpu() for t in found))))
    finally:
        model.train(was_training)
    return windows


def gather_windows(windows: list[WindowCandidates], world: int) -> list[WindowCandidates]:
    """All processes' windows on rank 0, in dataset order (an empty list elsewhere)."""
    if world > 1:
        gathered: list[list[WindowCandidates] | None] = [None] * world
        dist.all_gather_object(gathered, windows)
        if dist.get_rank() != 0:
            return []
        windows = [window for part in gathered for window in part or []]
    return sorted(windows, key=lambda window: window.index)


def video_results(
    windows: Sequence[WindowCandidates],
    cfg: PostProcessConfig,
    classes: Sequence[str],
    class_agnostic: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """One NMS per video over its merged windows; ``{video: [{"segment", "label", "score"}, ...]}``.

    Args:
        windows: every window of the test set, in dataset order.
        cfg: the dataset's NMS.
        classes: class names by index.
        class_agnostic: label everything :data:`AGNOSTIC_LABEL`.
    """
    results: dict[str, list[dict[str, Any]]] = {}
    for video_id, group in _by_video(windows):
        segments, scores, labels = _video_detections(group, cfg)
        names = [AGNOSTIC_LABEL] * len(labels) if class_agnostic else [classes[i] for i in labels]
        results[video_id] = [
            {"segment": [float(start), float(end)], "label": name, "score": float(score)}
            for (start, end), name, score in zip(segments, names, scores, strict=True)
        ]
    return results


def _by_video(windows: Sequence[WindowCandidates]) -> Iterator[tuple[str, list[WindowCandidates]]]:
    groups: dict[str, list[WindowCandidates]] = {}
    for window in windows:
        groups.setdefault(window.meta["video_id"], []).append(window)
    yield from groups.items()


def _video_detections(
    windows: Sequence[WindowCandidates], cfg: PostProcessConfig
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Merge a video's windows in its grid, suppress, convert to seconds: segments, scores, labels."""
    first = windows[0].meta
    video_grid = TimeGrid.from_meta({**first, "window_start_frame": 0})
    if first.get("resize_length") is None:  # window grids: offsets and OpenTAD's clip to the video
        offsets = [window.meta["window_start_frame"] / window.meta["snippet_stride"] for window in windows]
        lo, hi = video_grid.seconds_to_grid(np.array([0.0, video_grid.duration]))
        merged = merge_windows([w.detections for w in windows], offsets, clamp=(float(lo), float(hi)))
    else:
        merged = merge_windows([w.detections for w in windows], [0.0] * len(windows))
    kept = batched_nms(merged, cfg.nms)
    seconds = video_grid.grid_to_seconds(kept.segments.double().numpy())
    return seconds, kept.scores.double().numpy(), kept.labels.tolist()
