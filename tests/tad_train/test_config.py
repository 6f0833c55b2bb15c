"""The experiment configuration: defaults from the libraries, one window length, typed overrides, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from tad_backbone import ARCHITECTURES
from tad_eval import PRESETS, InputError
from tad_head import detector_preset
from tad_train import config_hash, dump_config, load_config
from tad_train.config import check_classes


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _minimal(tmp_path: Path, synthetic_root: Path, **sections: object) -> Path:
    data = {"name": "t", "dataset": "thumos14", "data": {"root": str(synthetic_root)}, **sections}
    return _write(tmp_path / "exp.yaml", data)


def test_tiny_resolves_defaults_from_the_owning_libraries(tiny_config) -> None:
    config = tiny_config()
    preset = detector_preset("thumos14", in_channels=96, num_classes=3)
    assert config.head.num_classes == 3  # from annotations.classes.txt
    assert config.postprocess == preset.postprocess  # THUMOS soft-NMS sigma 0.7 from tad-head
    assert config.loss == dataclasses.replace(preset.loss, normalizer_init=16)
    assert config.backbone.model == dataclasses.replace(
        ARCHITECTURES["tiny"], mode="adapter", drop_path_rate=0.0
    )
    assert config.tiou_thresholds == PRESETS["thumos14"].tiou_thresholds


def test_the_three_lengths_come_from_window_size(tiny_config) -> None:
    config = tiny_config("window.size=64")
    assert config.train_sampler.window_size == config.test_sampler.window_size == 64
    assert config.projection.max_seq_len == 64 and config.window.frames == 128
    assert config.train_sampler.snippet_stride == config.window.snippet_stride
    # A window that is not a multiple of the detector's factor (32 here) is padded, as OpenTAD's pad_data
    # pads Ego4D's 1800 steps to 2048.
    assert tiny_config("window.size=40").projection.max_seq_len == 64


def test_a_resolved_file_reads_back_to_the_same_configuration(tiny_config, tmp_path) -> None:
    config = tiny_config("optimizer.lr=2e-4")
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(config))
    again = load_config(path)
    assert dataclasses.replace(again, source=config.source) == config
    assert config_hash(again) == config_hash(config)
    # `plan` and `new-experiment` pass a fallback class count; the file's own count wins.
    assert load_config(path, num_classes=1).head.num_classes == config.head.num_classes == 3


def test_a_derived_length_that_disagrees_is_refused(tiny_config, tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(tiny_config()).replace("max_seq_len: 32", "max_seq_len: 64"))
    with pytest.raises(InputError, match=r"projection\.max_seq_len: 64 disagrees .*set by window\.size"):
        load_config(path)


def test_overrides_are_typed(tiny_config) -> None:
    config = tiny_config("optimizer.lr=2e-4", "trainer.amp=bf16", "evaluation.tiou_thresholds=[0.5]")
    assert config.optimizer.lr == 2e-4 and config.trainer.amp == "bf16"
    assert config.evaluation.tiou_thresholds == (0.5,) and config.tiou_thresholds == (0.5,)
    with pytest.raises(InputError, match=r"trainer\.batch_size: expected an integer, got 'two'"):
        tiny_config("trainer.batch_size=two")
    with pytest.raises(InputError, match=r"trainer\.amp: 'fp8' is not one of 'fp16', 'bf16', 'off'"):
        tiny_config("trainer.amp=fp8")
    with pytest.raises(InputError, match=r"trainer\.deterministic: expected true or false"):
        tiny_config("trainer.deterministic=1")


def test_an_unknown_key_names_the_closest_valid_one(tiny_config) -> None:
    with pytest.raises(InputError, match=r"optimizer\.lrr: unknown key; did you mean optimizer\.lr\?"):
        tiny_config("optimizer.lrr=1e-3")
    with pytest.raises(InputError, match=r"tiny.yaml: shedule: unknown key; did you mean schedule\?"):
        tiny_config("shedule.max_epochs=3")
    with pytest.raises(
        InputError, match=r"backbone\.adaptor_index: unknown key; did you mean backbone\.adapter_index"
    ):
        tiny_config("backbone.adaptor_index=[0]")


def test_one_line_errors_name_the_field(tiny_config) -> None:
    with pytest.raises(
        InputError, match=r"window\.size: 30 steps x scale_factor 2 = 60 frames, not a multiple"
    ):
        tiny_config("window.size=30")
    with pytest.raises(InputError, match=r"dataset: unknown dataset 'kinetics'"):
        tiny_config("dataset=kinetics")
    with pytest.raises(InputError, match=r"backbone\.arch: unknown architecture 'xl'"):
        tiny_config("backbone.arch=xl")
    with pytest.raises(InputError, match=r"augment\.crop_size: 4 px is smaller than the 8 px patch"):
        tiny_config("augment.crop_size=4")


@pytest.mark.parametrize("name", ["num_workers", "checkpoint_steps"])
def test_a_negative_count_names_its_field_and_value(tiny_config, name) -> None:
    with pytest.raises(InputError, match=rf"tiny\.yaml: trainer\.{name}: -1 cannot be negative"):
        tiny_config(f"trainer.{name}=-1")
    assert getattr(tiny_config(f"trainer.{name}=0").trainer, name) == 0


def test_dataset_aliases_resolve_to_the_canonical_name(tiny_config) -> None:
    assert tiny_config("dataset=THUMOS").dataset == "thumos14"


def test_num_classes_comes_from_the_class_list_or_must_match_it(tiny_config, synthetic_root) -> None:
    classes = (synthetic_root / "annotations.classes.txt").read_text().split()
    assert tiny_config().head.num_classes == len(classes) == 3
    five = tiny_config("head.num_classes=5")
    assert five.head.num_classes == 5  # checked against the data where it is read (train, infer, detect)
    with pytest.raises(
        InputError, match=r"tiny\.yaml: head\.num_classes: 5, but \S+annotations\.json has 3 classes$"
    ):
        check_classes(five, classes)
    check_classes(tiny_config(), classes)


def test_bases_are_merged_below_the_file_and_chains_refused(tmp_path, synthetic_root) -> None:
    _write(
        tmp_path / "dataset.yaml",
        {
            "dataset": "thumos14",
            "data": {"root": str(synthetic_root)},
            "optimizer": {"lr": 5e-4, "weight_decay": 0.01},
        },
    )
    experiment = _write(
        tmp_path / "exp.yaml",
        {
            "base": ["dataset.yaml"],
            "name": "t",
            "optimizer": {"lr": 1e-3},
            "backbone": {"arch": "tiny"},
            "window": {"size": 32},
        },
    )
    config = load_config(experiment)
    assert (config.optimizer.lr, config.optimizer.weight_decay) == (1e-3, 0.01)
    _write(tmp_path / "chained.yaml", {"base": ["dataset.yaml"]})
    _write(tmp_path / "exp2.yaml", {"base": ["chained.yaml"], "name": "t"})
    with pytest.raises(InputError, match=r"chained.yaml: base: a base file cannot have bases of its own"):
        load_config(tmp_path / "exp2.yaml")


def test_class_agnostic_experiments_have_one_class_and_may_fuse(tmp_path, synthetic_root) -> None:
    path = _minimal(
        tmp_path,
        synthetic_root,
        data={"root": str(synthetic_root), "class_agnostic": True},
        backbone={"arch": "tiny"},
        window={"size": 32},
        evaluation={"classifier": {"path": "cls.json", "mode": "sqrt"}},
    )
    config = load_config(path)
    assert config.head.num_classes == 1 and config.evaluation.classifier.mode == "sqrt"
    check_classes(config, ("a", "b", "c"))  # one class trained, whatever the annotation lists
    with pytest.raises(InputError, match=r"evaluation\.classifier: fusion labels class-agnostic detections"):
        load_config(path, ["data.class_agnostic=false"])


def test_bad_yaml_and_missing_files_are_one_line(tmp_path, tiny_yaml) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match=r"broken.yaml: line 2 column 1: invalid YAML"):
        load_config(broken)
    with pytest.raises(InputError, match=r"missing.yaml: file: No such file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match=r"--set: 'optimizer.lr': expected KEY=VALUE"):
        load_config(tiny_yaml, ["optimizer.lr"])


def test_the_hash_ignores_settings_that_do_not_change_the_weights(tiny_config) -> None:
    base = config_hash(tiny_config())
    assert config_hash(tiny_config("trainer.num_workers=3", "trainer.log_interval=7")) == base
    assert config_hash(tiny_config("data.decode_threads=4")) == base  # decoding threads: the same frames
    assert config_hash(tiny_config("optimizer.lr=3e-4")) != base
