"""AdaTAD end to end: a VideoMAE backbone (tad-backbone) feeding an ActionFormer detector (tad-head).

Paper: "End-to-End Temporal Action Detection with 1B Parameters Across 1000 Frames" (Liu, Zhang, Zhao,
Ghanem, CVPR 2024, arXiv 2311.17241). Official code: https://github.com/sming256/OpenTAD.

Layout, top to bottom: the model (``forward`` is pure: video -> head outputs; ``loss`` and ``predict`` are
the two calls a trainer and an inference loop make), building it from an experiment, and importing the
released OpenTAD checkpoints as a pure state-dict -> state-dict function.

State-dict layout: ``backbone.*`` (tad-backbone's VideoMAE), ``detector.*`` (tad-head's ActionFormer, so
:func:`tad_head.convert_opentad_state` applies to it) and ``loss_normalizer.value`` (OpenTAD's
``rpn_head.loss_normalizer`` buffer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from tad_backbone import (
    ArrayFrames,
    VideoMAE,
    VideoMAEConfig,
    checkpoint_filter_fn,
    extract_features,
    load_backbone,
    load_state_dict_checked,
)
from tad_eval import InputError
from tad_head import (
    ActionFormer,
    DetectionLosses,
    Detections,
    HeadOutput,
    LossConfig,
    LossNormalizer,
    PostProcessConfig,
    TargetConfig,
    assign_targets,
    concat_levels,
    convert_opentad_state,
    detection_loss,
    make_points,
    opentad_loss_normalizer,
    pad_to_valid_length,
    postprocess,
)
from tad_train.config import ExperimentConfig

__all__ = ["AdaTAD", "ImportedWeights", "build_model", "convert_opentad_checkpoint"]


class AdaTAD(nn.Module):
    """Video -> ``[B, C, L]`` backbone features -> ActionFormer outputs on ``L`` grid steps.

    Args:
        backbone: the ViT (any mode: frozen, full, adapter, side).
        detector: the ActionFormer detector; its ``in_channels`` equal the backbone width and its
            ``max_seq_len`` the window length.
        targets: label assignment settings.
        loss: loss weights and the normalizer's initial value and momentum.
        window_size: grid steps per window: the backbone's output length.
    """

    def __init__(
        self,
        backbone: VideoMAE,
        detector: ActionFormer,
        targets: TargetConfig,
        loss: LossConfig,
        window_size: int,
    ) -> None:
        super().__init__()
        if detector.projection_cfg.in_channels != backbone.config.embed_dim:
            raise ValueError(
                f"AdaTAD: detector in_channels {detector.projection_cfg.in_channels} != backbone width "
                f"{backbone.config.embed_dim}"
            )
        self.backbone = backbone
        self.detector = detector
        # OpenTAD's rpn_head.loss_normalizer: a buffer, so DDP broadcasts rank 0's value before every forward
        # (each rank then folds in its own positives) and checkpoints and the EMA carry it.
        self.loss_normalizer = LossNormalizer(loss.normalizer_init, loss.normalizer_momentum)
        self.targets_cfg = targets
        self.loss_cfg = loss
        self.window_size = window_size

    @property
    def num_classes(self) -> int:
        return self.detector.head_cfg.num_classes

    def forward(self, frames: Tensor, mask: Tensor) -> HeadOutput:
        """Head outputs of a batch of windows.

        Args:
            frames: ``[B, 3, T, H, W]`` RGB frames, uint8 (or float on 0-255); the backbone normalises.
            mask: ``[B, window_size]`` bool, True on grid steps backed by real frames.
        """
        return self.detect(self.backbone(frames, length=self.window_size), mask)

    def detect(self, features: Tensor, mask: Tensor) -> HeadOutput:
        """The detector on backbone features ``[B, C, window_size]``: per level logits, offsets, masks."""
        features, mask = pad_to_valid_length(features, mask, self.detector.projection_cfg)
        return self.detector(features, mask)  # per level [B, K, L_l], [B, 2, L_l], [B, L_l]

    def streamed_features(self, frames: Tensor, chunk_batch: int) -> Tensor:
        """Backbone features computed ``chunk_batch`` chunks at a time (bounded memory, same values).

        tad-backbone's streaming extractor equals a whole-window pass; windows are taken one by one.
        """
        return torch.stack(
            [
                extract_features(self.backbone, ArrayFrames(video, "cthw"), chunk_batch, self.window_size)
                for video in frames
            ]
        ).to(self.loss_normalizer.value.device)  # [B, C, window_size]

    def points(self, output: HeadOutput) -> Tensor:
        """The pyramid points ``[P, 4]`` of an output (level lengths from its masks)."""
        head = self.detector.head_cfg
        lengths = [mask.shape[1] for mask in output.masks]
        return make_points(lengths, head.strides, head.regression_ranges, device=output.masks[0].device)

    def loss(self, batch: Mapping[str, Any]) -> DetectionLosses:
        """Training losses of a collated batch (``tad_data.collate``): forward, points, targets, loss.

        In training mode the normalizer's EMA is updated before it divides (OpenTAD's order); in eval mode
        the losses are divided by this batch's positive count instead (a validation loss).
        """
        device = self.loss_normalizer.value.device
        output = self(batch["frames"].to(device, non_blocking=True), batch["mask"].to(device))
        points = self.points(output)
        cls_targets, reg_targets = assign_targets(
            points, batch["gt_segments"], batch["gt_labels"], self.num_classes, self.targets_cfg
        )  # [B, P, K], [B, P, 2]
        cls_logits, reg_offsets, valid = concat_levels(output)  # [B, P, K], [B, P, 2], [B, P]
        normalizer = self.loss_normalizer if self.training else None
        return detection_loss(
            cls_logits, reg_offsets, valid, points, cls_targets, reg_targets, self.loss_cfg, normalizer
        )

    @torch.no_grad()
    def predict(
        self, batch: Mapping[str, Any], cfg: PostProcessConfig, chunk_batch: int | None = None
    ) -> list[Detections]:
        """NMS candidates of each window of a batch, in the window's grid units (see ``tad_train.inference``).

        NMS is not applied here: a video's windows are merged first, then suppressed once.

        Args:
            batch: a collated batch of test windows.
            cfg: candidate selection.
            chunk_batch: stream the backbone (:meth:`streamed_features`); None runs whole windows.
        """
        device = self.loss_normalizer.value.device
        mask = batch["mask"].to(device)
        if chunk_batch is None:
            output = self(batch["frames"].to(device, non_blocking=True), mask)
        else:
            output = self.detect(self.streamed_features(batch["frames"], chunk_batch), mask)
        return postprocess(output, self.points(output), cfg, apply_nms=False)


def build_model(config: ExperimentConfig, pretrained: bool = True) -> AdaTAD:
    """The model of an experiment.

    Args:
        config: the resolved experiment.
        pretrained: load ``backbone.weights`` (the start of training); False builds the same architecture
            randomly initialised, to receive a checkpoint's weights.

    Raises:
        InputError: the weights file is missing, unreadable or of another architecture than ``backbone``.
    """
    backbone_cfg = config.backbone
    if pretrained and backbone_cfg.weights is not None:
        backbone = _pretrained_backbone(config)
    else:
        backbone = VideoMAE(backbone_cfg.model)
    detector = ActionFormer(config.projection, config.head)
    return AdaTAD(backbone, detector, config.targets, config.loss, config.window.size)


#: VideoMAEConfig fields that say how the backbone is used rather than what the weights are.
_USAGE_FIELDS = ("adapter_index", "adapter_ratio", "drop_path_rate", "grad_checkpointing")
_ARCH_FIELDS = ("embed_dim", "depth", "num_heads", "mlp_ratio", "patch_size", "tubelet_size", "chunk_frames")


def _pretrained_backbone(config: ExperimentConfig) -> VideoMAE:
    wanted = config.backbone.model
    usage = {name: getattr(wanted, name) for name in _USAGE_FIELDS}
    backbone = load_backbone(config.backbone.weights, mode=wanted.mode, new_adapters=True, **usage)
    for name in _ARCH_FIELDS:
        if getattr(backbone.config, name) != getattr(wanted, name):
            raise InputError(
                config.backbone.weights,
                f"backbone.{name}",
                f"the weights have {getattr(backbone.config, name)!r}, the experiment "
                f"({config.backbone.arch}) {getattr(wanted, name)!r}",
            )
    if backbone.config != wanted:
        raise InputError(
            config.backbone.weights, "backbone", f"built {backbone.config}, the experiment asks for {wanted}"
        )
    return backbone


# --------------------------------------------------------------------------------------------------------
# Released OpenTAD checkpoints


@dataclass(frozen=True)
class ImportedWeights:
    """A released OpenTAD AdaTAD checkpoint in this model's layout."""

    state_dict: dict[str, Tensor]  # exactly AdaTAD's keys
    container: str | None  # where the weights were: "state_dict_ema" (preferred), "state_dict" or top level
    unused: tuple[str, ...]  # checkpoint keys that map to nothing in AdaTAD (e.g. the unused fc_norm)


