"""Named ActionFormer settings of the AdaTAD configs: model, targets, losses and post-processing per dataset.

Each recipe is the resolved value of one OpenTAD config family (``configs/adatad/<dataset>/``, S model,
adapter training), keyed by the canonical dataset names of :mod:`tad_eval.datasets`. Two numbers belong
to the caller's data, not to the dataset, and are never part of a recipe: the backbone width
(``in_channels``) and the number of classes, the length of the class list the detector is trained on
(EPIC-KITCHENS-100 has 97 verbs and 300 nouns, 293 of which occur in the labelled splits; a class-agnostic
detector such as ActivityNet's, whose labels come from a video classifier, :mod:`tad_head.fusion`, has 1).
Change a field of the result with ``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tad_eval.datasets import canonical_dataset
from tad_head.actionformer import HeadConfig, ProjectionConfig
from tad_head.losses import LossConfig
from tad_head.postprocessing import POSTPROCESS_PRESETS, PostProcessConfig
from tad_head.targets import TargetConfig

__all__ = ["DETECTOR_PRESETS", "DetectorPreset", "DetectorRecipe", "detector_preset"]


@dataclass(frozen=True)
class DetectorPreset:
    """Everything tad-head needs for one dataset and one backbone: complete configs."""

    projection: ProjectionConfig  # projection architecture
    head: HeadConfig  # head architecture and point layout
    targets: TargetConfig  # label assignment
    loss: LossConfig  # loss weights and the normalizer's initial value
    postprocess: PostProcessConfig  # candidate selection and NMS


@dataclass(frozen=True)
class DetectorRecipe:
    """One dataset's detector settings: all of a `DetectorPreset` except the backbone width and class count.

    The level strides follow from ``arch`` (one stride-2 block per level: 1, 2, 4, ...); every field of
    the configs not named here keeps its default.
    """

    embed_dim: int  # D: width of the projection, neck and head (ProjectionConfig and HeadConfig)
    arch: tuple[int, int, int]  # (embedding convs, stride-1 stem blocks, stride-2 branch blocks)
    mha_win_size: int | tuple[int, ...]  # attention window per level (-1: global)
    use_abs_pe: bool  # sinusoid position encoding after the embedding
    max_seq_len: int  # training length in grid steps
    input_pdrop: float  # channel dropout on the input features
    proj_pdrop: float  # dropout after the attention output projection and in the MLP
    regression_ranges: tuple[tuple[float, float], ...]  # per level: the positives' regression range
    targets: TargetConfig  # label assignment
    loss: LossConfig  # loss weights and the normalizer's initial value
    postprocess: PostProcessConfig  # candidate selection and NMS


_RANGES_6 = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000))

DETECTOR_PRESETS: dict[str, DetectorRecipe] = {
    "thumos14": DetectorRecipe(
        embed_dim=512,
        arch=(2, 2, 5),
        mha_win_size=-1,
        use_abs_pe=False,
        max_seq_len=768,
        input_pdrop=0.0,
        proj_pdrop=0.0,
        regression_ranges=_RANGES_6,
        targets=TargetConfig(),
        loss=LossConfig(normalizer_init=100),
        postprocess=POSTPROCESS_PRESETS["thumos14"],
    ),
    "activitynet13": DetectorRecipe(
        embed_dim=256,
        arch=(2, 2, 5),
        mha_win_size=-1,
        use_abs_pe=True,
        max_seq_len=192,
        input_pdrop=0.0,
        proj_pdrop=0.0,
        regression_ranges=_RANGES_6,
        targets=TargetConfig(),
        loss=LossConfig(normalizer_init=200, label_smoothing=0.1, loss_weight=2.0),
        postprocess=POSTPROCESS_PRESETS["activitynet13"],
    ),
    "epic-kitchens-100": DetectorRecipe(
        embed_dim=512,
        arch=(2, 2, 5),
        mha_win_size=9,
        use_abs_pe=False,
        max_seq_len=768,
        input_pdrop=0.2,
        proj_pdrop=0.0,
        regression_ranges=((0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)),
        targets=TargetConfig(),
        loss=LossConfig(normalizer_init=250, label_smoothing=0.1, loss_weight=0.5),
        postprocess=POSTPROCESS_PRESETS["epic-kitchens-100"],
    ),
    "ego4d-mq": DetectorRecipe(
        embed_dim=512,
        arch=(2, 2, 9),
        mha_win_size=(17,) * 7 + (-1,) * 3,
        use_abs_pe=True,
        max_seq_len=2048,
        input_pdrop=0.2,
        proj_pdrop=0.1,
        regression_ranges=(
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
        targets=TargetConfig(filter_similar_gt=False),
        loss=LossConfig(),
        postprocess=POSTPROCESS_PRESETS["ego4d-mq"],
    ),
    "multithumos": DetectorRecipe(
        embed_dim=512,
        arch=(3, 0, 5),
        mha_win_size=-1,
        use_abs_pe=False,
        max_seq_len=768,
        input_pdrop=0.0,
        proj_pdrop=0.0,
        regression_ranges=_RANGES_6,
        targets=TargetConfig(),
        loss=LossConfig(),
        postprocess=POSTPROCESS_PRESETS["multithumos"],
    ),
    "charades": DetectorRecipe(
        embed_dim=512,
        arch=(2, 2, 7),
        mha_win_size=-1,
        use_abs_pe=True,
        max_seq_len=512,
        input_pdrop=0.3,
        proj_pdrop=0.0,
        regression_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 128), (128, 256), (256, 10000)),
        targets=TargetConfig(),
        loss=LossConfig(),
        postprocess=POSTPROCESS_PRESETS["charades"],
    ),
}


def detector_preset(dataset: str, in_channels: int, num_classes: int) -> DetectorPreset:
    """The complete settings of one dataset for a backbone of width ``in_channels``.

    Args:
        dataset: a canonical dataset name (``tad_eval.DATASETS``); command-line aliases are refused with
            the canonical name to use instead.
        in_channels: backbone feature channels (384 VideoMAE-S, 768 B, 1024 L, 1280 H, 1408 g).
        num_classes: classes the detector predicts: the length of its class list (1 for a class-agnostic
            detector).

    Raises:
        ValueError: an unknown or non-canonical dataset name, or fewer than one class.
    """
    if dataset not in DETECTOR_PRESETS:
        canonical = canonical_dataset(dataset)  # an unknown name raises, suggesting the closest
        raise ValueError(
            f"detector presets are keyed by canonical dataset names: use {canonical!r}, not {dataset!r}"
        )
    if num_classes < 1:
        raise ValueError(f"detector_preset: num_classes must be at least 1, got {num_classes}")
    recipe = DETECTOR_PRESETS[dataset]
    return DetectorPreset(
        projection=ProjectionConfig(
            in_channels=in_channels,
            embed_dim=recipe.embed_dim,
            arch=recipe.arch,
            mha_win_size=recipe.mha_win_size,
            use_abs_pe=recipe.use_abs_pe,
            max_seq_len=recipe.max_seq_len,
            input_pdrop=recipe.input_pdrop,
            proj_pdrop=recipe.proj_pdrop,
        ),
        head=HeadConfig(
            num_classes=num_classes,
            embed_dim=recipe.embed_dim,
            strides=tuple(2**level for level in range(1 + recipe.arch[2])),
            regression_ranges=recipe.regression_ranges,
        ),
        targets=recipe.targets,
        loss=recipe.loss,
        postprocess=recipe.postprocess,
    )
