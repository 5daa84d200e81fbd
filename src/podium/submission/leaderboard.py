"""The local leaderboard: scoring submission rows against the test labels the embedded competition keeps
apart (a real competition's are unknown; then there is no local LB)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from PIL import Image

from podium.boxes import ImagePredictions
from podium.metrics.competition import accuracy
from podium.settings import AudioFormat, DetectionFormat
from podium.submission.formats import detection_rows, parse_detection


def image_sizes(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """image_id (file stem) -> (width, height), read from the image headers only."""
    sizes = {}
    for path in paths:
        with Image.open(path) as image:
            sizes[path.stem] = image.size
    return sizes


def detection_score(
    preds: list[ImagePredictions],
    *,
    classes: list[str],
    metric: Callable[[list[ImagePredictions]], float],
    sizes: dict[str, tuple[int, int]],
    fmt: DetectionFormat,
    max_boxes: int,
) -> float:
    """The competition `metric` (podium.metrics.competition.box_metric, built on the test truth with image ids
    as file names) of `preds` exactly as they would be submitted: rounded, capped at `max_boxes`, reparsed."""
    return metric(parse_detection(detection_rows(preds, classes, fmt, max_boxes), classes, sizes, fmt))


def by_stem(truth: dict) -> dict:
    """COCO `truth` with each image's file_name replaced by its stem, the id submission rows carry."""
    return {**truth, "images": [{**img, "file_name": Path(img["file_name"]).stem} for img in truth["images"]]}


def audio_score(table: pd.DataFrame, labels: pd.DataFrame, fmt: AudioFormat) -> float:
    """Accuracy of submission rows against the test labels (podium's layout: fname,label)."""
    truth = labels[["fname", "label"]].rename(columns={"fname": "_id", "label": "_true"})
    merged = table.merge(truth, left_on=fmt.id_column, right_on="_id")
    if len(merged) != len(labels):
        raise ValueError(f"{len(labels) - len(merged)} labelled test clips are missing from the submission")
    return accuracy(merged["_true"], merged[fmt.column])


def leaderboard(candidates: dict[str, dict], score: Callable[[object], float]) -> dict:
    """Every candidate scored (podium.ensemble.tune.box_candidates / vote_candidates):
    {"submission": score, "fold_ensemble": {model: score}, "single": {"<model>-<fold>": score}}."""
    return {
        "submission": score(candidates["submission"]["all"]),
        "fold_ensemble": {m: score(c) for m, c in candidates["fold_ensemble"].items()},
        "single": {name: score(c) for name, c in candidates["single"].items()},
    }
