"""Frame transforms on uint8 clips, with one parameter draw per clip (every frame changes the same way).

The training chain follows the AdaTAD/OpenTAD configs (mmaction2 1.1 semantics):
``Resize((-1, short_side))`` -> ``RandomResizedCrop`` -> ``Resize((crop_size, crop_size))`` ->
``Flip(0.5)`` -> ``ImgAug("default")`` (RandAugment, 2 ops at magnitude 9 of 10) -> ``ColorJitter``.
Testing is ``Resize((-1, short_side))`` -> ``CenterCrop(crop_size)``. Normalisation is the model's job.

`draw_augmentation` draws every random parameter of a clip once (crop box, flip, RandAugment ops,
colour factors) from a numpy ``Generator``; `augment_clip` applies them to all frames. Differences
from the official code, all made for speed or reproducibility and none changing what is drawn:

- the short-side resize, the crop and the final resize are fused into one crop of the decoded frame
  and one bilinear resize (mmaction's ``lazy`` / ``Fuse`` mode; the crop box is drawn in the resized
  frame exactly as ``RandomResizedCrop`` does, then mapped back and rounded);
- RandAugment's shear and rotate resample with nearest neighbour, translate moves by whole pixels;
- the colour-jitter order and the RandAugment signs are drawn per clip (the official code fixes them
  once when the pipeline is built); colour jitter is one affine colour map per frame, clamped once;
- hue is rotated in YIQ space by ``hue * 360`` degrees (torchvision's meaning of the factor) rather
  than by shifting OpenCV's 0..180 hue channel.

Work happens on a few frames at a time (`_CHUNK_FRAMES`) so float intermediates stay in cache; the
resize uses torch's channels-last uint8 bilinear kernel, the flip and the RandAugment ops that are
exact on uint8 run before the float conversion, and the colour jitter is one matrix product.
Run it in DataLoader workers (one torch thread each): on a busy machine, many-threaded small ops
spend more time waiting for each other than computing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tad_data.errors import TadDataError

__all__ = [
    "RANDAUG_OPS",
    "AugmentConfig",
    "ClipAugmentation",
    "RandAugOp",
    "augment_clip",
    "center_crop",
    "draw_augmentation",
    "eval_transform",
    "resize_short_side",
    "short_side_size",
]

#: RandAugment op names, in the order mmaction's ``ImgAug("default")`` lists them (and applies them).
RANDAUG_OPS = (
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "posterize",
    "solarize",
    "color",
    "contrast",
    "brightness",
    "sharpness",
    "autocontrast",
    "equalize",
    "invert",
    "cutout",
)

#: Frames processed together in float; small enough that intermediates stay in the CPU cache.
_CHUNK_FRAMES = 8

#: RandAugment ops that map uint8 frames to uint8 frames exactly: when they come first they run
#: before the float conversion, on 4x fewer bytes.
_UINT8_OPS = frozenset(
    {
        "shear_x",
        "shear_y",
        "translate_x",
        "translate_y",
        "rotate",
        "posterize",
        "solarize",
        "equalize",
        "invert",
        "cutout",
    }
)

#: Pixels per row of the colour-mixing GEMM (see `_mix_colors`).
_MIX_PIXELS = 8

#: ITU-R 601 luma weights (PIL's "L" conversion and mmaction's ColorJitter grayscale).
_LUMA = (0.299, 0.587, 0.114)

#: mmaction ColorJitter's grayscale weights (contrast and saturation).
_JITTER_GRAY = (0.2989, 0.587, 0.114)

#: RGB -> YIQ (hue is an angle in the I/Q plane).
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation (defaults: AdaTAD THUMOS ViT-S at 160 px)."""

    short_side: int = 182  # Resize((-1, short_side)) before the random crop (224 px models: 256)
    crop_size: int = 160  # square output size after RandomResizedCrop + Resize
    crop_area: tuple[float, float] = (0.08, 1.0)  # RandomResizedCrop area fraction range
    crop_aspect: tuple[float, float] = (3 / 4, 4 / 3)  # RandomResizedCrop width/height range (log-uniform)
    crop_attempts: int = 10  # RandomResizedCrop tries before the centre square is used
    flip_prob: float = 0.5  # probability of a horizontal flip
    brightness: float = 0.5  # ColorJitter: brightness factor drawn from 1 +- brightness
    contrast: float = 0.5  # ColorJitter: contrast factor drawn from 1 +- contrast
    saturation: float = 0.5  # ColorJitter: saturation factor drawn from 1 +- saturation
    hue: float = 0.1  # ColorJitter: hue shift drawn from +-hue of a full turn
    randaug_num_ops: int = 2  # RandAugment ops per clip (0 disables RandAugment)
    randaug_magnitude: float = 9.0  # RandAugment strength on a 0..10 scale (mmaction "default": 9)
    randaug_ops: tuple[str, ...] = RANDAUG_OPS  # the ops RandAugment draws from

    def __post_init__(self) -> None:
        unknown = sorted(set(self.randaug_ops) - set(RANDAUG_OPS))
        if unknown:
            raise TadDataError(
                f"AugmentConfig: unknown RandAugment ops {unknown}; known: {list(RANDAUG_OPS)}"
            )
        if not 0 <= self.randaug_num_ops <= len(self.randaug_ops):
            raise TadDataError(
                f"AugmentConfig: randaug_num_ops={self.randaug_num_ops} must be in "
                f"[0, {len(self.randaug_ops)}]"
            )
        if (
            not 0 < self.crop_area[0] <= self.crop_area[1] <= 1
            or not 0 < self.crop_aspect[0] <= self.crop_aspect[1]
        ):
            raise TadDataError(
                f"AugmentConfig: bad crop ranges area={self.crop_area}, aspect={self.crop_aspect}"
            )
        if self.short_side <= 0 or self.crop_size <= 0:
            raise TadDataError(
                f"AugmentConfig: sizes must be positive (short_side={self.short_side}, "
                f"crop_size={self.crop_size})"
            )


