"""Fixtures for tad-eval tests: writers for ground-truth and prediction files in the official layouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Write ``payload`` as JSON to ``tmp_path / name`` and return the path."""

    def write(name: str, payload: Any) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    return write


@pytest.fixture
def anet_gt(write_json: Callable[[str, Any], Path]) -> Callable[..., Path]:
    """Write an ActivityNet-layout ground-truth file from ``{video: [(start, end, label), ...]}``."""

    def write(
        videos: dict[str, list[tuple[Any, Any, str]]], subset: str = "validation", name: str = "gt.json"
    ) -> Path:
        database = {
            video: {
                "subset": subset,
                "duration": 100.0,
                "annotations": [
                    {"segment": [start, end], "label": label} for start, end, label in annotations
                ],
            }
            for video, annotations in videos.items()
        }
        return write_json(name, {"version": "VERSION 1.3", "taxonomy": [], "database": database})

    return write


@pytest.fixture
def pred_json(write_json: Callable[[str, Any], Path]) -> Callable[..., Path]:
    """Write a prediction file from ``{video: [(start, end, label, score), ...]}``."""

    def write(videos: dict[str, list[tuple[Any, Any, Any, Any]]], name: str = "pred.json") -> Path:
        results = {
            video: [
                {"segment": [start, end], "label": label, "score": score}
                for start, end, label, score in items
            ]
            for video, items in videos.items()
        }
        return write_json(name, {"version": "VERSION 1.3", "results": results, "external_data": {}})

    return write
