"""Frame transforms: mmaction sizes and crops, one draw per clip, and each op against a plain reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tad_data.errors import TadDataError
from tad_data.transforms import (
    RANDAUG_OPS,
    AugmentConfig,
    ClipAugmentation,
    RandAugOp,
    augment_clip,
    center_crop,
    draw_augmentation,
    eval_transform,
    resize_short_side,
    short_side_size,
)

SIZE = 32
CONFIG = AugmentConfig(short_side=SIZE, crop_size=SIZE)
#: Full-frame crop, no flip, neutral colour jitter: the identity on SIZE x SIZE frames.
IDENTITY = ClipAugmentation(
    crop_box=(0, 0, SIZE, SIZE),
    flip=False,
    randaug=(),
    jitter_order=(0, 1, 2, 3),
    brightness=1.0,
    contrast=1.0,
    saturation=1.0,
    hue=0.0,
)


def _frames(count: int = 3, size: int = SIZE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _apply(frames: np.ndarray, aug: ClipAugmentation, config: AugmentConfig = CONFIG) -> np.ndarray:
    """``augment_clip`` output back in [T, H, W, 3] numpy layout."""
    return augment_clip(frames, aug, config).permute(1, 2, 3, 0).numpy()


def _op(name: str, value: float = 0.0, position=(0.5, 0.5)) -> ClipAugmentation:
    return dataclasses.replace(IDENTITY, randaug=(RandAugOp(name, value, position),))


@pytest.mark.parametrize(
    ("height", "width", "size", "expected"),
    [
        (180, 320, 182, (182, 324)),
        (240, 320, 160, (160, 213)),
        (320, 240, 160, (213, 160)),
        (1080, 1920, 256, (256, 455)),
    ],
)
def test_short_side_size_follows_mmcv_rounding(height, width, size, expected):
    assert short_side_size(height, width, size) == expected


def test_resize_short_side_is_bilinear_and_keeps_aspect():
    frames = (
        torch.from_numpy(_frames(2, seed=1)).permute(3, 0, 1, 2)[:, :, :, :24].contiguous()
    )  # [3, 2, 32, 24]
    resized = resize_short_side(frames, 16)
    assert resized.dtype == torch.uint8 and resized.shape == (3, 2, 21, 16)
    reference = F.interpolate(
        frames.permute(1, 0, 2, 3).float(), size=(21, 16), mode="bilinear", align_corners=False
    )
    difference = (resized.permute(1, 0, 2, 3).float() - reference).abs()
    assert difference.max() <= 1.0  # uint8 fixed-point kernel vs float reference


def test_center_crop_offsets_follow_mmaction():
    rows, cols = torch.meshgrid(torch.arange(10), torch.arange(15), indexing="ij")
    frames = torch.stack([rows, cols, rows + cols]).unsqueeze(1).to(torch.uint8)  # [3, 1, 10, 15]
    crop = center_crop(frames, 6)
    assert crop.shape == (3, 1, 6, 6)
    assert crop[0, 0, 0, 0] == (10 - 6) // 2 and crop[1, 0, 0, 0] == (15 - 6) // 2
    crop = center_crop(frames, (4, 7))
    assert crop.shape == (3, 1, 4, 7) and crop[0, 0, 0, 0] == 3 and crop[1, 0, 0, 0] == 4
    with pytest.raises(TadDataError, match="larger than the 10x15 frames"):
        center_crop(frames, 11)


def test_eval_transform_is_resize_then_center_crop():
    frames = _frames(4, size=40, seed=2)[:, :, :30]  # [4, 40, 30, 3]
    out = eval_transform(frames, short_side=20, crop_size=20)
    expected = center_crop(resize_short_side(torch.from_numpy(frames).permute(3, 0, 1, 2), 20), 20)
    assert out.shape == (3, 4, 20, 20) and torch.equal(out, expected)


def test_draws_are_reproducible_and_vary_with_the_seed():
    config = AugmentConfig()
    first = draw_augmentation(config, 180, 320, np.random.default_rng(5))
    assert first == draw_augmentation(config, 180, 320, np.random.default_rng(5))
    others = {draw_augmentation(config, 180, 320, np.random.default_rng(seed)) for seed in range(20)}
    assert len(others) == 20


def test_crop_boxes_stay_in_the_frame_with_the_drawn_area_and_aspect():
    config = AugmentConfig(short_side=182, crop_size=160)
    for seed in range(200):
        left, top, right, bottom = draw_augmentation(config, 180, 320, np.random.default_rng(seed)).crop_box
        assert 0 <= left < right <= 320 and 0 <= top < bottom <= 180
        # in the resized 182 x 324 frame the box covers 8% .. 100% of the area, aspect 3/4 .. 4/3
        area = (right - left) * (bottom - top) / (180 * 320)
        aspect = (right - left) / (bottom - top)
        assert 0.07 <= area <= 1.0
        assert 0.7 <= aspect <= 1.45 or area > 0.5  # the centre-square fallback has aspect 1


def test_every_frame_gets_the_same_augmentation():
    config = AugmentConfig(short_side=48, crop_size=SIZE)
    image = _frames(1, size=48, seed=3)
    clip = np.repeat(image, 5, axis=0)
    for seed in range(30):
        aug = draw_augmentation(config, 48, 48, np.random.default_rng(seed))
        out = _apply(clip, aug, config)
        assert all(np.array_equal(out[0], frame) for frame in out[1:])


@pytest.mark.parametrize("name", RANDAUG_OPS)
def test_clip_equals_frame_by_frame(name):
    config = AugmentConfig(short_side=48, crop_size=SIZE, randaug_ops=(name,), randaug_num_ops=1)
    clip = _frames(11, size=48, seed=4)  # 11 frames: more than one processing chunk
    aug = draw_augmentation(config, 48, 48, np.random.default_rng(9))
    assert aug.randaug[0].name == name
    whole = _apply(clip, aug, config)
    single = np.concatenate([_apply(clip[index : index + 1], aug, config) for index in range(len(clip))])
    np.testing.assert_array_equal(whole, single)


def test_identity_parameters_change_nothing():
    frames = _frames()
    np.testing.assert_array_equal(_apply(frames, IDENTITY), frames)


def test_flip_mirrors_columns():
    frames = _frames()
    np.testing.assert_array_equal(
        _apply(frames, dataclasses.replace(IDENTITY, flip=True)), frames[:, :, ::-1]
    )


def test_crop_box_selects_the_region_before_resizing():
    frames = _frames(2, size=64, seed=6)
    aug = dataclasses.replace(IDENTITY, crop_box=(10, 20, 10 + SIZE, 20 + SIZE))
    np.testing.assert_array_equal(_apply(frames, aug), frames[:, 20 : 20 + SIZE, 10 : 10 + SIZE])


def _mmaction_jitter(image: np.ndarray, order, brightness, contrast, saturation) -> np.ndarray:
    """mmaction's ColorJitter without hue, in float64."""
    img = image.astype(np.float64)
    gray_weights = np.array([0.2989, 0.587, 0.114])
    for step in order:
        if step == 0:
            img = img * brightness
        elif step == 1:
            img = contrast * img + (1 - contrast) * np.mean(img @ gray_weights)
        elif step == 2:
            img = saturation * img + (1 - saturation) * (img @ gray_weights)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (2, 1, 0, 3), (1, 3, 2, 0), (3, 2, 0, 1)])
