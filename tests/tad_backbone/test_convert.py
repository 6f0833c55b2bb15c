"""Checkpoint conversion from the four official layouts, strict loading and error messages."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from tad_backbone import (
    VideoMAE,
    checkpoint_filter_fn,
    convert_checkpoint,
    load_backbone,
    load_state_dict_checked,
    read_backbone_weights,
    read_checkpoint,
    sidecar_path,
)
from tad_backbone import weights as weights_module
from tad_backbone.cli import main
from tad_backbone.layers import sinusoid_position_table
from tad_eval.errors import InputError


def _save(checkpoint: dict, path: Path) -> Path:
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("source", "variant", "mode", "index"),
    [
        ("videomae", "plain", "frozen", None),
        ("videomaev2", "plain", "frozen", None),
        ("mmaction", "plain", "frozen", None),
        ("opentad", "adapter", "adapter", list(range(12))),
        ("opentad", "side", "side", list(range(6, 12))),
    ],
)
def test_each_layout_converts_loads_strictly_and_runs(
    tmp_path, official_checkpoint, source, variant, mode, index, capsys
) -> None:
    original = official_checkpoint(source, variant=variant)
    path = _save(original, tmp_path / f"{source}.pth")
    out = tmp_path / "converted.safetensors"
    assert main(["convert", "--from", source, "--arch", "s", str(path), str(out)]) == 0
    assert "21,879,168 ViT parameters" in capsys.readouterr().out
    meta = json.loads(sidecar_path(out).read_text())
    assert (meta["arch"], meta["mode"], meta["source"], meta["adapter_index"]) == ("s", mode, source, index)
    assert meta["img_size_trained"] == (None if source == "opentad" else 224)
    model = load_backbone(out)  # strict: every key present with its shape
    assert model.config.mode == mode
    features = model.eval()(torch.randint(0, 256, (1, 3, 32, 32, 32), dtype=torch.uint8))
    assert features.shape == (1, 384, 16) and torch.isfinite(features).all()


def test_values_land_on_the_right_parameters(official_checkpoint) -> None:
    mm = official_checkpoint("mmaction")["state_dict"]
    converted = checkpoint_filter_fn(official_checkpoint("mmaction")).state_dict
    assert torch.equal(converted["blocks.3.mlp.fc1.weight"], mm["backbone.blocks.3.mlp.layers.0.0.weight"])
    assert torch.equal(converted["blocks.3.mlp.fc2.bias"], mm["backbone.blocks.3.mlp.layers.1.bias"])
    assert torch.equal(converted["patch_embed.proj.weight"], mm["backbone.patch_embed.projection.weight"])
    assert torch.equal(converted["pos_embed"], mm["backbone.pos_embed"])  # the checkpoint's own table is kept
    assert not any(k.startswith(("cls_head", "fc_norm", "backbone.")) for k in converted)

    tad = official_checkpoint("opentad", variant="side")["state_dict_ema"]
    converted = checkpoint_filter_fn(official_checkpoint("opentad", variant="side")).state_dict
    prefix = "module.backbone.model.backbone."
    assert torch.equal(converted["ladders.5.gamma"], tad[prefix + "ladders.adapters.5.gamma"])
    assert torch.equal(converted["blocks.0.attn.q_bias"], tad[prefix + "blocks.0.attn.q_bias"])
    assert not any(k.startswith(("module", "projection", "neck", "rpn_head")) for k in converted)


def test_conversion_reports_the_keys_it_did_not_use(official_checkpoint) -> None:
    """Importers list every key that maps to nothing (here: fc_norm and the detector's keys)."""
    converted = checkpoint_filter_fn(official_checkpoint("opentad", variant="adapter"))
    prefix = "module.backbone.model.backbone."
    assert converted.unused == (
        prefix + "fc_norm.bias",
        prefix + "fc_norm.weight",
        "module.neck.fpn_norms.0.weight",
        "module.projection.embed.0.conv.weight",
        "module.rpn_head.cls_head.bias",
        "module.rpn_head.cls_head.weight",
        "module.rpn_head.loss_normalizer",
    )
    videomae = checkpoint_filter_fn(official_checkpoint("videomae"))
    assert videomae.unused == ("fc_norm.bias", "fc_norm.weight", "head.bias", "head.weight")


def test_opentad_ema_weights_are_preferred(official_checkpoint) -> None:
    """A training checkpoint holds both; OpenTAD evaluates (and publishes) the EMA weights."""
    checkpoint = official_checkpoint("opentad")
    checkpoint["state_dict"] = {k: torch.zeros_like(v) for k, v in checkpoint["state_dict_ema"].items()}
    converted = checkpoint_filter_fn(checkpoint).state_dict
    ema = checkpoint["state_dict_ema"]["module.backbone.model.backbone.blocks.2.adapter.gamma"]
    assert torch.equal(converted["blocks.2.adapter.gamma"], ema) and bool(ema.abs().sum() > 0)


def test_official_videomae_weights_get_the_sinusoid_table(official_checkpoint) -> None:
    for source in ("videomae", "videomaev2"):
        converted = checkpoint_filter_fn(official_checkpoint(source))
        assert converted.source == source
        torch.testing.assert_close(converted.state_dict["pos_embed"], sinusoid_position_table(1568, 384))
        assert not any(k.startswith(("head.", "fc_norm.")) for k in converted.state_dict)


@pytest.mark.slow
def test_adapter_weights_change_the_output(tmp_path, official_checkpoint) -> None:
    path = _save(official_checkpoint("opentad", variant="adapter"), tmp_path / "a.pth")
    convert_checkpoint(path, tmp_path / "a.safetensors", "opentad", "s")
    video = torch.randint(0, 256, (1, 3, 32, 32, 32), dtype=torch.uint8)
    with_adapters = load_backbone(tmp_path / "a.safetensors").eval()(video)
    without = load_backbone(tmp_path / "a.safetensors", mode="frozen").eval()(video)
    assert (with_adapters - without).abs().max() > 1e-3


def test_wrong_architecture_names_key_shapes_and_file(tmp_path, official_checkpoint, capsys) -> None:
    path = _save(official_checkpoint("mmaction"), tmp_path / "small.pth")
    out = tmp_path / "b.safetensors"
    with pytest.raises(InputError) as error:
        convert_checkpoint(path, out, "mmaction", "b")
    message = str(error.value)
    assert str(path) in message and "pos_embed" in message
    assert "[1, 1568, 384]" in message and "[1, 1568, 768]" in message
    assert not out.exists()
    assert main(["convert", "--from", "mmaction", "--arch", "b", str(path), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pos_embed" in err and "small.pth" in err


def test_wrong_depth_is_reported_at_the_first_missing_block(tmp_path, official_checkpoint) -> None:
    path = _save(official_checkpoint("videomae", depth=4), tmp_path / "shallow.pth")
    with pytest.raises(InputError, match=r"blocks\.4\.norm1\.weight.*missing"):
        convert_checkpoint(path, tmp_path / "x.safetensors", "videomae", "s")


def test_strict_loading_names_an_unexpected_key(tiny_config) -> None:
    model = VideoMAE(tiny_config())
    state_dict = model.state_dict() | {"blocks.0.adapter.gamma": torch.ones(1)}
    with pytest.raises(InputError, match=r"w\.safetensors: blocks\.0\.adapter\.gamma: unexpected key"):
        load_state_dict_checked(model, state_dict, "w.safetensors")


def test_layout_must_match_the_declared_source(tmp_path, official_checkpoint) -> None:
    path = _save(official_checkpoint("videomae"), tmp_path / "v1.pth")
    with pytest.raises(InputError, match="follow the videomae layout, not mmaction"):
        convert_checkpoint(path, tmp_path / "x.safetensors", "mmaction", "s")


class _Payload:
    """What a malicious checkpoint carries: unpickling it calls ``print`` (it could be anything)."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_checkpoints_are_loaded_without_running_code(tmp_path, capsys) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"model": {"patch_embed.proj.weight": torch.zeros(1)}, "payload": _Payload()}, path)
    with pytest.raises(InputError) as error:
        read_checkpoint(path)
    assert error.value.field == "file" and "'print'" in error.value.problem
    assert "PyTorch checkpoint of tensors and plain containers" in error.value.problem
    assert "safetensors" in error.value.problem
    with pytest.raises(InputError, match="not found"):
        read_checkpoint(tmp_path / "missing.pth")

    out = tmp_path / "out.safetensors"
    assert main(["convert", "--from", "videomae", "--arch", "s", str(path), str(out)]) == 2
    captured = capsys.readouterr()
    assert "code ran" not in captured.out
    err = captured.err
    assert err.count("\n") == 1 and err.count(str(path)) == 1
    assert f"{path}: file: holds the Python object 'print', which is not loaded" in err
    assert "weights_only" not in err and not out.exists()


def test_other_unloadable_files_are_refused_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "notes.pth").write_text("hello")
    with (tmp_path / "plain.pkl").open("wb") as handle:
        pickle.dump({"a": _Payload()}, handle)  # a plain pickle, not a torch checkpoint
    for name in ("notes.pth", "plain.pkl"):
        path = tmp_path / name
        assert main(["convert", "--from", "videomae", "--arch", "s", str(path), str(tmp_path / "o.st")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{path}: file: " in err and "weights_only" not in err
        assert "a PyTorch checkpoint of tensors and plain containers" in err


def test_safetensors_checkpoints_are_accepted(tmp_path, official_checkpoint) -> None:
    """A checkpoint in safetensors (the format the refusal message recommends) converts like its .pth."""
    state = official_checkpoint("mmaction")["state_dict"]
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "mm.safetensors")
    meta = convert_checkpoint(tmp_path / "mm.safetensors", tmp_path / "out.safetensors", "mmaction", "s")
    assert meta["source"] == "mmaction"
    assert torch.equal(
        read_backbone_weights(tmp_path / "out.safetensors")[0]["blocks.3.mlp.fc1.weight"],
        state["backbone.blocks.3.mlp.layers.0.0.weight"],
    )


def test_convert_refuses_to_overwrite_its_input(tmp_path, official_checkpoint, capsys) -> None:
    path = _save(official_checkpoint("videomaev2"), tmp_path / "v2.pth")
    original = path.read_bytes()
    (tmp_path / "link.pth").symlink_to(path)
    (tmp_path / "sub").mkdir()
    for out in (str(path), str(tmp_path / "link.pth"), str(tmp_path / "sub" / ".." / "v2.pth")):
        assert main(["convert", "--from", "videomaev2", "--arch", "s", str(path), out]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{out}: file: is the input checkpoint" in err
    assert path.read_bytes() == original
    (tmp_path / "w.safetensors.json").write_bytes(original)
    with pytest.raises(InputError, match="is the input checkpoint"):  # its sidecar would overwrite it
        convert_checkpoint(tmp_path / "w.safetensors.json", tmp_path / "w.safetensors", "videomaev2", "s")


def test_side_ladders_follow_the_given_adapter_index(tmp_path, official_checkpoint) -> None:
    path = _save(official_checkpoint("opentad", variant="side"), tmp_path / "side.pth")
    out = tmp_path / "side.safetensors"
    assert (
        main(
            [
                "convert",
                "--from",
                "opentad",
                "--arch",
                "s",
                "--adapter-index",
                "0,2,4,6,8,10",
                str(path),
                str(out),
            ]
        )
        == 0
    )
    assert read_backbone_weights(out)[1]["adapter_index"] == [0, 2, 4, 6, 8, 10]
    assert load_backbone(out).config.adapter_blocks == (0, 2, 4, 6, 8, 10)


@pytest.mark.slow
def test_modes_when_loading(tmp_path, official_checkpoint) -> None:
    plain = _save(official_checkpoint("mmaction"), tmp_path / "plain.pth")
    convert_checkpoint(plain, tmp_path / "plain.safetensors", "mmaction", "s")
    with pytest.raises(InputError, match="no adapter weights"):
        load_backbone(tmp_path / "plain.safetensors", mode="adapter")
    fresh = load_backbone(tmp_path / "plain.safetensors", mode="adapter", new_adapters=True)
    assert fresh.config.mode == "adapter" and torch.all(fresh.blocks[0].adapter.up_proj.weight == 0)

    side = _save(official_checkpoint("opentad", variant="side"), tmp_path / "side.pth")
    convert_checkpoint(side, tmp_path / "side.safetensors", "opentad", "s")
    with pytest.raises(InputError, match="side adapters"):
        load_backbone(tmp_path / "side.safetensors", mode="adapter")
    assert load_backbone(tmp_path / "side.safetensors", mode="frozen").ladders is None


def test_the_header_describes_the_weights_without_a_sidecar(tmp_path, official_checkpoint) -> None:
    path = _save(official_checkpoint("videomaev2"), tmp_path / "v2.pth")
    out = tmp_path / "v2.safetensors"
    convert_checkpoint(path, out, "videomaev2", "s")
    sidecar_path(out).unlink()
    state_dict, meta = read_backbone_weights(out)
    assert meta["source"] == "videomaev2" and "blocks.11.mlp.fc2.weight" in state_dict
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="junk.safetensors"):
        read_backbone_weights(tmp_path / "junk.safetensors")
    safetensors.torch.save_file({"x": torch.zeros(1)}, tmp_path / "bare.safetensors")
    (tmp_path / "bare.safetensors.json").write_text(json.dumps(meta))  # a sidecar cannot stand in
    with pytest.raises(InputError, match=r"bare\.safetensors: metadata: no tad-backbone description"):
        read_backbone_weights(tmp_path / "bare.safetensors")


def test_a_sidecar_that_disagrees_with_the_header_is_refused(tmp_path, official_checkpoint, capsys) -> None:
    """The state an interrupted two-file write used to leave: new adapter weights beside the sidecar of
    the frozen weights they replaced. Trusting the sidecar ran extract in frozen mode (adapters dropped)."""
    out = tmp_path / "w.safetensors"
    convert_checkpoint(_save(official_checkpoint("mmaction"), tmp_path / "plain.pth"), out, "mmaction", "s")
    frozen_sidecar = sidecar_path(out).read_text()
    adapters = _save(official_checkpoint("opentad", variant="adapter"), tmp_path / "adatad.pth")
    convert_checkpoint(adapters, out, "opentad", "s")
    sidecar_path(out).write_text(frozen_sidecar)
    with pytest.raises(InputError) as error:
        read_backbone_weights(out)
    assert error.value.source == str(sidecar_path(out)) and error.value.field == "mode"
    assert (
        str(out) + "," in error.value.problem and "'frozen' disagrees with 'adapter'" in error.value.problem
    )
    np.save(tmp_path / "frames.npy", np.zeros((3, 16, 32, 32), dtype=np.uint8))
    args = ["extract", "--weights", str(out), "--frames", str(tmp_path / "frames.npy")]
    assert main([*args, "--out", str(tmp_path / "f.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mode" in err and not (tmp_path / "f.npy").exists()


def test_an_interrupted_conversion_never_pairs_new_weights_with_an_old_sidecar(
    tmp_path, official_checkpoint, monkeypatch
) -> None:
    out = tmp_path / "w.safetensors"
    convert_checkpoint(_save(official_checkpoint("mmaction"), tmp_path / "plain.pth"), out, "mmaction", "s")
    real_atomic_write = weights_module.atomic_write

    def killed_before_the_sidecar(path, *args, **kwargs):
        if str(path).endswith(".json"):
            raise KeyboardInterrupt  # the process dies between the two renames
        return real_atomic_write(path, *args, **kwargs)

    monkeypatch.setattr(weights_module, "atomic_write", killed_before_the_sidecar)
    adapters = _save(official_checkpoint("opentad", variant="adapter"), tmp_path / "adatad.pth")
    with pytest.raises(KeyboardInterrupt):
        convert_checkpoint(adapters, out, "opentad", "s")
    monkeypatch.undo()
    assert load_backbone(out).config.mode == "adapter"  # the new weights, described by their own header


def test_info_cli(capsys) -> None:
    assert main(["info", "--arch", "g", "--adapter-index", "20:40", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "vit_params": 1_011_607_936,
        "adapter_params": 20 * 1_118_657,
    }
    assert main(["info", "--arch", "s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"vit_params": 21_879_168, "adapter_params": 12 * 83_905}
    assert main(["info", "--arch", "b"]) == 0
    assert "86.23 M" in capsys.readouterr().out
