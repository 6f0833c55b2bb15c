"""CUDA checks: autocast training steps and streaming extraction on the GPU (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

from tad_backbone import ArrayFrames, VideoMAE, extract_features


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["full", "adapter", "side"])
def test_autocast_training_step_on_cuda(tiny_config, nonzero_adapters, random_video, mode, dtype) -> None:
    model = VideoMAE(tiny_config(mode=mode, adapter_index=(1, 3) if mode == "side" else None))
    nonzero_adapters(model)
    model = model.cuda()
    video = random_video(batch=2, frames=48).cuda()
    reference = model.eval()(video)
    with torch.autocast("cuda", dtype=dtype):
        mixed = model(video)
    assert mixed.dtype == torch.float32 and torch.isfinite(mixed).all()
    assert (mixed - reference).norm() / reference.norm() < 0.05
    model.train()
    with torch.autocast("cuda", dtype=dtype):
        loss = model(video).square().mean()
    loss.backward()
    trained = list(model.trainable_parameters())
    assert trained and all(p.grad is not None and torch.isfinite(p.grad).all() for _, p in trained)


@pytest.mark.gpu
def test_streaming_extraction_on_cuda_matches_cpu(tiny_config, nonzero_adapters) -> None:
    model = VideoMAE(tiny_config(mode="adapter"))
    nonzero_adapters(model)
    frames = torch.randint(0, 256, (3, 80, 32, 32), dtype=torch.uint8)
    on_cpu = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=2)
    on_gpu = extract_features(model.cuda(), ArrayFrames(frames, "cthw"), batch_chunks=2)
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)
    with_amp = extract_features(model, ArrayFrames(frames, "cthw"), batch_chunks=2, amp_dtype=torch.float16)
    assert (with_amp - on_cpu).norm() / on_cpu.norm() < 0.05
