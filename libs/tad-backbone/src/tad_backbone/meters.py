"""Meters for the real model's training memory, used by ``benchmarks/backbone_memory.py`` and the tests that
check the planner (:mod:`tad_backbone.memory`) against measurements.

* :class:`SavedTensorMeter` — bytes of distinct storages saved for backward
  (``torch.autograd.graph.saved_tensors_hooks``); with non-reentrant checkpointing it sees the inputs
  each checkpointed region keeps, not what the region recomputes.
* :class:`PeakMemoryMeter` — live bytes of every storage created while it is active (a dispatch mode),
  and their peak: a device-independent stand-in for ``torch.cuda.max_memory_allocated`` on the CPU.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ["PeakMemoryMeter", "SavedTensorMeter"]


class SavedTensorMeter:
    """Count distinct storages saved for backward while active.

    Args:
        exclude: tensors whose storages are not counted (typically the model's parameters and buffers).
        exclude_shapes: shapes not counted either (e.g. parameter shapes, to leave out the autocast copies
            of weights when only activations are wanted).
    """

    def __init__(
        self, exclude: Iterable[torch.Tensor] = (), exclude_shapes: Iterable[tuple[int, ...]] = ()
    ) -> None:
        self._excluded = {t.untyped_storage().data_ptr() for t in exclude}
        self._excluded_shapes = set(exclude_shapes)
        self._storages: dict[tuple[str, int], int] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor)

    @property
    def bytes(self) -> int:
        """Total bytes of the distinct saved storages."""
        return sum(self._storages.values())

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = _storage_key(tensor)
        if storage.data_ptr() not in self._excluded and tuple(tensor.shape) not in self._excluded_shapes:
            self._storages[key] = storage.nbytes()
        return tensor

    def __enter__(self) -> SavedTensorMeter:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)


class PeakMemoryMeter(TorchDispatchMode):
    """Track the live bytes of storages created by operators while active, and their peak.

    Storages are keyed by device and address and released when PyTorch frees them; tensors that existed
    before the meter started (parameters, inputs) are not counted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._sizes: dict[tuple[str, int], int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {_storage_key(t) for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(out)[0]:
            # Views and in-place results share an input's storage: nothing new was allocated.
            if (
                isinstance(tensor, torch.Tensor)
                and tensor.device.type != "meta"
                and _storage_key(tensor) not in inputs
            ):
                self._track(tensor)
        return out

    def _track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        key = _storage_key(tensor)
        size = storage.nbytes()
        if key in self._sizes or size == 0:
            return
        self._sizes[key] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._release, key, size)

    def _release(self, key: tuple[str, int], size: int) -> None:
        if self._sizes.get(key) == size:
            del self._sizes[key]
            self.live -= size


def _storage_key(tensor: torch.Tensor) -> tuple[str, int]:
    return str(tensor.device), tensor.untyped_storage().data_ptr()


def _storage_key(tensor: torch.Tensor) -> tuple[str, int]:
    return str(tensor.device), tensor.untyped_storage().data_ptr()
