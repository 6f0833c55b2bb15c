"""docs/own-videos.md runs as a new user would run it: its ```bash blocks, in order, in one shell, in a fresh
folder beside the repository's libs/, workflows/, Snakefile, profiles/ (and the profile link `local`) and
scripts/; the outputs it shows are what the commands print.

A block whose first line is ``# not run: REASON`` (a GPU, the official recipes, the workflow) is not run;
the tad-* subcommands it names must still exist.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "own-videos.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language]


def shell_environment() -> dict[str, str]:
    """This interpreter's scripts first on PATH (tad-data, tad-train, tad-eval, python)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def test_commands_that_are_not_run_name_real_subcommands() -> None:
    skipped = [code for code in blocks("bash") if code.startswith("# not run:")]
    assert len(skipped) >= 2
    for code in skipped:
        for program, subcommand in re.findall(r"^(tad-\w+) ([\w-]+)", code, re.MULTILINE):
            result = subprocess.run(
                [program, subcommand, "--help"], capture_output=True, text=True, env=shell_environment()
            )
            assert result.returncode == 0, f"{program} {subcommand}: {result.stderr}"


def test_the_image_it_shows_exists() -> None:
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", DOC.read_text()):
        assert (DOC.parent / image).is_file(), image


@pytest.mark.slow
def test_the_walkthrough_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    for shared in ("libs", "workflows", "Snakefile", "profiles", "local", "scripts"):
        (tmp_path / shared).symlink_to(REPO / shared)
    script = "\n".join(code for code in blocks("bash") if not code.startswith("# not run:"))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=shell_environment(),
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    shown = [code for code in blocks("") if not code.startswith("tad-data: error:")]
    for output in shown:
        for line in output.splitlines():
            assert line in result.stdout, f"the page shows {line!r}; the commands printed:\n{result.stdout}"
    for name in ("synth_0006", "synth_0007"):
        assert (tmp_path / "detections" / f"{name}.png").stat().st_size > 10_000
