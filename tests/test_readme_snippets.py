"""The ```python blocks of README.md and libs/*/README.md run, in order, one namespace per README.

Each README runs in a fresh temporary folder; the files its snippets read are written there first (tiny
inputs, `INPUTS` below). A block whose first line is `# not run: REASON` (it needs data or hardware
that tests cannot have) is compiled and its imports are run, so a renamed API still fails. A new
README is picked up by the glob.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READMES = [REPO / "README.md", *sorted(REPO.glob("libs/*/README.md"))]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
NOT_RUN = re.compile(r"# not run: (\S.*)")


def python_blocks(readme: Path) -> list[tuple[int, str]]:
    """(line of the block's first code line, code) for each ```python block."""
    text = readme.read_text()
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(text)
    ]


def tad_eval_inputs(folder: Path) -> None:
    """ActivityNet-layout ground truth with a blocked video, predictions, and a THUMOS14 text folder."""
    database = {
        "v_abc": {
            "subset": "validation",
            "duration": 20.0,
            "annotations": [
                {"segment": [1.0, 5.0], "label": "Long jump"},
                {"segment": [9.0, 12.0], "label": "High jump"},
            ],
        },
        "v_def": {
            "subset": "validation",
            "duration": 30.0,
            "annotations": [{"segment": [3.0, 8.0], "label": "High jump"}],
        },
        "v_blocked": {
            "subset": "validation",
            "duration": 10.0,
            "annotations": [{"segment": [1.0, 2.0], "label": "Long jump"}],
        },
    }
    (folder / "activity_net_v1-3_gt.json").write_text(json.dumps({"database": database}))
    (folder / "blocked.json").write_text(json.dumps(["v_blocked"]))
    results = {
        "v_abc": [
            {"segment": [1.2, 5.1], "label": "Long jump", "score": 0.9},
            {"segment": [8.0, 12.0], "label": "High jump", "score": 0.6},
        ],
        "v_def": [{"segment": [2.0, 8.5], "label": "High jump", "score": 0.7}],
    }
    (folder / "result_detection.json").write_text(json.dumps({"results": results}))
    thumos = folder / "TH14_Temporal_annotations_test" / "annotations"
    thumos.mkdir(parents=True)
    (thumos / "CricketBowling_test.txt").write_text(
        "video_test_0000004 0.2 1.1\nvideo_test_0000004 5.0 6.4\n"
    )


def tad_data_inputs(folder: Path) -> None:
    """An annotation file in the internal format with its class list."""
    database = {
        "video_test_0000004": {
            "subset": "validation",
            "duration": 33.83,
            "fps": 30.0,
            "num_frames": 1015,
            "annotations": [{"segment": [0.2, 1.1], "label": "CricketBowling"}],
        },
    }
    (folder / "anno.json").write_text(json.dumps({"version": "THUMOS14", "database": database}))
    (folder / "anno.classes.txt").write_text("CricketBowling\nCricketShot\n")


def tad_train_inputs(folder: Path) -> None:
    """The tiny experiment file and the synthetic videos it trains on (`tad-data synth ... --seed 0`)."""
    from tad_data import write_synthetic_dataset

    example = folder / "libs" / "tad-train" / "examples"
    example.mkdir(parents=True)
    (example / "tiny.yaml").write_text((REPO / "libs" / "tad-train" / "examples" / "tiny.yaml").read_text())
    write_synthetic_dataset(folder / "data" / "synth", num_videos=8, num_classes=3, seed=0)


#: What the snippets of each README read, by path relative to the repository.
INPUTS: dict[str, Callable[[Path], None]] = {
    "libs/tad-eval/README.md": tad_eval_inputs,
    "libs/tad-data/README.md": tad_data_inputs,
    "libs/tad-train/README.md": tad_train_inputs,
}


def run_imports_only(code: ast.Module, filename: str, namespace: dict) -> None:
    imports = [node for node in code.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), filename, "exec"), namespace)


#: READMEs whose snippets build torch models: several seconds each on a 2-core machine.
SLOW = {"libs/tad-backbone/README.md", "libs/tad-head/README.md", "libs/tad-train/README.md"}


def readme_param(readme: Path) -> pytest.ParameterSet:
    name = str(readme.relative_to(REPO))
    return pytest.param(readme, id=name, marks=pytest.mark.slow if name in SLOW else ())


@pytest.mark.parametrize("readme", [readme_param(readme) for readme in READMES])
def test_readme_python_snippets_run(readme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(readme)
    if not blocks:
        pytest.skip("no ```python block")
    name = str(readme.relative_to(REPO))
    monkeypatch.chdir(tmp_path)
    INPUTS.get(name, lambda folder: None)(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for line, code in blocks:
        # Padding with newlines makes tracebacks point at the README's own line numbers.
        tree = ast.parse("\n" * (line - 1) + code, filename=name)
        skipped = NOT_RUN.match(code.splitlines()[0])
        if skipped:
            run_imports_only(tree, name, namespace)
        else:
            exec(compile(tree, name, "exec"), namespace)
