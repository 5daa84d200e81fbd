"""Pseudo labels: the test samples a tuned ensemble is confident about, chosen by a stated rule, and a round's
training data (the base training data plus them, as train-only samples).

Built from predictions only: these functions never see test labels (tests/data/test_pseudo.py shuffles them).
A round's training data is the canonical layout the training stages already read (merged images + COCO,
clips + folds table); pseudo samples carry fold -1, so every fold trains on them and none validates on them
(podium.coverage: fold -1 is train-only), and CV stays comparable with the base pipeline's.

Contract: boxes are `x1, y1, x2, y2` pixels of the test image as stored in data/raw (podium.boxes); labels are
indices into the predictions' class list, which must be the training data's categories in order.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from podium.boxes import ImagePredictions
from podium.errors import PodiumError
from podium.files import read_json, write_json

PSEUDO = "pseudo"  # pseudo samples' folder inside the round's images/ and clips/, and their `source`


class PseudoLabelError(PodiumError, ValueError):
    """Pseudo labels that do not fit the training data they would join."""


def select_images(
    fused: list[ImagePredictions], *, box_thr: float, high: float, min_fraction: float
) -> list[ImagePredictions]:
    """The images to pseudo-label, each with its pseudo boxes: the fused boxes scoring at least `box_thr`; an
    image is kept when more than `min_fraction` of those score above `high` (Global Wheat 9th place: 60% above
    0.75). An image without any such box is skipped: an empty prediction is no evidence of an empty image."""
    kept = []
    for pred in fused:
        boxes = pred.keep(pred.scores >= box_thr)
        if len(boxes.scores) and float(np.mean(boxes.scores > high)) > min_fraction:
            kept.append(boxes)
    return kept


def select_clips(
    fnames: list[str], proba: np.ndarray, classes: list[str], *, threshold: float, max_per_class: int
) -> pd.DataFrame:
    """The clips to pseudo-label (columns fname, label, probability; most confident first): those whose top
    probability in `proba` ((N, C), rows in `fnames` order, columns `classes`) exceeds `threshold`, at most
    `max_per_class` per label (0: no cap), the most confident kept. Ties keep `fnames` order."""
    top = proba.max(1)
    table = pd.DataFrame({"fname": fnames, "label": [classes[i] for i in proba.argmax(1)], "probability": top})
    table = table[table.probability > threshold].sort_values("probability", ascending=False, kind="stable")
    if max_per_class:
        table = table.groupby("label", sort=False).head(max_per_class)
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class Counts:
    """What a round took, for its report."""

    samples: int  # distinct test samples kept
    of: int  # test samples predicted
    per_class: dict[str, int]  # boxes (detection) or clips (audio) per class
    boxes: int = 0  # detection: pseudo boxes in all


def _fold_rows(table: pd.DataFrame, key: str, names: list[str], labels: list[str] | None) -> pd.DataFrame:
    """Folds-table rows for the pseudo samples `names` (their test file names; kept under pseudo/): train-only
    (fold -1), each its own group; other columns empty."""
    rows = pd.DataFrame(
        {key: [f"{PSEUDO}/{n}" for n in names], "source": PSEUDO, "group": [f"{PSEUDO}:{n}" for n in names], "fold": -1}
    )
    if labels is not None:
        rows["label"] = labels
    return rows.reindex(columns=table.columns, fill_value="")


def write_detection_round(
    kept: list[ImagePredictions],
    classes: list[str],
    *,
    repeats: int,
    merged: Path,
    folds: Path,
    test_images: Path,
    out_merged: Path,
    out_folds: Path,
) -> None:
    """The round's detection training data: `merged` (images/, train.json) and the folds table `folds`, copied,
    plus each kept test image (copied from `test_images` into images/pseudo/) entered `repeats` times in
    train.json with its pseudo boxes, and once in the folds table with fold -1."""
    coco = read_json(merged / "train.json")
    names = [c["name"] for c in coco["categories"]]
    if names != classes:
        raise PseudoLabelError(
            f"the predictions' classes {classes} differ from {merged / 'train.json'}'s categories {names}; "
            "rerun the training and prediction stages"
        )
    shutil.copytree(merged / "images", out_merged / "images")
    (out_merged / "images" / PSEUDO).mkdir(exist_ok=True)
    image_id = max((img["id"] for img in coco["images"]), default=0)
    ann_id = max((a["id"] for a in coco["annotations"]), default=0)
    category = {i: c["id"] for i, c in enumerate(coco["categories"])}
    for pred in kept:
        shutil.copy2(test_images / pred.file_name, out_merged / "images" / PSEUDO / pred.file_name)
        for _ in range(repeats):
            image_id += 1
            coco["images"].append(
                {
                    "id": image_id,
                    "file_name": f"{PSEUDO}/{pred.file_name}",
                    "width": pred.width,
                    "height": pred.height,
                    "source": PSEUDO,
                    "group": f"{PSEUDO}:{pred.file_name}",
                }
            )
            for (x1, y1, x2, y2), score, label in zip(
                pred.boxes.tolist(), pred.scores.tolist(), pred.labels.tolist(), strict=True
            ):
                ann_id += 1
                w, h = x2 - x1, y2 - y1
                coco["annotations"].append(
                    {
                        "id": ann_id,
                        "image_id": image_id,
                        "category_id": category[label],
                        "bbox": [x1, y1, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                        "score": score,
                    }
                )
    write_json(out_merged / "train.json", coco)
    table = pd.read_csv(folds)
    rows = _fold_rows(table, "file_name", [p.file_name for p in kept], None)
    out_folds.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([table, rows], ignore_index=True).to_csv(out_folds, index=False)


def write_audio_round(
    kept: pd.DataFrame, *, repeats: int, clips: Path, folds: Path, test_clips: Path, out_clips: Path, out_folds: Path
) -> None:
    """The round's audio training data: the clips folder `clips` and the folds table `folds`, copied, plus each
    kept test clip (`kept`: fname, label; copied from `test_clips` into clips/pseudo/) in the folds table
    `repeats` times with fold -1."""
    shutil.copytree(clips, out_clips)
    (out_clips / PSEUDO).mkdir(exist_ok=True)
    for fname in kept.fname:
        shutil.copy2(test_clips / fname, out_clips / PSEUDO / fname)
    table = pd.read_csv(folds)
    rows = _fold_rows(table, "fname", list(kept.fname) * repeats, list(kept.label) * repeats)
    out_folds.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([table, rows], ignore_index=True).to_csv(out_folds, index=False)


def detection_counts(kept: list[ImagePredictions], classes: list[str], predicted: int) -> Counts:
    labels = np.concatenate([p.labels for p in kept]) if kept else np.zeros(0, np.int64)
    per_class = {c: int((labels == i).sum()) for i, c in enumerate(classes)}
    return Counts(samples=len(kept), of=predicted, per_class=per_class, boxes=int(len(labels)))


def audio_counts(kept: pd.DataFrame, classes: list[str], predicted: int) -> Counts:
    per_class = {c: int((kept.label == c).sum()) for c in classes}
    return Counts(samples=len(kept), of=predicted, per_class=per_class)
