"""Supervised clip-classification pretraining of a ViT, saved as an official VideoMAE fine-tuned checkpoint.

AdaTAD starts from a VideoMAE that was pretrained and then fine-tuned to classify Kinetics clips. This
module plays that part at toy scale, so the demo's chain has the real one's shape (pretrain a ViT on
action clips, save it in VideoMAE's layout, convert it with ``tad-backbone convert``, train AdaTAD's
adapters on top): it trains a ViT of one of tad-backbone's architectures to classify short clips cut from
an annotated dataset in tad-data's format.

Clips. Every action instance of the subset gives one clip labelled with its class; every stretch between
actions (or before the first, after the last) long enough to hold a whole clip gives one ``background``
clip, an extra class, so the ViT also learns what "no action" looks like. A clip is ``frames`` frames taken
every ``frame_stride`` raw frames (the detector of the demo sees every other frame, stride 2). Each epoch,
an action clip's centre is drawn anywhere inside its action and a background clip's start anywhere inside
its gap (the temporal jitter of Kinetics training), and the frames are augmented with tad-data's training
chain (random resized crop, flip, colour jitter). The held-out evaluation takes the middle clip of each
span with tad-data's test transform.

Model. tad-backbone's VideoMAE in ``full`` mode; its output (spatial means per temporal token) is
averaged over time, which is the mean of all tokens, then ``fc_norm`` (LayerNorm) and a linear ``head``:
exactly the official VideoMAE classifier with mean pooling.

Output. ``{"model": {...}, "epoch": E, "classes": [...]}`` with the official key names
(``patch_embed.proj.*``, ``blocks.N.attn.qkv.weight``, ``blocks.N.attn.q_bias``, ..., ``fc_norm.*``,
``head.*``) and no ``pos_embed`` (the official model keeps its fixed sinusoid table outside the state
dict), so ``tad-backbone convert --from videomae`` reads it like a released checkpoint and drops
``fc_norm`` and ``head``.

The decoded frames of the subset are held in memory (about 3 MB per synthetic 64 px video): this is for
small datasets. The same seed and thread count give the same weights, bit for bit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tad_backbone import VideoMAE, videomae_config
from tad_data import (
    augment_clip,
    draw_augmentation,
    eval_transform,
    load_annotations,
    open_video,
    read_frames,
)
from tad_eval import InputError
from tad_train.checkpoints import write_checkpoint
from tad_train.pretrain_config import PretrainConfig
from tad_train.schedule import WarmupCosineSchedule

__all__ = [
    "BACKGROUND",
    "ClipClassifier",
    "ClipSet",
    "ClipSpan",
    "EpochStats",
    "PretrainConfig",
    "build_classifier",
    "clip_accuracy",
    "load_clips",
    "official_videomae_state",
    "pretrain",
    "save_pretrained",
]

#: The name of the extra class of clips cut away from every action.
BACKGROUND = "background"


@dataclass(frozen=True)
class ClipSpan:
    """Where one clip may start: any raw frame in ``[first_start, last_start]`` of video ``video``."""

    video: int  # index into ClipSet.videos
    first_start: int
    last_start: int
    label: int  # class id; ``len(action classes)`` is background


@dataclass(frozen=True)
class ClipSet:
    """The decoded videos of a subset and the clips cut from them."""

    videos: list[np.ndarray]  # uint8 [T, H, W, 3] per video, as decoded
    spans: list[ClipSpan]
    classes: tuple[str, ...]  # the action classes, then BACKGROUND

    def frames(self, span: ClipSpan, start: int, config: PretrainConfig) -> np.ndarray:
        """uint8 ``[frames, H, W, 3]``: the clip of ``span`` from raw frame ``start``.

        A video shorter than a clip repeats its last frame.
        """
        video = self.videos[span.video]
        indices = start + config.frame_stride * np.arange(config.frames)
        return video[np.minimum(indices, len(video) - 1)]

    def counts(self) -> dict[str, int]:
        """Clips per class name."""
        counts = dict.fromkeys(self.classes, 0)
        for span in self.spans:
            counts[self.classes[span.label]] += 1
        return counts


@dataclass(frozen=True)
class EpochStats:
    """What one pretraining epoch did."""

    epoch: int  # 1-based
    loss: float  # mean cross-entropy over the epoch's clips
    accuracy: float  # share of the epoch's (augmented) clips classified right while training
    seconds: float


def load_clips(
    annotation_path: str | os.PathLike[str],
    video_dir: str | os.PathLike[str],
    subset: str,
    config: PretrainConfig,
    video_suffix: str = ".mp4",
) -> ClipSet:
    """Decode a subset's videos and list its action and background clips.

    Args:
        annotation_path: annotation file in tad-data's format (its class list beside it, if any).
        video_dir: folder of ``<video_id><video_suffix>`` files.
        subset: the subset to cut clips from.
        config: the clip length and stride.
        video_suffix: file extension, with the dot.

    Raises:
        InputError / TadDataError: missing files, an unknown subset, or a subset without actions.
    """
    annotations = load_annotations(annotation_path, None)
    records = annotations.subset(subset)
    if not any(record.instances for record in records):
        raise InputError(annotation_path, subset, "no action instances to cut clips from")
    if BACKGROUND in annotations.classes:
        raise InputError(annotation_path, "classes", f"{BACKGROUND!r} is the name of the extra class")
    classes = (*annotations.classes, BACKGROUND)
    background = len(annotations.classes)
    videos: list[np.ndarray] = []
    spans: list[ClipSpan] = []
    half = config.span // 2
    for record in records:
        path = Path(video_dir) / f"{record.video_id}{video_suffix}"
        reader = open_video(path, num_threads=1)
        total, fps = len(reader), float(reader.get_avg_fps())  # decoded, as tad-data's datasets use
        frames = read_frames(reader, np.arange(total), path)
        del reader
        last_possible = max(total - config.span, 0)
        actions = sorted(
            (int(round(item.start * fps)), int(round(item.end * fps)), annotations.class_index[item.label])
            for item in record.instances
        )
        index = len(videos)
        videos.append(frames)
        for start, end, label in actions:  # the clip's centre anywhere inside the action
            low = min(max(start - half, 0), last_possible)
            high = min(max(end - 1 - half, 0), last_possible)
            spans.append(ClipSpan(index, low, max(low, high), label))
        gap_start = 0
        for start, end in [(start, end) for start, end, _ in actions] + [(total, total)]:
            if start - gap_start >= config.span:  # the whole clip fits between two actions
                spans.append(ClipSpan(index, gap_start, start - config.span, background))
            gap_start = max(gap_start, end)
    return ClipSet(videos, spans, classes)


class ClipClassifier(nn.Module):
    """The official VideoMAE classifier: mean of all tokens -> ``fc_norm`` -> ``head``.

    Args:
        backbone: the ViT (``full`` mode to train it).
        num_classes: classes of the head.
    """

    def __init__(self, backbone: VideoMAE, num_classes: int) -> None:
        super().__init__()
        width = backbone.config.embed_dim
        self.backbone = backbone
        self.fc_norm = nn.LayerNorm(width, eps=backbone.config.norm_eps)
        self.head = nn.Linear(width, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, clips: Tensor) -> Tensor:
        """``[B, 3, T, H, W]`` uint8 clips -> ``[B, num_classes]`` logits."""
        features = self.backbone(clips)  # [B, C, T/2]: spatial token means per temporal step
        return self.head(self.fc_norm(features.mean(dim=2)))


def build_classifier(config: PretrainConfig, num_classes: int) -> ClipClassifier:
    """A randomly initialised classifier (seed the global torch stream first for reproducible weights)."""
    backbone = VideoMAE(
        videomae_config(
            config.arch, mode="full", drop_path_rate=config.drop_path_rate, grad_checkpointing=False
        )
    )
    return ClipClassifier(backbone, num_classes)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def pretrain(
    clips: ClipSet, config: PretrainConfig, report: Callable[[EpochStats], None] | None = None
) -> tuple[ClipClassifier, list[EpochStats]]:
    """Train a classifier on ``clips``; returns it (in eval mode) and the per-epoch statistics.

    Args:
        clips: the training clips.
        config: model, clip and optimisation settings.
        report: called after every epoch.
    """
    config.check()
    torch.manual_seed(config.seed)
    model = build_classifier(config, len(clips.classes))
    optimizer = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr)
    batches = -(-len(clips.spans) // config.batch_size)
    schedule = WarmupCosineSchedule(
        optimizer, config.warmup_epochs * batches, config.epochs * batches, eta_min=1e-6
    )
    augment = config.augmentation
    history = []
    model.train()
    for epoch in range(config.epochs):
        started = time.perf_counter()
        order = np.random.default_rng([config.seed, epoch]).permutation(len(clips.spans))
        loss_sum, correct = 0.0, 0
        for first in range(0, len(order), config.batch_size):
            chosen = order[first : first + config.batch_size]
            batch, labels = [], []
            for index in chosen:
                span = clips.spans[index]
                rng = np.random.default_rng([config.seed, epoch, int(index)])
                start = int(rng.integers(span.first_start, span.last_start + 1))
                frames = clips.frames(span, start, config)
                draw = draw_augmentation(augment, frames.shape[1], frames.shape[2], rng)
                batch.append(augment_clip(frames, draw, augment))
                labels.append(span.label)
            target = torch.tensor(labels)
            logits = model(torch.stack(batch))
            loss = F.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += float(loss.detach()) * len(chosen)
            correct += int((logits.argmax(dim=1) == target).sum())
        stats = EpochStats(
            epoch + 1, loss_sum / len(order), correct / len(order), time.perf_counter() - started
        )
        history.append(stats)
        if report is not None:
            report(stats)
    return model.eval(), history


@torch.no_grad()
def clip_accuracy(model: ClipClassifier, clips: ClipSet, config: PretrainConfig) -> float:
    """Share of ``clips`` classified right: the middle clip of each span, tad-data's test transform."""
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for first in range(0, len(clips.spans), config.batch_size):
            spans = clips.spans[first : first + config.batch_size]
            middles = [
                clips.frames(span, (span.first_start + span.last_start) // 2, config) for span in spans
            ]
            batch = [eval_transform(frames, config.img, config.img) for frames in middles]
            predicted = model(torch.stack(batch)).argmax(dim=1)
            correct += int((predicted == torch.tensor([span.label for span in spans])).sum())
    finally:
        model.train(was_training)
    return correct / len(clips.spans)


def official_videomae_state(model: ClipClassifier) -> dict[str, Tensor]:
    """The classifier's weights under the official VideoMAE fine-tuning key names (no ``pos_embed``)."""
    state = {key: value for key, value in model.backbone.state_dict().items() if key != "pos_embed"}
    state.update({f"fc_norm.{key}": value for key, value in model.fc_norm.state_dict().items()})
    state.update({f"head.{key}": value for key, value in model.head.state_dict().items()})
    return {key: value.detach().clone() for key, value in state.items()}


def save_pretrained(
    path: str | os.PathLike[str], model: ClipClassifier, classes: Sequence[str], epochs: int
) -> None:
    """Write ``{"model": official state, "epoch": epochs, "classes": [...]}`` atomically."""
    write_checkpoint(
        path, {"model": official_videomae_state(model), "epoch": epochs, "classes": list(classes)}
    )
