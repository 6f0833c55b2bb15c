"""The settings of ``tad-train pretrain`` (:mod:`tad_train.pretrain`), apart from the module that trains.

Importing them loads neither torch nor timm, so ``tad-train --help`` shows their defaults quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tad_backbone.config import ARCHITECTURES
from tad_eval import InputError

if TYPE_CHECKING:
    from tad_data import AugmentConfig

__all__ = ["PretrainConfig"]


@dataclass(frozen=True)
class PretrainConfig:
    """How a ViT is pretrained on clips (defaults: the demo's tiny ViT at 32 px)."""

    arch: str = "tiny"  # tad_backbone.ARCHITECTURES key
    frames: int = 16  # frames per clip: a multiple of the ViT's 16-frame chunk
    frame_stride: int = 2  # raw frames between clip frames (the demo detector samples every other frame)
    img: int = 32  # crop side fed to the ViT
    epochs: int = 20
    batch_size: int = 8
    lr: float = 2e-3  # AdamW peak rate, reached after the warm-up, then a cosine to 1e-6
    weight_decay: float = 0.05  # on weight matrices only (biases and norms are not decayed, as VideoMAE)
    warmup_epochs: int = 1
    drop_path_rate: float = 0.0  # stochastic depth of the ViT (a 2-block ViT needs none)
    seed: int = 0
    augment: AugmentConfig | None = None  # None: see `augmentation`

    @property
    def augmentation(self) -> AugmentConfig:
        """The training augmentation (tad-data's chain); by default short side ``img * 9/8``, crop ``img``.

        Two defaults differ from AdaTAD's: no RandAugment, and crops of at least 30% of the frame (not 8%),
        because a synthetic action is one small shape that a smaller crop often cuts away, leaving a
        clip whose label it no longer shows.
        """
        from tad_data import AugmentConfig

        if self.augment is not None:
            return self.augment
        return AugmentConfig(
            short_side=self.img + self.img // 8, crop_size=self.img, crop_area=(0.3, 1.0), randaug_num_ops=0
        )

    @property
    def span(self) -> int:
        """Raw frames from a clip's first frame to its last, inclusive."""
        return (self.frames - 1) * self.frame_stride + 1

    def check(self, source: str = "PretrainConfig") -> None:
        """Raise an InputError naming the first invalid setting (``source``: where the settings came from)."""
        if self.arch not in ARCHITECTURES:
            raise InputError(
                source, "arch", f"unknown architecture {self.arch!r}; choose from {sorted(ARCHITECTURES)}"
            )
        model = ARCHITECTURES[self.arch]
        if self.frames < 1 or self.frames % model.chunk_frames:
            raise InputError(
                source,
                "frames",
                f"{self.frames} is not a multiple of the ViT's {model.chunk_frames}-frame chunk",
            )
        if self.img < model.patch_size:
            raise InputError(source, "img", f"{self.img} px is smaller than the {model.patch_size} px patch")
        for name in ("frame_stride", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(source, name, f"{getattr(self, name)} must be at least 1")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise InputError(source, "warmup_epochs", f"{self.warmup_epochs} must lie in [0, epochs]")
