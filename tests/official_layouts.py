"""Fake checkpoints in the official key layouts, written from the layouts' own names (not from our models).

Shared by the tests of tad-backbone (ViT layouts), tad-head (OpenTAD detector) and tad-train (whole
released AdaTAD checkpoints). Backbone values are random but scaled by fan-in (weights ~ N(0, 1/fan_in)),
like trained weights: with unit variance the un-normalised residual stream that the adapters see
overflows (reference §13).
"""

from __future__ import annotations

import argparse
import math

import torch

__all__ = ["S", "make_official_checkpoint", "opentad_detector_state"]

#: VideoMAE-S: width, depth, MLP width, patch, adapter width.
S = {"dim": 384, "depth": 12, "mlp": 1536, "patch": 16, "hidden": 96}


def _value(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """A plausible random value for an official parameter name."""
    if name.endswith("gamma"):
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if ("norm" in name and name.endswith("weight")) or name.endswith("weight") and len(shape) == 1:
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if len(shape) == 1 or name.endswith("bias"):
        return 0.02 * torch.randn(shape, generator=generator)
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, generator=generator) / math.sqrt(fan_in)


def _vit_shapes(style: str, dim: int, depth: int, mlp: int, patch: int) -> dict[str, tuple[int, ...]]:
    """Backbone keys of one layout: ``videomae`` (fc1/fc2, proj) or ``mmaction`` (layers.0.0, projection)."""
    embed = "patch_embed.proj" if style == "videomae" else "patch_embed.projection"
    fc1, fc2 = ("mlp.fc1", "mlp.fc2") if style == "videomae" else ("mlp.layers.0.0", "mlp.layers.1")
    shapes: dict[str, tuple[int, ...]] = {
        f"{embed}.weight": (dim, 3, 2, patch, patch),
        f"{embed}.bias": (dim,),
    }
    for i in range(depth):
        block = f"blocks.{i}"
        shapes |= {
            f"{block}.norm1.weight": (dim,),
            f"{block}.norm1.bias": (dim,),
            f"{block}.attn.q_bias": (dim,),
            f"{block}.attn.v_bias": (dim,),
            f"{block}.attn.qkv.weight": (3 * dim, dim),
            f"{block}.attn.proj.weight": (dim, dim),
            f"{block}.attn.proj.bias": (dim,),
            f"{block}.norm2.weight": (dim,),
            f"{block}.norm2.bias": (dim,),
            f"{block}.{fc1}.weight": (mlp, dim),
            f"{block}.{fc1}.bias": (mlp,),
            f"{block}.{fc2}.weight": (dim, mlp),
            f"{block}.{fc2}.bias": (dim,),
        }
    return shapes


def _adapter_shapes(prefix: str, dim: int, hidden: int) -> dict[str, tuple[int, ...]]:
    return {
        f"{prefix}.dwconv.weight": (hidden, 1, 3),
        f"{prefix}.dwconv.bias": (hidden,),
        f"{prefix}.conv.weight": (hidden, hidden, 1),
        f"{prefix}.conv.bias": (hidden,),
        f"{prefix}.down_proj.weight": (hidden, dim),
        f"{prefix}.down_proj.bias": (hidden,),
        f"{prefix}.up_proj.weight": (dim, hidden),
        f"{prefix}.up_proj.bias": (dim,),
        f"{prefix}.gamma": (1,),
    }


