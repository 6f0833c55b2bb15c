"""How fast is tad-head's soft-NMS? Gaussian soft-NMS of one THUMOS-like video: 2,000 segments × 20 classes.

The candidates are 2,000 segments per class over a 3,000-step video (random starts, lengths up to 100 steps,
scores in (0.001, 1]) with the THUMOS setting (``POSTPROCESS_PRESETS["thumos14"].nms``: Gaussian, sigma 0.7,
max 2,000, min_score 0, multi-class). In one process the script

1. runs the plain greedy Python loop of the same algorithm (``tests/references/nms_reference.py``, float64);
2. runs :func:`tad_head.batched_nms` on the same candidates in float64 (the same arithmetic) and checks that
   it keeps the identical segments in the identical order, with scores equal to 1e-6 (exit 1 otherwise);
3. runs it in float32 (the dtype OpenTAD's kernel uses; post-processing's default) and reports its agreement;
4. prints the times and the ratio (goal ≥ 20×).

Torch runs with ``--threads`` intra-op threads (default 1, like the Python loop; on a shared 2-core machine
extra OpenMP threads mostly wait on each other). Usage:
``python benchmarks/nms_speed.py [--classes 20] [--segments 2000] [--threads 1] [--device cpu|cuda]``.
No test runs this.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from tad_head import POSTPROCESS_PRESETS, Detections, batched_nms

# The plain loop is test code, kept out of the wheel; tests import it the same way (pytest's pythonpath).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "references"))
from nms_reference import batched_nms_reference  # noqa: E402


def make_candidates(classes: int, per_class: int, seed: int = 0) -> Detections:
    """``classes × per_class`` segments of one video, float64, classes interleaved as a head emits them."""
    generator = torch.Generator().manual_seed(seed)
    total = classes * per_class
    starts = torch.rand(total, generator=generator, dtype=torch.float64) * 3000
    lengths = torch.rand(total, generator=generator, dtype=torch.float64) * 100
    scores = 0.001 + 0.999 * torch.rand(total, generator=generator, dtype=torch.float64)
    labels = torch.arange(total) % classes
    return Detections(torch.stack([starts, starts + lengths], dim=1), scores, labels)


def timed(function, repeats: int) -> tuple[float, object]:
    """Best wall time over ``repeats`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare(got: Detections, segments: list, scores: list, labels: list) -> tuple[bool, int, float]:
    """Whether the kept (label, segment) pairs are identical and in the same order, how many pairs the results
    share regardless of order, and the largest score difference over the shared pairs. Segments are compared
    after rounding both to float32, so a float32 run is judged by what it can represent."""
    mine = list(zip(got.labels.tolist(), map(tuple, got.segments.float().cpu().tolist()), strict=True))
    theirs = list(zip(labels, map(tuple, torch.tensor(segments).float().tolist()), strict=True))
    their_score = dict(zip(theirs, scores, strict=True))
    shared = [
        (key, score)
        for key, score in zip(mine, got.scores.double().tolist(), strict=True)
        if key in their_score
    ]
    worst = max((abs(score - their_score[key]) for key, score in shared), default=0.0)
    return mine == theirs, len(shared), worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--segments", type=int, default=2000, help="segments per class")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="vectorised runs; the best time counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = POSTPROCESS_PRESETS["thumos14"].nms
    candidates = make_candidates(args.classes, args.segments)
    on_device = Detections(*(t.to(args.device) for t in candidates))
    as_float32 = Detections(on_device.segments.float(), on_device.scores.float(), on_device.labels)
    print(f"candidates: {args.segments} segments x {args.classes} classes = {len(candidates.scores)}; {cfg}")
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}")

    batched_nms(as_float32, cfg)  # warm-up (allocator, kernels)
    vector64, got64 = timed(lambda: batched_nms(on_device, cfg), args.repeats)
    vector32, got32 = timed(lambda: batched_nms(as_float32, cfg), args.repeats)
    start = time.perf_counter()
    reference = batched_nms_reference(
        [tuple(s) for s in candidates.segments.tolist()],
        candidates.scores.tolist(),
        candidates.labels.tolist(),
        cfg,
    )
    plain = time.perf_counter() - start

    same64, shared64, diff64 = compare(got64, *reference)
    same32, shared32, diff32 = compare(got32, *reference)
    kept = len(reference[1])
    print(f"plain greedy Python loop (float64): {plain:8.3f} s  kept {kept}")
    for name, seconds, same, shared, diff in (
        ("float64", vector64, same64, shared64, diff64),
        ("float32", vector32, same32, shared32, diff32),
    ):
        print(
            f"batched_nms {name}:                {seconds:8.3f} s  ratio {plain / seconds:6.1f}x  "
            f"same kept segments in the same order: {same}; {shared}/{kept} in common, "
            f"max |score diff| {diff:.2e}"
        )
    if not same32:
        print(
            "  (float32 rounding reorders near-tied scores, which then decay each other slightly differently)"
        )
    ok = same64 and shared64 == kept and diff64 <= 1e-6
    print("check (float64 identical to 1e-6):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
