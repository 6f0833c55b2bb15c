"""Reusable pieces of the video backbones, one idea per file."""

from tad_backbone.layers.attention import QVBiasAttention
from tad_backbone.layers.normalize import VIDEOMAE_MEAN, VIDEOMAE_STD, VideoNormalize
from tad_backbone.layers.pooling import resize_temporal, spatial_mean_pool
from tad_backbone.layers.pos_embed import resample_position_table, sinusoid_position_table
from tad_backbone.layers.tubelet_embed import TubeletEmbed

__all__ = [
    "VIDEOMAE_MEAN",
    "VIDEOMAE_STD",
    "QVBiasAttention",
    "TubeletEmbed",
    "VideoNormalize",
    "resample_position_table",
    "resize_temporal",
    "sinusoid_position_table",
    "spatial_mean_pool",
]
