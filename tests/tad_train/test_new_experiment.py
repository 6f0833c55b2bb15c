"""``tad-train new-experiment``: a complete experiment file for your own labelled videos from a recipe, its
derived values explained; it loads, and trains with the tiny settings."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tad_data import convert_labels, load_annotations, write_conversion
from tad_eval import InputError
from tad_train import Trainer, config_to_dict, load_config
from tad_train.cli import main
from tad_train.memory import experiment_memory_plan
from tad_train.new_experiment import new_experiment, window_unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def own_annotations(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic dataset's labels as a user's CSV (no subset column), converted by tad-data."""
    folder = tmp_path_factory.mktemp("mine")
    database = json.loads((synthetic_root / "annotations.json").read_text())["database"]
    rows = ["video,start,end,label"] + [
        f"{video}.mp4,{a['segment'][0]},{a['segment'][1]},{a['label']}"
        for video, record in sorted(database.items())
        for a in record["annotations"]
    ]
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    out = folder / "anno.json"
    write_conversion(convert_labels("csv", folder / "labels.csv", synthetic_root / "videos"), out)
    return out


def recipe(tmp_path: Path, tiny_yaml: Path, *replace: tuple[str, str]) -> Path:
    """The tiny experiment with some text replaced, as a recipe file."""
    text = tiny_yaml.read_text()
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def video_steps(annotations: Path, snippet_stride: int) -> np.ndarray:
    records = load_annotations(annotations).videos.values()
    return np.array([record.duration * record.fps / snippet_stride for record in records])


@pytest.mark.slow
def test_the_file_for_converted_labels_loads_and_trains_with_the_tiny_settings(
    own_annotations: Path,
    synthetic_root: Path,
    tiny_yaml: Path,
    tmp_path: Path,
    train: Callable[..., Trainer],
    restore_determinism: None,
) -> None:
    out = tmp_path / "my_experiment.yaml"
    made = new_experiment(
        tiny_yaml, own_annotations, synthetic_root / "videos", out, overrides=["schedule.max_epochs=1"]
    )
    out.write_text(made.text)
    config = load_config(out)
    assert config_to_dict(config) == config_to_dict(made.config)
    assert config.name == "my_experiment" and config.head.num_classes == 3
    assert config.data.annotation_path == own_annotations
    assert (Path(config.data.root) / config.data.videos).resolve() == (synthetic_root / "videos").resolve()
    trainer = train(config, tmp_path / "run")
    assert (trainer.out / "checkpoints" / "last.pt").is_file() and (trainer.out / "summary.json").is_file()