def test_color_jitter_matches_mmaction_without_hue(order):
    frames = _frames(3, seed=7)
    aug = dataclasses.replace(IDENTITY, jitter_order=order, brightness=1.3, contrast=0.6, saturation=1.4)
    out = _apply(frames, aug).astype(int)
    expected = np.stack([_mmaction_jitter(frame, order, 1.3, 0.6, 1.4) for frame in frames]).astype(int)
    assert np.abs(out - expected).max() <= 1  # float32 vs float64 before truncation


def test_hue_keeps_gray_and_turns_red_to_green():
    gray = np.full((1, SIZE, SIZE, 3), 120, dtype=np.uint8)
    np.testing.assert_allclose(_apply(gray, dataclasses.replace(IDENTITY, hue=0.1)), gray, atol=1)
    red = np.zeros((1, SIZE, SIZE, 3), dtype=np.uint8)
    red[..., 0] = 200
    turned = _apply(red, dataclasses.replace(IDENTITY, hue=1 / 3))[0, 0, 0]
    assert turned[1] > turned[0] and turned[1] > turned[2]


def _pil_equalize(channel: np.ndarray) -> np.ndarray:
    histogram = np.bincount(channel.reshape(-1), minlength=256)
    used = histogram[histogram > 0]
    if len(used) <= 1:
        return channel
    step = (used.sum() - used[-1]) // 255
    if step == 0:
        return channel
    lut, total = [], step // 2
    for count in histogram:
        lut.append(min(total // step, 255))
        total += count
    return np.array(lut, dtype=np.uint8)[channel]


def _pil_sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    img = image.astype(np.float64)
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13
    smooth = img.copy()
    for row in range(1, img.shape[0] - 1):
        for col in range(1, img.shape[1] - 1):
            smooth[row, col] = np.tensordot(
                kernel, img[row - 1 : row + 2, col - 1 : col + 2], axes=([0, 1], [0, 1])
            )
    return np.clip(smooth + factor * (img - smooth), 0, 255)


def _reference(name: str, value: float, frame: np.ndarray) -> np.ndarray:
    img = frame.astype(np.float64)
    luma = img @ np.array([0.299, 0.587, 0.114])
    if name == "posterize":
        return frame & np.uint8(0xFF << (8 - int(value)) & 0xFF)
    if name == "solarize":
        return np.where(frame >= value, 255 - frame, frame)
    if name == "invert":
        return 255 - frame
    if name == "brightness":
        return np.clip(img * value, 0, 255)
    if name == "contrast":
        mean = np.floor(luma.mean() + 0.5)
        return np.clip(mean + value * (img - mean), 0, 255)
    if name == "color":
        return np.clip(luma[..., None] + value * (img - luma[..., None]), 0, 255)
    if name == "autocontrast":
        low, high = img.min(axis=(0, 1)), img.max(axis=(0, 1))
        return np.where(high > low, (img - low) * 255 / np.maximum(high - low, 1e-9), img)
    if name == "equalize":
        return np.stack([_pil_equalize(frame[..., channel]) for channel in range(3)], axis=-1)
    if name == "sharpness":
        return _pil_sharpness(frame, value)
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("posterize", 3.0),
        ("solarize", 230.4),
        ("invert", 0.0),
        ("brightness", 1.72),
        ("contrast", 1.72),
        ("color", 1.72),
        ("autocontrast", 0.0),
        ("equalize", 0.0),
        ("sharpness", 1.72),
    ],
)
def test_pixel_ops_match_pil_semantics(name, value):
    frames = _frames(2, seed=8)
    frames[1] = frames[1] // 3 + 60  # a low-contrast frame: autocontrast/equalize have work to do
    out = _apply(frames, _op(name, value)).astype(int)
    expected = np.stack([_reference(name, value, frame) for frame in frames]).astype(int)
    exact = name in ("posterize", "solarize", "invert", "equalize")  # integer maps: no rounding slack
    assert np.abs(out - expected).max() <= (0 if exact else 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [("posterize", 3.0), ("solarize", 230.4), ("invert", 0.0), ("equalize", 0.0), ("translate_x", -0.25)],
)
def test_uint8_ops_give_the_same_result_after_a_float_op(name, value):
    # colour at factor 1 is the identity but runs in float, so the op after it takes its float path
    frames = _frames(2, seed=14)
    identity_first = dataclasses.replace(IDENTITY, randaug=(RandAugOp("color", 1.0), RandAugOp(name, value)))
    np.testing.assert_array_equal(_apply(frames, identity_first), _apply(frames, _op(name, value)))


