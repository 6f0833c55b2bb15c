"""The monorepo's structure: every library is a self-contained distribution, and the dependency graph
points one way (a library imports only what its pyproject declares, never a library that depends on it).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("tad-eval", "tad-data", "tad-backbone", "tad-head", "tad-train")

#: Import names of third-party distributions whose module name differs from the distribution name.
IMPORT_NAME = {"pyyaml": "yaml"}


def pyproject(library: str) -> dict:
    return tomllib.loads((REPO / "libs" / library / "pyproject.toml").read_text())


def imported_top_level_modules(library: str) -> set[str]:
    """Top-level modules imported anywhere in a library's source, lazy imports included."""
    modules: set[str] = set()
    for path in (REPO / "libs" / library / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_is_a_self_contained_distribution(library: str) -> None:
    folder = REPO / "libs" / library
    package = library.replace("-", "_")
    for required in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        f"src/{package}/__init__.py",
        f"src/{package}/py.typed",
    ):
        assert (folder / required).is_file(), f"{library}: {required} missing"
    assert pyproject(library)["project"]["name"] == library
    assert Version(version(library)) >= Version("0.1.0")
    init = (folder / "src" / package / "__init__.py").read_text()
    assert "__all__" in init, f"{library}: __init__.py has no explicit __all__"


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_imports_only_what_it_declares(library: str) -> None:
    declared = {Requirement(text).name for text in pyproject(library)["project"]["dependencies"]}
    importable = {IMPORT_NAME.get(name, name.replace("-", "_")) for name in declared}
    own = library.replace("-", "_")
    undeclared = {
        module
        for module in imported_top_level_modules(library)
        if module not in sys.stdlib_module_names and module != own and module not in importable
    }
    # Optional extras (tad-eval[plot]: matplotlib) are imported only where they are used.
    optional = pyproject(library)["project"].get("optional-dependencies", {})
    extras = {Requirement(text).name for group in optional.values() for text in group}
    assert undeclared - extras == set(), f"{library} imports undeclared {sorted(undeclared - extras)}"


def test_sibling_pins_admit_the_current_versions_and_point_one_way() -> None:
    versions = {library: version(library) for library in LIBRARIES}
    depends_on: dict[str, set[str]] = {}
    for library in LIBRARIES:
        requirements = map(Requirement, pyproject(library)["project"]["dependencies"])
        siblings = [requirement for requirement in requirements if requirement.name in versions]
        for requirement in siblings:
            assert requirement.specifier, f"{library}: {requirement.name} needs a version range"
            assert versions[requirement.name] in requirement.specifier, (
                f"{library} pins {requirement} but {requirement.name} is {versions[requirement.name]}"
            )
        depends_on[library] = {requirement.name for requirement in siblings}
    # tad-eval is the root: numpy only.
    assert [Requirement(t).name for t in pyproject("tad-eval")["project"]["dependencies"]] == ["numpy"]

    # No cycles: a library never depends (directly or not) on one that depends on it.
    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            dep == target or (dep not in seen and reaches(dep, target, seen | {dep}))
            for dep in depends_on[start]
        )

    cycles = [library for library in LIBRARIES if reaches(library, library)]
    assert cycles == []


def test_changelogs_name_the_current_version() -> None:
    for library in LIBRARIES:
        current = version(library)
        changelog = (REPO / "libs" / library / "CHANGELOG.md").read_text()
        heading = re.search(rf"^## {re.escape(current)}\b", changelog, re.MULTILINE)
        assert heading, f"{library}: CHANGELOG.md has no '## {current}' section"


def init_source(library: str) -> ast.Module:
    package = library.replace("-", "_")
    return ast.parse((REPO / "libs" / library / "src" / package / "__init__.py").read_text())


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_public_name_resolves(library: str) -> None:
    module = import_module(library.replace("-", "_"))
    assert len(set(module.__all__)) == len(module.__all__), f"{library}: __all__ lists a name twice"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == [], f"{library}: __all__ names {missing}, which do not resolve"


