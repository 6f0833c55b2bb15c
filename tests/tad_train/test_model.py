"""The AdaTAD module: state layout, the loss and predict calls, and import of released OpenTAD models."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
import torch

from official_layouts import make_official_checkpoint, opentad_detector_state
from tad_backbone import convert_checkpoint, load_backbone, read_checkpoint
from tad_eval import InputError
from tad_head import (
    ActionFormer,
    LossNormalizer,
    assign_targets,
    concat_levels,
    convert_opentad_state,
    detection_loss,
    make_points,
    pad_to_valid_length,
)
from tad_train import build_model, config_hash, convert_opentad_checkpoint, load_config


def _batch(config, batch: int = 2, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    frames = torch.randint(
        0, 256, (batch, 3, config.window.frames, 32, 32), dtype=torch.uint8, generator=generator
    )
    mask = torch.ones(batch, config.window.size, dtype=torch.bool)
    mask[1, 20:] = False  # a short window, padded
    return {
        "frames": frames,
        "mask": mask,
        "gt_segments": [torch.tensor([[2.0, 9.0], [12.0, 20.0]]), torch.tensor([[3.0, 7.5]])],
        "gt_labels": [torch.tensor([0, 2]), torch.tensor([1])],
    }


def test_state_dict_has_the_backbone_detector_and_normalizer(tiny_config) -> None:
    model = build_model(tiny_config())
    prefixes = {key.split(".")[0] for key in model.state_dict()}
    assert prefixes == {"backbone", "detector", "loss_normalizer"}
    assert model.state_dict()["loss_normalizer.value"].item() == 16.0
    assert set(model.detector.state_dict()) == {
        k.removeprefix("detector.") for k in model.state_dict() if k.startswith("detector.")
    }


def test_loss_is_the_four_calls_a_trainer_would_make(tiny_config) -> None:
    config = tiny_config("backbone.drop_path_rate=0.0")
    model = build_model(config).train()
    batch = _batch(config)
    torch.manual_seed(1)
    losses = model.loss(batch)

    torch.manual_seed(1)
    reference = LossNormalizer(16.0)
    features = model.backbone(batch["frames"], length=config.window.size)
    features, mask = pad_to_valid_length(features, batch["mask"], config.projection)
    output = model.detector(features, mask)
    points = make_points(
        [m.shape[1] for m in output.masks], config.head.strides, config.head.regression_ranges
    )
    targets = assign_targets(points, batch["gt_segments"], batch["gt_labels"], 3, config.targets)
    expected = detection_loss(*concat_levels(output), points, *targets, config.loss, reference)
    assert losses.num_pos == expected.num_pos > 0
    assert torch.equal(losses.total, expected.total) and torch.equal(losses.cls_loss, expected.cls_loss)
    assert model.loss_normalizer.value.item() == reference.value.item() != 16.0  # updated in training mode


def test_eval_loss_leaves_the_normalizer_alone(tiny_config) -> None:
    config = tiny_config()
    model = build_model(config).eval()
    with torch.no_grad():
        model.loss(_batch(config))
    assert model.loss_normalizer.value.item() == 16.0


def test_predict_gives_candidates_of_valid_steps_only(tiny_config) -> None:
    config = tiny_config()
    model = build_model(config).eval()
    batch = _batch(config)
    candidates = model.predict(batch, config.postprocess)
    assert len(candidates) == 2
    # Untrained, every class score is about the head's prior (0.01), above the selection threshold, so each
    # valid point gives one candidate per class and a padded point none. Window 2 has 20 valid steps: 20,
    # 10, 5, 3, 2, 1 points over the six levels; window 1 all 32, 16, 8, 4, 2, 1.
    assert config.postprocess.pre_nms_thresh < 0.005 and config.head.num_classes == 3
    valid_points = [32 + 16 + 8 + 4 + 2 + 1, 20 + 10 + 5 + 3 + 2 + 1]
    assert [len(c.scores) for c in candidates] == [3 * count for count in valid_points]
    streamed = model.predict(batch, config.postprocess, chunk_batch=1)
    for whole, stream in zip(candidates, streamed, strict=True):
        torch.testing.assert_close(stream.scores, whole.scores, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(stream.segments, whole.segments, atol=1e-4, rtol=1e-4)
        assert torch.equal(stream.labels, whole.labels)


def _released(config, seed: int = 0) -> dict:
    """A fake released AdaTAD checkpoint of the tiny architecture in OpenTAD's layout (EMA weights)."""
    backbone = make_official_checkpoint("opentad", dim=96, depth=2, mlp=384, patch=8, hidden=24, seed=seed)
    state = backbone["state_dict_ema"]
    state.update(opentad_detector_state(config.projection.embed_dim, 96, config.head.num_classes))
    return {"meta": {"epoch": 10}, "epoch": 10, "state_dict_ema": state}


