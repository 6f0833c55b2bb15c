"""TEMPORARY shim (replaced by the coherence-libs branch): canonical dataset names."""

DATASETS = ("thumos14", "activitynet13", "epic-kitchens-100", "ego4d-mq", "multithumos", "charades")
_ALIASES = {
    "thumos": "thumos14",
    "anet": "activitynet13",
    "activitynet": "activitynet13",
    "epic": "epic-kitchens-100",
    "ego4d": "ego4d-mq",
}


def canonical_dataset(name: str) -> str:
    key = "".join(c for c in name.lower() if c not in "-_. ")
    table = {"".join(c for c in d if c not in "-_. "): d for d in DATASETS}
    table.update(_ALIASES)
    if key not in table:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return table[key]
