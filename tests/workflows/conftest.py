"""The workflow tests run Snakemake on the repository's Snakefile in a scratch working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PATHS = yaml.safe_load((REPO / "workflows" / "config" / "paths.yaml").read_text())


def run_snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """`snakemake --snakefile REPO/Snakefile --directory WORKDIR --cores 1 ARGS...` (this venv on PATH)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


@pytest.fixture(scope="session")
def snakemake() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``snakemake(workdir, *args, timeout=600)``: see `run_snakemake`."""
    return run_snakemake


def catalogued_files() -> list[dict]:
    """Every catalogued file or folder under data_root (annotations, videos, classifiers, weights, models)."""
    entries = []
    for data in PATHS["data"].values():
        entries += data.get("annotations", [])
        entries += [data[key] for key in ("videos", "eval_blocked") if data.get(key)]
    for section in ("classifiers", "weights", "released"):
        entries += [entry for entry in PATHS[section].values() if "path" in entry]
    return entries


@pytest.fixture(scope="session")
def placeholder_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data_root holding every catalogued file as an empty placeholder (video folders as empty folders):
    enough for `snakemake -n` to plan any experiment."""
    root = tmp_path_factory.mktemp("data_root")
    videos = {data["videos"]["path"] for data in PATHS["data"].values() if "videos" in data}
    for entry in catalogued_files():
        path = root / entry["path"]
        if entry["path"] in videos:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    return root
