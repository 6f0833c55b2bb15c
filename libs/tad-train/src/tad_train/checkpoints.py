"""Training checkpoints: written atomically, found for ``--resume auto``, read without running code.

A checkpoint is a plain ``torch.save`` dict (``model``, ``ema``, ``optimizer``, ``scheduler``, ``scaler``,
``epoch``, ``step``, ``step_in_epoch``, ``rng``, ``config_hash``, ``config``, ``world``) that
``torch.load(weights_only=True)`` reads (``tad_backbone.read_checkpoint``). It goes to a temporary file
beside its target and is renamed over it, so a run killed while writing leaves the previous checkpoint
intact and never a truncated one.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import torch

from tad_backbone import read_checkpoint
from tad_eval import InputError, atomic_write

__all__ = ["CHECKPOINT_KEYS", "find_resume_checkpoint", "write_checkpoint"]

#: What every training checkpoint holds.
CHECKPOINT_KEYS = (
    "model",
    "ema",
    "optimizer",
    "scheduler",
    "scaler",
    "epoch",
    "step",
    "step_in_epoch",
    "rng",
    "config_hash",
)
_CANDIDATE = re.compile(r"^(last|epoch_\d+)\.pt$")


def write_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Serialise ``payload`` in memory, then write it atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def find_resume_checkpoint(folder: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint in ``folder`` (``last.pt``, ``epoch_N.pt``), or None.

    Candidates are ranked by the training position they record (epoch, then step); one that cannot be
    read is skipped, so a damaged file never stops a resume when an older good one exists.
    """
    best: tuple[tuple[int, int], Path] | None = None
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for path in sorted(folder.iterdir()):
        if not _CANDIDATE.match(path.name):
            continue
        try:
            payload = read_checkpoint(path)
        except InputError:
            continue
        if not all(key in payload for key in CHECKPOINT_KEYS):
            continue
        position = (int(payload["step"]), int(payload["epoch"]))
        if best is None or position > best[0]:
            best = (position, path)
    return None if best is None else best[1]
