"""Backbone weight files: reading foreign checkpoints safely, converting, and the safetensors format.

A converted file is ``NAME.safetensors`` in this library's key layout. Its header's metadata holds the
description, and that description is authoritative (weights and description are written in one atomic
rename, so they always belong together)::

    {"format": "tad-backbone-weights", "format_version": 1, "arch": "s", "mode": "adapter",
     "adapter_index": [0, 1, ...] | null, "adapter_ratio": 0.25 | null, "source": "opentad",
     "source_file": "epoch_10_cba1017a.pth", "img_size_trained": 160 | null, "embed_dim": 384, "depth": 12,
     "patch_size": 16, "vit_params": 21879168, "adapter_params": 1006860}

``mode`` says which parameters the file holds: ``frozen`` (the ViT only), ``full`` (a fully fine-tuned
ViT), ``adapter`` (ViT + in-block adapters) or ``side`` (ViT + ladder adapters).

A readable copy is written beside it as ``NAME.safetensors.json`` (the sidecar). Reading checks the
sidecar against the header and refuses a file whose sidecar disagrees, naming both files and the field:
a sidecar left from an earlier conversion must not decide, say, whether the adapters are used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, get_args

import safetensors
import safetensors.torch
import torch

from tad_backbone.config import ARCHITECTURES, Mode, videomae_config
from tad_backbone.videomae import (
    ConvertedWeights,
    VideoMAE,
    checkpoint_filter_fn,
    count_parameters,
    is_adapter_key,
    load_state_dict_checked,
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


#: What :func:`read_checkpoint` accepts, for the message that refuses anything else.
_ACCEPTED = (
    "accepted are a PyTorch checkpoint of tensors and plain containers (dict, list, tuple, str, numbers) "
    "or a safetensors file"
)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint without executing code from it.

    A safetensors file is read with safetensors; anything else with ``torch.load(weights_only=True)``,
    which allows tensors and plain containers. ``argparse.Namespace`` is allowed too because the
    VideoMAE / VideoMAEv2 training scripts store their command-line arguments next to the weights.

    Raises:
        InputError: naming the file, when it is missing, unreadable, or holds other Python objects (which
            are never loaded: unpickling them could run code).
    """
    path = Path(path)
    if _starts_like_safetensors(path):
        try:
            return safetensors.torch.load_file(path)
        except (OSError, safetensors.SafetensorError) as error:
            raise InputError(path, "file", f"not a readable safetensors file ({error})") from None
    try:
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            # A plain pickle makes torch warn about its protocol before refusing it: one message suffices.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(path, "file", "not found") from None
    except pickle.UnpicklingError as error:
        raise InputError(path, "file", _unpickling_refusal(str(error))) from None
    except Exception as error:  # torch raises many types on bytes that are not a checkpoint
        reason = ": ".join(filter(None, (type(error).__name__, _first_line(str(error)))))
        raise InputError(path, "file", f"not a readable checkpoint ({reason}); {_ACCEPTED}") from None
    if not isinstance(checkpoint, dict):
        raise InputError(path, "top level", f"expected a dict of weights, got {type(checkpoint).__name__}")
    return checkpoint


def _starts_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte header length and the header's ``{``; a PyTorch
    checkpoint is a zip (``PK``) or a pickle (``0x80``)."""
    try:
        with path.open("rb") as handle:
            return handle.read(9)[8:] == b"{"
    except OSError:
        return False  # torch.load reports it


def _unpickling_refusal(torch_message: str) -> str:
    """Why the safe loader stopped, without torch's advice to load the file with ``weights_only=False``."""
    forbidden = re.search(r"GLOBAL (\S+) was not an allowed global", torch_message)
    if forbidden:
        return (
            f"holds the Python object {forbidden.group(1)!r}, which is not loaded (unpickling it could run "
            f"code); {_ACCEPTED}"
        )
    detail = re.search(r"WeightsUnpickler error:\s*(.+)", torch_message)
    reason = _first_line(detail.group(1)) if detail else "not a PyTorch checkpoint"
    return f"holds pickled data the safe loader does not accept ({reason}); {_ACCEPTED}"


