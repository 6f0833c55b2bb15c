"""Every experiment is a target: `snakemake -n` plans each chain against a data root of empty placeholder
files, and a missing input stops the run, before anything is scheduled, with what a user needs to fix it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "workflows" / "config"
EXPERIMENTS = yaml.safe_load((CONFIG / "experiments.yaml").read_text())["experiments"]
PATHS = yaml.safe_load((CONFIG / "paths.yaml").read_text())
OFFICIAL = [name for name, entry in EXPERIMENTS.items() if entry["official"]]


def job_counts(output: str) -> dict[str, int]:
    """snakemake's "Job stats" table of a dry run."""
    table = output.split("Job stats:", 1)[1].split("Reasons:", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


@pytest.mark.slow
def test_every_experiment_and_released_model_is_a_planned_target(
    snakemake, placeholder_root, tmp_path
) -> None:
    targets = [f"results/{name}.json" for name in EXPERIMENTS]
    targets += [f"results/{name}_released.json" for name in OFFICIAL if EXPERIMENTS[name]["released"]]
    result = snakemake(tmp_path, "-n", *targets, "--config", f"data_root={placeholder_root}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = job_counts(result.stdout)
    trainings = {entry["train"] for entry in EXPERIMENTS.values()}
    released = {EXPERIMENTS[name]["train"] for name in OFFICIAL if EXPERIMENTS[name]["released"]}
    assert counts["train"] == len(trainings)  # the three ActivityNet g-224 fusions share one training
    assert counts["import_released"] == len(released)
    assert counts["infer"] == len(trainings) + len(released)
    assert counts["report_experiment"] == counts["evaluate_experiment"] == len(targets)
    fused = [name for name, entry in EXPERIMENTS.items() if entry["fusion"]]
    assert counts["fuse"] == 2 * len(fused)
    data = {entry["data"] for entry in EXPERIMENTS.values()}
    synthetic = {key for key in data if "synthetic" in PATHS["data"][key]}
    assert counts["prepare_annotations"] == counts["check_videos"] == len(data - synthetic)
    assert counts["synthesize"] == len(synthetic)
    assert counts["convert_weights"] == len({entry["weights"] for entry in EXPERIMENTS.values()})


def test_a_missing_input_names_the_file_what_it_is_where_it_comes_from_and_where_it_goes(
    snakemake, tmp_path
) -> None:
    empty = tmp_path / "empty_root"
    empty.mkdir()
    result = snakemake(tmp_path, "-n", "results/thumos_s768.json", "--config", f"data_root={empty}")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    annotation = PATHS["data"]["thumos14"]["annotations"][0]
    assert f"missing input of data thumos14: {empty / annotation['path']}" in output
    assert annotation["source"] in output and "what:" in output and "--config data_root=DIR" in output
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_a_row_without_a_released_model_says_so(snakemake, placeholder_root, tmp_path) -> None:
    override = tmp_path / "no_release.yaml"
    override.write_text(yaml.safe_dump({"experiments": {"thumos_s768": {"released": None}}}))
    result = snakemake(
        tmp_path,
        "-n",
        "results/thumos_s768_released.json",
        "--configfile",
        str(override),
        "--config",
        f"data_root={placeholder_root}",
    )
    assert result.returncode != 0
    assert (
        "thumos_s768: the official tables give no released model for this row"
        in result.stdout + result.stderr
    )


def test_the_catalogue_is_checked_when_the_workflow_starts(snakemake, tmp_path) -> None:
    override = tmp_path / "bad.yaml"
    override.write_text(yaml.safe_dump({"experiments": {"thumos_s768": {"weights": "videomae_x"}}}))
    result = snakemake(tmp_path, "-n", "results/thumos_s768.json", "--configfile", str(override))
    assert result.returncode != 0
    assert (
        "experiments.yaml: thumos_s768.weights: 'videomae_x' is not defined" in result.stdout + result.stderr
    )
    override.write_text(yaml.safe_dump({"experiments": {"thumos_s768": {"gpus": "two"}}}))
    result = snakemake(tmp_path, "-n", "results/thumos_s768.json", "--configfile", str(override))
    assert result.returncode != 0 and "'two' is not of type 'integer'" in result.stdout + result.stderr
