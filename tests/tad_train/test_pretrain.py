"""``tad-train pretrain``: clips cut from annotated videos, learning, the VideoMAE layout, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from official_layouts import make_official_checkpoint
from tad_backbone import convert_checkpoint, load_backbone, read_checkpoint
from tad_backbone.cli import main as backbone_main
from tad_data import load_annotations
from tad_train.cli import main
from tad_train.pretrain import (
    BACKGROUND,
    PretrainConfig,
    clip_accuracy,
    load_clips,
    official_videomae_state,
    pretrain,
    save_pretrained,
)

#: The tiny ViT in the official layout's terms: width, depth, MLP width, patch.
TINY = {"dim": 96, "depth": 2, "mlp": 384, "patch": 8}


def _clips(root: Path, subset: str = "training", config: PretrainConfig | None = None):
    return load_clips(root / "annotations.json", root / "videos", subset, config or PretrainConfig())


@pytest.fixture(scope="module")
def pretrained(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tad-train pretrain`` for one epoch on the synthetic videos."""
    out = tmp_path_factory.mktemp("pretrain") / "vit_tiny_synth.pth"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the suite's one-thread fixture
    try:
        status = main(["pretrain", "--data", str(synthetic_root), "--epochs", "1", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert status == 0
    return out


def test_every_action_gives_a_clip_and_background_clips_touch_no_action(synthetic_root: Path) -> None:
    config = PretrainConfig()
    clips = _clips(synthetic_root, config=config)
    annotations = load_annotations(synthetic_root / "annotations.json")
    records = annotations.subset("training")
    assert clips.classes == (*annotations.classes, BACKGROUND)
    assert len(clips.videos) == len(records)
    background = len(annotations.classes)
    actions = [span for span in clips.spans if span.label != background]
    assert sorted((span.video, span.label) for span in actions) == sorted(
        (index, annotations.class_index[item.label])
        for index, record in enumerate(records)
        for item in record.instances
    )
    assert any(span.label == background for span in clips.spans)
    for span in clips.spans:
        record, total = records[span.video], len(clips.videos[span.video])
        assert 0 <= span.first_start <= span.last_start <= total - config.span
        if span.label != background:
            continue
        for item in record.instances:  # [start, start + span) of every possible clip misses every action
            first, end = round(item.start * record.fps), round(item.end * record.fps)
            assert span.last_start + config.span <= first or span.first_start >= end


def test_action_clips_are_centred_inside_their_action(synthetic_root: Path) -> None:
    config = PretrainConfig()
    clips = _clips(synthetic_root, config=config)
    records = load_annotations(synthetic_root / "annotations.json").subset("training")
    half = config.span // 2
    for span in clips.spans:
        if clips.classes[span.label] == BACKGROUND:
            continue
        centres = np.array([span.first_start, span.last_start]) + half
        record = records[span.video]
        assert any(
            item.start * record.fps - 1 <= centres[0] <= centres[1] <= item.end * record.fps
            for item in record.instances
            if item.label == clips.classes[span.label]
        )


def test_output_has_the_official_videomae_layout(pretrained: Path) -> None:
    checkpoint = read_checkpoint(pretrained)
    official = make_official_checkpoint("videomae", **TINY)["model"]
    state = checkpoint["model"]
    assert set(state) == set(official)
    assert "pos_embed" not in state
    num_classes = len(checkpoint["classes"])
    for key, value in official.items():
        expected = (num_classes, *value.shape[1:]) if key.startswith("head.") else tuple(value.shape)
        assert tuple(state[key].shape) == expected, key
    assert checkpoint["classes"][-1] == BACKGROUND


def test_output_converts_and_loads_strictly_with_the_same_features(pretrained: Path, tmp_path: Path) -> None:
    out = tmp_path / "vit_tiny.safetensors"
    status = backbone_main(["convert", "--from", "videomae", "--arch", "tiny", str(pretrained), str(out)])
    assert status == 0
    assert json.loads((tmp_path / "vit_tiny.safetensors.json").read_text())["mode"] == "frozen"
    backbone = load_backbone(out).eval()  # strict: every key of the tiny ViT, nothing else
    state = read_checkpoint(pretrained)["model"]
    loaded = backbone.state_dict()
    for key, value in state.items():
        if not key.startswith(("fc_norm.", "head.")):
            torch.testing.assert_close(loaded[key], value, rtol=0, atol=0)
    adapters = load_backbone(out, mode="adapter", new_adapters=True)  # AdaTAD's start
    video = torch.randint(0, 256, (1, 3, 16, 32, 32), dtype=torch.uint8)
    with torch.no_grad():  # fresh adapters add zero
        torch.testing.assert_close(adapters.eval()(video), backbone(video), rtol=0, atol=1e-5)


def test_converted_weights_give_the_features_the_classifier_was_trained_on(
    synthetic_root: Path, tmp_path: Path
) -> None:
    """The converter rebuilds the position table the official layout leaves out: it must be the one used."""
    config = PretrainConfig(epochs=1)
    clips = _clips(synthetic_root, config=config)
    model, _ = pretrain(clips, config)
    save_pretrained(tmp_path / "vit.pth", model, clips.classes, config.epochs)
    convert_checkpoint(tmp_path / "vit.pth", tmp_path / "vit.safetensors", "videomae", "tiny")
    backbone = load_backbone(tmp_path / "vit.safetensors").eval()
    video = torch.randint(0, 256, (2, 3, 16, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(backbone(video), model.backbone(video), rtol=0, atol=0)


def test_same_seed_same_weights_other_seed_other_weights(synthetic_root: Path) -> None:
    clips = _clips(synthetic_root)
    runs = [
        official_videomae_state(pretrain(clips, PretrainConfig(epochs=1, seed=seed))[0]) for seed in (3, 3, 4)
    ]
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key
    assert not torch.equal(runs[0]["blocks.0.attn.qkv.weight"], runs[2]["blocks.0.attn.qkv.weight"])


@pytest.mark.slow
def test_short_pretraining_lowers_the_loss_and_beats_chance(synthetic_root: Path) -> None:
    config = PretrainConfig(epochs=12)
    clips = _clips(synthetic_root, config=config)
    model, history = pretrain(clips, config)
    assert history[-1].loss < 0.7 * history[0].loss
    chance = max(clips.counts().values()) / len(clips.spans)  # always answering the largest class
    assert clip_accuracy(model, clips, config) > chance + 0.2


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_missing_data_folder_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere"
    assert main(["pretrain", "--data", str(missing), "--out", str(tmp_path / "x.pth")]) == 2
    assert str(missing) in _one_line_error(capsys)
    assert not (tmp_path / "x.pth").exists()


def test_unknown_architecture_exits_2_with_one_line(synthetic_root: Path, tmp_path: Path, capsys) -> None:
    assert (
        main(["pretrain", "--data", str(synthetic_root), "--arch", "xl", "--out", str(tmp_path / "x.pth")])
        == 2
    )
    err = _one_line_error(capsys)
    assert "'xl'" in err and "tiny" in err


@pytest.mark.parametrize(
    ("args", "expected"), [(["--frames", "24"], "frames"), (["--img", "4"], "img")], ids=["frames", "img"]
)
def test_clip_shapes_the_vit_cannot_take_exit_2(
    synthetic_root: Path, tmp_path: Path, capsys, args, expected
) -> None:
    assert main(["pretrain", "--data", str(synthetic_root), *args, "--out", str(tmp_path / "x.pth")]) == 2
    assert expected in _one_line_error(capsys)


def test_subset_without_actions_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    database = {
        "v1": {"subset": "training", "duration": 10.0, "annotations": [{"segment": [1, 3], "label": "a"}]},
        "v2": {"subset": "testing", "duration": 10.0, "annotations": []},
    }
    (tmp_path / "annotations.json").write_text(json.dumps({"database": database}))
    assert (
        main(["pretrain", "--data", str(tmp_path), "--subset", "testing", "--out", str(tmp_path / "x.pth")])
        == 2
    )
    err = _one_line_error(capsys)
    assert "testing" in err and "no action" in err
    assert (
        main(
            ["pretrain", "--data", str(tmp_path), "--subset", "validation", "--out", str(tmp_path / "x.pth")]
        )
        == 2
    )
    assert "validation" in _one_line_error(capsys)
