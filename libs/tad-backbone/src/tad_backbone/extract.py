"""Feature extraction for feature-based detectors, streaming long videos in bounded memory.

A video is processed ``batch_chunks`` 16-frame chunks at a time. Attention never crosses a chunk, so in
``frozen`` (and ``full``) mode the batches are independent. The adapters' temporal convolution (kernel 3)
does cross chunk boundaries, and the result must equal a whole-video forward pass, so:

* ``adapter`` mode sweeps the batches through the blocks as a pipeline. After block ``i`` computes a
  batch, its adapter holds that batch until the next batch's first temporal step of the adapter's
  bottleneck activations is known (a one-step halo; zeros at the video ends, as the whole-sequence
  convolution pads), then releases it to block ``i + 1``. Every token is computed exactly once; memory is
  one pending batch per adapter block, ``depth × batch_chunks × tokens_per_chunk × (C + C/4)`` values,
  independent of the video length (about 70 MB for S at 160 px with 4 chunks per batch in fp32).
* ``side`` mode runs the ViT on each batch and holds one batch of ladder inputs until the next batch's
  first step is known; memory is two batches of features.

Frames: a length that is not a multiple of 16 is edge-padded with copies of the last frame (as OpenTAD
pads its windows) and the ``ceil(T / 2)`` tokens covering real frames are kept, so the output has
``ceil(T / 2)`` steps before the optional resize to ``length``. The padded frames still influence the
last real tokens through attention inside the last chunk, as in the official pipeline.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from tad_backbone.adapters import TemporalAdapter
from tad_backbone.layers import resize_temporal, spatial_mean_pool
from tad_backbone.videomae import VideoMAE

__all__ = ["ArrayFrames", "FrameSource", "extract_features", "extract_to_file"]

Grid = tuple[int, int, int]


class FrameSource(Protocol):
    """Random access to the RGB frames of one video."""

    num_frames: int

    def read(self, start: int, stop: int) -> torch.Tensor:
        """uint8 frames ``start:stop`` as ``[3, stop - start, H, W]``."""
        ...


class ArrayFrames:
    """Frames held in (or memory-mapped from) an array, optionally resized on the fly per batch.

    Args:
        frames: ``[3, T, H, W]`` (``layout="cthw"``) or decord's ``[T, H, W, 3]`` (``layout="thwc"``).
        layout: which of the two layouts ``frames`` has.
        transform: applied to each ``[3, n, H, W]`` uint8 batch, e.g. short-side resize and center crop.
    """

    def __init__(
        self,
        frames: np.ndarray | torch.Tensor,
        layout: str,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if layout not in ("cthw", "thwc"):
            raise ValueError(f"layout must be 'cthw' or 'thwc', got {layout!r}")
        self.frames = frames
        self.layout = layout
        self.transform = transform
        self.num_frames = int(frames.shape[1] if layout == "cthw" else frames.shape[0])

    def read(self, start: int, stop: int) -> torch.Tensor:
        part = self.frames[:, start:stop] if self.layout == "cthw" else self.frames[start:stop]
        # A writable copy: the array may be a read-only memory map.
        part = part.clone() if isinstance(part, torch.Tensor) else torch.from_numpy(np.array(part))
        if self.layout == "thwc":
            part = part.permute(3, 0, 1, 2)
        return part if self.transform is None else self.transform(part)


def extract_features(
    model: VideoMAE,
    frames: FrameSource,
    batch_chunks: int = 4,
    length: int | None = None,
    amp_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Pooled temporal features of one video, equal to a whole-video forward pass of ``model``.

    Args:
        model: the backbone (any mode); it is evaluated in eval mode on its own device.
        frames: the video.
        batch_chunks: 16-frame chunks per forward batch; bounds memory.
        length: resize the ``ceil(T / 2)`` steps to this many (linear); ``None`` keeps them.
        amp_dtype: run under autocast with this dtype (``torch.float16`` / ``torch.bfloat16``).

    Returns:
        float32 ``[C, length or ceil(T / 2)]`` on the CPU.
    """
    if batch_chunks < 1:
        raise ValueError(f"batch_chunks must be at least 1, got {batch_chunks}")
    if frames.num_frames < 1:
        raise ValueError("the video has no frames")
    config = model.config
    device = next(model.parameters()).device
    padded = math.ceil(frames.num_frames / config.chunk_frames) * config.chunk_frames
    step = batch_chunks * config.chunk_frames
    stream = _LadderStream(model) if config.mode == "side" else _BlockStream(model)
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    pooled: list[torch.Tensor] = []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast:
            for start in range(0, padded, step):
                clip = _read_padded(frames, start, min(start + step, padded))
                tokens, grid = model.embed(clip[None].to(device))
                pooled += [_pool(out, grid) for out in stream.push(tokens, grid)]
            pooled += [_pool(out, grid) for out in stream.finish(grid)]
    finally:
        model.train(was_training)
    features = torch.cat(pooled, dim=-1)[..., : math.ceil(frames.num_frames / config.tubelet_size)]
    return resize_temporal(features, length)[0]