def test_augmenting_never_writes_into_the_input():
    frames = _frames(2, seed=15)
    before = frames.copy()
    for name in RANDAUG_OPS:
        _apply(frames, _op(name, 0.2))
    np.testing.assert_array_equal(frames, before)


def test_cutout_fills_one_gray_square_at_the_drawn_place():
    frames = _frames(2, seed=9)
    out = _apply(frames, _op("cutout", 0.25, position=(0.0, 1.0)))  # top-right corner, side 8
    side = 8
    centre_x = SIZE - 1
    left = centre_x - side // 2
    assert np.all(out[:, 0 : side // 2, left:] == 128)
    np.testing.assert_array_equal(out[:, side:, :], frames[:, side:, :])


def test_translate_shifts_and_fills_black():
    frames = _frames(1, seed=10)
    out = _apply(frames, _op("translate_x", 0.25))  # 8 px to the right
    np.testing.assert_array_equal(out[:, :, 8:], frames[:, :, :-8])
    assert np.all(out[:, :, :8] == 0)
    out = _apply(frames, _op("translate_y", -0.25))  # 8 px up
    np.testing.assert_array_equal(out[:, :-8], frames[:, 8:])


def test_rotate_turns_clockwise_as_imgaug_and_quarter_turns_are_exact_permutations():
    """A positive angle turns the picture clockwise on screen, as imgaug's ``Affine(rotate=a)`` (what
    mmaction's ``ImgAug`` runs): its forward map is skimage's ``AffineTransform(rotation=a)``,
    ``(x, y) -> (x cos a - y sin a, x sin a + y cos a)`` with y pointing down, so the top edge moves to the
    right. ``np.rot90(k=-1)`` is that clockwise quarter turn."""
    frames = _frames(1, seed=11)
    turned = _apply(frames, _op("rotate", 90.0))
    np.testing.assert_array_equal(turned[0], np.rot90(frames[0], k=-1))
    back = _apply(turned, _op("rotate", -90.0))
    np.testing.assert_array_equal(back, frames)


def test_shear_keeps_the_centre_row_or_column():
    frames = _frames(1, size=SIZE + 1, seed=12)  # odd size: an exact centre line
    config = AugmentConfig(short_side=SIZE + 1, crop_size=SIZE + 1)
    aug = dataclasses.replace(_op("shear_x", 15.0), crop_box=(0, 0, SIZE + 1, SIZE + 1))
    np.testing.assert_array_equal(_apply(frames, aug, config)[0, SIZE // 2], frames[0, SIZE // 2])
    aug = dataclasses.replace(_op("shear_y", -15.0), crop_box=(0, 0, SIZE + 1, SIZE + 1))
    np.testing.assert_array_equal(_apply(frames, aug, config)[0, :, SIZE // 2], frames[0, :, SIZE // 2])


def test_default_randaugment_draws_two_distinct_ops_in_list_order():
    config = AugmentConfig()
    for seed in range(50):
        ops = draw_augmentation(config, 180, 320, np.random.default_rng(seed)).randaug
        names = [op.name for op in ops]
        assert len(names) == 2 and len(set(names)) == 2
        assert [RANDAUG_OPS.index(name) for name in names] == sorted(
            RANDAUG_OPS.index(name) for name in names
        )
    magnitudes = {
        op.name: abs(op.value)
        for seed in range(200)
        for op in draw_augmentation(config, 180, 320, np.random.default_rng(seed)).randaug
    }
    assert magnitudes["rotate"] == pytest.approx(27.0) and magnitudes["posterize"] == 3.0
    assert magnitudes["color"] == pytest.approx(1.72) and magnitudes["solarize"] == pytest.approx(230.4)


def test_output_layout_and_input_checks():
    config = AugmentConfig(short_side=40, crop_size=24)
    aug = draw_augmentation(config, 36, 48, np.random.default_rng(0))
    out = augment_clip(_frames(5, size=48, seed=13)[:, :36], aug, config)
    assert out.dtype == torch.uint8 and out.shape == (3, 5, 24, 24)
    with pytest.raises(TadDataError, match=r"expected uint8 frames \[T, H, W, 3\]"):
        augment_clip(np.zeros((5, 36, 48), dtype=np.uint8), aug, config)
    with pytest.raises(TadDataError, match="unknown RandAugment ops"):
        AugmentConfig(randaug_ops=("blur",))