def _first_line(message: str) -> str:
    """The first non-empty line of a library message, or nothing if it mentions ``weights_only``: the
    only advice torch gives there is to disable the safety."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    return "" if "weights_only" in line else line


def convert_checkpoint(
    source_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    source: str,
    arch: str,
    adapter_index: tuple[int, ...] | None = None,
    img_size: int | None = None,
) -> dict[str, Any]:
    """Convert an official checkpoint to ``out_path`` (safetensors, described in its header) and the sidecar.

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
        The description written into the header (and the sidecar).

    Raises:
        InputError: ``out_path`` is the input itself, unreadable input, unrecognised layout, or weights
            of another architecture.
    """
    _refuse_overwriting(source_path, out_path)
    checkpoint = read_checkpoint(source_path)
    try:
        converted = checkpoint_filter_fn(checkpoint, source)  # type: ignore[arg-type]
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


def _refuse_overwriting(source_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> None:
    """Refuse an output (or its sidecar) that is the input file, by any name: symlink, relative path."""
    for target in (Path(out_path), sidecar_path(out_path)):
        try:
            same = os.path.samefile(source_path, target)
        except OSError:  # one of them does not exist: nothing to overwrite
            same = False
        if same:
            raise InputError(
                out_path,
                "file",
                f"is the input checkpoint {source_path}; write the conversion to another file",
            )


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
    """Write ``state_dict`` as safetensors with ``meta`` in the header, atomically, then the sidecar copy.

    The old sidecar is removed first, so an interruption at any point leaves either the old or the new
    weights file with no sidecar or its own one, never a new file beside an old description.
    """
    tensors = {k: _own_storage(v) for k, v in state_dict.items()}
    payload = safetensors.torch.save(tensors, metadata={_HEADER_KEY: json.dumps(meta)})
    sidecar = sidecar_path(path)
    sidecar.unlink(missing_ok=True)
    with atomic_write(path, "wb") as handle:
        handle.write(payload)
    with atomic_write(sidecar, "w") as handle:
        json.dump(meta, handle, indent=2)
        handle.write("\n")


def _own_storage(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous tensor that owns its storage (safetensors refuses views into shared storage)."""
    tensor = tensor.detach().contiguous()
    if tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size():
        tensor = tensor.clone()
    return tensor


def read_backbone_weights(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a converted weights file and its description (from the safetensors header).

    Raises:
        InputError: missing or corrupt file, no description in the header, a description without a known
            ``arch``/``mode``, or a sidecar that disagrees with the header (naming both files and the field).
    """
    try:
        with safetensors.safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            state_dict = {key: handle.get_tensor(key) for key in handle.keys()}
    except FileNotFoundError:
        raise InputError(path, "file", "not found") from None
    except (OSError, safetensors.SafetensorError) as error:
        raise InputError(path, "file", f"not a readable safetensors file ({error})") from None
    if _HEADER_KEY not in header:
        raise InputError(path, "metadata", "no tad-backbone description in the header (convert the weights)")
    try:
        meta = json.loads(header[_HEADER_KEY])
    except ValueError as error:
        raise InputError(path, "metadata", f"the description in the header is not JSON ({error})") from None
    _validate_meta(meta, path)
    sidecar = sidecar_path(path)
    if sidecar.exists():
        _check_sidecar(sidecar, meta, path)
    return state_dict, meta


def _check_sidecar(sidecar: Path, meta: dict[str, Any], weights: object) -> None:
    """The sidecar must repeat the header's description exactly."""
    try:
        copy = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(sidecar, "file", f"not readable JSON ({error})") from None
    if not isinstance(copy, dict):
        raise InputError(sidecar, "top level", f"expected the description object, got {type(copy).__name__}")
    for field in [*meta, *(key for key in copy if key not in meta)]:
        if copy.get(field) != meta.get(field):
            raise InputError(
                sidecar,
                field,
                f"{copy.get(field)!r} disagrees with {meta.get(field)!r} in the header of {weights}, which "
                "holds the weights; delete the sidecar or convert again",
            )


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
