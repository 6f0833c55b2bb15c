"""The Snakefile validates its configuration at start-up and its rules call the library CLIs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "libs" / "tad-eval" / "examples"


def run_with_config(snakemake, workdir: Path, config: dict | None, *args: str):
    """The repository's workflow in `workdir`, with `config` added to the shipped configuration."""
    extra: list[str] = []
    if config is not None:
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        extra = ["--configfile", str(config_path)]
    # Targets first: --configfile takes every value up to the next option.
    return snakemake(workdir, *args, *extra, timeout=300)


def example_config() -> dict:
    return {
        "evaluations": {
            "mini": {
                "gt": str(EXAMPLES / "thumos14_mini_gt.json"),
                "pred": str(EXAMPLES / "thumos14_mini_pred.json"),
                "dataset": "thumos14",
            }
        }
    }


def test_unknown_configuration_key_is_rejected_before_any_rule_runs(snakemake, tmp_path: Path) -> None:
    config = example_config()
    config["evaluations"]["mini"]["tiou_thresholds"] = "0.5"
    result = run_with_config(snakemake, tmp_path, config, "--dry-run")
    assert result.returncode != 0
    assert "tiou_thresholds" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_dataset_preset_is_rejected(snakemake, tmp_path: Path) -> None:
    config = example_config()
    config["evaluations"]["mini"]["dataset"] = "kinetics"
    result = run_with_config(snakemake, tmp_path, config, "--dry-run")
    assert result.returncode != 0
    assert "kinetics" in result.stdout + result.stderr


@pytest.mark.slow
def test_evaluate_rule_writes_the_tad_eval_result(snakemake, tmp_path: Path) -> None:
    result = run_with_config(snakemake, tmp_path, example_config(), "results/eval/mini.json")
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "results" / "eval" / "mini.json").read_text())
    subprocess.run(
        [
            str(Path(sys.executable).parent / "tad-eval"),
            "--gt",
            str(EXAMPLES / "thumos14_mini_gt.json"),
            "--pred",
            str(EXAMPLES / "thumos14_mini_pred.json"),
            "--dataset",
            "thumos14",
            "--out",
            str(tmp_path / "direct.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert written == json.loads((tmp_path / "direct.json").read_text())
    assert (tmp_path / "logs" / "eval" / "mini.log").read_text().strip()


SOFTWARE_DEPLOYMENT_LINT = "Specify a conda environment or container for each rule."


def test_workflow_has_no_lints_besides_software_deployment(snakemake, tmp_path: Path) -> None:
    """Rules run in the project's virtualenv, so the conda/container lint is the only expected one.

    Every line of the output must belong to a lint report (a "Lints for ..." heading, a "* finding" line
    or its indented explanation), so a workflow that fails to load cannot pass as one without lints.
    snakemake exits 1 when it reports lints and 0 when there are none.
    """
    result = run_with_config(snakemake, tmp_path, None, "--lint")  # the workflow as shipped
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    headings = [line for line in lines if line.startswith("Lints for ")]
    findings = {line.strip()[2:].rstrip(":") for line in lines if line.startswith("    * ")}
    unexplained = [line for line in lines if not line.startswith(("Lints for ", "    "))]
    assert unexplained == [], output
    assert findings <= {SOFTWARE_DEPLOYMENT_LINT}, output
    assert result.returncode == (1 if headings else 0), output
    assert headings, "the evaluate rule has no conda environment, so snakemake must report that:\n" + output
