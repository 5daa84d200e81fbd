"""The local leaderboard: scoring submission rows against the test labels the embedded competition keeps
apart (a real competition's are unknown; then there is no local LB)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from PIL import Image

from podium.boxes import ImagePredictions
from podium.metrics.detection import coco_map
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
    truth: dict,
    sizes: dict[str, tuple[int, int]],
    empty: str,
    max_boxes: int,
) -> float:
    """mAP@[.5:.95] of `preds` exactly as they would be submitted (rounded, capped at `max_boxes`)."""
    rows = detection_rows(preds, classes, empty, max_boxes)
    parsed = parse_detection(rows, classes, sizes, empty)
    by_stem = {**truth, "images": [{**img, "file_name": Path(img["file_name"]).stem} for img in truth["images"]]}
    return coco_map(by_stem, parsed, classes)["mAP"]


def audio_score(table: pd.DataFrame, labels: pd.DataFrame) -> float:
    merged = table.merge(labels[["fname", "label"]], on="fname", suffixes=("", "_true"))
    if len(merged) != len(labels):
        raise ValueError(f"{len(labels) - len(merged)} labelled test clips are missing from the submission")
    return float((merged.label == merged.label_true).mean())


def leaderboard(candidates: dict[str, dict], score: Callable[[object], float]) -> dict:
    """Every candidate scored (podium.ensemble.tune.box_candidates / vote_candidates):
    {"submission": score, "fold_ensemble": {model: score}, "single": {"<model>-<fold>": score}}."""
    return {
        "submission": score(candidates["submission"]["all"]),
        "fold_ensemble": {m: score(c) for m, c in candidates["fold_ensemble"].items()},
        "single": {name: score(c) for name, c in candidates["single"].items()},
    }