def _fill(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {name: _value(name, shape, generator) for name, shape in shapes.items()}


def make_official_checkpoint(
    source: str,
    dim: int = S["dim"],
    depth: int = S["depth"],
    mlp: int = S["mlp"],
    patch: int = S["patch"],
    hidden: int = S["hidden"],
    variant: str = "adapter",
    seed: int = 0,
) -> dict[str, object]:
    """A checkpoint as the official code saves it.

    Args:
        source: ``videomae``, ``videomaev2``, ``mmaction`` or ``opentad``.
        variant: for ``opentad``: ``adapter`` (TIA in every block), ``side`` (ladders on the last half of
            the blocks, like ``range(6, 12)`` for S) or ``plain`` (no adapters).
    """
    positions = (224 // patch) ** 2 * 8
    if source in ("videomae", "videomaev2"):
        shapes = _vit_shapes("videomae", dim, depth, mlp, patch)
        classes = 400 if source == "videomae" else 710
        shapes |= {
            "fc_norm.weight": (dim,),
            "fc_norm.bias": (dim,),
            "head.weight": (classes, dim),
            "head.bias": (classes,),
        }
        state = _fill(shapes, seed)  # no pos_embed: the official model keeps the table outside the state dict
        if source == "videomae":
            return {
                "model": state,
                "epoch": 99,
                "args": argparse.Namespace(model="vit_small_patch16_224", lr=1e-3),
            }
        return {"module": state, "epoch": 34}
    if source == "mmaction":
        shapes = {"pos_embed": (1, positions, dim)} | _vit_shapes("mmaction", dim, depth, mlp, patch)
        shapes |= {"fc_norm.weight": (dim,), "fc_norm.bias": (dim,)}
        state = {f"backbone.{k}": v for k, v in _fill(shapes, seed).items()}
        state |= _fill({"cls_head.fc_cls.weight": (400, dim), "cls_head.fc_cls.bias": (400,)}, seed + 1)
        return {"meta": {"mmaction_version": "1.0.0", "epoch": 0}, "state_dict": state}
    if source == "opentad":
        shapes = {"pos_embed": (1, positions, dim)} | _vit_shapes("mmaction", dim, depth, mlp, patch)
        if variant == "adapter":
            for i in range(depth):
                shapes |= _adapter_shapes(f"blocks.{i}.adapter", dim, hidden)
        if variant != "side":
            shapes |= {"fc_norm.weight": (dim,), "fc_norm.bias": (dim,)}
        else:
            for j in range(depth - depth // 2):
                shapes |= _adapter_shapes(f"ladders.adapters.{j}", dim, hidden)
        prefix = "module.backbone.model.backbone."
        state = {prefix + k: v for k, v in _fill(shapes, seed).items()}
        state |= _fill(
            {
                "module.projection.embed.0.conv.weight": (512, dim, 3),
                "module.neck.fpn_norms.0.weight": (512,),
                "module.rpn_head.cls_head.weight": (20, 512, 3),
                "module.rpn_head.cls_head.bias": (20,),
            },
            seed + 1,
        )
        state["module.rpn_head.loss_normalizer"] = torch.tensor(100.0)
        return {"meta": {"epoch": 10}, "epoch": 10, "state_dict_ema": state}
    raise ValueError(source)


def opentad_detector_state(
    d: int, c_in: int, num_classes: int, device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """The detector keys of an OpenTAD ActionFormer checkpoint (arch (2, 2, 5)), written from the key listing
    in the architecture notes, not from tad-head's own modules. Values are random (constant for LN/scales)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(2):
        shapes[f"projection.embed.{i}.conv.weight"] = (d, c_in if i == 0 else d, 3)
        shapes[f"projection.embed.{i}.norm.weight"] = shapes[f"projection.embed.{i}.norm.bias"] = (d,)
    for block in [f"stem.{i}" for i in range(2)] + [f"branch.{i}" for i in range(5)]:
        prefix = f"projection.{block}"
        for ln in ("ln1", "ln2"):
            shapes[f"{prefix}.{ln}.weight"] = shapes[f"{prefix}.{ln}.bias"] = (d,)
        for part in ("query", "key", "value"):
            shapes[f"{prefix}.attn.{part}_conv.conv.weight"] = (d, 1, 3)
            shapes[f"{prefix}.attn.{part}_norm.weight"] = shapes[f"{prefix}.attn.{part}_norm.bias"] = (d,)
        for part in ("query", "key", "value", "proj"):
            shapes[f"{prefix}.attn.{part}.weight"], shapes[f"{prefix}.attn.{part}.bias"] = (d, d, 1), (d,)
        shapes[f"{prefix}.mlp.0.weight"], shapes[f"{prefix}.mlp.0.bias"] = (4 * d, d, 1), (4 * d,)
        shapes[f"{prefix}.mlp.3.weight"], shapes[f"{prefix}.mlp.3.bias"] = (d, 4 * d, 1), (d,)
        shapes[f"{prefix}.drop_path_attn.scale"] = shapes[f"{prefix}.drop_path_mlp.scale"] = (1, d, 1)
    for level in range(6):
        shapes[f"neck.fpn_norms.{level}.weight"] = shapes[f"neck.fpn_norms.{level}.bias"] = (d,)
        shapes[f"rpn_head.scale.{level}.scale"] = ()
    for branch in ("cls_convs", "reg_convs"):
        for i in range(2):
            shapes[f"rpn_head.{branch}.{i}.conv.weight"] = (d, d, 3)
            shapes[f"rpn_head.{branch}.{i}.norm.weight"] = shapes[f"rpn_head.{branch}.{i}.norm.bias"] = (d,)
    shapes["rpn_head.cls_head.weight"], shapes["rpn_head.cls_head.bias"] = (num_classes, d, 3), (num_classes,)
    shapes["rpn_head.reg_head.weight"], shapes["rpn_head.reg_head.bias"] = (2, d, 3), (2,)
    state = {f"module.{name}": torch.randn(shape, device=device) for name, shape in shapes.items()}
    state["module.rpn_head.loss_normalizer"] = torch.tensor(87, device=device)  # the EMA copy may be int64
    return state
