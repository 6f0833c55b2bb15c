"""ActionFormer's absolute position encoding, now built from tad-eval's shared table, is bit-identical to
ActionFormer's own numpy formula (and to this library's former torch computation) for every size used."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tad_head.layers import sinusoid_position_encoding


def _actionformer_table(length: int, dim: int) -> np.ndarray:
    """Frozen copy of ActionFormer's ``get_sinusoid_encoding``: position divided by the frequency."""
    channel = np.arange(dim)
    angles = np.arange(length, dtype=np.float64)[:, None] / np.power(10000, 2 * (channel // 2) / dim)[None]
    return np.where(channel % 2 == 0, np.sin(angles), np.cos(angles))


def _former_torch_encoding(length: int, dim: int) -> torch.Tensor:
    """Frozen copy of the torch computation this library used before the table moved to tad-eval."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    exponent = 2 * (torch.arange(dim) // 2).to(torch.float64) / dim
    angle = position / torch.pow(10000.0, exponent)[None]
    table = torch.where(torch.arange(dim) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float().T[None]


#: max_seq_len x D of the detectors: ANet (192 x 256), THUMOS (768 x 512), and the 512 and 2048 lengths.
SIZES = [(192, 256), (768, 512), (512, 512), (2048, 512)]


@pytest.mark.parametrize(("length", "dim"), SIZES)
def test_encoding_is_bit_identical_for_every_size_used(length: int, dim: int) -> None:
    encoding = sinusoid_position_encoding(length, dim)
    assert encoding.shape == (1, dim, length) and encoding.dtype == torch.float32
    official = torch.from_numpy(_actionformer_table(length, dim).astype(np.float32)).T[None]
    assert torch.equal(encoding, official)
    assert torch.equal(encoding, _former_torch_encoding(length, dim))


def test_encoding_values_are_pinned() -> None:
    np.testing.assert_array_equal(
        sinusoid_position_encoding(192, 256)[0, [0, 1, 2, 255], 191].numpy(),
        np.float32([0.5949085354804993, -0.8037933707237244, 0.9715100526809692, 0.9997893571853638]),
    )
