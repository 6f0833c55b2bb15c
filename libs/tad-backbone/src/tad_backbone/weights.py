"""Backbone weight files: reading foreign checkpoints safely, converting, and the safetensors format.

A converted file is ``NAME.safetensors`` in this library's key layout plus a JSON sidecar
``NAME.safetensors.json`` (also embedded in the safetensors header) describing it::

    {"format": "tad-backbone-weights", "format_version": 1, "arch": "s", "mode": "adapter",
     "adapter_index": [0, 1, ...] | null, "adapter_ratio": 0.25 | null, "source": "opentad",
     "source_file": "epoch_10_cba1017a.pth", "img_size_trained": 160 | null, "embed_dim": 384, "depth": 12,
     "patch_size": 16, "vit_params": 21879168, "adapter_params": 1006860}

``mode`` says which parameters the file holds: ``frozen`` (the ViT only), ``full`` (a fully fine-tuned
ViT), ``adapter`` (ViT + in-block adapters) or ``side`` (ViT + ladder adapters).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, get_args

import safetensors
import safetensors.torch
import torch

from tad_backbone.videomae import (
    ARCHITECTURES,
    ConvertedWeights,
    Mode,
    VideoMAE,
    checkpoint_filter_fn,
    count_parameters,
    is_adapter_key,
    load_state_dict_checked,
    videomae_config,
)
from tad_eval.errors import InputError
from tad_eval.files import atomic_write

__all__ = [
    "convert_checkpoint",
    "load_backbone",
    "read_backbone_weights",
    "read_checkpoint",
    "save_backbone_weights",
    "sidecar_path",
]

FORMAT = "tad-backbone-weights"
FORMAT_VERSION = 1
_HEADER_KEY = "tad_backbone"
#: Image size of the classification fine-tuning behind each released source (K400 / K710 at 224 px);
#: an OpenTAD detector checkpoint does not record its input size.
_TRAINED_SIZE = {"videomae": 224, "videomaev2": 224, "mmaction": 224, "opentad": None}


def sidecar_path(weights: str | os.PathLike[str]) -> Path:
    """The JSON description beside a weights file: ``NAME.safetensors`` -> ``NAME.safetensors.json``."""
    weights = Path(weights)
    return weights.with_name(weights.name + ".json")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a PyTorch checkpoint without executing code from it (``torch.load(weights_only=True)``).

    ``argparse.Namespace`` is allowed because the VideoMAE / VideoMAEv2 training scripts store their
    command-line arguments next to the weights; any other Python object makes the load fail.

    Raises:
        InputError: naming the file, when it is missing, not a checkpoint, or needs unsafe objects.
    """
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(path, "file", "not found") from None
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(path, "file", f"cannot be loaded with weights_only=True: {reason}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(path, "file", f"not a readable PyTorch checkpoint ({error})") from None
    if not isinstance(checkpoint, dict):
        raise InputError(path, "top level", f"expected a dict of weights, got {type(checkpoint).__name__}")
    return checkpoint


def convert_checkpoint(
    source_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    source: str,
    arch: str,
    adapter_index: tuple[int, ...] | None = None,
    img_size: int | None = None,
) -> dict[str, Any]:
    """Convert an official checkpoint to ``out_path`` (safetensors) and its JSON sidecar.

    The weights are checked against architecture ``arch`` before anything is written.

    Args:
        source_path: the checkpoint (``.pth``).
        out_path: the safetensors file to write.
        source: ``videomae``, ``mmaction``, ``videomaev2`` or ``opentad``.
        arch: ``s``, ``b``, ``l``, ``h`` or ``g``.
        adapter_index: blocks the adapters/ladders belong to, overriding what the keys imply (ladder keys
            do not name their block; the last ``L`` blocks are assumed).
        img_size: input size the weights were trained at, recorded in the sidecar.

    Returns:
        The sidecar dictionary.

    Raises:
        InputError: unreadable input, unrecognised layout, or weights of another architecture.
    """
    try:
        converted = checkpoint_filter_fn(read_checkpoint(source_path), source)  # type: ignore[arg-type]
    except ValueError as error:
        raise InputError(source_path, "keys", str(error)) from None
    index = adapter_index if adapter_index is not None else converted.adapter_index
    model = _check_against_arch(converted.state_dict, arch, converted, index, source_path)
    config = model.config
    vit_params, adapter_params = count_parameters(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "mode": converted.mode,
        "adapter_index": list(index) if index is not None else None,
        "adapter_ratio": converted.adapter_ratio,
        "source": converted.source,
        "source_file": Path(source_path).name,
        "img_size_trained": img_size if img_size is not None else _TRAINED_SIZE[converted.source],
        "embed_dim": config.embed_dim,
        "depth": config.depth,
        "patch_size": config.patch_size,
        "vit_params": vit_params,
        "adapter_params": adapter_params,
    }
    save_backbone_weights(out_path, converted.state_dict, meta)
    return meta


def _check_against_arch(
    state_dict: dict[str, torch.Tensor],
    arch: str,
    converted: ConvertedWeights,
    index: tuple[int, ...] | None,
    path: object,
) -> VideoMAE:
    """Compare every shape with ``arch`` built on the meta device (the ViT first); returns that model."""
    vit_only = {k: v for k, v in state_dict.items() if not is_adapter_key(k)}
    with torch.device("meta"):
        load_shapes_only(VideoMAE(videomae_config(arch)), vit_only, str(path))
    overrides: dict[str, Any] = {"mode": converted.mode, "adapter_index": index}
    if converted.adapter_ratio is not None:
        overrides["adapter_ratio"] = converted.adapter_ratio
    try:
        config = videomae_config(arch, **overrides)
    except ValueError as error:
        raise InputError(path, "adapter_index", str(error)) from None
    with torch.device("meta"):
        model = VideoMAE(config)
    load_shapes_only(model, state_dict, str(path))
    return model


def load_shapes_only(model: VideoMAE, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Check keys and shapes of ``state_dict`` against a model built on the meta device."""
    load_state_dict_checked(model, {k: v.to("meta") for k, v in state_dict.items()}, source)


def save_backbone_weights(
    path: str | os.PathLike[str], state_dict: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Write ``state_dict`` as safetensors (``meta`` in the header) and the JSON sidecar, atomically."""
    tensors = {k: _own_storage(v) for k, v in state_dict.items()}
    payload = safetensors.torch.save(tensors, metadata={_HEADER_KEY: json.dumps(meta)})
    with atomic_write(path, "wb") as handle:
        handle.write(payload)
    with atomic_write(sidecar_path(path), "w") as handle:
        json.dump(meta, handle, indent=2)
        handle.write("\n")


def _own_storage(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous tensor that owns its storage (safetensors refuses views into shared storage)."""
    tensor = tensor.detach().contiguous()
    if tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size():
        tensor = tensor.clone()
    return tensor


def read_backbone_weights(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a converted weights file and its description (sidecar, else the safetensors header).

    Raises:
        InputError: missing or corrupt file, or a description without a known ``arch``/``mode``.
    """
    try:
        with safetensors.safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            state_dict = {key: handle.get_tensor(key) for key in handle.keys()}
    except FileNotFoundError:
        raise InputError(path, "file", "not found") from None
    except (OSError, safetensors.SafetensorError) as error:
        raise InputError(path, "file", f"not a readable safetensors file ({error})") from None
    sidecar = sidecar_path(path)
    if sidecar.exists():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(sidecar, "file", f"not readable JSON ({error})") from None
        origin: object = sidecar
    elif _HEADER_KEY in header:
        meta, origin = json.loads(header[_HEADER_KEY]), path
    else:
        raise InputError(path, "metadata", f"no sidecar {sidecar.name} and no description in the header")
    _validate_meta(meta, origin)
    return state_dict, meta


def _validate_meta(meta: Any, origin: object) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(
            origin,
            "format",
            f"expected {FORMAT!r}, got {meta.get('format') if isinstance(meta, dict) else meta!r}",
        )
    if meta.get("arch") not in ARCHITECTURES:
        raise InputError(origin, "arch", f"expected one of {sorted(ARCHITECTURES)}, got {meta.get('arch')!r}")
    if meta.get("mode") not in get_args(Mode):
        raise InputError(origin, "mode", f"expected one of {get_args(Mode)}, got {meta.get('mode')!r}")


def load_backbone(
    path: str | os.PathLike[str], mode: str | None = None, new_adapters: bool = False, **overrides: Any
) -> VideoMAE:
    """Build the backbone described beside ``path`` and load its weights strictly.

    Args:
        path: a converted ``.safetensors`` file.
        mode: the mode to build; ``None`` uses the file's. ``frozen`` and ``full`` drop adapter weights;
            ``adapter``/``side`` need the file's own adapters unless ``new_adapters``.
        new_adapters: allow building adapters or ladders that the file does not contain (fresh,
            identity-initialised: the start of AdaTAD training from pretrained ViT weights).
        overrides: further :class:`VideoMAEConfig` fields (``drop_path_rate``, ``grad_checkpointing``,
            ``adapter_index``, ``adapter_ratio``).

    Raises:
        InputError: unreadable file, incompatible mode, or weights of the wrong shape.
    """
    state_dict, meta = read_backbone_weights(path)
    file_mode = meta["mode"]
    mode = mode or ("frozen" if file_mode == "full" else file_mode)
    file_has_adapters = file_mode in ("adapter", "side")
    if mode in ("adapter", "side") and mode != file_mode:
        if file_has_adapters:
            raise InputError(path, "mode", f"holds {file_mode} adapters, which cannot be used in {mode} mode")
        if not new_adapters:
            raise InputError(
                path, "mode", f"holds no adapter weights (mode {file_mode}); cannot run in {mode} mode"
            )
    fields: dict[str, Any] = {"mode": mode}
    if mode == file_mode and file_has_adapters:
        fields["adapter_index"] = meta.get("adapter_index")
        fields["adapter_ratio"] = meta.get("adapter_ratio")
    fields.update(overrides)
    try:
        model = VideoMAE(videomae_config(meta["arch"], **fields))
    except ValueError as error:
        raise InputError(path, "configuration", str(error)) from None
    if mode in ("frozen", "full"):
        state_dict = {k: v for k, v in state_dict.items() if not is_adapter_key(k)}
    if mode in ("adapter", "side") and not file_has_adapters:
        # Fresh adapters: the ViT part must still match exactly.
        with torch.device("meta"):
            load_shapes_only(
                VideoMAE(dataclasses.replace(model.config, mode="frozen")), state_dict, str(path)
            )
        model.load_state_dict(state_dict, strict=False)
    else:
        load_state_dict_checked(model, state_dict, str(path))
    return model
