"""The result of one experiment: its mAP table beside the official row, and where every number came from.

``results/<experiment>.json`` (the workflow's final target) is assembled from tad-eval's RESULT.json, the
run's ``summary.json`` (written by ``tad-train train`` when training completes, or by
``tad-train import-opentad``) and its resolved ``config.yaml``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tad_eval.errors import InputError, describe_value, parse_number
from tad_eval.files import read_json

__all__ = ["experiment_report", "report_html", "report_table"]


def experiment_report(
    name: str,
    evaluation: str | Path,
    run: str | Path,
    official: Mapping[str, Any] | None = None,
    predictions: str | Path | None = None,
    commit: str | None = None,
) -> dict[str, Any]:
    """The ``results/<name>.json`` document.

    Args:
        name: the experiment.
        evaluation: tad-eval's RESULT.json of the experiment's predictions.
        run: the run folder (``summary.json`` and ``config.yaml``).
        official: the official row: ``{"tiou": [...], "mAP": [...], "average": x}`` in % (``average``
            may be left out; other keys are kept), or None.
        predictions: the predictions file that was evaluated.
        commit: the repository commit the run used.

    Raises:
        InputError: a missing or malformed input, naming the file (``name`` for the official row), the
            field and the value.
    """
    result = _evaluation(read_json(evaluation), evaluation)
    row = None if official is None else _official_row(official, name)
    summary = read_json(Path(run) / "summary.json")
    config = _read_yaml(Path(run) / "config.yaml")
    thresholds, values = result["tiou_thresholds"], [100 * v for v in result["mAP"]]
    document: dict[str, Any] = {
        "experiment": name,
        "dataset": config.get("dataset"),
        "tiou_thresholds": thresholds,
        "mAP": values,
        "average_mAP": 100 * result["average_mAP"],
        "per_class_ap": {label: [100 * v for v in aps] for label, aps in result["per_class"].items()},
        "num_gt": result.get("num_gt"),
        "num_pred": result.get("num_pred"),
        "official": row,
        "difference": None
        if row is None
        else _difference(thresholds, values, 100 * result["average_mAP"], row),
        "provenance": {
            "config": config,
            "config_hash": summary.get("config_hash"),
            "versions": summary.get("versions"),
            "checkpoint": summary.get("checkpoint"),
            "checkpoint_sha256": summary.get("checkpoint_sha256"),
            "source": summary.get("source"),
            "commit": commit,
            "train_seconds": summary.get("train_seconds"),
            "device": summary.get("device"),
            "kind": summary.get("kind"),
            "predictions": None if predictions is None else str(predictions),
            "evaluation": str(evaluation),
            "warnings": result.get("warnings", []),
        },
    }
    return document


def report_table(document: Mapping[str, Any]) -> str:
    """The mAP table of a report as TSV: one row per threshold, then the average; with an official row,
    also its values and the differences."""
    official = document.get("official")
    if not official:
        lines = ["tIoU\tmAP (%)"]
        lines += [
            f"{t:g}\t{v:.2f}" for t, v in zip(document["tiou_thresholds"], document["mAP"], strict=True)
        ]
        lines.append(f"average\t{document['average_mAP']:.2f}")
        return "\n".join(lines) + "\n"
    reference = {f"{t:g}": v for t, v in zip(official["tiou"], official["mAP"], strict=True)}
    lines = ["tIoU\tmAP (%)\tofficial (%)\tdifference"]
    for threshold, value in zip(document["tiou_thresholds"], document["mAP"], strict=True):
        lines.append(_row(f"{threshold:g}", value, reference.get(f"{threshold:g}")))
    lines.append(_row("average", document["average_mAP"], official.get("average")))
    return "\n".join(lines) + "\n"


def report_html(document: Mapping[str, Any]) -> str:
    """The same table as a small HTML page (what the Snakemake report shows)."""
    rows = [line.split("\t") for line in report_table(document).splitlines()]
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows[1:]
    )
    title = html.escape(f"{document['experiment']}: mAP (%) on {document.get('dataset')}")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + title + "</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}</style></head><body>"
        f"<h3>{title}</h3><table><tr>{head}</tr>{body}</table></body></html>\n"
    )


def _row(label: str, value: float, reference: float | None) -> str:
    if reference is None:
        return f"{label}\t{value:.2f}\t\t"
    return f"{label}\t{value:.2f}\t{reference:.2f}\t{value - reference:+.2f}"


def _difference(
    thresholds: list[float], values: list[float], average: float, official: Mapping[str, Any]
) -> dict[str, Any]:
    """This result minus the official row, at the thresholds the official table prints, and on average."""
    ours = dict(zip(thresholds, values, strict=True))
    per_threshold = {}
    for threshold, reference in zip(official["tiou"], official["mAP"], strict=True):
        match = next((t for t in ours if math.isclose(t, threshold, abs_tol=1e-9)), None)
        per_threshold[f"{threshold:g}"] = None if match is None else ours[match] - reference
    reference_average = official["average"]
    return {
        "mAP": per_threshold,
        "average": None if reference_average is None else average - reference_average,
    }


def _evaluation(result: Any, source: str | Path) -> dict[str, Any]:
    """tad-eval's RESULT.json checked: thresholds, mAP and each class's AP of one length, finite numbers."""
    if not isinstance(result, dict):
        raise InputError(
            source, "top level", f"expected a tad-eval RESULT.json object, got {describe_value(result)}"
        )
    for key in ("tiou_thresholds", "mAP", "average_mAP", "per_class"):
        if key not in result:
            raise InputError(source, key, "missing: not a tad-eval RESULT.json")
    thresholds = _thresholds(result["tiou_thresholds"], source, "tiou_thresholds")
    values = _numbers(result["mAP"], source, "mAP", len(thresholds), "tiou_thresholds")
    per_class = result["per_class"]
    if not isinstance(per_class, dict):
        raise InputError(
            source, "per_class", f"expected an object of per-class APs, got {describe_value(per_class)}"
        )
    return {
        **result,
        "tiou_thresholds": thresholds,
        "mAP": values,
        "average_mAP": parse_number(result["average_mAP"], str(source), "average_mAP", finite=True),
        "per_class": {
            label: _numbers(aps, source, f"per_class[{label!r}]", len(thresholds), "tiou_thresholds")
            for label, aps in per_class.items()
        },
    }


def _official_row(official: Any, source: str) -> dict[str, Any]:
    """The official row checked: ``tiou`` and ``mAP`` of one length, finite numbers, an optional average."""
    if not isinstance(official, Mapping):
        raise InputError(
            source,
            "official",
            f'expected {{"tiou": [...], "mAP": [...], "average": x}}, got {describe_value(official)}',
        )
    for key in ("tiou", "mAP"):
        if key not in official:
            raise InputError(
                source, f"official.{key}", 'missing: expected {"tiou": [...], "mAP": [...], "average": x}'
            )
    thresholds = _thresholds(official["tiou"], source, "official.tiou")
    average = official.get("average")
    return {
        **official,
        "tiou": thresholds,
        "mAP": _numbers(official["mAP"], source, "official.mAP", len(thresholds), "official.tiou"),
        "average": None
        if average is None
        else parse_number(average, source, "official.average", finite=True),
    }


def _thresholds(values: Any, source: str | Path, field: str) -> list[float]:
    """tIoU thresholds: finite numbers in (0, 1]."""
    thresholds = _numbers(values, source, field)
    for index, threshold in enumerate(thresholds):
        if not 0 < threshold <= 1:
            raise InputError(
                source, f"{field}[{index}]", f"a tIoU threshold lies in (0, 1], got {threshold!r}"
            )
    return thresholds


def _numbers(
    values: Any, source: str | Path, field: str, length: int | None = None, length_of: str = ""
) -> list[float]:
    """A list of finite numbers; with ``length``, exactly that many (one per entry of ``length_of``)."""
    if not isinstance(values, (list, tuple)):
        raise InputError(source, field, f"expected a list of numbers, got {describe_value(values)}")
    numbers = [
        parse_number(value, str(source), f"{field}[{i}]", finite=True) for i, value in enumerate(values)
    ]
    if length is not None and len(numbers) != length:
        raise InputError(
            source, field, f"{len(numbers)} values for the {length} of {length_of}: {describe_value(values)}"
        )
    return numbers


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(path, "file", error.strerror or str(error)) from None
    except yaml.YAMLError as error:
        raise InputError(path, "file", f"invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise InputError(path, "top level", "expected the resolved configuration (a mapping)")
    return data
