"""The README's table of experiments is the catalogue's, with the memory planner's numbers (no drift)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tad_train import load_config
from tad_train.memory import experiment_memory_plan

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = yaml.safe_load((REPO / "workflows" / "config" / "experiments.yaml").read_text())["experiments"]
ROW = re.compile(
    r"^\| `(\w+)` \| ([^|]+) \| ([\d.]+) \| (\d+) \| (\d+) \| ([\d.]+) GiB \| ([^|]+) \|$", re.MULTILINE
)


def test_every_official_experiment_is_listed_with_its_numbers_and_planned_memory() -> None:
    rows = {m.group(1): m.groups()[1:] for m in ROW.finditer((REPO / "README.md").read_text())}
    official = {name: entry for name, entry in EXPERIMENTS.items() if entry["official"]}
    assert set(rows) == set(official)
    for name, entry in official.items():
        table, average, gpus, per_gpu, planned, released = rows[name]
        assert (table.strip(), float(average), int(gpus)) == (
            entry["official"]["table"],
            entry["official"]["average"],
            entry["gpus"],
        ), name
        config = load_config(REPO / "workflows" / "experiments" / entry["config"], num_classes=1)
        assert int(per_gpu) == config.trainer.batch_size // entry["gpus"], name
        plan = experiment_memory_plan(config, int(per_gpu), entry["gpus"])
        assert float(planned) == round(plan.peak_bytes / 2**30, 1), name
        expected = (
            "yes" if entry["released"] == name else f"`{entry['released']}`'s" if entry["released"] else "no"
        )
        assert released.strip() == expected, name
