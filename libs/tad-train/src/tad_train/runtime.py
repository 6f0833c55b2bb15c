"""Where a process runs: its rank in a ``torchrun`` job, its device, its seeds and determinism settings.

A plain ``tad-train train`` is a one-process job; under ``torchrun`` (``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK`` in the environment) the process group is initialised with NCCL on CUDA and gloo on the CPU.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist

from tad_eval import InputError

__all__ = ["Runtime", "capture_rng", "restore_rng", "seed_everything", "setup_runtime", "shutdown_runtime"]


@dataclass(frozen=True)
class Runtime:
    """This process's place in the job."""

    rank: int  # global rank (0 writes files and logs)
    local_rank: int  # rank on this machine (its GPU)
    world: int  # processes in the job
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup_runtime(device: Literal["auto", "cuda", "cpu"] = "auto", source: str = "<memory>") -> Runtime:
    """Read the ``torchrun`` environment, pick the device and initialise the process group if needed.

    Args:
        device: the experiment's ``trainer.device``.
        source: the experiment file it comes from, for the error message.

    Raises:
        InputError: ``device="cuda"`` on a machine without CUDA.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError(
            source,
            "trainer.device",
            "cuda, but no CUDA device is available on this machine; use --set trainer.device=cpu or auto",
        )
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return Runtime(rank, local_rank, world, chosen)


def shutdown_runtime() -> None:
    """Leave the process group (if one was joined)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, numpy and torch; with ``deterministic``, OpenTAD's determinism settings."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global stream is what third-party code draws from
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this before its first call to be deterministic; it changes nothing on the CPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def capture_rng(device: torch.device) -> dict[str, Any]:
    """This process's random streams, as values ``torch.load(weights_only=True)`` reads back.

    Python's, numpy's and torch's CPU streams, and on CUDA the stream of ``device`` alone (the process's
    own GPU: a job resumed on a machine with fewer GPUs has no stream to restore for the others).
    """
    version, state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - see seed_everything
    return {
        "python": [version, list(state), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Undo :func:`capture_rng`: the streams continue exactly where they were captured.

    The CUDA stream is restored on ``device`` when both the capture and this process ran on CUDA.
    """
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
