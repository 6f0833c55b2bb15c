"""The shared sinusoid table: the formula, float64 throughout, and a pinned slice of its values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tad_eval import sinusoid_table


def test_sinusoid_table_follows_the_formula_in_float64() -> None:
    table = sinusoid_table(1568, 384)
    assert table.shape == (1568, 384) and table.dtype == np.float64
    for position, channel in [(0, 0), (0, 1), (7, 10), (1567, 383), (500, 201)]:
        angle = position * 10000 ** (-2 * (channel // 2) / 384)
        expected = math.sin(angle) if channel % 2 == 0 else math.cos(angle)
        assert table[position, channel] == pytest.approx(expected, rel=0, abs=1e-12)
    assert sinusoid_table(0, 4).shape == (0, 4)


def test_sinusoid_table_values_are_pinned() -> None:
    """Regression check on the float32 values the libraries build: the last position of the ViT-S table
    and of tad-head's ANet encoding (192 x 256)."""
    vit = sinusoid_table(1568, 384)[1567, [0, 1, 100, 383]].astype(np.float32)
    np.testing.assert_array_equal(vit, np.float32([0.6089484095573425, -0.7932098507881165,
                                                   -0.8376872539520264, 0.9865167140960693]))  # fmt: skip
    head = sinusoid_table(192, 256)[191, [0, 1, 2, 255]].astype(np.float32)
    np.testing.assert_array_equal(head, np.float32([0.5949085354804993, -0.8037933707237244,
                                                    0.9715100526809692, 0.9997893571853638]))  # fmt: skip


def test_sinusoid_table_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="dim >= 1"):
        sinusoid_table(4, 0)
