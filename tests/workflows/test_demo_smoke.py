"""The whole chain through the workflow, on the CPU: synthetic videos -> pretraining -> conversion ->
training -> inference -> evaluation -> report (the smoke target: a few training steps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_smoke_target_runs_every_rule_and_reports(snakemake, tmp_path: Path) -> None:
    arguments = ("--profile", str(REPO / "profiles" / "local"), "results/demo_smoke.json")
    finished = snakemake(tmp_path, *arguments, timeout=900)
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    for rule in (
        "synthesize",
        "pretrain",
        "convert_weights",
        "train",
        "infer",
        "evaluate_experiment",
        "report_experiment",
    ):
        assert f"rule {rule}:" in finished.stdout + finished.stderr, rule
    result = json.loads((tmp_path / "results" / "demo_smoke.json").read_text())
    assert result["experiment"] == "demo_smoke" and result["official"] is None
    assert len(result["mAP"]) == len(result["tiou_thresholds"]) == 5
    provenance = result["provenance"]
    assert provenance["kind"] == "trained" and len(provenance["checkpoint_sha256"]) == 64
    assert provenance["config"]["name"] == "demo_smoke" and provenance["versions"]["tad-train"]
    assert (tmp_path / "results" / "plots" / "demo_smoke" / "map_vs_tiou.png").is_file()
    assert (tmp_path / "results" / "demo_smoke.html").read_text().startswith("<!DOCTYPE html>")
    again = snakemake(tmp_path, *arguments, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr  # everything is up to date
