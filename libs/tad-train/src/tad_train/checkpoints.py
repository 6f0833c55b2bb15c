"""Training checkpoints: written atomically, found for ``--resume auto``, read without running code.

A checkpoint is a plain ``torch.save`` dict (``model``, ``ema``, ``optimizer``, ``scheduler``, ``scaler``,
``epoch``, ``step``, ``step_in_epoch``, ``rng``, ``config_hash``, ``config``, ``world``) that
``torch.load(weights_only=True)`` reads (``tad_backbone.read_checkpoint``). It is serialised straight into
a temporary file beside its target, which is renamed over it, so a run killed while writing leaves the
previous checkpoint intact and never a truncated one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from tad_backbone import read_checkpoint
from tad_eval import InputError, atomic_write

__all__ = ["CHECKPOINT_KEYS", "read_resume_checkpoint", "read_training_checkpoint", "write_checkpoint"]

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
_EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


def write_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically to ``path``, serialised straight to disk (no copy in memory)."""
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)


def read_training_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checkpoint written by the trainer, with every key of :data:`CHECKPOINT_KEYS`.

    Raises:
        InputError: the file cannot be read, or lacks a key (naming the missing ones).
    """
    payload = read_checkpoint(path)
    missing = [key for key in CHECKPOINT_KEYS if key not in payload]
    if missing:
        raise InputError(path, "keys", f"not a tad-train checkpoint: missing {missing}")
    return payload


def read_resume_checkpoint(folder: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]] | None:
    """The newest complete checkpoint in ``folder`` and its contents, or None when there is none.

    ``last.pt`` is rewritten at every save, so when it reads it is the newest; otherwise the ``epoch_N.pt``
    files are tried from the highest N down. A file that cannot be read or lacks a key of
    :data:`CHECKPOINT_KEYS` is skipped, so a damaged file never stops a resume when an older good one
    exists. Files are read one at a time and only until one is good (a ViT-g checkpoint is gigabytes).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    epochs = [
        (int(match.group(1)), path) for path in folder.iterdir() if (match := _EPOCH_FILE.match(path.name))
    ]
    candidates = [folder / "last.pt", *(path for _, path in sorted(epochs, reverse=True))]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            return path, read_training_checkpoint(path)
        except InputError:
            continue
    return None
