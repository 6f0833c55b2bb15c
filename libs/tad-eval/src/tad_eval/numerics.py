"""Numerical tables for the model libraries, computed in numpy (tad-eval stays free of torch).

tad-head rounds :func:`sinusoid_table` to float32 for ActionFormer's absolute position encoding.
tad-backbone computes its ViT table in torch as mmaction2 does instead: torch's and numpy's ``sin`` /
``pow`` differ in the last float64 bit now and then, which moves 1-2 float32 values of its tables.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sinusoid_table"]


def sinusoid_table(positions: int, dim: int) -> np.ndarray:
    """The ``[positions, dim]`` float64 sinusoid table.

    Channel ``j`` of position ``p`` is ``sin(p * 10000^(-2*(j//2)/dim))`` for even ``j`` and ``cos`` of the
    same angle for odd ``j``. The angle is the position times the inverse frequency, as mmaction2's
    ``get_sinusoid_encoding`` (OpenTAD's ViT) computes it. Rounded to float32 it equals ActionFormer's
    table (position divided by the frequency) for the lengths and widths the detectors use; the
    difference between the two forms is in the last float64 bit, which changes a float32 value only
    where it falls on a rounding midpoint.

    Args:
        positions: number of positions (rows).
        dim: number of channels (columns).

    Raises:
        ValueError: ``positions`` negative or ``dim`` not positive.
    """
    if positions < 0 or dim < 1:
        raise ValueError(f"sinusoid_table: need positions >= 0 and dim >= 1, got {positions} and {dim}")
    channel = np.arange(dim)
    inverse_frequency = np.power(10000.0, -(2 * (channel // 2)) / dim)
    angles = np.arange(positions, dtype=np.float64)[:, None] * inverse_frequency[None, :]
    return np.where(channel % 2 == 0, np.sin(angles), np.cos(angles))
