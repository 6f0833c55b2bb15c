"""ActionFormer detector (projection, FPN-identity neck, anchor-free head) as configured by OpenTAD/AdaTAD.

Papers: "ActionFormer: Localizing Moments of Actions with Transformers" (Zhang et al., ECCV 2022) and
"End-to-End Temporal Action Detection with 1B Parameters Across 1000 Frames" (Liu et al., CVPR 2024).
Upstream code: https://github.com/happyharrycn/actionformer_release, https://github.com/sming256/OpenTAD.

Layout, top to bottom: configs, projection, neck, head, the detector, input padding, optimizer groups and the
OpenTAD checkpoint converter. ``forward`` returns raw per-level logits and offsets; label assignment
(``tad_head.targets``), losses (``tad_head.losses``) and decoding/NMS (``tad_head.postprocessing``,
``tad_head.nms``) are separate functions. Everything is in feature-grid units of the level-0 sequence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tad_eval.checkpoints import state_mismatches, strip_ddp_prefix, unwrap_state
from tad_head.layers import (
    AffineDropPath,
    MaskedConv1d,
    Scale,
    TransformerBlock,
    channel_norm,
    sinusoid_position_encoding,
)

__all__ = [
    "ActionFormer",
    "ActionFormerHead",
    "FPNIdentity",
    "HeadConfig",
    "HeadOutput",
    "Projection",
    "ProjectionConfig",
    "concat_levels",
    "convert_opentad_state",
    "detector_param_groups",
    "max_div_factor",
    "opentad_loss_normalizer",
    "pad_to_valid_length",
]


@dataclass(frozen=True)
class ProjectionConfig:
    """The projection (embedding convs + transformer pyramid) of ActionFormer."""

    in_channels: int  # channels of the backbone features entering the detector (384 for VideoMAE-S)
    embed_dim: int = 512  # D: width of every projection, neck and head layer (512 THUMOS, 256 ActivityNet)
    arch: tuple[int, int, int] = (2, 2, 5)  # (embedding convs, stride-1 stem blocks, stride-2 branch blocks)
    num_heads: int = 4  # attention heads in every transformer block
    mha_win_size: int | tuple[int, ...] = -1  # attention window per level (-1: global); one or 1+arch[2]
    kernel_size: int = 3  # kernel size of the embedding convs
    input_pdrop: float = 0.0  # channel dropout (Dropout1d) on the input features (frozen configs: 0.2)
    proj_pdrop: float = 0.0  # dropout after the attention output projection and in the MLP (Ego4D: 0.1)
    path_pdrop: float = 0.1  # stochastic depth rate; > 0 also adds the AffineDropPath per-channel scales
    use_abs_pe: bool = False  # add a fixed sinusoid position encoding / sqrt(D) after the embedding (ANet)
    max_seq_len: int = 768  # training length; shorter inputs are zero-padded to it (see pad_to_valid_length)

    def __post_init__(self) -> None:
        if len(self.arch) != 3 or min(self.arch) < 0:
            raise ValueError(f"ProjectionConfig.arch must be 3 non-negative ints, got {self.arch}")
        if self.embed_dim % self.num_heads != 0:
            raise ValueError(
                f"ProjectionConfig: embed_dim {self.embed_dim} not divisible by {self.num_heads} heads"
            )
        if not isinstance(self.mha_win_size, int) and len(self.mha_win_size) != self.num_levels:
            raise ValueError(
                f"ProjectionConfig.mha_win_size has {len(self.mha_win_size)} values, need one per level "
                f"({self.num_levels})"
            )
        if self.max_seq_len % max_div_factor(self) != 0:
            raise ValueError(
                f"ProjectionConfig.max_seq_len {self.max_seq_len} must be divisible by the div factor "
                f"{max_div_factor(self)} (level stride x attention window)"
            )

    @property
    def num_levels(self) -> int:
        """Number of pyramid levels: the stem output plus one per branch block."""
        return 1 + self.arch[2]

    @property
    def window_sizes(self) -> tuple[int, ...]:
        """Attention window of each level (-1 or ≤ 1: global)."""
        if isinstance(self.mha_win_size, int):
            return (self.mha_win_size,) * self.num_levels
        return tuple(self.mha_win_size)


@dataclass(frozen=True)
class HeadConfig:
    """The shared classification/regression head and the point layout of the pyramid."""

    num_classes: int  # output classes (1: class-agnostic, as ActivityNet with an external classifier)
    embed_dim: int = 512  # input and hidden channels; equals ProjectionConfig.embed_dim
    num_convs: int = 2  # masked k=3 convs (LN, ReLU) in each of the classification and regression branches
    cls_prior_prob: float = 0.01  # initial foreground probability: cls bias = -log((1 - p) / p)
    strides: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # stride of each level in level-0 grid steps
    # Per level, the [lo, hi] that max(distance to start, distance to end) of a positive point must lie in.
    regression_ranges: tuple[tuple[float, float], ...] = (
        (0, 4),
        (4, 8),
        (8, 16),
        (16, 32),
        (32, 64),
        (64, 10000),
    )

    def __post_init__(self) -> None:
        if len(self.strides) != len(self.regression_ranges):
            raise ValueError(
                f"HeadConfig: {len(self.strides)} strides but {len(self.regression_ranges)} regression ranges"
            )
        if any(stride != 2**level for level, stride in enumerate(self.strides)):
            raise ValueError(
                f"HeadConfig.strides must be 1, 2, 4, ... (one stride-2 block per level), got {self.strides}"
            )


class HeadOutput(NamedTuple):
    """Raw per-level detector outputs; level ``l`` has ``T_l = T / 2**l`` time steps."""

    cls_logits: list[Tensor]  # per level [B, num_classes, T_l], before the sigmoid
    reg_offsets: list[Tensor]  # per level [B, 2, T_l], distances to start/end in units of the level stride
    masks: list[Tensor]  # per level [B, T_l] bool, True on real (unpadded) time steps


def concat_levels(output: HeadOutput) -> tuple[Tensor, Tensor, Tensor]:
    """Concatenate the levels point-major: logits ``[B, P, C]``, offsets ``[B, P, 2]``, valid ``[B, P]``."""
    cls_logits = torch.cat([x.transpose(1, 2) for x in output.cls_logits], dim=1)
    reg_offsets = torch.cat([x.transpose(1, 2) for x in output.reg_offsets], dim=1)
    return cls_logits, reg_offsets, torch.cat(output.masks, dim=1)


class Projection(nn.Module):
    """Embedding convs, optional absolute position encoding, stem blocks and the stride-2 branch.

    Returns ``1 + arch[2]`` feature maps ``[B, D, T/2**l]`` and their masks.
    """

    def __init__(self, cfg: ProjectionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim, windows = cfg.embed_dim, cfg.window_sizes
        self.input_drop = nn.Dropout1d(cfg.input_pdrop) if cfg.input_pdrop > 0 else nn.Identity()
        if cfg.use_abs_pe:
            # Not saved in checkpoints (OpenTAD registers it non-persistent): always rebuilt from the formula.
            pe = sinusoid_position_encoding(cfg.max_seq_len, dim) / dim**0.5
            self.register_buffer("pos_embed", pe, persistent=False)
        self.embed = nn.ModuleList(
            MaskedConv1d(
                cfg.in_channels if i == 0 else dim, dim, cfg.kernel_size, with_norm=True, with_act=True
            )
            for i in range(cfg.arch[0])
        )
        block = dict(proj_pdrop=cfg.proj_pdrop, path_pdrop=cfg.path_pdrop)
        self.stem = nn.ModuleList(
            TransformerBlock(dim, cfg.num_heads, stride=1, window_size=windows[0], **block)
            for _ in range(cfg.arch[1])
        )
        self.branch = nn.ModuleList(
            TransformerBlock(dim, cfg.num_heads, stride=2, window_size=windows[1 + i], **block)
            for i in range(cfg.arch[2])
        )
        for module in self.modules():  # OpenTAD zeroes every conv/linear bias of the projection
            if isinstance(module, (nn.Conv1d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def position_encoding(self, length: int) -> Tensor:
        """The encoding for ``length`` steps ``[1, D, length]``; stretched linearly at eval when too long."""
        if length > self.cfg.max_seq_len and self.training:
            raise ValueError(
                f"Projection: training input of {length} steps exceeds max_seq_len {self.cfg.max_seq_len}"
            )
        if length >= self.cfg.max_seq_len and not self.training:
            return F.interpolate(self.pos_embed, size=length, mode="linear", align_corners=False)
        return self.pos_embed[:, :, :length]

    def forward(self, x: Tensor, mask: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        x = self.input_drop(x)  # [B, C_in, T]
        for conv in self.embed:
            x, mask = conv(x, mask)  # [B, D, T]
        if self.cfg.use_abs_pe:
            x = x + self.position_encoding(x.shape[-1]).to(x.dtype) * mask[:, None].to(x.dtype)
        for block in self.stem:
            x, mask = block(x, mask)
        feats, masks = [x], [mask]
        for block in self.branch:
            x, mask = block(x, mask)  # [B, D, T_l] with T_l halving each level
            feats.append(x)
            masks.append(mask)
        return feats, masks


class FPNIdentity(nn.Module):
    """The neck: one LayerNorm (eps 1e-6) per level, no cross-level mixing; masks pass through."""

    def __init__(self, dim: int, num_levels: int) -> None:
        super().__init__()
        self.fpn_norms = nn.ModuleList(nn.LayerNorm(dim, eps=1e-6) for _ in range(num_levels))

    def forward(self, feats: list[Tensor], masks: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        if len(feats) != len(self.fpn_norms):
            raise ValueError(f"FPNIdentity: {len(feats)} levels in, {len(self.fpn_norms)} norms")
        return [channel_norm(norm, x) for norm, x in zip(self.fpn_norms, feats, strict=True)], masks


class ActionFormerHead(nn.Module):
    """Classification and regression branches shared across levels, with a learnable scale per level."""

    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        dim = cfg.embed_dim
        self.cls_convs = nn.ModuleList(
            MaskedConv1d(dim, dim, 3, with_norm=True, with_act=True) for _ in range(cfg.num_convs)
        )
        self.reg_convs = nn.ModuleList(
            MaskedConv1d(dim, dim, 3, with_norm=True, with_act=True) for _ in range(cfg.num_convs)
        )
        self.cls_head = nn.Conv1d(dim, cfg.num_classes, 3, padding=1)
        self.reg_head = nn.Conv1d(dim, 2, 3, padding=1)
        self.scale = nn.ModuleList(Scale() for _ in cfg.strides)
        if cfg.cls_prior_prob > 0:  # start every point at a low foreground probability for stable focal loss
            prior = cfg.cls_prior_prob
            nn.init.constant_(self.cls_head.bias, -math.log((1 - prior) / prior))

    def forward(self, feats: list[Tensor], masks: list[Tensor]) -> HeadOutput:
        cls_logits, reg_offsets = [], []
        for level, (feat, mask) in enumerate(zip(feats, masks, strict=True)):
            cls_feat, reg_feat = feat, feat
            for cls_conv, reg_conv in zip(self.cls_convs, self.reg_convs, strict=True):
                cls_feat, _ = cls_conv(cls_feat, mask)
                reg_feat, _ = reg_conv(reg_feat, mask)
            cls_logits.append(self.cls_head(cls_feat))  # [B, num_classes, T_l]
            reg_offsets.append(F.relu(self.scale[level](self.reg_head(reg_feat))))  # [B, 2, T_l]
        return HeadOutput(cls_logits, reg_offsets, list(masks))


class ActionFormer(nn.Module):
    """Projection → FPN-identity neck → head.

    Submodule names match OpenTAD's ``projection``, ``neck`` and ``rpn_head``.
    """

    def __init__(self, projection: ProjectionConfig, head: HeadConfig) -> None:
        super().__init__()
        if projection.embed_dim != head.embed_dim:
            raise ValueError(
                f"ActionFormer: projection width {projection.embed_dim} != head width {head.embed_dim}"
            )
        if projection.num_levels != len(head.strides):
            raise ValueError(
                f"ActionFormer: {projection.num_levels} pyramid levels but {len(head.strides)} strides"
            )
        self.projection_cfg, self.head_cfg = projection, head
        self.projection = Projection(projection)
        self.neck = FPNIdentity(projection.embed_dim, projection.num_levels)
        self.rpn_head = ActionFormerHead(head)

    def forward(self, feats: Tensor, mask: Tensor) -> HeadOutput:
        """Run the detector on padded features.

        Args:
            feats: backbone features ``[B, C_in, T]``, ``T`` a valid length (see :func:`pad_to_valid_length`).
            mask: ``[B, T]`` bool, True on real time steps.
        """
        levels, masks = self.projection(feats, mask)  # per level [B, D, T_l]
        levels, masks = self.neck(levels, masks)
        return self.rpn_head(levels, masks)


def max_div_factor(projection: ProjectionConfig) -> int:
    """The length every input must be a multiple of: max over levels of ``stride·(w//2)·2`` (or ``stride``).

    Args:
        projection: the projection config (its window sizes and number of levels).
    """
    factors = [
        2**level * (w // 2) * 2 if w > 1 else 2**level for level, w in enumerate(projection.window_sizes)
    ]
    return max(factors)


def pad_to_valid_length(feats: Tensor, mask: Tensor, projection: ProjectionConfig) -> tuple[Tensor, Tensor]:
    """Zero-pad features and mask to ``max_seq_len``, or, when longer, to the next multiple of the div factor.

    Args:
        feats: ``[B, C, T]`` features.
        mask: ``[B, T]`` bool validity.
        projection: gives ``max_seq_len`` and the window sizes.

    Returns:
        ``([B, C, T'], [B, T'])`` with ``T' = max_seq_len`` if ``T ≤ max_seq_len``, else ``T`` rounded up to a
        multiple of :func:`max_div_factor` (OpenTAD's ``ActionFormer.pad_data``).
    """
    factor = max_div_factor(projection)
    length = feats.shape[-1]
    target = projection.max_seq_len if length <= projection.max_seq_len else -(-length // factor) * factor
    if target == length:
        return feats, mask
    return F.pad(feats, (0, target - length)), F.pad(mask, (0, target - length), value=False)


def detector_param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict]:
    """AdamW parameter groups for the detector: ``[decay, no_decay]``, each sorted by parameter name.

    Args:
        model: the detector (any ``backbone.*`` parameters are left out: they belong to the backbone groups).
        lr: learning rate of both groups.
        weight_decay: weight decay of the first group.

    Decay: weights of ``nn.Linear``/``nn.Conv1d``. No decay: every bias, LayerNorm/GroupNorm weights and the
    ``scale`` of :class:`Scale` and :class:`AffineDropPath`. A parameter fitting neither raises.
    """
    decay, no_decay = {}, {}
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            full_name = f"{module_name}.{name}" if module_name else name
            if full_name.startswith("backbone") or not param.requires_grad:
                continue
            if name == "bias" or isinstance(module, (nn.LayerNorm, nn.GroupNorm, Scale, AffineDropPath)):
                no_decay[full_name] = param
            elif name == "weight" and isinstance(module, (nn.Linear, nn.Conv1d)):
                decay[full_name] = param
            else:
                raise ValueError(f"detector_param_groups: no weight-decay rule for parameter {full_name!r}")
    return [
        {"params": [decay[k] for k in sorted(decay)], "weight_decay": weight_decay, "lr": lr},
        {"params": [no_decay[k] for k in sorted(no_decay)], "weight_decay": 0.0, "lr": lr},
    ]


_DETECTOR_PREFIXES = ("projection.", "neck.", "rpn_head.")


def _detector_entries(checkpoint: Mapping[str, object]) -> dict[str, Tensor]:
    """Detector tensors keyed without the DDP ``module.`` prefix; backbone keys are dropped."""
    entries = {}
    for key, value in unwrap_state(checkpoint)[0].items():
        name = strip_ddp_prefix(key)
        if name.startswith(_DETECTOR_PREFIXES):
            if not isinstance(value, Tensor):
                raise ValueError(
                    f"OpenTAD checkpoint: {key!r} is a {type(value).__name__}, expected a tensor"
                )
            entries[name] = value
    return entries


def opentad_loss_normalizer(checkpoint: Mapping[str, object]) -> float | None:
    """The EMA loss normalizer stored as ``module.rpn_head.loss_normalizer`` (None when absent).

    Args:
        checkpoint: an OpenTAD checkpoint or state dict.

    Use it to seed :class:`tad_head.losses.LossNormalizer` when resuming training from an OpenTAD checkpoint;
    it plays no part at inference.
    """
    value = _detector_entries(checkpoint).get("rpn_head.loss_normalizer")
    return None if value is None else float(value)


def convert_opentad_state(checkpoint: Mapping[str, object], model: ActionFormer) -> dict[str, Tensor]:
    """Map an OpenTAD ActionFormer state onto ``model``'s state dict (pure; load it with ``strict=True``).

    Args:
        checkpoint: an OpenTAD checkpoint (``{"state_dict_ema": ..., "state_dict": ...}``) or a flat state
            dict with ``module.projection.*``, ``module.neck.*``, ``module.rpn_head.*`` keys (``module.``
            optional).
        model: the detector to receive the weights; its architecture must match the checkpoint's.

    Returns:
        A state dict with exactly the model's keys, values cast to the model's dtypes.

    ``module.backbone.*`` keys are skipped (tad-backbone converts them). ``rpn_head.loss_normalizer`` is
    training state, not a weight: it is dropped here and read with :func:`opentad_loss_normalizer`.
    ``projection.pos_embed`` is never stored by OpenTAD; if present it is ignored (rebuilt from the formula).
    Raises ``ValueError`` naming the keys that are missing or unexpected, or the key and both shapes when a
    shape differs (a checkpoint of another architecture).
    """
    entries = _detector_entries(checkpoint)
    entries.pop("rpn_head.loss_normalizer", None)
    entries.pop("projection.pos_embed", None)
    expected = model.state_dict()
    mismatches = state_mismatches(
        {k: v.shape for k, v in expected.items()}, {k: v.shape for k, v in entries.items()}
    )
    missing = sorted(m.key for m in mismatches if m.problem == "missing")
    unexpected = sorted(m.key for m in mismatches if m.problem == "unexpected")
    if missing or unexpected:
        raise ValueError(
            "OpenTAD checkpoint does not match the detector architecture: "
            f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''} ({len(missing)}), "
            f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''} ({len(unexpected)})"
        )
    if mismatches:  # only shape mismatches are left, in the model's order
        first = mismatches[0]
        raise ValueError(
            f"OpenTAD checkpoint key 'module.{first.key}' has shape {list(first.found)}, "
            f"the detector expects {list(first.expected)}"
        )
    return {name: entries[name].to(dtype=target.dtype) for name, target in expected.items()}
