"""The documented commands, run from the repository root: `snakemake --profile slurm TARGET` and
`snakemake --profile local TARGET`. Snakemake looks a profile name up in the current folder (then in
~/.config/snakemake and /etc/xdg/snakemake), where the links `slurm` and `local` point into profiles/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def dry_run_from_the_root(profile: str, target: str, workdir: Path, *args: str, **env: str):
    """`snakemake --profile PROFILE -n TARGET` as a user types it in the repository root (the Snakefile
    found there), working in `workdir`; the root must stay as it was."""
    before = sorted(os.listdir(REPO))
    environment = dict(
        os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env
    )
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        profile,
        "-n",
        target,
        "--directory",
        str(workdir),
    ]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=environment, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(os.listdir(REPO)) == before  # everything went to the working folder
    return result


def test_the_profile_names_are_links_into_profiles() -> None:
    for name in ("slurm", "local"):
        link = REPO / name
        assert link.is_symlink() and os.readlink(link) == f"profiles/{name}"  # relative: any checkout
        assert (link / "config.yaml").is_file()


def test_the_slurm_profile_applies_by_name(placeholder_root: Path, tmp_path: Path) -> None:
    # The partition comes from SBATCH_PARTITION through the profile's YTE template: only it sets it.
    result = dry_run_from_the_root(
        "slurm",
        "results/thumos_g1536.json",
        tmp_path,
        "--config",
        f"data_root={placeholder_root}",
        SBATCH_PARTITION="partition-from-the-profile",
    )
    assert "slurm_partition=partition-from-the-profile" in result.stdout
    assert "rule train:" in result.stdout


def test_the_local_profile_applies_by_name(tmp_path: Path) -> None:
    result = dry_run_from_the_root("local", "results/demo.json", tmp_path)
    assert "Shell command: " in result.stdout  # the profile's printshellcmds (a dry run prints none else)
    assert "rule report_experiment:" in result.stdout
