"""`tad-train extract`: a video file's features, decoded with tad-data and streamed through tad-backbone."""

from __future__ import annotations

import numpy as np
import torch

from tad_backbone import ArrayFrames, VideoMAE, extract_features, save_backbone_weights, videomae_config
from tad_data import center_crop, decode_frames, resize_short_side
from tad_train.cli import main


def _save(model: VideoMAE, path):
    """The tiny ViT as tad-backbone convert would write it."""
    meta = {
        "format": "tad-backbone-weights",
        "format_version": 1,
        "arch": "tiny",
        "mode": "frozen",
        "adapter_index": None,
        "adapter_ratio": None,
        "source": "videomae",
        "source_file": "test",
        "img_size_trained": 32,
        "embed_dim": 96,
        "depth": 2,
        "patch_size": 8,
    }
    save_backbone_weights(path, model.state_dict(), meta)
    return path


def test_video_features_equal_the_backbone_on_the_decoded_frames(synthetic_root, tmp_path, capsys) -> None:
    torch.manual_seed(0)
    model = VideoMAE(videomae_config("tiny", mode="frozen")).eval()
    weights = _save(model, tmp_path / "tiny.safetensors")
    video = synthetic_root / "videos" / "synth_0000.mp4"
    out = tmp_path / "feats.npy"
    assert main(["extract", str(video), "--weights", str(weights), "--img", "32", "--out", str(out)]) == 0
    assert "features (96," in capsys.readouterr().out

    frames = torch.from_numpy(decode_frames(video)).permute(3, 0, 1, 2)  # [3, T, H, W]
    clip = center_crop(resize_short_side(frames, 32), 32)
    expected = extract_features(model, ArrayFrames(clip, "cthw"), batch_chunks=4)
    np.testing.assert_allclose(np.load(out), expected.numpy(), rtol=0, atol=1e-6)
    assert np.load(out).shape == (96, -(-frames.shape[1] // 2))


def test_a_patch_larger_than_the_image_is_one_line(synthetic_root, tmp_path, capsys) -> None:
    model = VideoMAE(videomae_config("tiny", mode="frozen"))
    weights = _save(model, tmp_path / "tiny.safetensors")
    code = main(
        [
            "extract",
            str(synthetic_root / "videos" / "synth_0000.mp4"),
            "--weights",
            str(weights),
            "--img",
            "4",
            "--out",
            str(tmp_path / "f.npy"),
        ]
    )
    assert code == 2
    assert f"error: --img: 4: smaller than the 8 px patch of {weights}" in capsys.readouterr().err
