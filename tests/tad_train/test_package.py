"""tad-train is a skeleton distribution for now: it installs, imports and resolves its siblings."""

from __future__ import annotations

from importlib.metadata import requires, version

import tad_train


def test_version_matches_the_installed_distribution() -> None:
    assert tad_train.__version__ == version("tad-train")


def test_every_sibling_it_composes_is_installed_in_a_version_it_accepts() -> None:
    from packaging.requirements import Requirement

    for text in requires("tad-train") or []:
        requirement = Requirement(text)
        if requirement.name.startswith("tad-"):
            assert version(requirement.name) in requirement.specifier, requirement