_CONTAINERS = ("state_dict_ema", "state_dict")


def convert_opentad_checkpoint(
    checkpoint: Mapping[str, Any], model: AdaTAD, source: str = "<memory>"
) -> ImportedWeights:
    """Map a released OpenTAD AdaTAD checkpoint onto ``model``'s state dict (pure; load with strict=True).

    The backbone (``module.backbone.model.backbone.*``) goes through tad-backbone's converter, the
    detector (``module.projection/neck/rpn_head.*``) through tad-head's; ``rpn_head.loss_normalizer``
    becomes ``loss_normalizer.value``. EMA weights are preferred, as OpenTAD's test script does.

    Args:
        checkpoint: what ``torch.load(path, weights_only=True)`` returned.
        model: the AdaTAD built from the matching experiment.
        source: the file, for messages.

    Raises:
        InputError: the checkpoint's backbone mode or adapter blocks differ from the model's, or a key is
            missing, unexpected or of another shape (the message names the key and both shapes).
    """
    container = next((key for key in _CONTAINERS if isinstance(checkpoint.get(key), Mapping)), None)
    tensors = checkpoint[container] if container else checkpoint
    try:
        backbone = checkpoint_filter_fn({"state_dict": tensors}, "opentad")
    except ValueError as error:
        raise InputError(source, "backbone", str(error)) from None
    wanted: VideoMAEConfig = model.backbone.config
    if backbone.mode != wanted.mode:
        raise InputError(
            source,
            "backbone.mode",
            f"the checkpoint holds a {backbone.mode} backbone, the experiment builds {wanted.mode}",
        )
    if backbone.mode in ("adapter", "side") and backbone.adapter_index != wanted.adapter_blocks:
        raise InputError(
            source,
            "backbone.adapter_index",
            f"the checkpoint has adapters in blocks "
            f"{_span(backbone.adapter_index)}, the experiment in {_span(wanted.adapter_blocks)}",
        )
    with torch.device("meta"):
        shapes = VideoMAE(wanted)
    load_state_dict_checked(shapes, {k: v.to("meta") for k, v in backbone.state_dict.items()}, source)
    try:
        detector = convert_opentad_state({"state_dict": tensors}, model.detector)
    except ValueError as error:
        raise InputError(source, "detector", str(error)) from None
    state = {f"backbone.{k}": v for k, v in backbone.state_dict.items()}
    state.update({f"detector.{k}": v for k, v in detector.items()})
    normalizer = opentad_loss_normalizer({"state_dict": tensors})
    value = model.loss_normalizer.value if normalizer is None else torch.tensor(normalizer)
    state["loss_normalizer.value"] = value.to(torch.float32)
    detector_keys = {*detector, "rpn_head.loss_normalizer"}
    unused = tuple(key for key in backbone.unused if key.removeprefix("module.") not in detector_keys)
    return ImportedWeights(state, container, unused)


def _span(blocks: tuple[int, ...] | None) -> str:
    if not blocks:
        return "none"
    if list(blocks) == list(range(blocks[0], blocks[-1] + 1)):
        return f"{blocks[0]}-{blocks[-1]}"
    return ",".join(map(str, blocks))
