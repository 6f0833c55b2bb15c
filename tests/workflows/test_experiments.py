"""The official experiments: catalogue, experiment files and data paths agree with the AdaTAD results.

Three sources are checked against each other: the results tables (../shared/reference/adatad-results.md,
OpenTAD's configs/adatad/README.md), the workflow's catalogue (workflows/config/experiments.yaml) with its
paths file (workflows/config/paths.yaml), and the tad-train experiment files (workflows/experiments/), each
resolved as tad-train resolves it. OFFICIAL_TRAINING and FAMILY_MODEL restate, from the official configs,
the settings a typo in an experiment file would silently change.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from tad_backbone import ARCHITECTURES
from tad_backbone.videomae import Source
from tad_train import ExperimentConfig, load_config

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS_DIR = REPO / "workflows" / "experiments"
CATALOGUE = yaml.safe_load((REPO / "workflows" / "config" / "experiments.yaml").read_text())["experiments"]
PATHS = yaml.safe_load((REPO / "workflows" / "config" / "paths.yaml").read_text())
OFFICIAL = {name: entry for name, entry in CATALOGUE.items() if entry["official"] is not None}

#: Classes of each data entry's converted annotation file (EPIC: the nouns / verbs that occur, as
#: OpenTAD's heads); None: class-agnostic training.
NUM_CLASSES = {
    "thumos14": 20,
    "activitynet13": None,
    "epic-kitchens-100-noun": 293,
    "epic-kitchens-100-verb": 97,
    "ego4d-mq": 110,
    "multithumos": 65,
    "charades": 157,
}


@dataclass(frozen=True)
class Official:
    """Training settings of one official config (OpenTAD's conventions: 0-based val_start_epoch)."""

    adapter_blocks: range
    adapter_lr: float
    lr: float
    max_epoch: int
    end_epoch: int | None  # workflow.end_epoch; None: max_epoch
    val_start_epoch: int  # 0-based: evaluate after epoch e when e >= this and (e + 1) % interval == 0
    val_interval: int
    batch_size: int  # global


def _thumos(blocks: range, adapter_lr: float, end: int = 60, val: int = 40) -> Official:
    return Official(blocks, adapter_lr, 1e-4, 100, end, val, 2, 2)


def _anet(blocks: range) -> Official:
    return Official(blocks, 1e-4, 1e-3, 15, None, 8, 1, 16)


def _multithumos(blocks: range, adapter_lr: float) -> Official:
    return Official(blocks, adapter_lr, 1e-4, 100, 80, 49, 2, 2)


def _charades(blocks: range, adapter_lr: float) -> Official:
    return Official(blocks, adapter_lr, 1e-4, 20, None, 7, 1, 16)


#: From configs/adatad/<family>/*.py and their _base_ files (OpenTAD).
OFFICIAL_TRAINING = {
    "thumos_s768": _thumos(range(12), 2e-4),
    "thumos_b768": _thumos(range(12), 1e-4),
    "thumos_l768": _thumos(range(24), 1e-4),
    "thumos_h768": _thumos(range(32), 1e-4),
    "thumos_g768": _thumos(range(40), 1e-4),
    "thumos_g1536": _thumos(range(20, 40), 2e-4, end=50, val=37),
    "thumos_g1536_side": _thumos(range(20, 40), 2e-4, end=50, val=37),
    "anet_s160": _anet(range(12)),
    "anet_b160": _anet(range(12)),
    "anet_l160": _anet(range(24)),
    "anet_h160": _anet(range(32)),
    "anet_g160": _anet(range(40)),
    "anet_g224": _anet(range(20, 40)),
    "epic_noun": Official(range(24), 8e-5, 1e-4, 250, 35, 19, 2, 2),
    "epic_verb": Official(range(24), 8e-5, 1e-4, 250, 35, 19, 2, 2),
    "ego4d_mq": Official(range(12, 24), 4e-4, 1e-4, 25, 20, 12, 1, 2),
    "multithumos_s768": _multithumos(range(12), 4e-4),
    "multithumos_b768": _multithumos(range(12), 4e-4),
    "multithumos_l768": _multithumos(range(24), 4e-4),
    "multithumos_h768": _multithumos(range(32), 1e-4),
    "multithumos_g768": _multithumos(range(40), 1e-4),
    "multithumos_g1536": _multithumos(range(20, 40), 1e-4),
    "charades_s512": _charades(range(12), 4e-4),
    "charades_b512": _charades(range(12), 4e-4),
    "charades_l512": _charades(range(24), 2e-4),
    "charades_h512": _charades(range(32), 1e-4),
    "charades_g512": _charades(range(40), 8e-5),
}


@dataclass(frozen=True)
class OfficialModel:
    """Sampling, dropout, loss and NMS settings of one official config."""

    snippet_stride: int | None  # raw frames per step; None: resize sampling (the whole video)
    trunc_thresh: float | None  # random_trunc training windows
    window_overlap: float | None  # sliding test windows
    drop_path: float  # the ViT's stochastic depth
    input_pdrop: float  # projection input dropout
    label_smoothing: float
    nms: tuple[float, int, float, int]  # soft-NMS sigma, max_seg_num, min_score; pre_nms_topk


#: Per dataset family, from the same configs; MODEL_EXCEPTIONS lists the members that differ.
FAMILY_MODEL = {
    "thumos14": OfficialModel(4, 0.75, 0.5, 0.1, 0.0, 0.0, (0.7, 2000, 0.0, 2000)),
    "activitynet13": OfficialModel(None, None, None, 0.1, 0.0, 0.1, (0.7, 100, 0.001, 2000)),
    "epic-kitchens-100": OfficialModel(16, 0.3, 0.5, 0.1, 0.2, 0.1, (0.4, 2000, 0.001, 5000)),
    "ego4d-mq": OfficialModel(8, 0.3, 0.0, 0.1, 0.2, 0.0, (2.0, 2000, 0.001, 5000)),
    "multithumos": OfficialModel(4, 0.75, 0.5, 0.1, 0.0, 0.0, (0.5, 8000, 0.0, 8000)),
    "charades": OfficialModel(4, 0.5, 0.5, 0.1, 0.3, 0.0, (0.3, 1000, 0.0, 2000)),
}
MODEL_EXCEPTIONS = {
    "thumos_g1536_side": {"drop_path": 0.0, "input_pdrop": 0.1},  # the side configs
    "epic_verb": {"label_smoothing": 0.0},  # the verb config sets none, the noun config 0.1
}


BACKBONE_ARCH = {
    "VideoMAE-S": "s",
    "VideoMAE-B": "b",
    "VideoMAE-L": "l",
    "VideoMAE-H": "h",
    "VideoMAEV2-g": "g",
    "VideoMAE-Noun": "l",
    "VideoMAE-Verb": "l",
    "InternVideo1-MQ": "l",
}
SETTING_MODE = {"AdaTAD": "adapter", "AdaTAD†": "side"}
CLASSIFIERS = {"CUHK": "cuhk", "InternVideo": "internvideo", "InternVideo2": "internvideo2"}
FUSION_MODES = {"cuhk": "product", "internvideo": "sqrt", "internvideo2": "sqrt"}


# --------------------------------------------------------------------------------------------------------
# The official tables


@dataclass(frozen=True)
class Row:
    """One row of an official results table: its table's title and its cells by column name."""

    table: str
    cells: dict[str, str]

    @property
    def config_stem(self) -> str:
        """The linked config's file name without ``.py`` (some README links lack the folder or suffix)."""
        link = re.search(r"\]\(([^)]*)\)", self.cells["Config"])
        assert link, self.cells["Config"]
        return Path(link.group(1)).name.removesuffix(".py")

    @property
    def model_link(self) -> str | None:
        link = re.search(r"\[model\]\(([^)]*)\)", self.cells["Download"])
        return link.group(1) if link else None

    @property
    def frames(self) -> int:
        """The Frames column: ``768`` or ``768x8`` (steps x frames per step)."""
        factors = [int(part) for part in self.cells["Frames"].split("x")]
        return factors[0] * (factors[1] if len(factors) > 1 else 1)

    @property
    def tiou(self) -> list[float]:
        return [float(name.removeprefix("mAP@")) for name in self.cells if name.startswith("mAP@")]

    @property
    def mAP(self) -> list[float]:
        return [float(value) for name, value in self.cells.items() if name.startswith("mAP@")]

    @property
    def average_column(self) -> str:
        return next(name for name in self.cells if name.startswith("ave. mAP"))


def parse_results(markdown: str) -> list[Row]:
    """Every row of every "## <Dataset> Results" table that has a Config column."""
    rows = []
    for section in re.split(r"^## ", markdown, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        if not title.endswith(" Results"):
            continue
        table_lines = [line for line in section.splitlines() if line.startswith("|")]
        header = None
        for line in table_lines:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # "\|" is text
            if set("".join(cells)) <= set(":- "):
                continue
            if "Config" in cells and "GPUs" in cells:
                header = cells
            elif header is not None and len(cells) == len(header):
                rows.append(Row(title.removesuffix(" Results"), dict(zip(header, cells, strict=True))))
    return rows


@pytest.fixture(scope="module")
def official_rows(shared_data: Path) -> dict[tuple[str, str], Row]:
    """The official rows by (table, config file stem)."""
    rows = parse_results((shared_data.parent / "reference" / "adatad-results.md").read_text())
    keyed = {(row.table, row.config_stem): row for row in rows}
    assert len(keyed) == len(rows) == 29, "the reference tables changed"
    return keyed


def row_of(entry: dict[str, Any], rows: dict[tuple[str, str], Row]) -> Row:
    official = entry["official"]
    return rows[(official["table"], Path(official["config"]).name.removesuffix(".py"))]


# --------------------------------------------------------------------------------------------------------
# Resolving the experiment files


@pytest.fixture(scope="module")
def data_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per data entry, a folder with an empty annotation file and a class list of the dataset's size."""
    roots = {}
    for key, entry in PATHS["data"].items():
        root = tmp_path_factory.mktemp(key)
        (root / "annotations.json").write_text('{"version": "test", "database": {}}')
        count = entry["synthetic"]["classes"] if "synthetic" in entry else NUM_CLASSES[key]
        if count is not None:
            (root / "annotations.classes.txt").write_text("".join(f"class{i:03d}\n" for i in range(count)))
        roots[key] = root
    return roots


def resolve(name: str, data_roots: dict[str, Path]) -> ExperimentConfig:
    entry = CATALOGUE[name]
    return load_config(EXPERIMENTS_DIR / entry["config"], [f"data.root={data_roots[entry['data']]}"])


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_experiment_resolves_with_its_catalogue_entry(name: str, data_roots: dict[str, Path]) -> None:
    entry = CATALOGUE[name]
    config = resolve(name, data_roots)
    data = PATHS["data"][entry["data"]]
    assert config.name == entry["train"]
    if "dataset" in data:
        assert config.dataset == data["dataset"]
    weights = PATHS["weights"][entry["weights"]]
    arch = weights["pretrain"]["arch"] if "pretrain" in weights else weights["arch"]
    assert config.backbone.arch == arch
    assert config.data.video_prefix == data.get("video_prefix", "")
    assert config.data.class_agnostic == (entry["fusion"] is not None)
    if entry["gpus"]:
        # OpenTAD's test batch equals its (global) training batch in every AdaTAD config.
        assert config.trainer.test_batch_size * entry["gpus"] == config.trainer.batch_size


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_experiment_matches_its_official_row(
    name: str, official_rows: dict[tuple[str, str], Row], data_roots: dict[str, Path]
) -> None:
    row = row_of(CATALOGUE[name], official_rows)
    config = resolve(name, data_roots)
    assert config.window.frames == row.frames
    if name == "ego4d_mq":  # 1800 steps, padded by the detector to 2048 as OpenTAD's max_seq_len
        assert (config.window.size, config.projection.max_seq_len) == (1800, 2048)
    assert config.augment.crop_size == config.eval_transform.crop_size == int(row.cells["Img Size"])
    assert config.backbone.arch == BACKBONE_ARCH[row.cells["Backbone"]]
    assert config.backbone.model.mode == SETTING_MODE[row.cells["Setting"]]
    if "Subset" in row.cells:
        assert PATHS["data"][CATALOGUE[name]["data"]]["task"] == row.cells["Subset"].lower()


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_training_settings_are_the_official_ones(name: str, data_roots: dict[str, Path]) -> None:
    official = OFFICIAL_TRAINING[CATALOGUE[name]["train"]]
    config = resolve(name, data_roots)
    assert config.backbone.model.adapter_blocks == tuple(official.adapter_blocks)
    assert config.optimizer.backbone_lr == official.adapter_lr
    assert config.optimizer.lr == official.lr
    assert config.optimizer.weight_decay == config.optimizer.backbone_weight_decay == 0.05
    assert config.schedule.warmup_epochs == 5
    assert config.schedule.max_epochs == official.max_epoch
    epochs = official.end_epoch or official.max_epoch
    assert config.schedule.epochs == epochs
    assert config.trainer.batch_size == official.batch_size
    # The same evaluations, converted from OpenTAD's 0-based epochs to tad-train's 1-based ones.
    opentad = [
        e + 1 for e in range(epochs) if e >= official.val_start_epoch and (e + 1) % official.val_interval == 0
    ]
    trainer = config.trainer
    ours = [
        epoch
        for epoch in range(1, epochs + 1)
        if trainer.val_start_epoch is not None
        and epoch >= trainer.val_start_epoch
        and (epoch - trainer.val_start_epoch) % trainer.val_interval == 0
    ]
    assert ours == opentad


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_sampling_dropout_loss_and_nms_are_the_official_ones(name: str, data_roots: dict[str, Path]) -> None:
    config = resolve(name, data_roots)
    train = CATALOGUE[name]["train"]
    official = dataclasses.replace(FAMILY_MODEL[config.dataset], **MODEL_EXCEPTIONS.get(train, {}))
    if official.snippet_stride is None:
        assert config.train_sampler.method == config.test_sampler.method == "resize"
    else:
        assert (config.train_sampler.method, config.test_sampler.method) == ("random_trunc", "sliding_window")
        assert config.window.snippet_stride == official.snippet_stride
        assert config.train_sampler.trunc_thresh == official.trunc_thresh
        assert config.train_sampler.crop_ratio == (0.9, 1.0)
        assert config.test_sampler.window_overlap == official.window_overlap
    assert config.backbone.model.drop_path_rate == official.drop_path
    assert config.projection.input_pdrop == official.input_pdrop
    assert config.loss.label_smoothing == official.label_smoothing
    nms = config.postprocess.nms
    assert (nms.sigma, nms.max_seg_num, nms.min_score, config.postprocess.pre_nms_topk) == official.nms


# --------------------------------------------------------------------------------------------------------
# The catalogue against the tables


def test_catalogue_has_one_entry_per_official_row(official_rows: dict[tuple[str, str], Row]) -> None:
    listed = [row_of(entry, official_rows) for entry in OFFICIAL.values()]
    assert sorted((row.table, row.config_stem) for row in listed) == sorted(official_rows)


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_numbers_are_those_of_the_table(
    name: str, official_rows: dict[tuple[str, str], Row]
) -> None:
    entry = CATALOGUE[name]
    official = entry["official"]
    row = row_of(entry, official_rows)
    assert official["tiou"] == row.tiou
    assert official["mAP"] == row.mAP
    assert official["average"] == float(row.cells[row.average_column])
    over = re.search(r"\((.*)\)", row.average_column)
    expected_over = over.group(1) if over else ("0.5:0.95:0.05" if row.table == "ActivityNet" else None)
    assert official.get("average_over") == expected_over
    assert entry["gpus"] == int(row.cells["GPUs"])
    assert official["config"].startswith("configs/adatad/") and official["config"].endswith(".py")


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_released_checkpoint_is_the_rows_model(name: str, official_rows: dict[tuple[str, str], Row]) -> None:
    entry = CATALOGUE[name]
    link = row_of(entry, official_rows).model_link
    if link is None:
        # Rows with only a log evaluate the checkpoint of the training they share (README: same checkpoint).
        train_link = row_of(CATALOGUE[entry["train"]], official_rows).model_link
        assert entry["train"] != name and entry["released"] == CATALOGUE[entry["train"]]["released"]
        assert PATHS["released"][entry["released"]]["source"] == train_link
    else:
        assert PATHS["released"][entry["released"]]["source"] == link


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_fusion_is_the_rows_classifier(name: str, official_rows: dict[tuple[str, str], Row]) -> None:
    entry = CATALOGUE[name]
    row = row_of(entry, official_rows)
    if "Classifier" not in row.cells:
        assert entry["fusion"] is None
        return
    classifier = CLASSIFIERS[row.cells["Classifier"]]
    assert entry["fusion"] == {"classifier": classifier, "topk": 2, "mode": FUSION_MODES[classifier]}


def test_catalogue_keys_exist_in_paths() -> None:
    for name, entry in CATALOGUE.items():
        assert entry["data"] in PATHS["data"], name
        assert entry["weights"] in PATHS["weights"], name
        assert entry["released"] is None or entry["released"] in PATHS["released"], name
        if entry["fusion"] is not None:
            assert entry["fusion"]["classifier"] in PATHS["classifiers"], name
        assert entry["train"] in CATALOGUE, name
        assert CATALOGUE[entry["train"]]["train"] == entry["train"], f"{name}: a training is its own"


def test_no_experiment_file_is_shared_except_by_the_fusion_variants_of_one_training() -> None:
    by_file: dict[str, set[str]] = {}
    for entry in CATALOGUE.values():
        by_file.setdefault(entry["config"], set()).add(entry["train"])
    assert all(len(trainings) == 1 for trainings in by_file.values()), by_file
    for name, entry in CATALOGUE.items():
        assert entry["config"] == f"{entry['train']}.yaml", name
        if entry["train"] != name:
            assert entry["fusion"] is not None, f"{name} shares a training but fuses no classifier"
            shared = CATALOGUE[entry["train"]]
            assert {k: v for k, v in entry.items() if k not in ("fusion", "official")} == {
                k: v for k, v in shared.items() if k not in ("fusion", "official")
            }


def test_every_experiment_file_is_in_the_catalogue() -> None:
    files = {path.name for path in EXPERIMENTS_DIR.glob("*.yaml")}
    assert files <= {entry["config"] for entry in CATALOGUE.values()}


def test_experiment_files_inherit_only_from_bases() -> None:
    for path in EXPERIMENTS_DIR.glob("*.yaml"):
        bases = yaml.safe_load(path.read_text()).get("base", [])
        assert all(base.startswith("bases/") for base in bases), path.name


# --------------------------------------------------------------------------------------------------------
# The paths file


def file_entries() -> list[tuple[str, dict[str, Any]]]:
    """Every entry of paths.yaml that names a file to fetch."""
    entries = []
    for key, data in PATHS["data"].items():
        if "synthetic" in data:
            continue
        entries += [(f"data.{key}.annotations", item) for item in data["annotations"]]
        entries.append((f"data.{key}.videos", data["videos"]))
        if data["eval_blocked"] is not None:
            entries.append((f"data.{key}.eval_blocked", data["eval_blocked"]))
    for section in ("classifiers", "weights", "released"):
        entries += [(f"{section}.{key}", item) for key, item in PATHS[section].items() if "path" in item]
    return entries


def test_every_file_says_what_it_is_and_where_it_comes_from() -> None:
    assert PATHS["data_root"] == "data"
    for where, item in file_entries():
        assert set(item) >= {"path", "about", "source"}, where
        assert not Path(item["path"]).is_absolute(), where
        assert item["about"].strip() and re.match(r"https?://\S+$", item["source"]), where


def test_weights_name_a_convertible_layout_and_architecture() -> None:
    for key, weights in PATHS["weights"].items():
        if "pretrain" in weights:
            assert weights["pretrain"]["data"] in PATHS["data"], key
            continue
        assert weights["format"] in get_args(Source), key
        assert weights["arch"] in ARCHITECTURES, key


def test_data_entries_name_a_converter() -> None:
    from tad_data import DATASETS

    for key, data in PATHS["data"].items():
        if "synthetic" in data:
            continue
        assert data["dataset"] in DATASETS, key
        assert ("task" in data) == (data["dataset"] == "epic-kitchens-100"), key
