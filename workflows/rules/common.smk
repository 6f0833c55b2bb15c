# Configuration validation and the functions the rules share. What the workflow knows about an
# experiment comes from three configuration files, validated against one schema before anything runs.
#   workflows/config/experiments.yaml  the catalogue: config file, data, weights, GPUs, official row
#   workflows/config/paths.yaml        where the data, classifiers and weights live (under data_root)
#   workflows/config/config.yaml       evaluations of existing prediction files
import json
import os
import shlex
from pathlib import Path

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

EXPERIMENTS = config["experiments"]
DATA = config["data"]
WEIGHTS = config["weights"]
CLASSIFIERS = config["classifiers"]
RELEASED = config["released"]
EXPERIMENT_DIR = Path(workflow.basedir) / "workflows" / "experiments"
#: How training and inference start: the repository's interpreter under torchrun (srun across Slurm tasks);
#: a preempted training is requeued on Slurm and resumes.
TAD_TRAIN_JOB = str(Path(workflow.basedir) / "scripts" / "tad-train-job")
#: A target is an experiment (trained here) or an experiment evaluated from its released model.
TARGETS = [*EXPERIMENTS, *(f"{name}_released" for name in EXPERIMENTS)]
TRAININGS = sorted({entry["train"] for entry in EXPERIMENTS.values()})


def alternatives(names):
    """A wildcard pattern matching exactly these names (longest first, so none shadows another)."""
    return "|".join(sorted(names, key=len, reverse=True))


def _check_catalogue():
    """Every key the catalogue names exists; shared trainings share their configuration."""
    for name, entry in EXPERIMENTS.items():
        references = [("data", entry["data"], DATA), ("weights", entry["weights"], WEIGHTS)]
        references.append(("train", entry["train"], EXPERIMENTS))
        if entry.get("released"):
            references.append(("released", entry["released"], RELEASED))
        if entry.get("fusion"):
            references.append(("fusion.classifier", entry["fusion"]["classifier"], CLASSIFIERS))
        for field, key, table in references:
            if key not in table:
                raise WorkflowError(f"experiments.yaml: {name}.{field}: {key!r} is not defined")
        trained_as = EXPERIMENTS[entry["train"]]
        if (trained_as["config"], trained_as["data"], trained_as["weights"]) != (
            entry["config"],
            entry["data"],
            entry["weights"],
        ):
            raise WorkflowError(
                f"experiments.yaml: {name}.train: {entry['train']!r} trains another configuration, data or weights"
            )
        if not (EXPERIMENT_DIR / entry["config"]).is_file():
            raise WorkflowError(f"experiments.yaml: {name}.config: {EXPERIMENT_DIR / entry['config']} not found")


_check_catalogue()


# --------------------------------------------------------------------------------------------------------
# Files under data_root, with the message a user needs when one is missing


def data_path(entry, owner):
    """The absolute path of a catalogued file under data_root; stops the run when it is missing."""
    path = Path(config["data_root"]) / entry["path"]
    if not path.exists():
        raise WorkflowError(
            f"missing input of {owner}: {path}\n"
            f"  what:  {entry['about']}\n"
            f"  from:  {entry['source']}\n"
            f"  where: put it at {path} (data_root is {config['data_root']!r}; another root: "
            "--config data_root=DIR, layout in workflows/config/paths.yaml)"
        )
    return str(path.resolve())


def experiment(target):
    """The catalogue entry of a target (an experiment, or an experiment evaluated from its released model)."""
    return EXPERIMENTS[target.removesuffix("_released")]


def is_released(target):
    return target.endswith("_released") and target.removesuffix("_released") in EXPERIMENTS


def experiment_config(training):
    return str(EXPERIMENT_DIR / EXPERIMENTS[training]["config"])


# --------------------------------------------------------------------------------------------------------
# Data: converted official annotations, or synthetic videos


def is_synthetic(data):
    return "synthetic" in DATA[data]


def data_folder(data):
    """Where the annotation file of a data entry is written (and, for synthetic data, its videos)."""
    return f"resources/{'synthetic' if is_synthetic(data) else 'data'}/{data}"


def annotations_of(data):
    return f"{data_folder(data)}/annotations.json"


