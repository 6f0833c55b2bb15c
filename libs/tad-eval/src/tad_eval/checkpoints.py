"""What surrounds the weights in a training checkpoint, and how a state dict differs from a model's.

tad-backbone and tad-head both read OpenTAD checkpoints (and the backbone also VideoMAE's and
VideoMAEv2's); neither may import the other, so the knowledge of the containers and the strict key/shape
comparison live here, as plain Python over mappings and shape tuples (tad-eval never imports torch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DDP_PREFIX",
    "WEIGHT_CONTAINERS",
    "StateMismatch",
    "state_mismatches",
    "strip_ddp_prefix",
    "unwrap_state",
]

#: Keys a training script stores its weights under, in order of preference: OpenTAD's EMA weights
#: (what its test.py evaluates and what it publishes), OpenTAD's and mmaction2's ``state_dict``, the
#: official VideoMAE fine-tuning ``model`` and VideoMAEv2's ``module``.
WEIGHT_CONTAINERS = ("state_dict_ema", "state_dict", "model", "module")

#: The prefix DistributedDataParallel puts before every key of the model it wraps.
DDP_PREFIX = "module."


def unwrap_state(checkpoint: Mapping[str, object]) -> tuple[Mapping[str, object], str | None]:
    """The weights inside a loaded checkpoint and the container key they came from.

    The first non-empty mapping among :data:`WEIGHT_CONTAINERS` wins; a checkpoint without one is
    itself the state dict (container ``None``). Values are returned as stored, tensors or not.
    """
    for key in WEIGHT_CONTAINERS:
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping) and inner:
            return inner, key
    return checkpoint, None


def strip_ddp_prefix(key: str) -> str:
    """``module.backbone.x`` -> ``backbone.x``; keys without the DDP prefix are unchanged."""
    return key.removeprefix(DDP_PREFIX)


@dataclass(frozen=True)
class StateMismatch:
    """One difference between the keys and shapes a model expects and those of a state dict."""

    key: str
    problem: Literal["missing", "unexpected", "shape"]
    found: tuple[int, ...] | None  # shape in the state dict (None: missing)
    expected: tuple[int, ...] | None  # shape in the model (None: unexpected)


def state_mismatches(
    expected: Mapping[str, Sequence[int]], found: Mapping[str, Sequence[int]]
) -> list[StateMismatch]:
    """Every missing or mis-shaped key in the model's order, then every unexpected key in the file's order.

    Args:
        expected: the model's keys and shapes, e.g. ``{k: v.shape for k, v in model.state_dict().items()}``.
        found: the keys and shapes of the weights to load.

    Returns:
        An empty list when the weights load strictly.
    """
    mismatches = []
    for key, shape in expected.items():
        if key not in found:
            mismatches.append(StateMismatch(key, "missing", None, tuple(shape)))
        elif tuple(found[key]) != tuple(shape):
            mismatches.append(StateMismatch(key, "shape", tuple(found[key]), tuple(shape)))
    mismatches += [
        StateMismatch(key, "unexpected", tuple(found[key]), None) for key in found if key not in expected
    ]
    return mismatches
