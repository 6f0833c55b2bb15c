"""Training logs: ``metrics.jsonl`` (one JSON object per line) and TensorBoard event files.

The event files are written directly in TensorBoard's format (TFRecord framing with masked CRC32C around
``Event`` protocol-buffer messages holding scalar summaries), so tad-train needs neither TensorBoard nor
TensorFlow; ``tensorboard --logdir OUT`` reads them.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["MetricsLog", "ScalarEventWriter", "crc32c"]


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli polynomial, reflected
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as TFRecord frames use it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(
    wall_time: float, step: int, *, file_version: str | None = None, scalars: Mapping[str, float] = {}
) -> bytes:
    """An ``Event`` message: wall_time (1, double), step (2, int64), file_version (3) or summary (5)."""
    message = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3) + _varint(step)
    if file_version is not None:
        message += _field_bytes(3, file_version.encode())
    values = b"".join(
        _field_bytes(1, _field_bytes(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", value))
        for tag, value in scalars.items()
    )  # Summary.value (1): Value{tag (1), simple_value (2, float)}
    if values:
        message += _field_bytes(5, values)
    return message


class ScalarEventWriter:
    """Appends scalar summaries to ``folder/events.out.tfevents.<time>.<host>``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._handle: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._record(_event(time.time(), 0, file_version="brain.Event:2"))

    def add_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        """Record ``{tag: value}`` at ``step``."""
        self._record(_event(time.time(), step, scalars={k: float(v) for k, v in scalars.items()}))

    def _record(self, data: bytes) -> None:
        length = struct.pack("<Q", len(data))
        frame = length + struct.pack("<I", _masked_crc(length)) + data + struct.pack("<I", _masked_crc(data))
        self._handle.write(frame)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class MetricsLog:
    """``metrics.jsonl`` plus TensorBoard scalars; only the main process writes."""

    def __init__(self, folder: str | os.PathLike[str], enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            self.path = Path(folder) / "metrics.jsonl"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.events = ScalarEventWriter(Path(folder) / "tensorboard")

    def write(self, record: Mapping[str, Any], step: int, scalars: Mapping[str, float]) -> None:
        """Append ``record`` as a JSON line and ``scalars`` as TensorBoard summaries at ``step``."""
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
        self.events.add_scalars(step, scalars)

    def close(self) -> None:
        if self.enabled:
            self.events.close()
