"""The CPU demo's wall time, split per rule (the README's main command without its set-up).

Runs `snakemake --profile local results/demo.json` from scratch in a temporary working folder
and reads the benchmark file Snakemake writes for each job (`logs/<rule>/<name>.benchmark.tsv`: wall
seconds, CPU seconds, peak RSS). Prints each rule's seconds and its share of the whole run, and the
share Snakemake itself takes (scheduling, start-up of each job's command).

    python benchmarks/demo_steps.py [--target results/demo.json]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="results/demo.json", help="the workflow target to time")
    args = parser.parse_args()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                folder,
                "--profile",
                str(REPO / "profiles" / "local"),
                args.target,
                "--quiet",
                "all",
            ],
            check=True,
            env=env,
            cwd=REPO,
        )
        total = time.perf_counter() - start
        rows = []
        for path in sorted(Path(folder, "logs").glob("*/*.benchmark.tsv")):
            with open(path, newline="") as handle:
                record = next(csv.DictReader(handle, delimiter="\t"))
            rows.append(
                (path.parent.name, float(record["s"]), float(record["cpu_time"]), float(record["max_rss"]))
            )
    jobs = sum(seconds for _, seconds, _, _ in rows)
    print(f"{args.target}: {total:.1f} s in all, {jobs:.1f} s in the {len(rows)} jobs")
    for rule, seconds, cpu, rss in rows:
        print(
            f"  {rule:<22}{seconds:7.1f} s  {seconds / total:5.2f} of the run  "
            f"(CPU {cpu:6.1f} s, peak RSS {rss:6.0f} MB)"
        )
    print(f"  {'snakemake itself':<22}{total - jobs:7.1f} s  {(total - jobs) / total:5.2f} of the run")


if __name__ == "__main__":
    main()
