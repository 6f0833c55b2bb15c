"""What a backbone is, as plain numbers: the configuration, the five released architectures, and the
parameter counts they imply.

This module imports neither torch nor timm, so the command line can answer ``info`` and ``plan``
(arithmetic on configurations) without loading them; the modules are built in :mod:`tad_backbone.videomae`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ADAPTER_KERNEL_SIZE",
    "ARCHITECTURES",
    "Arch",
    "Mode",
    "Source",
    "VideoMAEConfig",
    "adapter_hidden_dim",
    "videomae_config",
]

#: Kernel of the adapters' depthwise temporal convolution; hard-coded to 3 in every official configuration.
ADAPTER_KERNEL_SIZE = 3


def adapter_hidden_dim(dim: int, ratio: float) -> int:
    """The bottleneck width ``int(dim * ratio)`` (96/192/256/320/352 for S/B/L/H/g at 0.25)."""
    return int(dim * ratio)


Mode = Literal["frozen", "full", "adapter", "side"]
Arch = Literal["s", "b", "l", "h", "g", "tiny"]
Source = Literal["videomae", "mmaction", "videomaev2", "opentad"]


@dataclass(frozen=True)
class VideoMAEConfig:
    """Architecture and usage of one backbone; presets per architecture are in :data:`ARCHITECTURES`."""

    # --- architecture, fixed by the pretrained weights
    embed_dim: int = 384  # token width C
    depth: int = 12  # number of transformer blocks
    num_heads: int = 6  # attention heads; head width is C / num_heads
    mlp_ratio: float = 4.0  # MLP hidden width = int(C * mlp_ratio); 48/11 for VideoMAEv2-g
    patch_size: int = 16  # spatial side of a tubelet (14 for VideoMAEv2-g)
    tubelet_size: int = 2  # frames per tubelet, so a chunk gives chunk_frames / 2 temporal tokens
    chunk_frames: int = 16  # frames attended jointly; a video is cut into T / chunk_frames chunks
    pos_embed_size: int = 224  # image size the stored sinusoid table is built for
    norm_eps: float = 1e-6  # LayerNorm epsilon
    # --- how the backbone is used
    mode: Mode = "frozen"  # frozen / full / adapter / side, see tad_backbone.videomae
    adapter_index: tuple[int, ...] | None = (
        None  # blocks with a TIA (adapter) or feeding a ladder (side); None: all
    )
    adapter_ratio: float = 0.25  # adapter bottleneck width = int(C * ratio); 1/8 for the g side model
    drop_path_rate: float = 0.1  # stochastic depth, linear from 0 to this over the blocks (AdaTAD: 0.1)
    grad_checkpointing: bool = True  # recompute blocks (full/adapter) or ladder adapters (side) in backward

    def __post_init__(self) -> None:
        if self.mode not in get_args(Mode):
            raise ValueError(f"mode must be one of {get_args(Mode)}, got {self.mode!r}")
        if self.adapter_index is not None:
            index = tuple(int(i) for i in self.adapter_index)
            if not index or list(index) != sorted(set(index)) or index[0] < 0 or index[-1] >= self.depth:
                raise ValueError(
                    f"adapter_index must be increasing block numbers in [0, {self.depth}), got {index}"
                )
            object.__setattr__(self, "adapter_index", index)
        if self.mode in ("adapter", "side") and self.adapter_dim < 1:
            raise ValueError(
                f"adapter_ratio {self.adapter_ratio} leaves no bottleneck channel: int({self.embed_dim} * "
                f"{self.adapter_ratio}) = {self.adapter_dim}"
            )
        if self.chunk_frames % self.tubelet_size:
            raise ValueError(
                f"chunk_frames {self.chunk_frames} is not a multiple of tubelet {self.tubelet_size}"
            )

    @property
    def adapter_blocks(self) -> tuple[int, ...]:
        """Blocks carrying an adapter (``adapter``) or feeding a ladder (``side``); empty otherwise."""
        if self.mode not in ("adapter", "side"):
            return ()
        return self.adapter_index if self.adapter_index is not None else tuple(range(self.depth))

    @property
    def adapter_dim(self) -> int:
        """Bottleneck width of each adapter."""
        return adapter_hidden_dim(self.embed_dim, self.adapter_ratio)

    @property
    def mlp_dim(self) -> int:
        """Hidden width of each block's MLP (6144 for g: ``int(1408 * 48 / 11)``)."""
        return int(self.embed_dim * self.mlp_ratio)

    @property
    def pos_grid(self) -> int:
        """Side of the square token grid of the stored position table (14 for p16, 16 for p14)."""
        return self.pos_embed_size // self.patch_size

    def parameter_counts(self) -> tuple[int, int]:
        """``(ViT parameters, adapter parameters)`` of the model this configuration builds.

        Arithmetic on the widths, equal to ``count_parameters(VideoMAE(config))`` (tested for every
        architecture and mode): the patch embedding, per block two LayerNorms, attention (bias-free
        ``qkv``, ``q_bias``, ``v_bias``, ``proj``) and the MLP; per adapter or ladder ``down_proj``, the
        depthwise and pointwise convolutions, ``up_proj`` and ``gamma``. The position table is a buffer.
        """
        c, m, d = self.embed_dim, self.mlp_dim, self.adapter_dim
        patch_embed = c * 3 * self.tubelet_size * self.patch_size**2 + c
        norms = 2 * 2 * c
        attention = 3 * c * c + 2 * c + c * c + c
        mlp = c * m + m + m * c + c
        adapter = (c * d + d) + (d * ADAPTER_KERNEL_SIZE + d) + (d * d + d) + (d * c + c) + 1
        vit = patch_embed + self.depth * (norms + attention + mlp)
        return vit, len(self.adapter_blocks) * adapter


#: The five released architectures (§2.6 of the reference): S, B, L, H with 16 px patches and
#: VideoMAEv2-g with 14 px patches and MLP ratio 48/11; plus ``tiny`` for tests and demos.
ARCHITECTURES: dict[str, VideoMAEConfig] = {
    "s": VideoMAEConfig(embed_dim=384, depth=12, num_heads=6),
    "b": VideoMAEConfig(embed_dim=768, depth=12, num_heads=12),
    "l": VideoMAEConfig(embed_dim=1024, depth=24, num_heads=16),
    "h": VideoMAEConfig(embed_dim=1280, depth=32, num_heads=16),
    "g": VideoMAEConfig(embed_dim=1408, depth=40, num_heads=16, mlp_ratio=48 / 11, patch_size=14),
    # Not a released model: a two-block ViT for tests, CPU demos and the synthetic-data pretraining.
    "tiny": VideoMAEConfig(embed_dim=96, depth=2, num_heads=3, patch_size=8),
}


def videomae_config(arch: str, **overrides: object) -> VideoMAEConfig:
    """The preset of ``arch`` (``s``, ``b``, ``l``, ``h``, ``g`` or ``tiny``) with some fields replaced.

    Args:
        arch: architecture letter.
        overrides: :class:`VideoMAEConfig` fields, e.g. ``mode="adapter", adapter_index=range(20, 40)``.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    return dataclasses.replace(ARCHITECTURES[arch], **overrides)  # type: ignore[arg-type]
