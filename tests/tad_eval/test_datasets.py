"""The dataset vocabulary: canonical names, aliases accepted on command lines, presets keyed by them."""

from __future__ import annotations

import argparse

import pytest

import tad_eval
from tad_eval import DATASETS, PRESETS, canonical_dataset
from tad_eval.datasets import dataset_argument
from tad_eval.presets import DatasetName


def test_canonical_names_in_the_decided_order():
    assert DATASETS == (
        "thumos14",
        "activitynet13",
        "epic-kitchens-100",
        "ego4d-mq",
        "multithumos",
        "charades",
    )
    assert "DATASETS" in tad_eval.__all__ and "canonical_dataset" in tad_eval.__all__


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("thumos", "thumos14"),
        ("THUMOS14", "thumos14"),
        ("thumos_14", "thumos14"),
        ("anet", "activitynet13"),
        ("ActivityNet", "activitynet13"),
        ("activitynet1.3", "activitynet13"),
        ("ActivityNet-1.3", "activitynet13"),
        ("epic", "epic-kitchens-100"),
        ("EPIC_Kitchens", "epic-kitchens-100"),
        ("epickitchens100", "epic-kitchens-100"),
        ("ego4d", "ego4d-mq"),
        ("Ego4D MQ", "ego4d-mq"),
        ("Multi-THUMOS", "multithumos"),
        ("Charades", "charades"),
    ],
)
def test_aliases_give_the_canonical_name(alias, canonical):
    assert canonical_dataset(alias) == canonical


def test_every_canonical_name_is_its_own_canonical_name():
    assert [canonical_dataset(name) for name in DATASETS] == list(DATASETS)


def test_unknown_name_suggests_the_closest_and_lists_all():
    with pytest.raises(ValueError, match="unknown dataset 'thumos15'; did you mean 'thumos14'.*charades"):
        canonical_dataset("thumos15")
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'; datasets: thumos14, activitynet13"):
        canonical_dataset("kinetics")
    with pytest.raises(argparse.ArgumentTypeError, match="did you mean 'activitynet13'"):
        dataset_argument("activitynet12")


def test_presets_are_keyed_by_the_canonical_names():
    assert tuple(PRESETS) == DATASETS
    assert all(preset.name == name for name, preset in PRESETS.items())
    assert DatasetName.__args__ == DATASETS