def extract_to_file(
    model: VideoMAE,
    frames: FrameSource,
    out: str | os.PathLike[str],
    batch_chunks: int = 4,
    length: int | None = None,
    amp_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """:func:`extract_features` written atomically to ``out`` as a float32 ``[C, N]`` ``.npy``; returned."""
    from tad_eval.files import atomic_write

    features = extract_features(model, frames, batch_chunks, length, amp_dtype)
    with atomic_write(out, "wb") as handle:
        np.save(handle, features.numpy().astype(np.float32))
    return features


def _read_padded(frames: FrameSource, start: int, stop: int) -> torch.Tensor:
    """Frames ``start:stop``; positions past the end repeat the last frame."""
    clip = frames.read(start, min(stop, frames.num_frames))
    missing = stop - max(start, frames.num_frames)
    if missing > 0:
        clip = torch.cat([clip, clip[:, -1:].expand(-1, missing, -1, -1)], dim=1)
    return clip


def _pool(tokens: torch.Tensor, grid: Grid) -> torch.Tensor:
    return spatial_mean_pool(tokens, 1, grid).float().cpu()


@dataclass
class _Pending:
    """A batch waiting for its right neighbour: block output, adapter activations, left halo."""

    output: torch.Tensor
    hidden: torch.Tensor
    left: torch.Tensor | None


class _BlockStream:
    """Pushes chunk batches through the blocks, holding each adapter block's latest batch back.

    Every step is the model's own: :meth:`Block.transformer`, then the adapter's
    :meth:`~TemporalAdapter.hidden` and :meth:`~TemporalAdapter.from_hidden` (the two halves of its forward).
    """

    def __init__(self, model: VideoMAE) -> None:
        self.blocks = list(model.blocks)
        self.pending: list[_Pending | None] = [None] * len(self.blocks)
        self.ready: list[torch.Tensor] = []

    def push(self, tokens: torch.Tensor, grid: Grid) -> list[torch.Tensor]:
        """Feed one batch; return the last-block outputs that are now complete, in order."""
        self._feed(0, tokens, grid)
        ready, self.ready = self.ready, []
        return ready

    def finish(self, grid: Grid) -> list[torch.Tensor]:
        """Release every held batch (the video ends: zero right halo), front blocks first."""
        for index, block in enumerate(self.blocks):
            held, self.pending[index] = self.pending[index], None
            if held is not None:
                self._feed(index + 1, _release(block.adapter, held, None, grid), grid)
        ready, self.ready = self.ready, []
        return ready

    def _feed(self, index: int, x: torch.Tensor, grid: Grid) -> None:
        if index == len(self.blocks):
            self.ready.append(x)
            return
        block = self.blocks[index]
        y = block.transformer(x)
        if block.adapter is None:
            self._feed(index + 1, y, grid)
            return
        adapter = block.adapter
        z = adapter.hidden(y)
        held = self.pending[index]
        left = None if held is None else adapter.halo_steps(held.hidden, grid, last=True)
        self.pending[index] = _Pending(y, z, left)
        if held is not None:
            right = adapter.halo_steps(z, grid, last=False)
            self._feed(index + 1, _release(adapter, held, right, grid), grid)


def _release(
    adapter: TemporalAdapter, held: _Pending, right: torch.Tensor | None, grid: Grid
) -> torch.Tensor:
    """Finish a held batch's adapter now that its right halo is known (``None``: end of video)."""
    return adapter.from_hidden(held.hidden, held.output, 1, grid, held.left, right)


@dataclass
class _LadderPending:
    """Side mode: the last ladder input of a batch plus every ladder's activations and left halo."""

    last_feature: torch.Tensor
    hidden: list[torch.Tensor]
    left: list[torch.Tensor] | None


class _LadderStream:
    """Side mode: runs the ViT per batch, holding one batch back for the ladders' right halos.

    The ViT part is :meth:`VideoMAE.block_outputs`, each ladder runs as its own two halves, and the sum is
    :meth:`VideoMAE.side_output`, all shared with the model's forward pass.
    """

    def __init__(self, model: VideoMAE) -> None:
        self.model = model
        self.ladders: list[TemporalAdapter] = list(model.ladders)
        self.pending: _LadderPending | None = None

    def push(self, tokens: torch.Tensor, grid: Grid) -> list[torch.Tensor]:
        features = self.model.block_outputs(tokens, 1, grid)
        hidden = [ladder.hidden(f) for ladder, f in zip(self.ladders, features, strict=True)]
        held = self.pending
        left = None if held is None else self._halos(held.hidden, grid, last=True)
        self.pending = _LadderPending(features[-1], hidden, left)
        if held is None:
            return []
        return [self._release(held, self._halos(hidden, grid, last=False), grid)]

    def finish(self, grid: Grid) -> list[torch.Tensor]:
        held, self.pending = self.pending, None
        return [] if held is None else [self._release(held, None, grid)]

    def _halos(self, hidden: list[torch.Tensor], grid: Grid, last: bool) -> list[torch.Tensor]:
        return [ladder.halo_steps(z, grid, last) for ladder, z in zip(self.ladders, hidden, strict=True)]

    def _release(self, held: _LadderPending, right: list[torch.Tensor] | None, grid: Grid) -> torch.Tensor:
        outputs = (
            ladder.from_hidden(
                z,
                None,
                1,
                grid,
                None if held.left is None else held.left[j],
                None if right is None else right[j],
            )
            for j, (ladder, z) in enumerate(zip(self.ladders, held.hidden, strict=True))
        )
        return self.model.side_output(held.last_feature, outputs)