def videos_of(data, owner):
    """The video folder of a data entry (absolute, so it can be joined to any data.root)."""
    if is_synthetic(data):
        return str(Path(data_folder(data), "videos").resolve())
    return data_path(DATA[data]["videos"], owner)


def official_annotations(wildcards):
    return [data_path(entry, f"data {wildcards.data}") for entry in DATA[wildcards.data]["annotations"]]


def probe_report(data):
    """The video check that must pass before training (synthetic videos need none)."""
    return [] if is_synthetic(data) else [f"{data_folder(data)}/probe.txt"]


# --------------------------------------------------------------------------------------------------------
# Weights: official checkpoints converted with tad-backbone, or the demo's own pretraining


def weights_source(wildcards):
    entry = WEIGHTS[wildcards.weights]
    if "pretrain" in entry:
        return f"resources/weights/{wildcards.weights}.pth"
    return data_path(entry, f"weights {wildcards.weights}")


def weights_format(wildcards):
    entry = WEIGHTS[wildcards.weights]
    return "videomae" if "pretrain" in entry else entry["format"]


def weights_arch(wildcards):
    entry = WEIGHTS[wildcards.weights]
    return entry["pretrain"]["arch"] if "pretrain" in entry else entry["arch"]


# --------------------------------------------------------------------------------------------------------
# Training and inference


def gpus(training):
    return EXPERIMENTS[training]["gpus"]


def processes(training):
    """torchrun processes: one per GPU of the official run, one CPU process when it used none."""
    return max(gpus(training), 1)


def cpu_threads(training):
    """Threads of a training or inference job: data workers beside each GPU process, one on the CPU.

    Snakemake sets OMP_NUM_THREADS to this; on a small shared CPU, threads waiting on each other made the
    demo several times slower than one thread.
    """
    return 2 * gpus(training) if gpus(training) else 1


def launcher(count):
    """The command that starts `tad-train train` or `tad-train infer` (the word after it) in `count`
    processes: scripts/tad-train-job, so that both use the same interpreter and placement."""
    return f"{shlex.quote(TAD_TRAIN_JOB)} --nproc-per-task {count}"


def data_settings(training):
    """--set arguments that point an experiment at this workflow's data."""
    entry = EXPERIMENTS[training]
    data = entry["data"]
    owner = f"experiment {training}"
    sets = {"data.root": data_folder(data), "data.videos": videos_of(data, owner)}
    if not is_synthetic(data):
        # Videos tad-data convert found missing or undecodable are left out (OpenTAD's missing_files.txt).
        sets["data.blocked"] = str(Path(data_folder(data), "annotations.missing.txt").resolve())
    if DATA[data].get("eval_blocked"):
        sets["evaluation.blocked"] = data_path(DATA[data]["eval_blocked"], owner)
    return sets


def train_settings(wildcards):
    sets = {**data_settings(wildcards.training), "backbone.weights": weights_of(wildcards.training)}
    fusion = EXPERIMENTS[wildcards.training].get("fusion")
    if fusion:  # in-training evaluation of class-agnostic detections needs the classifier
        classifier = CLASSIFIERS[fusion["classifier"]]
        sets["evaluation.classifier"] = json.dumps(
            {"path": data_path(classifier, f"experiment {wildcards.training}"), **_fusion_options(fusion)}
        )
    return _set_flags(sets)


def infer_settings(wildcards):
    return _set_flags(data_settings(wildcards.training))


def weights_of(training):
    return f"resources/weights/{EXPERIMENTS[training]['weights']}.safetensors"


def _fusion_options(fusion):
    return {"topk": fusion["topk"], "mode": fusion["mode"]}


def _set_flags(sets):
    return " ".join(f"--set {shlex.quote(f'{key}={value}')}" for key, value in sets.items())


def infer_flags(wildcards):
    """Class-agnostic trainings write raw detections; `fuse` labels them per experiment."""
    return "--raw" if any(e.get("fusion") for e in EXPERIMENTS.values() if e["train"] == wildcards.training) else ""


def released_checkpoint(wildcards):
    entry = EXPERIMENTS[wildcards.training]
    if not entry.get("released"):
        raise WorkflowError(
            f"{wildcards.training}: the official tables give no released model for this row, so "
            f"results/{wildcards.training}_released.json cannot be made"
        )
    return data_path(RELEASED[entry["released"]], f"released model of {wildcards.training}")


