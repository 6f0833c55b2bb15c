"""Each library installs from its wheel into a new virtual environment and its command runs there.

What is real: `scripts/build-wheels` builds the five wheels once per session into a temporary
wheelhouse. Each library gets a virtual environment of its own, created without system site-packages,
into which pip installs the library and its tad-* siblings from that wheelhouse alone (`--no-index`).
So a sibling requirement missing from a pyproject, a module left out of a wheel, or code that only works
from the source tree fails here; then the library's command runs one real job from a scratch folder.

What is borrowed, so that nothing is downloaded (torch alone is several GB): the third-party
dependencies. The environment sees them through a `.pth` file naming a folder of links to this test
interpreter's site-packages with every tad-* package and editable-install hook left out; pip counts
them as installed. tad-eval's folder links numpy alone, which also shows that tad-eval installs and runs
without torch. Cost on a 2-core machine: about 10 s of building and 3-8 s per library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "libs" / "tad-eval" / "examples"
LIBRARIES = ("tad-eval", "tad-data", "tad-head", "tad-backbone", "tad-train")
#: The siblings pip must pull in for each library (its declared tad-* dependencies, transitively).
CLOSURE = {
    "tad-eval": {"tad-eval"},
    "tad-data": {"tad-eval", "tad-data"},
    "tad-head": {"tad-eval", "tad-head"},
    "tad-backbone": {"tad-eval", "tad-backbone"},
    "tad-train": {"tad-eval", "tad-data", "tad-head", "tad-backbone", "tad-train"},
}

pytestmark = pytest.mark.slow


def clean_environment(offline: bool, **extra: str) -> dict[str, str]:
    """No PYTHONPATH (it may point at a source tree); offline: no pip configuration of this machine either.

    Building the wheels needs this machine's pip configuration (hatchling comes from its index, as in
    scripts/setup); installing them must see no index.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    if offline:
        env = {key: value for key, value in env.items() if not key.startswith("PIP_")}
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def run(
    command: list[str | Path], cwd: Path, check: bool = True, offline: bool = True, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(offline, **extra_env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, (
            f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def pip(*args: str | Path, target: Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """This interpreter's pip installing into the environment of `target` (a venv's python)."""
    return run([sys.executable, "-m", "pip", "--python", target, *args], cwd=cwd, check=check)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheelhouse")
    run([REPO / "scripts" / "build-wheels", folder], cwd=REPO, offline=False, PYTHON=sys.executable)
    return folder


def third_party_folder(root: Path, numpy_only: bool) -> Path:
    """A folder of links to this interpreter's third-party packages: no tad-* package, no .pth hooks."""
    site = Path(sysconfig.get_path("purelib"))
    folder = root / ("numpy-only" if numpy_only else "third-party")
    folder.mkdir()
    for entry in site.iterdir():
        name = entry.name
        if numpy_only:
            wanted = name in ("numpy", "numpy.libs") or (
                name.startswith("numpy-") and name.endswith(".dist-info")
            )
        else:
            wanted = not (
                name.startswith(("tad_", "_editable_impl_", "__editable__")) or name.endswith(".pth")
            )
        if wanted and name != "__pycache__":
            (folder / name).symlink_to(entry)
    return folder


def fresh_environment(root: Path, numpy_only: bool) -> Path:
    """A new venv without pip or system site-packages that sees the borrowed third-party packages."""
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root
    ).stdout.strip()
    (Path(site) / "borrowed-third-party.pth").write_text(f"{third_party_folder(root, numpy_only)}\n")
    return python


def check_installed(python: Path, library: str, cwd: Path) -> None:
    """Exactly the library's siblings are installed, imported from the venv, at their metadata version."""
    script = """
import importlib, importlib.metadata as metadata, json, sys
names = sorted(d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"].startswith("tad-"))
report = {}
for name in names:
    module = importlib.import_module(name.replace("-", "_"))
    report[name] = [module.__file__.startswith(sys.prefix), module.__version__, metadata.version(name)]
print(json.dumps(report))
"""
    report = json.loads(run([python, "-c", script], cwd=cwd).stdout)
    assert set(report) == CLOSURE[library]
    for name, (inside, module_version, metadata_version) in report.items():
        assert inside, f"{name} was imported from outside the new environment"
        assert module_version == metadata_version, (
            f"{name}: __version__ {module_version}, wheel {metadata_version}"
        )


def run_a_real_command(library: str, bin_dir: Path, cwd: Path) -> None:
    """One real job per command, from a scratch folder (`run` checks the exit code)."""
    if library == "tad-eval":
        gt, pred = EXAMPLES / "thumos14_mini_gt.json", EXAMPLES / "thumos14_mini_pred.json"
        run(
            [bin_dir / "tad-eval", "--gt", gt, "--pred", pred, *"--dataset thumos14 --out r.json".split()],
            cwd,
        )
        assert 0 < json.loads((cwd / "r.json").read_text())["average_mAP"] <= 1
        no_torch = run([bin_dir / "python", "-c", "import torch"], cwd, check=False)
        assert "No module named 'torch'" in no_torch.stderr
    elif library == "tad-data":  # write a real H.264 video, then decode it (probe exits 1 on any problem)
        run([bin_dir / "tad-data", *"synth --out synth --videos 1 --classes 2 --seed 0".split()], cwd)
        run([bin_dir / "tad-data", *"probe --videos synth/videos --anno synth/annotations.json".split()], cwd)
    elif library == "tad-head":
        detections = {"results": {"v1": [{"segment": [1.0, 4.0], "label": "any", "score": 0.5}]}}
        (cwd / "raw.json").write_text(json.dumps(detections))
        (cwd / "cls.json").write_text(json.dumps({"results": {"v1": [0.2, 0.8]}, "class": ["A", "B"]}))
        fuse = "fuse --pred raw.json --classifier cls.json --topk 1 --mode product --out fused.json"
        run([bin_dir / "tad-head", *fuse.split()], cwd)
        (fused,) = json.loads((cwd / "fused.json").read_text())["results"]["v1"]
        assert fused["label"] == "B" and fused["score"] == pytest.approx(0.4)
    elif library == "tad-backbone":
        info = run([bin_dir / "tad-backbone", *"info --arch s --json".split()], cwd)
        assert json.loads(info.stdout)["vit_params"] == 21_879_168
    else:  # resolve the tiny experiment: every library's defaults meet in one configuration
        tiny = REPO / "libs" / "tad-train" / "examples" / "tiny.yaml"
        resolved = run([bin_dir / "tad-train", "config", tiny, "--set", "head.num_classes=3"], cwd)
        assert "name: tiny" in resolved.stdout and "num_classes: 3" in resolved.stdout


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_installs_from_the_wheelhouse_and_its_command_runs(
    library: str, wheelhouse: Path, tmp_path: Path
) -> None:
    python = fresh_environment(tmp_path, numpy_only=library == "tad-eval")
    pip("install", "-q", "--no-index", "--find-links", wheelhouse, library, target=python, cwd=tmp_path)
    check_installed(python, library, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    run([python.parent / library, "--help"], work)
    run_a_real_command(library, python.parent, work)


def test_a_sibling_is_not_found_without_the_wheelhouse(wheelhouse: Path, tmp_path: Path) -> None:
    """Why the wheelhouse exists: the tad-* names are on no index."""
    python = fresh_environment(tmp_path, numpy_only=False)
    (tad_data,) = wheelhouse.glob("tad_data-*.whl")
    result = pip("install", "--dry-run", "--no-index", tad_data, target=python, cwd=tmp_path, check=False)
    assert result.returncode != 0 and "No matching distribution found for tad-eval" in result.stderr


def impostor_wheel(folder: Path, name: str, version: str) -> Path:
    """A wheel published elsewhere under one of our names, with a higher version."""
    package, dist_info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    files = {
        f"{package}/__init__.py": "raise ImportError('impostor')\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist_info}/RECORD"] = "".join(f"{file},,\n" for file in [*files, f"{dist_info}/RECORD"])
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for file, text in files.items():
            archive.writestr(file, text)
    return path


def test_the_constraints_file_keeps_a_same_named_package_out(wheelhouse: Path, tmp_path: Path) -> None:
    """Another index serving a newer `tad-eval 99.0` wins over the wheelhouse unless constraints.txt pins
    it."""
    python = fresh_environment(tmp_path, numpy_only=True)
    elsewhere = impostor_wheel(tmp_path / "elsewhere", "tad-eval", "99.0").parent

    def chosen(*args: str | Path) -> dict[str, str]:
        common = ["install", "--dry-run", "-q", "--report", "-", "--no-index", "--find-links", wheelhouse]
        report = json.loads(
            pip(*common, "--find-links", elsewhere, *args, target=python, cwd=tmp_path).stdout
        )
        return {item["metadata"]["name"]: item["download_info"]["url"] for item in report["install"]}

    assert chosen("tad-eval")["tad-eval"].endswith("tad_eval-99.0-py3-none-any.whl")
    guarded = chosen("-c", wheelhouse / "constraints.txt", "tad-eval")
    assert guarded["tad-eval"] == (next(wheelhouse.glob("tad_eval-*.whl"))).as_uri()
