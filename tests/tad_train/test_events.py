"""TensorBoard event files written without TensorBoard, read back by TensorBoard itself."""

from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tad_train.events import MetricsLog, crc32c


def test_crc32c_known_values() -> None:
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720, 32 zero bytes


def test_tensorboard_reads_the_scalars_and_the_jsonl_has_every_record(tmp_path) -> None:
    log = MetricsLog(tmp_path, enabled=True)
    log.write({"step": 1, "loss": 0.5}, 1, {"train/loss": 0.5, "lr/backbone": 2e-4})
    log.write({"step": 2, "loss": 0.25}, 2, {"train/loss": 0.25})
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["lr/backbone", "train/loss"]
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(1, 0.5), (2, 0.25)]
    assert events.Scalars("lr/backbone")[0].value == pytest.approx(2e-4)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["loss"] for line in lines] == [0.5, 0.25]


def test_other_ranks_write_nothing(tmp_path) -> None:
    log = MetricsLog(tmp_path / "run", enabled=False)
    log.write({"step": 1}, 1, {"train/loss": 1.0})
    log.close()
    assert not (tmp_path / "run").exists()