def test_a_recipe_is_found_by_its_official_name(
    own_annotations: Path, synthetic_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    made = new_experiment("demo", own_annotations, synthetic_root / "videos", tmp_path / "mine.yaml")
    assert made.config.name == "mine" and made.config.backbone.arch == "tiny"
    assert "workflows/experiments/demo.yaml" in made.text.splitlines()[1]
    with pytest.raises(
        InputError, match=r"--from: no_such_recipe: neither .* official recipes in .*: .*demo"
    ):
        new_experiment("no_such_recipe", own_annotations, synthetic_root / "videos", tmp_path / "x.yaml")


def test_the_window_holds_nine_in_ten_videos_within_the_recipe_window(
    own_annotations: Path, synthetic_root: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    videos, out = synthetic_root / "videos", tmp_path / "mine.yaml"
    wide = new_experiment(
        recipe(tmp_path, tiny_yaml, ("size: 32 ", "size: 256 ")), own_annotations, videos, out
    )
    unit = window_unit(wide.config)
    assert unit == 32  # the tiny detector's strides up to 32; 16-frame chunks at scale factor 2: 8 steps
    needed = np.quantile(video_steps(own_annotations, 4), 0.9)
    assert wide.config.window.size == unit * math.ceil(needed / unit) < 256
    assert (
        wide.config.projection.max_seq_len == wide.config.test_sampler.window_size == wide.config.window.size
    )
    assert "90 % of your videos are at most" in wide.notes["window.size"]
    tiny = new_experiment(tiny_yaml, own_annotations, videos, out)
    assert tiny.config.window.size == 32  # never more than the recipe's window
    resized = recipe(
        tmp_path,
        tiny_yaml,
        ("method: random_trunc", "method: resize"),
        ("method: sliding_window", "method: resize"),
    )
    kept = new_experiment(resized, own_annotations, videos, out)
    assert kept.config.window.size == 32 and "resize protocol" in kept.notes["window.size"]


def test_the_batch_is_the_planners_for_the_gpu_with_accumulation_making_up_the_recipes(
    own_annotations: Path, synthetic_root: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    videos, out = synthetic_root / "videos", tmp_path / "mine.yaml"
    config = new_experiment(tiny_yaml, own_annotations, videos, out).config  # the recipe's batch: 2
    assert (config.trainer.batch_size, config.trainer.grad_accumulation) == (2, 1)
    need = {b: experiment_memory_plan(config, b) for b in (1, 2)}
    need = {b: (plan.peak_bytes + plan.reserve_bytes) / 2**30 for b, plan in need.items()}
    between = new_experiment(tiny_yaml, own_annotations, videos, out, gpu_mem=(need[1] + need[2]) / 2)
    assert (between.config.trainer.batch_size, between.config.trainer.grad_accumulation) == (1, 2)
    assert "1 video(s) per GPU need" in between.notes["trainer.batch_size"]
    roomy = new_experiment(tiny_yaml, own_annotations, videos, out, gpu_mem=80)
    assert (roomy.config.trainer.batch_size, roomy.config.trainer.grad_accumulation) == (2, 1)
    two_gpus = new_experiment(tiny_yaml, own_annotations, videos, out, gpu_mem=80, gpus=2)
    assert (two_gpus.config.trainer.batch_size, two_gpus.config.trainer.grad_accumulation) == (2, 1)
    with pytest.raises(InputError, match=r"--gpu-mem: 0.1: one video per GPU needs 0.5\d GiB"):
        new_experiment(tiny_yaml, own_annotations, videos, out, gpu_mem=0.1)


@pytest.mark.parametrize(("recipe_batch", "gpus", "batch"), [(16, 3, 15), (2, 4, 4)])
@pytest.mark.parametrize("gpu_mem", [None, 80], ids=["recipe", "planned"])
def test_a_batch_that_does_not_split_over_the_gpus_changes_and_says_so(
    own_annotations: Path,
    synthetic_root: Path,
    tiny_yaml: Path,
    tmp_path: Path,
    recipe_batch: int,
    gpus: int,
    batch: int,
    gpu_mem: float | None,
) -> None:
    """The trainer splits the global batch evenly: the nearest that splits, the recipe's learning rates."""
    source = recipe(tmp_path, tiny_yaml, ("  batch_size: 2\n", f"  batch_size: {recipe_batch}\n"))
    made = new_experiment(
        source, own_annotations, synthetic_root / "videos", tmp_path / "m.yaml", None, gpu_mem, gpus
    )
    trainer = made.config.trainer
    assert (trainer.batch_size, trainer.grad_accumulation) == (batch, 1) and trainer.batch_size % gpus == 0
    assert made.config.optimizer == load_config(source, num_classes=1).optimizer  # the recipe's rates
    note = made.notes["trainer.batch_size"]
    assert (
        f"= {batch}, not the recipe's batch of {recipe_batch}, which does not split evenly over {gpus}"
        in note
    )
    assert f"the learning rates are still the recipe's: scale them by {batch}/{recipe_batch}" in note
    assert "so its learning rates apply" not in made.text
    assert made.warnings == (
        f"trainer.batch_size: the recipe's batch of {recipe_batch} does not split evenly over {gpus} GPU(s): "
        f"the batch is {batch}, the learning rates are still the recipe's",
    )
    even = new_experiment(
        tiny_yaml, own_annotations, synthetic_root / "videos", tmp_path / "m.yaml", None, gpu_mem, 2
    )
    assert even.config.trainer.batch_size == 2 and not even.warnings
    assert "the recipe's batch of 2, so its learning rates apply" in even.notes["trainer.batch_size"]


def test_every_value_is_written_and_the_derived_ones_say_why(
    own_annotations: Path, synthetic_root: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    made = new_experiment(
        tiny_yaml, own_annotations, synthetic_root / "videos", tmp_path / "m.yaml", gpu_mem=8
    )
    lines = made.text.splitlines()
    assert all(len(line) <= 110 for line in lines if line.lstrip().startswith("#"))  # wrapped comments
    for key in (
        "name",
        "  root",
        "  test_subset",
        "  video_suffix",
        "  size",
        "  num_classes",
        "  batch_size",
    ):
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
        above = next(line for line in reversed(lines[:index]) if "# derived:" in line)
        assert lines.index(above) >= index - 4, key
    assert sum(line.lstrip().startswith("# derived:") for line in lines) == len(made.notes)
    for section in ("augment", "backbone", "postprocess", "optimizer", "schedule", "evaluation"):
        assert f"\n{section}:\n" in made.text  # complete: every section, every value


def test_problems_with_the_data_are_one_line_each(
    own_annotations: Path, synthetic_root: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for source in sorted((synthetic_root / "videos").iterdir())[:-1]:  # the last one is missing
        (videos / source.name).symlink_to(source)
    with pytest.raises(InputError, match="1 annotated video\\(s\\) have no file here: synth_0007"):
        new_experiment(tiny_yaml, own_annotations, videos, tmp_path / "m.yaml")
    (videos / "synth_0007.mkv").symlink_to(synthetic_root / "videos" / "synth_0007.mp4")
    with pytest.raises(InputError, match=r"several extensions \(\.mkv: 1, \.mp4: 7\)"):
        new_experiment(tiny_yaml, own_annotations, videos, tmp_path / "m.yaml")
    with pytest.raises(InputError, match="--name: my experiment: use letters"):
        new_experiment(
            tiny_yaml, own_annotations, synthetic_root / "videos", tmp_path / "m.yaml", "my experiment"
        )


def test_the_command_writes_the_file(
    own_annotations: Path,
    synthetic_root: Path,
    tiny_yaml: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cfg" / "mine.yaml"
    argv = ["new-experiment", "--from", str(tiny_yaml), "--annotations", str(own_annotations)]
    argv += ["--videos", str(synthetic_root / "videos"), "--out", str(out), "--gpu-mem", "24"]
    assert main(argv) == 0
    assert load_config(out).name == "mine"
    assert (
        f"{out}: mine from {tiny_yaml}: 3 class(es), window 32 steps, batch 2 x 1" in capsys.readouterr().out
    )
    assert main([*argv[:-2], "--gpu-mem", "0.1"]) == 2
    assert "one video per GPU needs" in capsys.readouterr().err
    assert main([*argv, "--gpus", "4"]) == 0
    assert (
        "tad-train new-experiment: warning: trainer.batch_size: the recipe's batch of 2"
        in capsys.readouterr().err
    )
