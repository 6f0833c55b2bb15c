"""VideoMAE / VideoMAEv2 vision transformers for temporal action detection, with AdaTAD adapters.

Papers: VideoMAE (Tong et al., NeurIPS 2022, arXiv 2203.12602), VideoMAE V2 (Wang et al., CVPR 2023,
arXiv 2303.16727), AdaTAD (Liu et al., CVPR 2024, arXiv 2311.17241). The model reproduces OpenTAD's
``VisionTransformerAdapter`` / ``VisionTransformerLadder`` (commit 3dd7b032) with its feature wrapper:

* a ``[B, 3, T, H, W]`` RGB video (uint8 or float on the 0-255 scale), ``T`` a multiple of 16, is
  normalised with the VideoMAE mean/std inside the model and cut into 16-frame chunks in ``(b, chunk)``
  order; each chunk is embedded with 2×p×p tubelets and attends jointly over space and time;
* the fixed sinusoid position table built for 224 px is stored (as in every checkpoint) and resized
  bicubically per temporal slice for other image sizes;
* the last block's tokens (no final norm) are averaged over space, the chunks of a video are
  concatenated to ``T/2`` steps and linearly interpolated to a requested length: ``[B, C, L]`` float32.

Modes (``VideoMAEConfig.mode``):

* ``frozen``: the plain ViT under ``torch.no_grad`` — features only, no graph, always in eval behaviour;
* ``full``: every parameter trains, blocks optionally activation-checkpointed;
* ``adapter`` (AdaTAD): a temporal-informative adapter after each block of ``adapter_index``; only
  adapters train; drop-path stays active in the frozen blocks during training (as the official code);
  a block is checkpointed only once its input needs gradients, so blocks before the first adapter
  keep no activations and the first adapter block runs normally;
* ``side`` (AdaTAD†): the ViT runs without a graph; ladder adapters read the detached outputs of the
  blocks of ``adapter_index`` and ``out = feat[-1] + sum_i ladder_i(feat_i)``; no backward through the ViT.

Weights from the official VideoMAE, mmaction2, VideoMAEv2 and OpenTAD layouts are converted by the pure
function :func:`checkpoint_filter_fn` at the end of this file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
from einops import rearrange
from timm.layers import DropPath, Mlp, trunc_normal_
from torch import nn
from torch.utils.checkpoint import checkpoint

from tad_backbone.adapters import TemporalAdapter
from tad_backbone.config import (
    ARCHITECTURES,
    Mode,
    Source,
    VideoMAEConfig,
    adapter_hidden_dim,
    videomae_config,
)
from tad_backbone.layers import (
    QVBiasAttention,
    TubeletEmbed,
    VideoNormalize,
    resample_position_table,
    resize_temporal,
    sinusoid_position_table,
    spatial_mean_pool,
)
from tad_eval.checkpoints import state_mismatches, strip_ddp_prefix, unwrap_state
from tad_eval.errors import InputError

__all__ = [
    "Block",
    "ConvertedWeights",
    "VideoMAE",
    "checkpoint_filter_fn",
    "count_parameters",
    "detect_source",
    "is_adapter_key",
    "load_state_dict_checked",
    "unwrap_checkpoint",
    "videomae_base",
    "videomae_huge",
    "videomae_large",
    "videomae_small",
    "videomaev2_giant",
]


class Block(nn.Module):
    """Pre-norm transformer block, optionally followed by a temporal-informative adapter.

    Args:
        config: the backbone configuration (widths, epsilon).
        drop_path: stochastic-depth probability of this block.
        with_adapter: append a :class:`TemporalAdapter` after the MLP residual.
    """

    def __init__(self, config: VideoMAEConfig, drop_path: float, with_adapter: bool) -> None:
        super().__init__()
        dim = config.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=config.norm_eps)
        self.attn = QVBiasAttention(dim, config.num_heads)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=config.norm_eps)
        self.mlp = Mlp(dim, config.mlp_dim, act_layer=nn.GELU)
        self.adapter = TemporalAdapter(dim, config.adapter_dim) if with_adapter else None

    def transformer(self, x: torch.Tensor) -> torch.Tensor:
        """Attention and MLP with residuals, chunk by chunk: ``[(b n), L, C]`` -> same."""
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: torch.Tensor, num_videos: int, grid: tuple[int, int, int]) -> torch.Tensor:
        """The block, then its adapter across the chunks of each of the ``num_videos`` videos."""
        x = self.transformer(x)
        return x if self.adapter is None else self.adapter(x, num_videos, grid)


class VideoMAE(nn.Module):
    """A VideoMAE ViT turned into a temporal feature extractor, in one of four training modes.

    Args:
        config: architecture and mode.
    """

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__()
        self.config = config
        self.normalize = VideoNormalize()
        self.patch_embed = TubeletEmbed(config.embed_dim, config.patch_size, config.tubelet_size)
        positions = config.pos_grid**2 * (config.chunk_frames // config.tubelet_size)
        # Persistent, as in the mmaction2/OpenTAD checkpoints, which may carry their own copy.
        self.register_buffer("pos_embed", sinusoid_position_table(positions, config.embed_dim))
        drop_path = torch.linspace(0, config.drop_path_rate, config.depth, device="cpu").tolist()
        in_block = config.adapter_blocks if config.mode == "adapter" else ()
        self.blocks = nn.ModuleList(Block(config, drop_path[i], i in in_block) for i in range(config.depth))
        self.ladders = None
        if config.mode == "side":
            self.ladders = nn.ModuleList(
                TemporalAdapter(config.embed_dim, config.adapter_dim, residual=False)
                for _ in config.adapter_blocks
            )
        self.apply(_init_vit_weights)
        for module in self.modules():
            if isinstance(module, TemporalAdapter):
                module.reset_parameters()
        self._freeze()
        # A module starts in training mode; a frozen backbone must evaluate from the start too.
        self.train()

    def _freeze(self) -> None:
        """Mark what trains: everything (full), adapters only (adapter/side) or nothing (frozen)."""
        for name, param in self.named_parameters():
            param.requires_grad_(self.config.mode == "full" or is_adapter_key(name))

    def train(self, mode: bool = True) -> VideoMAE:
        """Set training behaviour; a ``frozen`` backbone always evaluates (drop-path off)."""
        return super().train(mode and self.config.mode != "frozen")

    def embed(self, video: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Normalise, chunk and embed a ``[B, 3, T, H, W]`` video: ``[(B n), t*h*w, C]`` and ``(t, h, w)``."""
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"expected a [B, 3, T, H, W] video, got shape {tuple(video.shape)}")
        if video.shape[2] % self.config.chunk_frames:
            raise ValueError(
                f"the number of frames {video.shape[2]} is not a multiple of {self.config.chunk_frames}"
            )
        clips = rearrange(self.normalize(video), "b c (n t) h w -> (b n) c t h w", t=self.config.chunk_frames)
        tokens, grid = self.patch_embed(clips)
        pos_embed = resample_position_table(self.pos_embed, self.config.pos_grid, grid[1:])
        return tokens + pos_embed, grid

    def forward_features(self, video: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Tokens of the last block (plus adapters or ladders): ``[(B n), t*h*w, C]`` and the grid."""
        with torch.no_grad() if self.config.mode == "frozen" else contextlib.nullcontext():
            num_videos = video.shape[0]
            x, grid = self.embed(video)
            if self.config.mode == "side":
                return self._forward_ladders(self.block_outputs(x, num_videos, grid), num_videos, grid), grid
            for block in self.blocks:
                x = self._maybe_checkpoint(block, x, num_videos, grid)
            return x, grid

    def forward(self, video: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``[B, 3, T, H, W]`` video -> ``[B, C, length or T/2]`` float32 features."""
        tokens, grid = self.forward_features(video)
        features = spatial_mean_pool(tokens, video.shape[0], grid).float()
        return resize_temporal(features, length)

    def block_outputs(
        self, x: torch.Tensor, num_videos: int, grid: tuple[int, int, int]
    ) -> list[torch.Tensor]:
        """Side mode: run the frozen blocks without a graph and return the outputs of ``adapter_index``.

        Blocks after the last index do not influence the result, so they are skipped.
        """
        wanted = self.config.adapter_blocks
        outputs = []
        with torch.no_grad():
            for index, block in enumerate(self.blocks[: wanted[-1] + 1]):
                x = block(x, num_videos, grid)
                if index in wanted:
                    outputs.append(x)
        return outputs

    def _forward_ladders(
        self, features: list[torch.Tensor], num_videos: int, grid: tuple[int, int, int]
    ) -> torch.Tensor:
        """``features[-1] + sum_i ladder_i(features[i])``."""
        outputs = (
            self._maybe_checkpoint(ladder, feature, num_videos, grid, always=True)
            for ladder, feature in zip(self.ladders, features, strict=True)
        )
        return self.side_output(features[-1], outputs)

    @staticmethod
    def side_output(last_feature: torch.Tensor, ladder_outputs: Iterable[torch.Tensor]) -> torch.Tensor:
        """Side mode's tokens: the last ladder input plus every ladder's output, added in ladder order."""
        out = last_feature
        for ladder_output in ladder_outputs:
            out = out + ladder_output
        return out

    def _maybe_checkpoint(
        self,
        module: nn.Module,
        x: torch.Tensor,
        num_videos: int,
        grid: tuple[int, int, int],
        always: bool = False,
    ) -> torch.Tensor:
        """Run ``module``, recomputing it in backward when checkpointing is on and a graph is being built.

        A block whose input needs no gradient (frozen blocks before the first adapter, or the first
        adapter block itself) runs normally: it stores nothing or must store its adapter's inputs anyway.
        Ladder adapters (``always``) are checkpointed whenever gradients are enabled.
        """
        wants_graph = torch.is_grad_enabled() and (always or x.requires_grad)
        if self.config.grad_checkpointing and wants_graph:
            return checkpoint(module, x, num_videos, grid, use_reentrant=False)
        return module(x, num_videos, grid)

    def trainable_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """``(name, parameter)`` of everything the optimiser should update in this mode."""
        return ((name, p) for name, p in self.named_parameters() if p.requires_grad)

    def param_groups(self, lr: float, weight_decay: float) -> list[dict[str, object]]:
        """Optimiser groups for the backbone: one group (all adapters, or all weights in ``full``) or none.

        As in AdaTAD, adapter biases and ``gamma`` are weight-decayed like the other adapter weights.

        Args:
            lr: learning rate of the backbone group.
            weight_decay: its weight decay.
        """
        params = [p for _, p in self.trainable_parameters()]
        if not params:
            return []
        return [{"name": "backbone", "params": params, "lr": lr, "weight_decay": weight_decay}]


def _init_vit_weights(module: nn.Module) -> None:
    """VideoMAE's initialisation of a randomly built ViT (pretrained weights replace it)."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def is_adapter_key(name: str) -> bool:
    """True for parameters of a TIA (``blocks.N.adapter.*``) or of a ladder adapter (``ladders.*``)."""
    return ".adapter." in name or name.startswith("ladders.")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(ViT parameters, adapter parameters)`` of a model: adapters are ``blocks.N.adapter.*`` and ladders.

    The official printout also counts the unused ``fc_norm`` (2·C parameters) as ViT; this model has none.
    """
    vit = adapters = 0
    for name, param in model.named_parameters():
        if is_adapter_key(name):
            adapters += param.numel()
        else:
            vit += param.numel()
    return vit, adapters


def videomae_small(**overrides: object) -> VideoMAE:
    """VideoMAE ViT-S/16 (21.88 M parameters)."""
    return VideoMAE(videomae_config("s", **overrides))


def videomae_base(**overrides: object) -> VideoMAE:
    """VideoMAE ViT-B/16 (86.23 M parameters)."""
    return VideoMAE(videomae_config("b", **overrides))


def videomae_large(**overrides: object) -> VideoMAE:
    """VideoMAE ViT-L/16 (303.86 M parameters)."""
    return VideoMAE(videomae_config("l", **overrides))


def videomae_huge(**overrides: object) -> VideoMAE:
    """VideoMAE ViT-H/16 (631.61 M parameters)."""
    return VideoMAE(videomae_config("h", **overrides))


def videomaev2_giant(**overrides: object) -> VideoMAE:
    """VideoMAEv2 ViT-g/14 (1011.61 M parameters)."""
    return VideoMAE(videomae_config("g", **overrides))


# --------------------------------------------------------------------------------------------------
# Checkpoint conversion: pure state-dict -> state-dict functions, one per origin.


@dataclass(frozen=True)
class ConvertedWeights:
    """A state dict in this model's key layout plus what the keys tell about how it was trained."""

    state_dict: dict[str, torch.Tensor]  # keys of :class:`VideoMAE`
    source: Source  # which layout it came from
    mode: Mode  # "frozen" (ViT only), "adapter" (TIA in blocks) or "side" (ladders)
    adapter_index: tuple[int, ...] | None  # blocks with adapters / feeding ladders; None without adapters
    adapter_ratio: float | None  # bottleneck width / C; None without adapters
    unused: tuple[str, ...] = ()  # keys of the checkpoint's container that the conversion did not use


_OPENTAD_PREFIX = "backbone.model.backbone."
#: Top-level weights the feature map never uses: classification heads and the final norms (the feature map
#: is the last block's output; ``norm`` is an identity there and ``fc_norm`` only feeds a classifier).
_UNUSED_PREFIXES = ("head.", "fc_norm.", "norm.")
_MMACTION_RENAMES = (
    (re.compile(r"^patch_embed\.projection\."), "patch_embed.proj."),
    (re.compile(r"\.mlp\.layers\.0\.0\."), ".mlp.fc1."),
    (re.compile(r"\.mlp\.layers\.1\."), ".mlp.fc2."),
)


def unwrap_checkpoint(checkpoint: Mapping[str, object]) -> tuple[dict[str, torch.Tensor], str | None]:
    """The tensor dict inside a loaded checkpoint and the container key it came from (None: top level).

    The containers and their order are :data:`tad_eval.checkpoints.WEIGHT_CONTAINERS`.
    """
    weights, container = unwrap_state(checkpoint)
    tensors = {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"no tensors found; top-level keys are {sorted(map(str, checkpoint))[:8]}")
    return tensors, container


def detect_source(state_dict: Mapping[str, torch.Tensor], container: str | None = None) -> Source:
    """Recognise a layout by its characteristic keys.

    OpenTAD keys start with ``module.backbone.model.backbone.``; mmaction2 has
    ``backbone.patch_embed.projection.weight``; the official VideoMAE and VideoMAEv2 fine-tuning code share
    ``patch_embed.proj.weight`` and ``blocks.N.mlp.fc1`` and differ only in the container (``model`` for
    VideoMAE, ``module`` for VideoMAEv2).
    """
    keys = set(state_dict)
    if any(strip_ddp_prefix(k).startswith(_OPENTAD_PREFIX) for k in keys):
        return "opentad"
    if "backbone.patch_embed.projection.weight" in keys:
        return "mmaction"
    if "patch_embed.proj.weight" in keys:
        return "videomaev2" if container == "module" else "videomae"
    if "encoder.patch_embed.proj.weight" in keys:
        raise ValueError(
            "this is a VideoMAE pre-training checkpoint (encoder + decoder); use a fine-tuned one"
        )
    raise ValueError("unrecognised checkpoint: no patch-embedding key of any supported layout")


def checkpoint_filter_fn(checkpoint: Mapping[str, object], source: Source | None = None) -> ConvertedWeights:
    """Convert a loaded checkpoint of any supported origin to this model's keys.

    Unwraps the container, detects (or checks) the source, and hands the tensors to ``_convert_<source>``.
    Classification heads, ``fc_norm`` (unused by the feature map) and detector weights are dropped; a
    missing position table is rebuilt (the official VideoMAE code keeps it outside the state dict).

    Args:
        checkpoint: what ``torch.load`` returned.
        source: the expected origin; ``None`` detects it.
    """
    tensors, container = unwrap_checkpoint(checkpoint)
    detected = detect_source(tensors, container)
    if source is not None and source != detected and {source, detected} != {"videomae", "videomaev2"}:
        raise ValueError(f"keys follow the {detected} layout, not {source}")
    source = source or detected
    converter = {
        "videomae": _convert_videomae,
        "videomaev2": _convert_videomaev2,
        "mmaction": _convert_mmaction,
        "opentad": _convert_opentad,
    }[source]
    state_dict = converter(tensors)
    mode, adapter_index, ratio = _adapter_layout(state_dict)
    # The converters rename keys without copying tensors, so what they kept is known by identity.
    kept = {id(value) for value in state_dict.values()}
    unused = tuple(sorted(key for key, value in tensors.items() if id(value) not in kept))
    return ConvertedWeights(state_dict, source, mode, adapter_index, ratio, unused)


def _convert_videomae(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official VideoMAE fine-tuned weights (``model``): the block layout already matches ours."""
    if any(re.match(r"blocks\.\d+\.gamma_[12]$", k) for k in tensors):
        raise ValueError("layer-scale weights (blocks.N.gamma_1) are not part of the AdaTAD ViT")
    state_dict = _backbone_weights(tensors, "")
    if "pos_embed" not in state_dict:
        state_dict["pos_embed"] = _default_position_table(state_dict)
    return state_dict


def _convert_videomaev2(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official VideoMAEv2 fine-tuned weights (``module``), e.g. ``vit_g_hybrid_pt_1200e_k710_ft.pth``.

    VideoMAEv2 reuses VideoMAE's fine-tuning model, so the keys are the same and there is no ``pos_embed``
    (the sinusoid table is a plain attribute there); its optional cosine attention is not supported.
    """
    if any(k.endswith("attn.scale") for k in tensors):
        raise ValueError("cosine-attention weights (attn.scale) are not part of the AdaTAD ViT")
    return _convert_videomae(tensors)


def _convert_mmaction(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmaction2 released weights (``state_dict``): strip ``backbone.``, rename FFN and patch embedding."""
    return {_rename_mmaction(k): v for k, v in _backbone_weights(tensors, "backbone.").items()}


def _convert_opentad(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenTAD AdaTAD weights (``state_dict_ema``): keep ``module.backbone.model.backbone.*``.

    Adapter keys ``blocks.N.adapter.*`` keep their names; the side variant's
    ``ladders.adapters.J.*`` become ``ladders.J.*``. Detector keys (projection, neck, head) are left to
    the detection head's converter.
    """
    unwrapped = {strip_ddp_prefix(k): v for k, v in tensors.items()}
    return {
        _rename_mmaction(k).replace("ladders.adapters.", "ladders."): v
        for k, v in _backbone_weights(unwrapped, _OPENTAD_PREFIX).items()
    }


def _backbone_weights(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under ``prefix``, without it, minus classification heads and unused final norms."""
    inner = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    return {k: v for k, v in inner.items() if not k.startswith(_UNUSED_PREFIXES)}


def _rename_mmaction(key: str) -> str:
    for pattern, replacement in _MMACTION_RENAMES:
        key = pattern.sub(replacement, key)
    return key


def _default_position_table(state_dict: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The 224 px sinusoid table for the width and patch size of ``patch_embed.proj.weight``."""
    weight = state_dict["patch_embed.proj.weight"]  # [C, 3, tubelet, p, p]
    dim, _, tubelet, patch, _ = weight.shape
    grid = 224 // patch
    return sinusoid_position_table(grid * grid * (16 // tubelet), dim)


def _adapter_layout(
    state_dict: Mapping[str, torch.Tensor],
) -> tuple[Mode, tuple[int, ...] | None, float | None]:
    """Mode, adapter blocks and bottleneck ratio implied by the adapter keys of a converted state dict.

    Ladder keys name only the ladder number, not the block it reads; the official side models read the
    last ``L`` blocks (``range(6, 12)`` for S, ``range(20, 40)`` for g), which is assumed here.
    """
    blocks = {int(m.group(1)) for k in state_dict if (m := re.match(r"blocks\.(\d+)\.", k))}
    depth = max(blocks) + 1 if blocks else 0
    in_block = sorted(
        {int(m.group(1)) for k in state_dict if (m := re.match(r"blocks\.(\d+)\.adapter\.", k))}
    )
    ladders = {int(m.group(1)) for k in state_dict if (m := re.match(r"ladders\.(\d+)\.", k))}
    if in_block and ladders:
        raise ValueError("checkpoint has both in-block adapters and ladder adapters")
    if not in_block and not ladders:
        return "frozen", None, None
    probe = f"blocks.{in_block[0]}.adapter.down_proj.weight" if in_block else "ladders.0.down_proj.weight"
    hidden, dim = state_dict[probe].shape
    ratio = hidden / dim
    if adapter_hidden_dim(dim, ratio) != hidden:
        raise ValueError(
            f"adapter width {hidden} is not int({dim} * ratio) for any ratio this code can express"
        )
    if in_block:
        return "adapter", tuple(in_block), ratio
    return "side", tuple(range(depth - len(ladders), depth)), ratio


def load_state_dict_checked(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "<memory>"
) -> None:
    """Strictly load ``state_dict``, failing on the first missing, unexpected or mis-shaped key.

    Args:
        model: the target model.
        state_dict: weights in the model's key layout.
        source: the file they came from, for the error message.

    Raises:
        InputError: naming ``source``, the key and, for a shape mismatch, both shapes.
    """
    expected = {key: value.shape for key, value in model.state_dict().items()}
    mismatches = state_mismatches(expected, {key: value.shape for key, value in state_dict.items()})
    if mismatches:
        first, description = mismatches[0], _describe(model)
        if first.problem == "missing":
            problem = f"missing from the weights (the {description} needs {list(first.expected)})"
        elif first.problem == "shape":
            weights, model_shape = list(first.found), list(first.expected)
            problem = f"shape {weights} in the weights but {model_shape} in the {description}"
        else:
            problem = f"unexpected key for the {description}"
        raise InputError(source, first.key, problem)
    model.load_state_dict(state_dict, strict=True)


def _describe(model: nn.Module) -> str:
    config = getattr(model, "config", None)
    if not isinstance(config, VideoMAEConfig):
        return type(model).__name__
    arch = next(
        (name for name, preset in ARCHITECTURES.items() if _same_architecture(preset, config)), "custom"
    )
    size = f"C={config.embed_dim}, depth={config.depth}, patch={config.patch_size}"
    return f"{arch} model ({size}, mode={config.mode})"


def _same_architecture(a: VideoMAEConfig, b: VideoMAEConfig) -> bool:
    return (a.embed_dim, a.depth, a.num_heads, a.patch_size, a.mlp_ratio) == (
        b.embed_dim,
        b.depth,
        b.num_heads,
        b.patch_size,
        b.mlp_ratio,
    )