@pytest.mark.parametrize("library", ["tad-data", "tad-head", "tad-train"])
def test_lazy_exports_are_the_type_checking_imports_and_all(library: str) -> None:
    """A lazy package states each name three times: the table its __getattr__ reads (_MODULE_OF), the
    imports under `if TYPE_CHECKING:` that type checkers and IDEs read, and __all__. They must agree."""
    package = library.replace("-", "_")
    module = import_module(package)
    type_checking_blocks = [
        node
        for node in init_source(library).body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    assert len(type_checking_blocks) == 1, f"{library}: expected one `if TYPE_CHECKING:` block"
    imported: dict[str, str] = {}
    for node in type_checking_blocks[0].body:
        assert isinstance(node, ast.ImportFrom) and node.module, f"{library}: only `from ... import` there"
        for alias in node.names:
            assert alias.asname in (None, alias.name), f"{library}: {alias.name} imported as {alias.asname}"
            imported[alias.name] = node.module
    assert imported == {name: f"{package}.{where}" for name, where in module._MODULE_OF.items()}
    assert set(module.__all__) == {"__version__", *module._MODULE_OF}
    for name, where in module._MODULE_OF.items():
        assert getattr(module, name) is getattr(import_module(f"{package}.{where}"), name)


@pytest.mark.parametrize("library", LIBRARIES)
def test_version_has_one_source(library: str) -> None:
    """The version is a literal in __init__.py, which hatch reads for the metadata (pyproject has none)."""
    package = library.replace("-", "_")
    project = pyproject(library)
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == f"src/{package}/__init__.py"
    literals = [
        node.value.value
        for node in init_source(library).body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
        and isinstance(node.value, ast.Constant)
    ]
    assert len(literals) == 1, f'{library}: __init__.py needs exactly one `__version__ = "X.Y.Z"`'
    assert import_module(package).__version__ == literals[0]
    assert version(library) == literals[0], (
        f"{library}: installed metadata says {version(library)}, __init__.py {literals[0]}: run scripts/setup"
    )


def modules_reached_from_the_package_and_its_commands(library: str) -> tuple[set[str], set[str]]:
    """All modules of a library, and those that importing the package or running a command can load.

    Edges are the library's own imports (relative, absolute, lazy ones inside functions) and the lazy
    tables (`_MODULE_OF`) that a package's __getattr__ imports from.
    """
    package = library.replace("-", "_")
    src = REPO / "libs" / library / "src"
    files = {}
    for path in (src / package).rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    imports: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets.update({module, *(f"{module}.{alias.name}" for alias in node.names)})
            elif isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
                "_MODULE_OF"
            ]:
                targets.update(f"{package}.{module}" for module in ast.literal_eval(node.value).values())
        imports[name] = targets & set(files)
    commands = pyproject(library)["project"].get("scripts", {}).values()
    entry_points = [command.split(":")[0] for command in commands] + [
        m for m in files if m.endswith(".__main__")
    ]
    pending, reached = [package, *entry_points], set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            parents = [".".join(name.split(".")[:depth]) for depth in range(1, name.count(".") + 1)]
            pending += [*parents, *imports.get(name, ())]
    return set(files), reached


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_module_in_a_wheel_is_used_by_the_library(library: str) -> None:
    """Code that only tests or benchmarks use (reference loops, meters) lives in tests/, not in the wheel."""
    modules, reached = modules_reached_from_the_package_and_its_commands(library)
    assert modules - reached == set(), (
        f"{library}: nothing in the library imports {sorted(modules - reached)}"
    )


def siblings_needed(library: str) -> set[str]:
    """The tad-* libraries that installing `library` needs, itself included (from the pyprojects)."""
    needed, pending = set(), [library]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            requirements = map(Requirement, pyproject(name)["project"]["dependencies"])
            pending += [requirement.name for requirement in requirements if requirement.name in LIBRARIES]
    return needed


@pytest.mark.parametrize("library", LIBRARIES)
def test_readme_installs_every_sibling_by_path(library: str) -> None:
    """pip finds no tad-* name on an index, so the README's path install must name each sibling."""
    readme = (REPO / "libs" / library / "README.md").read_text()
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in install.splitlines() if line.startswith("pip install libs/")]
    assert commands, f"{library}: README's Install section has no `pip install libs/...` line"
    named = set(re.findall(r"libs/(tad-[a-z]+)", commands[0]))
    assert named == siblings_needed(library), f"{library}: {commands[0]!r}"
