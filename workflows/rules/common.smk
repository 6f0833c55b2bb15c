# Configuration validation and the input functions the rules share.
import shlex

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")


def all_targets():
    """Every result file the configuration asks for."""
    return [f"results/eval/{name}.json" for name in config["evaluations"]]


def evaluation(wildcards):
    """The configuration entry of one evaluation, by the `name` wildcard."""
    return config["evaluations"][wildcards.name]


def evaluation_flags(wildcards):
    """The optional tad-eval flags of one evaluation, as one shell-quoted string."""
    entry = evaluation(wildcards)
    flags = []
    if "subset" in entry:
        flags += ["--subset", entry["subset"]]
    if "tiou" in entry:
        flags += ["--tiou", entry["tiou"]]
    if "blocked" in entry:
        flags += ["--blocked", entry["blocked"]]
    if entry.get("raw_gt", False):
        flags.append("--raw-gt")
    return " ".join(shlex.quote(flag) for flag in flags)