@dataclass(frozen=True)
class RandAugOp:
    """One drawn RandAugment op."""

    name: str  # one of RANDAUG_OPS
    value: float  # degrees (shear, rotate), image fraction (translate, cutout), bits, threshold or factor
    position: tuple[float, float] = (0.5, 0.5)  # cutout centre as (y, x) fractions of the frame


@dataclass(frozen=True)
class ClipAugmentation:
    """Every random parameter of one clip's augmentation (drawn once, applied to all frames)."""

    crop_box: tuple[int, int, int, int]  # left, top, right, bottom of the crop in the decoded frame
    flip: bool  # horizontal flip
    randaug: tuple[RandAugOp, ...]  # RandAugment ops, applied in this order
    jitter_order: tuple[int, ...]  # order of brightness (0), contrast (1), saturation (2), hue (3)
    brightness: float  # brightness factor (1: unchanged)
    contrast: float  # contrast factor (1: unchanged)
    saturation: float  # saturation factor (1: unchanged)
    hue: float  # hue shift in turns (0: unchanged)


# ---------------------------------------------------------------------------------------------------------
# Deterministic transforms on [C, T, H, W]


def short_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` after mmcv's ``Resize((-1, size))``: short side ``size``, aspect kept, half up.

    Args:
        height: input height.
        width: input width.
        size: target short side.
    """
    scale = size / min(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def _resize_thwc(clip: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (half-pixel, no antialias, like cv2 INTER_LINEAR) resize of uint8 ``[T, H, W, C]`` frames."""
    if tuple(clip.shape[1:3]) == tuple(size):
        return clip
    channels_last = clip.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    resized = F.interpolate(channels_last, size=size, mode="bilinear", align_corners=False, antialias=False)
    return resized.permute(0, 2, 3, 1)


def _check_cthw(frames: torch.Tensor) -> None:
    if frames.ndim != 4 or frames.dtype != torch.uint8:
        raise TadDataError(f"expected uint8 frames [C, T, H, W], got {frames.dtype} {tuple(frames.shape)}")


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Resize so the short side is ``size`` (mmaction ``Resize((-1, size))``: bilinear, aspect kept).

    Args:
        frames: uint8 ``[C, T, H, W]``.
        size: target short side in pixels.

    Returns:
        uint8 ``[C, T, H', W']`` with ``min(H', W') == size``.
    """
    _check_cthw(frames)
    height, width = frames.shape[2:]
    resized = _resize_thwc(frames.permute(1, 2, 3, 0), short_side_size(height, width, size))
    return resized.permute(3, 0, 1, 2).contiguous()


def center_crop(frames: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the centre (mmaction ``CenterCrop``: ``left = (W - w) // 2``, ``top = (H - h) // 2``).

    Args:
        frames: uint8 ``[C, T, H, W]``.
        size: crop side, or ``(height, width)``.

    Returns:
        uint8 ``[C, T, h, w]``.
    """
    _check_cthw(frames)
    crop_h, crop_w = (size, size) if isinstance(size, int) else size
    height, width = frames.shape[2:]
    if crop_h > height or crop_w > width:
        raise TadDataError(f"center_crop: crop {crop_h}x{crop_w} is larger than the {height}x{width} frames")
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return frames[:, :, top : top + crop_h, left : left + crop_w].contiguous()


def eval_transform(frames: np.ndarray | torch.Tensor, short_side: int, crop_size: int) -> torch.Tensor:
    """Test-time transform of decoded frames: short-side resize then centre crop.

    Args:
        frames: uint8 ``[T, H, W, 3]`` as decoded.
        short_side: target short side (AdaTAD: 160 or 224).
        crop_size: centre-crop side (AdaTAD: equal to short_side).

    Returns:
        uint8 ``[3, T, crop_size, crop_size]``.
    """
    clip = torch.as_tensor(frames)
    height, width = clip.shape[1:3]
    resized = _resize_thwc(clip, short_side_size(height, width, short_side))
    return center_crop(resized.permute(3, 0, 1, 2), crop_size)


# ---------------------------------------------------------------------------------------------------------
# Drawing the parameters of one clip


def _draw_crop_box(
    height: int, width: int, config: AugmentConfig, rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """mmaction ``RandomResizedCrop.get_crop_bbox`` in the short-side-resized frame."""
    area = height * width
    log_aspect = np.log(np.asarray(config.crop_aspect))
    aspects = np.exp(rng.uniform(log_aspect[0], log_aspect[1], size=config.crop_attempts))
    areas = rng.uniform(config.crop_area[0], config.crop_area[1], size=config.crop_attempts) * area
    crop_ws = np.round(np.sqrt(areas * aspects)).astype(np.int64)
    crop_hs = np.round(np.sqrt(areas / aspects)).astype(np.int64)
    for crop_w, crop_h in zip(crop_ws, crop_hs, strict=True):
        if crop_h <= height and crop_w <= width:
            left = int(rng.integers(0, width - crop_w + 1))
            top = int(rng.integers(0, height - crop_h + 1))
            return left, top, left + int(crop_w), top + int(crop_h)
    side = min(height, width)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def _map_box_to_source(
    box: tuple[int, int, int, int], resized: tuple[int, int], source: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A box in the resized frame -> the decoded frame, rounded (mmaction ``Fuse``), at least 1 px."""
    scale_y, scale_x = source[0] / resized[0], source[1] / resized[1]
    left, right = round(box[0] * scale_x), round(box[2] * scale_x)
    top, bottom = round(box[1] * scale_y), round(box[3] * scale_y)
    right, bottom = min(max(right, left + 1), source[1]), min(max(bottom, top + 1), source[0])
    return left, top, right, bottom


def _draw_randaug(config: AugmentConfig, rng: np.random.Generator) -> tuple[RandAugOp, ...]:
    """``SomeOf(n)`` of the op set, applied in list order, at ``magnitude / 10`` of the maximum strength."""
    if config.randaug_num_ops == 0:
        return ()
    chosen = sorted(rng.choice(len(config.randaug_ops), size=config.randaug_num_ops, replace=False))
    level = config.randaug_magnitude / 10
    ops = []
    for name in (config.randaug_ops[index] for index in chosen):
        sign = 1.0 if rng.random() < 0.5 else -1.0
        value = {
            "shear_x": 17.19 * level * sign,
            "shear_y": 17.19 * level * sign,
            "translate_x": 0.2 * level * sign,
            "translate_y": 0.2 * level * sign,
            "rotate": 30.0 * level * sign,
            "posterize": float(max(1, int(4 * level))),
            "solarize": 256.0 * level,
            "cutout": 0.2 * level,
        }.get(name, 1.8 * level + 0.1)  # enhance factors; unused by autocontrast/equalize/invert
        position = (float(rng.random()), float(rng.random())) if name == "cutout" else (0.5, 0.5)
        ops.append(RandAugOp(name=name, value=value, position=position))
    return tuple(ops)


def draw_augmentation(
    config: AugmentConfig, height: int, width: int, rng: np.random.Generator
) -> ClipAugmentation:
    """Draw every random parameter of one clip.

    Args:
        config: the augmentation settings.
        height: decoded frame height.
        width: decoded frame width.
        rng: the random source (one per sample, for reproducibility).
    """
    resized = short_side_size(height, width, config.short_side)
    box = _draw_crop_box(*resized, config, rng)
    crop_box = _map_box_to_source(box, resized, (height, width))
    flip = bool(rng.random() < config.flip_prob)
    randaug = _draw_randaug(config, rng)
    factors = [
        rng.uniform(1 - config.brightness, 1 + config.brightness),
        rng.uniform(1 - config.contrast, 1 + config.contrast),
        rng.uniform(1 - config.saturation, 1 + config.saturation),
        rng.uniform(-config.hue, config.hue),
    ]
    order = tuple(int(index) for index in rng.permutation(4))
    return ClipAugmentation(
        crop_box=crop_box,
        flip=flip,
        randaug=randaug,
        jitter_order=order,
        brightness=float(factors[0]),
        contrast=float(factors[1]),
        saturation=float(factors[2]),
        hue=float(factors[3]),
    )


# ---------------------------------------------------------------------------------------------------------
# Pixel ops on float chunks [t, H, W, 3] (values in [0, 255])
#
# Per-frame-and-channel reductions and broadcasts are done on a "wide" view [t, H*W/k, 3k]: reducing
# or broadcasting over an innermost dimension of 3 is an order of magnitude slower in torch.

ChunkOp = Callable[[torch.Tensor], torch.Tensor]


def _wide(chunk: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A ``[t, H*W/k, 3k]`` view of a contiguous ``[t, H, W, 3]`` chunk, and ``k``."""
    pixels = chunk.shape[1] * chunk.shape[2]
    k = math.gcd(pixels, 64)
    return chunk.view(chunk.shape[0], pixels // k, 3 * k), k


def _channel_reduce(chunk: torch.Tensor, reduce: str) -> torch.Tensor:
    """``[t, 3]`` per-frame channel ``amin`` / ``amax`` / ``mean``."""
    chunk = chunk.contiguous()
    wide, k = _wide(chunk)
    partial = getattr(wide, reduce)(dim=1).view(chunk.shape[0], k, 3)
    return getattr(partial, reduce)(dim=1)


def _affine_per_channel(chunk: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``chunk * scale + shift`` with ``[t, 3]`` per-frame channel coefficients."""
    chunk = chunk.contiguous()
    wide, k = _wide(chunk)
    frames = chunk.shape[0]
    out = wide * scale.reshape(frames, 1, 3).repeat(1, 1, k) + shift.reshape(frames, 1, 3).repeat(1, 1, k)
    return out.view_as(chunk)


def _mix_colors(chunk: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``out[t] = matrix @ pixel + bias[t]`` for every pixel, with ``[3, 3]`` matrix and ``[t, 3]`` bias.

    A ``[pixels, 3] @ [3, 3]`` product runs far below GEMM speed; ``_MIX_PIXELS`` pixels per row with
    a block-diagonal matrix turn it into a GEMM that BLAS runs at full speed.
    """
    chunk = chunk.contiguous()
    frames = chunk.shape[0]
    group = math.gcd(chunk.shape[1] * chunk.shape[2], _MIX_PIXELS)
    blocks = torch.block_diag(*[matrix.T] * group)
    mixed = (chunk.view(-1, 3 * group) @ blocks).view(frames, -1, 3 * group)
    mixed += bias.reshape(frames, 1, 3).repeat(1, 1, group)
    return mixed.view_as(chunk)


def _luma_matrix(factor: float, weights: tuple[float, float, float] = _LUMA) -> torch.Tensor:
    """``factor * I + (1 - factor) * gray``: blend with the grayscale image (saturation)."""
    gray = torch.tensor(weights, dtype=torch.float64).expand(3, 3)
    return factor * torch.eye(3, dtype=torch.float64) + (1 - factor) * gray


def _translate_op(kind: str, shift: int) -> ChunkOp:
    """Move the frame ``shift`` pixels right (translate_x) or down (translate_y), black coming in."""
    axis = 2 if kind == "translate_x" else 1

    def translate(chunk: torch.Tensor) -> torch.Tensor:
        length = chunk.shape[axis]
        moved = torch.zeros_like(chunk)
        if abs(shift) < length:
            target = moved.narrow(axis, max(shift, 0), length - abs(shift))
            target.copy_(chunk.narrow(axis, max(-shift, 0), length - abs(shift)))
        return moved

    return translate


def _posterize(chunk: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the top ``bits`` bits of every value."""
    if chunk.dtype == torch.uint8:
        return chunk & (0xFF << (8 - bits) & 0xFF)
    step = 2 ** (8 - bits)
    return torch.floor(chunk / step) * step


def _solarize(chunk: torch.Tensor, threshold: float) -> torch.Tensor:
    """Invert the values at or above ``threshold``."""
    if chunk.dtype == torch.uint8:  # 255 - x == x ^ 255 for uint8: one xor with a 0/255 mask
        return chunk ^ (chunk >= threshold).to(torch.uint8).mul_(255)
    return torch.where(chunk >= threshold, 255 - chunk, chunk)


def _warp_op(kind: str, value: float, size: int) -> ChunkOp:
    """Shear / rotate about the frame centre, nearest neighbour, black outside."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    angle = math.radians(value)
    if kind == "shear_x":
        src_x, src_y = x + math.tan(angle) * y, y
    elif kind == "shear_y":
        src_x, src_y = x, y + math.tan(angle) * x
    else:  # rotate: output pixel p comes from R(-angle) p
        src_x = math.cos(angle) * x + math.sin(angle) * y
        src_y = -math.sin(angle) * x + math.cos(angle) * y
    col = torch.round(src_x + (size - 1) / 2).long().reshape(-1)
    row = torch.round(src_y + (size - 1) / 2).long().reshape(-1)
    inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    source = row.clamp(0, size - 1) * size + col.clamp(0, size - 1)  # [H*W] source pixel of each output pixel
    outside = torch.nonzero(~inside).reshape(-1)

    def warp(chunk: torch.Tensor) -> torch.Tensor:
        pixels = chunk.contiguous().view(chunk.shape[0], size * size, 3)
        return pixels.index_select(1, source).index_fill_(1, outside, 0).view_as(chunk)

    return warp


def _equalize(chunk: torch.Tensor) -> torch.Tensor:
    """PIL ``ImageOps.equalize`` per frame and channel."""
    chunk = chunk.contiguous()
    frames = chunk.shape[0]
    wide, k = _wide(chunk)
    offsets = (
        ((torch.arange(frames)[:, None] * 3 + torch.arange(3)) * 256).repeat(1, k).view(frames, 1, 3 * k)
    )
    index = (wide.int() + offsets.int()).view(-1)  # level + 256 * (frame, channel); int32: 2x faster
    hist = torch.bincount(index, minlength=frames * 3 * 256).view(frames * 3, 256)
    last_bin = 255 - torch.argmax((hist.flip(1) > 0).long(), dim=1)
    last_count = hist.gather(1, last_bin[:, None])
    step = (hist.sum(1, keepdim=True) - last_count) // 255
    before = torch.cumsum(hist, dim=1) - hist
    lut = ((step // 2 + before) // step.clamp(min=1)).clamp(max=255)
    lut = torch.where(step > 0, lut, torch.arange(256).expand_as(lut)).to(chunk.dtype)
    return lut.view(-1).index_select(0, index).view_as(chunk)


def _sharpness(chunk: torch.Tensor, factor: float) -> torch.Tensor:
    """PIL ``ImageEnhance.Sharpness``: blend with the frame smoothed by ``[[1,1,1],[1,5,1],[1,1,1]] / 13``.

    Border pixels are kept. The 3x3 sum is two 3-tap sums on the ``[t, H, W*3]`` view (a pixel step
    is 3 values), so every slice is a long contiguous run.
    """
    frames, height, width, _ = chunk.shape
    flat = chunk.contiguous().view(frames, height, width * 3)
    across = flat[:, :, :-6] + flat[:, :, 3:-3] + flat[:, :, 6:]
    box = across[:, :-2] + across[:, 1:-1] + across[:, 2:]
    inner = flat[:, 1:-1, 3:-3]
    smooth = box.add_(inner, alpha=4).div_(13)
    out = flat.clone()
    out[:, 1:-1, 3:-3] = smooth.lerp_(inner, factor)
    return out.view_as(chunk)


def _autocontrast(chunk: torch.Tensor) -> torch.Tensor:
    """PIL ``ImageOps.autocontrast(cutoff=0)`` per frame and channel (flat channels unchanged)."""
    low, high = _channel_reduce(chunk, "amin"), _channel_reduce(chunk, "amax")
    span = high - low
    scale = torch.where(span > 0, 255 / span.clamp(min=1e-6), torch.ones_like(span))
    return _affine_per_channel(chunk, scale, torch.where(span > 0, -low * scale, torch.zeros_like(span)))


def _contrast(chunk: torch.Tensor, factor: float) -> torch.Tensor:
    """PIL ``ImageEnhance.Contrast``: blend with the frame's mean gray level (rounded)."""
    mean_gray = torch.floor(_channel_reduce(chunk, "mean") @ torch.tensor(_LUMA) + 0.5)  # [t]
    scale = torch.full((chunk.shape[0], 3), factor)
    return _affine_per_channel(chunk, scale, ((1 - factor) * mean_gray)[:, None].expand(-1, 3))


def _cutout_op(op: RandAugOp, size: int) -> ChunkOp:
    """imgaug ``Cutout(squared=True)``: one square filled with gray 128 at the same place in every frame."""
    side = max(1, round(op.value * size))
    center_y, center_x = round(op.position[0] * (size - 1)), round(op.position[1] * (size - 1))
    top, left = max(0, center_y - side // 2), max(0, center_x - side // 2)

    def cutout(chunk: torch.Tensor) -> torch.Tensor:
        filled = chunk.clone()  # the chunk may be a view of the caller's frames
        filled[:, top : top + side, left : left + side] = 128
        return filled

    return cutout


def _randaug_op(op: RandAugOp, size: int) -> ChunkOp:
    """The chunk function of one drawn RandAugment op (PIL/imgaug semantics, results in [0, 255]).

    The ops of `_UINT8_OPS` work on uint8 and float chunks alike; the others need float chunks.
    """
    value = op.value
    if op.name in ("translate_x", "translate_y"):
        return _translate_op(op.name, round(value * size))
    if op.name in ("shear_x", "shear_y", "rotate"):
        return _warp_op(op.name, value, size)
    if op.name == "cutout":
        return _cutout_op(op, size)
    if op.name == "posterize":
        return lambda chunk: _posterize(chunk, int(value))
    if op.name == "solarize":
        return lambda chunk: _solarize(chunk, value)
    if op.name == "color":
        matrix = _luma_matrix(value).float()
        return lambda chunk: _mix_colors(chunk, matrix, torch.zeros(chunk.shape[0], 3)).clamp_(0, 255)
    if op.name == "contrast":
        return lambda chunk: _contrast(chunk, value).clamp_(0, 255)
    if op.name == "brightness":
        return lambda chunk: (chunk * value).clamp_(0, 255)
    if op.name == "sharpness":
        return lambda chunk: _sharpness(chunk, value).clamp_(0, 255)
    if op.name == "autocontrast":
        return _autocontrast
    if op.name == "equalize":
        return _equalize
    return lambda chunk: 255 - chunk  # invert


def _jitter_op(aug: ClipAugmentation) -> ChunkOp:
    """mmaction ``ColorJitter`` as one affine colour map per frame: ``out = A @ x + s[t] * v``.

    Every step is linear except contrast, which blends with the frame's mean gray *at its place in
    the order*; that mean is ``gray @ A_before @ mean(x)``, so with ``A = A_after c A_before`` the
    map is ``A x + (1 - c) * (gray @ A_before @ mean(x)) * (A_after @ 1)``.
    """
    gray = torch.tensor(_JITTER_GRAY, dtype=torch.float64)
    before = torch.eye(3, dtype=torch.float64)  # steps applied before contrast
    after = torch.eye(3, dtype=torch.float64)  # steps applied after contrast
    seen_contrast = False
    for step in aug.jitter_order:
        if step == 1:
            seen_contrast = True
            continue
        if step == 0:
            mix = aug.brightness * torch.eye(3, dtype=torch.float64)
        else:
            mix = _luma_matrix(aug.saturation, _JITTER_GRAY) if step == 2 else _hue_matrix(aug.hue)
        after, before = (mix @ after, before) if seen_contrast else (after, mix @ before)
    matrix = (after @ (aug.contrast * before)).float()
    mean_weights = ((1 - aug.contrast) * (gray @ before)).float()  # mean(x) @ this = contrast's bias scale
    bias_direction = (after @ torch.ones(3, dtype=torch.float64)).float()

    def jitter(chunk: torch.Tensor) -> torch.Tensor:
        bias = (_channel_reduce(chunk, "mean") @ mean_weights)[:, None] * bias_direction
        return _mix_colors(chunk, matrix, bias).clamp_(0, 255)

    return jitter


def _hue_matrix(turns: float) -> torch.Tensor:
    """Rotate the hue by ``turns`` of a full circle (red -> yellow -> green for positive turns).

    A rotation of the I/Q plane of YIQ; gray stays gray and luma is kept.
    """
    angle = -2 * math.pi * turns  # I/Q angles run against the HSV hue direction
    rotation = torch.tensor(
        [[1, 0, 0], [0, math.cos(angle), -math.sin(angle)], [0, math.sin(angle), math.cos(angle)]],
        dtype=torch.float64,
    )
    return torch.linalg.inv(_RGB_TO_YIQ) @ rotation @ _RGB_TO_YIQ


def _chunk_ops(aug: ClipAugmentation, size: int) -> tuple[list[ChunkOp], list[ChunkOp]]:
    """A clip's pixel ops: leading uint8-exact RandAugment ops; then the float ones and the jitter."""
    names = [op.name for op in aug.randaug]
    split = next((index for index, name in enumerate(names) if name not in _UINT8_OPS), len(names))
    ops = [_randaug_op(op, size) for op in aug.randaug]
    return ops[:split], [*ops[split:], _jitter_op(aug)]


def augment_clip(
    frames: np.ndarray | torch.Tensor, aug: ClipAugmentation, config: AugmentConfig
) -> torch.Tensor:
    """Apply one clip's drawn augmentation to all of its frames.

    Args:
        frames: uint8 ``[T, H, W, 3]`` as decoded (numpy arrays are not copied).
        aug: the draws from `draw_augmentation` for this clip (same H, W).
        config: the settings the draws were made with.

    Returns:
        uint8 ``[3, T, crop_size, crop_size]``.
    """
    clip = torch.as_tensor(frames)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != torch.uint8:
        raise TadDataError(
            f"augment_clip: expected uint8 frames [T, H, W, 3], got {clip.dtype} {tuple(clip.shape)}"
        )
    size = config.crop_size
    left, top, right, bottom = aug.crop_box
    uint8_ops, float_ops = _chunk_ops(aug, size)
    out = torch.empty((3, clip.shape[0], size, size), dtype=torch.uint8)
    for start in range(0, clip.shape[0], _CHUNK_FRAMES):
        crop = clip[start : start + _CHUNK_FRAMES, top:bottom, left:right]
        chunk = _resize_thwc(crop, (size, size))
        chunk = chunk.flip(2) if aug.flip else chunk  # uint8 work moves 4x fewer bytes than float
        for op in uint8_ops:
            chunk = op(chunk)
        chunk = chunk.float()
        for op in float_ops:
            chunk = op(chunk)
        out[:, start : start + _CHUNK_FRAMES] = chunk.permute(3, 0, 1, 2)
    return out
