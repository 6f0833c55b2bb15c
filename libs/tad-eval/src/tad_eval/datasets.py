"""The dataset vocabulary of every tad-* library: one spelling per dataset, and the facts they share.

Presets (``tad_eval.PRESETS``, tad-head's detector presets, tad-data's converters), workflow files and
experiment files name a dataset by its canonical name from :data:`DATASETS`. Command lines also accept
the usual aliases (``anet``, ``thumos``, ``epic`` ...) and turn them into the canonical name with
:func:`canonical_dataset`; Python functions and preset tables take canonical names only.
"""

from __future__ import annotations

__all__ = ["DATASETS", "THUMOS_AMBIGUOUS", "THUMOS_SPLITS", "canonical_dataset", "dataset_argument"]

#: The canonical dataset names, in this order everywhere they are listed.
DATASETS: tuple[str, ...] = (
    "thumos14",
    "activitynet13",
    "epic-kitchens-100",
    "ego4d-mq",
    "multithumos",
    "charades",
)

#: The THUMOS14 label of instances that are neither action nor background: not a class; the THUMOS
#: protocol leaves them out of training and evaluation.
THUMOS_AMBIGUOUS = "Ambiguous"

#: The splits in the names of the official THUMOS14 annotation files, ``<Class>_<split>.txt``.
THUMOS_SPLITS = ("test", "val", "validation")

#: Other spellings accepted on command lines (compared after `_squash`), by canonical name.
_ALIASES: dict[str, tuple[str, ...]] = {
    "thumos14": ("thumos",),
    "activitynet13": ("anet", "activitynet"),
    "epic-kitchens-100": ("epic", "epickitchens", "epic100"),
    "ego4d-mq": ("ego4d", "ego4dmoments"),
    "multithumos": (),
    "charades": (),
}


def _squash(name: str) -> str:
    """Lower case without ``-``, ``_``, ``.`` and spaces: ``EPIC_Kitchens-100`` -> ``epickitchens100``."""
    return "".join(character for character in name.lower() if character not in "-_. ")


_CANONICAL_OF = {_squash(spelling): name for name in DATASETS for spelling in (name, *_ALIASES[name])}


def canonical_dataset(name: str) -> str:
    """The canonical name of a dataset given by its canonical name or an alias.

    Case, ``-``, ``_``, ``.`` and spaces do not matter: ``THUMOS``, ``thumos_14`` -> ``thumos14``;
    ``anet``, ``ActivityNet-1.3`` -> ``activitynet13``; ``epic``, ``EPIC-KITCHENS`` ->
    ``epic-kitchens-100``; ``ego4d`` -> ``ego4d-mq``.

    Raises:
        ValueError: for an unknown name; the message suggests the closest dataset and lists all.
    """
    canonical = _CANONICAL_OF.get(_squash(name))
    if canonical is not None:
        return canonical
    import difflib  # only for the message

    close = difflib.get_close_matches(_squash(name), _CANONICAL_OF, n=1, cutoff=0.7)
    hint = f"did you mean {_CANONICAL_OF[close[0]]!r}? " if close else ""
    raise ValueError(f"unknown dataset {name!r}; {hint}datasets: {', '.join(DATASETS)}")


def dataset_argument(text: str) -> str:
    """:func:`canonical_dataset` as an argparse ``type=``: an unknown name is a usage error (exit 2)
    whose message suggests the closest dataset."""
    try:
        return canonical_dataset(text)
    except ValueError as error:
        import argparse  # the command lines that use this have imported it already

        raise argparse.ArgumentTypeError(str(error)) from None