def run_folder(target):
    kind = "released" if is_released(target) else "train"
    return f"results/{kind}/{experiment(target)['train']}"


# --------------------------------------------------------------------------------------------------------
# Fusion, evaluation, report


def predictions(wildcards):
    """What is evaluated: the fused file for experiments with a classifier, else the run's predictions."""
    if experiment(wildcards.target).get("fusion"):
        return f"results/fused/{wildcards.target}.json"
    return f"{run_folder(wildcards.target)}/predictions.json"


def classifier_file(wildcards):
    fusion = experiment(wildcards.target)["fusion"]
    return data_path(CLASSIFIERS[fusion["classifier"]], f"experiment {wildcards.target}")


def fusion_flags(wildcards):
    options = _fusion_options(experiment(wildcards.target)["fusion"])
    return f"--topk {options['topk']} --mode {options['mode']}"


def dataset_of_wildcards(wildcards):
    """The evaluation protocol (tad-eval --dataset) of a target's data."""
    return DATA[experiment(wildcards.target)["data"]]["dataset"]


def evaluation_flags_of(wildcards):
    """tad-eval's blocked list and the official row drawn beside the curve."""
    entry = experiment(wildcards.target)
    flags = []
    blocked = DATA[entry["data"]].get("eval_blocked")
    if blocked:
        flags += ["--blocked", data_path(blocked, f"experiment {wildcards.target}")]
    official = entry.get("official")
    if official:
        pairs = ",".join(f"{t}={v}" for t, v in zip(official["tiou"], official["mAP"]))
        flags += ["--reference", pairs]
    return " ".join(shlex.quote(flag) for flag in flags)


def official_flag(wildcards):
    official = experiment(wildcards.target).get("official")
    if not official:
        return ""
    row = {"tiou": official["tiou"], "mAP": official["mAP"], "average": official["average"]}
    return f"--official {shlex.quote(json.dumps(row))}"


def all_targets():
    """What `snakemake` without a target makes: the CPU demo and the configured evaluations."""
    return ["results/demo.json", *(f"results/eval/{name}.json" for name in config["evaluations"])]


# --------------------------------------------------------------------------------------------------------
# Your own experiment: --config experiment=FILE (a complete file, as tad-train new-experiment writes)


def custom_experiment_file(wildcards=None):
    if "experiment" not in config:
        raise WorkflowError(
            "results/custom/NAME.json needs the experiment file: --config experiment=my_experiment.yaml "
            "(tad-train new-experiment writes one)"
        )
    path = Path(config["experiment"])
    if not path.is_file():
        raise WorkflowError(f"--config experiment={path}: file not found")
    return str(path)


def custom_setting(key):
    """What the workflow needs from your experiment file: its data, weights and evaluation protocol."""
    path = custom_experiment_file()
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if "base" in document:
        raise WorkflowError(f"{path}: base: a custom experiment must be a complete file (no bases)")
    data = document.get("data") or {}
    if key == "annotations":
        return str(Path(data.get("root", ".")) / data.get("annotations", "annotations.json"))
    if key == "weights":
        weights = (document.get("backbone") or {}).get("weights")
        return [] if weights is None else [weights]
    if key == "test_subset":  # what tad-train evaluates during training (ExperimentConfig.eval_subset)
        evaluation = document.get("evaluation") or {}
        return evaluation.get("subset") or data.get("test_subset", "validation")
    if key == "dataset":
        if "dataset" not in document:
            raise WorkflowError(f"{path}: dataset: missing")
        return document["dataset"]
    raise KeyError(key)


# --------------------------------------------------------------------------------------------------------
# Evaluations of existing prediction files (workflows/config/config.yaml)


def evaluation(wildcards):
    """The configuration entry of one evaluation, by the `name` wildcard."""
    return config["evaluations"][wildcards.name]


def evaluation_flags(wildcards):
    """The optional tad-eval flags of one evaluation, as one shell-quoted string."""
    entry = evaluation(wildcards)
    flags = []
    if "subset" in entry:
        flags += ["--subset", entry["subset"]]
    if "tiou" in entry:
        flags += ["--tiou", entry["tiou"]]
    if "blocked" in entry:
        flags += ["--blocked", entry["blocked"]]
    if entry.get("raw_gt", False):
        flags.append("--raw-gt")
    return " ".join(shlex.quote(flag) for flag in flags)
