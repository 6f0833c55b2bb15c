"""Named ActionFormer settings of the AdaTAD configs: model, targets, losses and post-processing per dataset.

Each preset is the resolved value of one OpenTAD config family (``configs/adatad/<dataset>/``, S model,
adapter training); only the backbone width (``in_channels``) is left to the caller. Change a field with
``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tad_head.actionformer import HeadConfig, ProjectionConfig
from tad_head.losses import LossConfig
from tad_head.postprocessing import POSTPROCESS_PRESETS, PostProcessConfig
from tad_head.targets import TargetConfig

__all__ = ["DETECTOR_PRESETS", "DetectorPreset", "detector_preset"]


@dataclass(frozen=True)
class DetectorPreset:
    """Everything tad-head needs for one dataset."""

    projection: ProjectionConfig  # projection architecture
    head: HeadConfig  # head architecture and point layout
    targets: TargetConfig  # label assignment
    loss: LossConfig  # loss weights and the normalizer's initial value
    postprocess: PostProcessConfig  # candidate selection and NMS


_STRIDES_8 = (1, 2, 4, 8, 16, 32, 64, 128)
_STRIDES_10 = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

# name -> (projection fields without in_channels, head fields, target fields, loss fields)
DETECTOR_PRESETS: dict[str, tuple[dict, dict, dict, dict]] = {
    "thumos14": ({"embed_dim": 512, "max_seq_len": 768}, {"num_classes": 20}, {}, {"normalizer_init": 100}),
    "activitynet13": (
        {"embed_dim": 256, "use_abs_pe": True, "max_seq_len": 192},
        {"num_classes": 1, "embed_dim": 256},
        {},
        {"normalizer_init": 200, "label_smoothing": 0.1, "loss_weight": 2.0},
    ),
    "multithumos": ({"arch": (3, 0, 5), "max_seq_len": 768}, {"num_classes": 65}, {}, {}),
    "charades": (
        {"arch": (2, 2, 7), "use_abs_pe": True, "max_seq_len": 512, "input_pdrop": 0.3},
        {
            "num_classes": 157,
            "strides": _STRIDES_8,
            "regression_ranges": (
                (0, 4),
                (4, 8),
                (8, 16),
                (16, 32),
                (32, 64),
                (64, 128),
                (128, 256),
                (256, 10000),
            ),
        },
        {},
        {},
    ),
    "epic-kitchens-100": (
        {"mha_win_size": 9, "max_seq_len": 768, "input_pdrop": 0.2},
        {"num_classes": 293, "regression_ranges": ((0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000))},
        {},
        {"normalizer_init": 250, "label_smoothing": 0.1, "loss_weight": 0.5},
    ),
    "ego4d-mq": (
        {
            "arch": (2, 2, 9),
            "mha_win_size": (17,) * 7 + (-1,) * 3,
            "use_abs_pe": True,
            "max_seq_len": 2048,
            "proj_pdrop": 0.1,
            "input_pdrop": 0.2,
        },
        {
            "num_classes": 110,
            "strides": _STRIDES_10,
            "regression_ranges": (
                (0, 4),
                (2, 8),
                (4, 16),
                (8, 32),
                (16, 64),
                (32, 128),
                (64, 256),
                (128, 512),
                (256, 1024),
                (512, 10000),
            ),
        },
        {"filter_similar_gt": False},
        {},
    ),
}


def detector_preset(name: str, in_channels: int, num_classes: int) -> DetectorPreset:
    """The settings of one dataset for a backbone of width ``in_channels``.

    Args:
        name: one of ``DETECTOR_PRESETS`` (thumos, anet, multithumos, charades, epic, ego4d).
        in_channels: backbone feature channels (384 VideoMAE-S, 768 B, 1024 L, 1280 H, 1408 g).
    """
    if name not in DETECTOR_PRESETS:
        raise ValueError(f"unknown detector preset {name!r}; choose from {sorted(DETECTOR_PRESETS)}")
    projection, head, targets, loss = DETECTOR_PRESETS[name]
    return DetectorPreset(
        projection=ProjectionConfig(in_channels=in_channels, **projection),
        head=HeadConfig(**{**head, "num_classes": num_classes}),
        targets=TargetConfig(**targets),
        loss=LossConfig(**loss),
        postprocess=POSTPROCESS_PRESETS[{"thumos14": "thumos", "activitynet13": "anet", "epic-kitchens-100": "epic", "ego4d-mq": "ego4d"}.get(name, name)],
    )
