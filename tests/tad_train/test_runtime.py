"""Where a process runs: what starting the command loads, its device, its random streams."""

from __future__ import annotations

import subprocess
import sys


def test_the_package_its_command_and_report_start_without_torch() -> None:
    code = "import sys, tad_train, tad_train.cli, tad_train.report; print('torch' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
