"""Frames per second of tad-data's training pipeline vs. raw decord decoding of the same frames.

THUMOS-like settings scaled to a small machine: 320x180 H.264 videos at 30 fps and ~340 kbit/s
(THUMOS14's size and bitrate) written by ``tad_data.synthetic``; ``random_trunc`` windows with
``snippet_stride`` 4 (a frame every 4, as AdaTAD's 768x1 configs; ``--window`` steps instead of 768);
the full AdaTAD training augmentation (short side 182, RandomResizedCrop to 160, flip, RandAugment 2
ops at magnitude 9, colour jitter); one torch thread, as in a DataLoader worker.

Each round draws one `TrainDataset` sample (open the video, sample the window, decode, augment) and,
in the same process, decodes the same frame indices with a fresh decord reader and ``get_batch``,
taking the frames out with ``asnumpy()`` (mmaction's ``DecordDecode``) and with a zero-copy dlpack
hand-over (the fastest way out of decord). Rounds alternate, so load on the machine hits all alike.

    python benchmarks/data_throughput.py [--videos 3] [--seconds 45] [--window 256] [--rounds 24]

Goal: pipeline fps / raw decode fps >= 0.8.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import decord
import numpy as np
import torch
from torch.utils.dlpack import from_dlpack

from tad_data import AugmentConfig, DatasetConfig, SamplerConfig, TrainDataset, write_synthetic_dataset


def _window_indices(sample: dict) -> np.ndarray:
    """The frame indices a sample was decoded from, from its meta and mask (padding repeats the last)."""
    meta = sample["meta"]
    frame_stride = meta["snippet_stride"] // meta["scale_factor"]
    valid = int(sample["mask"].sum()) * meta["scale_factor"]
    total = meta["window_size"] * meta["scale_factor"]
    indices = meta["window_start_frame"] + frame_stride * np.arange(valid)
    return np.concatenate([indices, np.full(total - valid, indices[-1])])


def run(args: argparse.Namespace, workdir: Path) -> None:
    start = time.perf_counter()
    data = write_synthetic_dataset(
        workdir,
        num_videos=args.videos,
        num_classes=4,
        seed=0,
        size=(180, 320),
        fps=30,
        min_duration=args.seconds,
        max_duration=args.seconds + 5,
        validation_fraction=0.0,
        texture_detail=args.detail,
    )
    sizes = [path.stat().st_size for path in data.video_dir.glob("*.mp4")]
    seconds = [record.duration for record in data.annotations.videos.values()]
    kbits = 8 * sum(sizes) / sum(seconds) / 1000
    print(
        f"wrote {args.videos} H.264 videos, 320x180 at 30 fps, {min(seconds):.0f}-{max(seconds):.0f} s, "
        f"{kbits:.0f} kbit/s, in {time.perf_counter() - start:.1f} s"
    )
    config = DatasetConfig(str(data.annotation_path), str(data.video_dir), "training", seed=0)
    sampler = SamplerConfig("random_trunc", window_size=args.window, snippet_stride=4, scale_factor=1)
    dataset = TrainDataset(config, sampler, AugmentConfig())
    seconds = {"pipeline": 0.0, "asnumpy": 0.0, "zero-copy": 0.0}
    frames = 0
    dataset[0]  # warm-up (imports, allocator)
    for round_index in range(args.rounds):
        dataset.set_epoch(round_index)
        tick = time.perf_counter()
        sample = dataset[round_index % len(dataset)]
        seconds["pipeline"] += time.perf_counter() - tick
        path = str(data.video_dir / f"{sample['meta']['video_id']}.mp4")
        indices = _window_indices(sample).tolist()
        for baseline in ("asnumpy", "zero-copy"):
            tick = time.perf_counter()
            reader = decord.VideoReader(path, num_threads=config.decode_threads)
            batch = reader.get_batch(indices)
            raw = batch.asnumpy() if baseline == "asnumpy" else from_dlpack(batch.to_dlpack())
            del reader, batch  # a live reader keeps decoding on its threads: stop it inside the timing
            seconds[baseline] += time.perf_counter() - tick
            assert raw.shape[0] == sample["frames"].shape[1]
        frames += len(indices)
    fps = {name: frames / value for name, value in seconds.items()}
    print(
        f"torch threads {torch.get_num_threads()}, decord threads {config.decode_threads} (both sides), "
        f"{args.rounds} windows of {args.window} frames "
        f"(every 4th of {4 * args.window} decoded frames), output {tuple(sample['frames'].shape)} uint8"
    )
    print(f"raw decord, get_batch + asnumpy (mmaction's DecordDecode): {fps['asnumpy']:8.1f} frames/s")
    print(f"raw decord, get_batch + zero-copy dlpack:                 {fps['zero-copy']:8.1f} frames/s")
    print(f"tad-data pipeline (open, sample, decode, augment):        {fps['pipeline']:8.1f} frames/s")
    print(f"ratio pipeline / raw decode (asnumpy):   {fps['pipeline'] / fps['asnumpy']:.3f}")
    print(f"ratio pipeline / raw decode (zero-copy): {fps['pipeline'] / fps['zero-copy']:.3f}  (goal >= 0.8)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=3, help="synthetic videos to write")
    parser.add_argument("--seconds", type=float, default=45.0, help="shortest video length in seconds")
    parser.add_argument("--window", type=int, default=256, help="feature-grid steps per window (THUMOS: 768)")
    parser.add_argument("--rounds", type=int, default=24, help="samples timed (each also decoded raw)")
    parser.add_argument(
        "--detail",
        type=float,
        default=20.0,
        help="background grain (20: ~340 kbit/s, like THUMOS14's videos)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write the videos (default: temp)"
    )
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch threads (DataLoader workers use 1)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    if args.workdir is not None:
        run(args, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="tad-data-throughput-") as workdir:
        run(args, Path(workdir))


if __name__ == "__main__":
    main()