def test_released_checkpoint_imports_and_equals_the_component_loaders(tiny_config, tmp_path) -> None:
    config = tiny_config("backbone.drop_path_rate=0.0", "projection.path_pdrop=0.1")  # OpenTAD's detector
    checkpoint = _released(config)
    model = build_model(config, pretrained=False)
    imported = convert_opentad_checkpoint(checkpoint, model)
    model.load_state_dict(imported.state_dict, strict=True)
    model.eval()
    assert imported.container == "state_dict_ema"
    prefix = "module.backbone.model.backbone."
    assert imported.unused == (prefix + "fc_norm.bias", prefix + "fc_norm.weight")
    assert model.loss_normalizer.value.item() == 87.0  # OpenTAD's rpn_head.loss_normalizer

    # The backbone equals tad-backbone's loader on the converted file ...
    torch.save(checkpoint, tmp_path / "released.pth")
    convert_checkpoint(tmp_path / "released.pth", tmp_path / "vit.safetensors", "opentad", "tiny")
    backbone = load_backbone(tmp_path / "vit.safetensors", drop_path_rate=0.0).eval()
    video = _batch(config)["frames"]
    with torch.no_grad():
        expected = backbone(video, length=config.window.size)
        torch.testing.assert_close(model.backbone(video, length=config.window.size), expected, rtol=0, atol=0)
        # ... and the detector equals tad-head's ActionFormer loaded with convert_opentad_state.
        detector = ActionFormer(config.projection, config.head).eval()
        detector.load_state_dict(convert_opentad_state(checkpoint, detector), strict=True)
        mask = torch.ones(2, config.window.size, dtype=torch.bool)
        ours, theirs = model.detect(expected, mask), detector(expected, mask)
    for a, b in zip(ours.cls_logits + ours.reg_offsets, theirs.cls_logits + theirs.reg_offsets, strict=True):
        assert torch.equal(a, b)


def test_a_checkpoint_of_another_architecture_names_the_key_and_shapes(tiny_config) -> None:
    config = tiny_config("projection.path_pdrop=0.1")
    model = build_model(config, pretrained=False)
    wider = _released(config)
    wider["state_dict_ema"].update(opentad_detector_state(128, 96, 3))
    with pytest.raises(
        InputError,
        match=r"detector: .*'module\.projection\.embed\.0\.conv\.weight' has shape "
        r"\[128, 96, 3\], the detector expects \[64, 96, 3\]",
    ):
        convert_opentad_checkpoint(wider, model, "wider.pth")
    deeper = make_official_checkpoint("opentad", dim=96, depth=3, mlp=384, patch=8, hidden=24)
    with pytest.raises(
        InputError, match=r"backbone.adapter_index: the checkpoint has adapters in blocks 0-2"
    ):
        convert_opentad_checkpoint(deeper, model, "deeper.pth")
    side = make_official_checkpoint("opentad", dim=96, depth=2, mlp=384, patch=8, hidden=24, variant="side")
    with pytest.raises(InputError, match=r"backbone.mode: the checkpoint holds a side backbone"):
        convert_opentad_checkpoint(side, model, "side.pth")
    narrow = make_official_checkpoint("opentad", dim=96, depth=2, mlp=192, patch=8, hidden=24)
    with pytest.raises(
        InputError, match=r"narrow.pth: blocks.0.mlp.fc1.weight: shape \[192, 96\] in the weights"
    ):
        convert_opentad_checkpoint(narrow, model, "narrow.pth")


@pytest.mark.slow
def test_import_opentad_writes_what_infer_reads(tiny_yaml, synthetic_root, tmp_path) -> None:
    overrides = [f"data.root={synthetic_root}", "backbone.drop_path_rate=0.0", "projection.path_pdrop=0.1"]
    config = load_config(tiny_yaml, overrides)
    released = _released(config)
    torch.save(released, tmp_path / "released.pth")
    settings = [part for override in overrides for part in ("--set", override)]
    out = tmp_path / "imported"
    command = [sys.executable, "-m", "tad_train"]
    source = tmp_path / "released.pth"
    imported = subprocess.run(
        [*command, "import-opentad", source, "--config", tiny_yaml, *settings, "--out", out],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr

    saved = read_checkpoint(out / "checkpoint.pt")
    expected = convert_opentad_checkpoint(released, build_model(config, pretrained=False)).state_dict
    assert saved["model"].keys() == expected.keys()
    assert all(torch.equal(saved["model"][key], value) for key, value in expected.items())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checkpoint_sha256"] == hashlib.sha256((out / "checkpoint.pt").read_bytes()).hexdigest()
    assert summary["source"]["container"] == "state_dict_ema" and len(summary["unused_keys"]) == 2
    assert config_hash(load_config(out / "config.yaml")) == summary["config_hash"] == config_hash(config)

    predictions = tmp_path / "predictions.json"
    checkpoint = out / "checkpoint.pt"
    inferred = subprocess.run(
        [*command, "infer", tiny_yaml, *settings, "--checkpoint", checkpoint, "--out", predictions],
        capture_output=True,
        text=True,
    )
    assert inferred.returncode == 0, inferred.stderr
    database = json.loads((synthetic_root / "annotations.json").read_text())["database"]
    validation = {video for video, entry in database.items() if entry["subset"] == "validation"}
    assert set(json.loads(predictions.read_text())["results"]) == validation
