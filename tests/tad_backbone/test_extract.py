"""Feature extraction: streaming equals a whole-video pass through the model's own modules; the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tad_backbone import (
    ArrayFrames,
    TemporalAdapter,
    VideoMAE,
    convert_checkpoint,
    extract_features,
    load_backbone,
)
from tad_backbone.cli import main


def _whole_video(model: VideoMAE, frames: torch.Tensor) -> torch.Tensor:
    """Reference: edge-pad to a multiple of 16, one forward pass, keep ceil(T / 2) steps."""
    total = frames.shape[1]
    padded = -(-total // 16) * 16
    video = torch.cat([frames, frames[:, -1:].expand(-1, padded - total, -1, -1)], dim=1)
    with torch.no_grad():
        return model.eval()(video[None])[0][:, : -(-total // 2)]


@pytest.mark.parametrize("mode", ["frozen", "adapter", "side"])
def test_streaming_equals_the_whole_video(tiny_config, nonzero_adapters, mode) -> None:
    model = VideoMAE(tiny_config(mode=mode, adapter_index=(0, 2, 3) if mode == "side" else None))
    nonzero_adapters(model)
    frames = torch.randint(
        0, 256, (3, 75, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    expected = _whole_video(model, frames)
    assert expected.shape == (64, 38)
    for batch_chunks in (1, 2, 3, 8):
        streamed = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=batch_chunks)
        torch.testing.assert_close(streamed, expected, rtol=1e-5, atol=1e-5)
    resized = extract_features(model, ArrayFrames(frames.permute(1, 2, 3, 0).numpy(), "thwc"), 2, length=19)
    torch.testing.assert_close(
        resized, torch.nn.functional.interpolate(expected[None], size=19, mode="linear")[0]
    )


def test_streaming_adapter_really_crosses_batches(tiny_config, nonzero_adapters) -> None:
    """Changing the last chunk changes the first batch's features only through the adapters' halos."""
    model = VideoMAE(tiny_config(mode="adapter"))
    nonzero_adapters(model)
    frames = torch.randint(0, 256, (3, 64, 32, 32), dtype=torch.uint8)
    changed = frames.clone()
    changed[:, 16:32] = 0
    before = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=1)
    after = extract_features(model, ArrayFrames(changed, "cthw"), batch_chunks=1)
    assert (before - after)[:, :8].abs().max() > 1e-4  # chunk 0 sees chunk 1 through the temporal conv


@pytest.fixture(scope="module")
def adapter_weights(tmp_path_factory, official_checkpoint) -> Path:
    """OpenTAD-layout S weights with adapters, converted once for the CLI tests."""
    folder = tmp_path_factory.mktemp("weights")
    torch.save(official_checkpoint("opentad", variant="adapter"), folder / "adatad_s.pth")
    convert_checkpoint(folder / "adatad_s.pth", folder / "adatad_s.safetensors", "opentad", "s")
    return folder / "adatad_s.safetensors"


@pytest.mark.slow
def test_extract_cli_on_arrays(tmp_path, adapter_weights, capsys) -> None:
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 32, 32), dtype=np.uint8)
    np.save(tmp_path / "cthw.npy", frames)
    np.save(tmp_path / "thwc.npy", frames.transpose(1, 2, 3, 0))
    args = ["extract", "--weights", str(adapter_weights), "--batch-chunks", "1"]
    assert main([*args, "--frames", str(tmp_path / "cthw.npy"), "--out", str(tmp_path / "a.npy")]) == 0
    assert main([*args, "--frames", str(tmp_path / "thwc.npy"), "--out", str(tmp_path / "b.npy")]) == 0
    first, second = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert first.dtype == np.float32 and first.shape == (384, 20)
    np.testing.assert_array_equal(first, second)
    expected = _whole_video(load_backbone(adapter_weights), torch.from_numpy(frames))
    np.testing.assert_allclose(first, expected.numpy(), rtol=1e-4, atol=1e-3)

    assert main([*args, "--frames", str(tmp_path / "cthw.npy"), "--length", "7", "--mode", "frozen",
                 "--out", str(tmp_path / "c.npy")]) == 0  # fmt: skip
    frozen = _whole_video(load_backbone(adapter_weights, mode="frozen"), torch.from_numpy(frames))
    resized = torch.nn.functional.interpolate(frozen[None], size=7, mode="linear")[0]
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), resized.numpy(), rtol=1e-4, atol=1e-3)
    assert "(384, 7)" in capsys.readouterr().out


def test_extract_cli_needs_patch_aligned_frames(tmp_path, adapter_weights, capsys) -> None:
    """Resizing, like decoding, is tad-data's (`tad-train extract VIDEO` composes them); arrays go as is."""
    np.save(tmp_path / "odd.npy", np.zeros((3, 16, 40, 52), dtype=np.uint8))
    args = ["extract", "--weights", str(adapter_weights), "--frames", str(tmp_path / "odd.npy")]
    assert main([*args, "--out", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "odd.npy: array: frames of 40x52 px are not multiples of the 16 px patch" in err
    )
    assert "tad-train extract" in err and not (tmp_path / "o.npy").exists()


@pytest.mark.slow
def test_extract_cli_rejects_bad_input(tmp_path, adapter_weights, capsys) -> None:
    np.save(tmp_path / "float.npy", np.zeros((3, 16, 32, 32), dtype=np.float32))
    np.save(tmp_path / "square.npy", np.zeros((3, 3, 3, 3), dtype=np.uint8))
    base = ["extract", "--weights", str(adapter_weights), "--out", str(tmp_path / "o.npy")]
    for frames, expected in [
        ("float.npy", "float32"),
        ("square.npy", "ambiguous"),
        ("missing.npy", "missing.npy"),
    ]:
        assert main([*base, "--frames", str(tmp_path / frames)]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1
    args = ["extract", "--weights", str(tmp_path / "none.safetensors"), "--frames", "x.npy", "--out", "o.npy"]
    assert main(args) == 2
    assert "none.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


@pytest.mark.parametrize("mode", ["adapter", "side"])
def test_streaming_runs_the_adapters_own_forward(tiny_config, nonzero_adapters, monkeypatch, mode) -> None:
    """Change the adapter's math in its one place, and streamed extraction follows the model."""
    model = VideoMAE(tiny_config(mode=mode, adapter_index=(1, 3) if mode == "side" else None))
    nonzero_adapters(model)
    frames = torch.randint(
        0, 256, (3, 48, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(3)
    )
    before = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=1)
    original = TemporalAdapter.from_hidden

    def doubled_mix(self, z, x, num_videos, grid, left=None, right=None):
        left, right = (None if halo is None else 2 * halo for halo in (left, right))
        return original(self, 2 * z, x, num_videos, grid, left, right)

    monkeypatch.setattr(TemporalAdapter, "from_hidden", doubled_mix)
    expected = _whole_video(model, frames)
    streamed = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=1)
    torch.testing.assert_close(streamed, expected, rtol=1e-5, atol=1e-5)
    assert (streamed - before).abs().max() > 1e-3  # the change mattered
