"""Detections as podium stores and passes them around: the neutral type below detection, ensemble, metrics
and submission (none of which it imports), its file I/O, its one set of sanity checks, and the OOF join.

Contract: boxes are `x1, y1, x2, y2` in pixels of the *original* image, each image carries its own width and
height, labels are indices into the class list stored beside them, scores are in [0, 1].

File format (JSON): {"classes": [...], "meta": {...}, "images": [{"file_name", "width", "height",
"fold", "boxes": [[x1, y1, x2, y2], ...], "scores": [...], "labels": [...]}]}.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from podium.coverage import check_coverage, validation_folds
from podium.errors import PredictionError
from podium.files import fold_dir, read_json, write_json

__all__ = [
    "ImagePredictions",
    "PredictionError",
    "box_problem",
    "check_boxes",
    "join_oof",
    "read_fold_predictions",
    "read_model_oof",
    "read_model_sets",
    "read_predictions",
    "write_predictions",
]

BOX_SLACK = 1.0  # px: boxes may reach this far outside their image (mmdet rounds a hair past the border)


@dataclass
class ImagePredictions:
    file_name: str
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2, original-image pixels
    scores: np.ndarray  # (N,) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64 class indices
    fold: int = -1  # the fold whose model predicted it (OOF); -1 for test predictions

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.labels = np.asarray(self.labels, np.int64).reshape(-1)
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise PredictionError(
                f"{self.file_name}: {len(self.boxes)} boxes, {len(self.scores)} scores and {len(self.labels)} labels"
            )

    def keep(self, mask: np.ndarray) -> ImagePredictions:
        """The same image with only the boxes where `mask` is true."""
        return ImagePredictions(
            self.file_name, self.width, self.height, self.boxes[mask], self.scores[mask], self.labels[mask], self.fold
        )


def box_problem(pred: ImagePredictions, num_classes: int | None = None, slack: float = BOX_SLACK) -> str | None:
    """What is wrong with one image's predictions, or None: non-finite values, scores outside [0, 1], labels
    outside the class list, reversed corners, boxes outside the image by more than `slack` px (submission
    rows: 0). The one box check: files read, fusion input and submission rows all go through it."""
    if not np.isfinite(pred.scores).all() or not np.isfinite(pred.boxes).all():
        return "NaN or infinite scores/boxes"
    if ((pred.scores < 0) | (pred.scores > 1)).any():
        return "scores outside [0, 1]"
    if num_classes is not None and len(pred.labels) and (pred.labels.min() < 0 or pred.labels.max() >= num_classes):
        return f"labels outside 0..{num_classes - 1}"
    boxes = pred.boxes
    if ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any():
        return "boxes with x2 < x1 or y2 < y1"
    if pred.width > 0 and len(boxes):
        size = np.array([pred.width, pred.height, pred.width, pred.height], np.float32)
        outside = ((boxes < -slack) | (boxes > size + slack)).any(1)
        if outside.any():
            return f"box {boxes[outside][0].tolist()} outside its {pred.width}x{pred.height} image"
    return None


def check_boxes(preds: list[ImagePredictions], where: str, num_classes: int | None = None) -> None:
    """Raise PredictionError naming `where` and the first image whose predictions `box_problem` rejects."""
    for p in preds:
        if problem := box_problem(p, num_classes):
            raise PredictionError(f"{where}: {p.file_name} has {problem}")


def write_predictions(path: str | Path, classes: list[str], images: list[ImagePredictions], meta: dict) -> None:
    write_json(
        path,
        {
            "classes": classes,
            "meta": meta,
            "images": [
                {
                    "file_name": p.file_name,
                    "width": p.width,
                    "height": p.height,
                    "fold": p.fold,
                    "boxes": np.round(p.boxes, 2).tolist(),
                    "scores": np.round(p.scores, 5).tolist(),
                    "labels": p.labels.tolist(),
                }
                for p in images
            ],
        },
    )


def read_predictions(path: str | Path) -> tuple[list[str], list[ImagePredictions], dict]:
    """(classes, predictions, meta), checked by `check_boxes`."""
    data = read_json(path)
    try:
        classes, meta = data["classes"], data.get("meta", {})
        images = [
            ImagePredictions(
                d["file_name"], d["width"], d["height"], d["boxes"], d["scores"], d["labels"], d.get("fold", -1)
            )
            for d in data["images"]
        ]
    except (KeyError, TypeError) as e:
        raise PredictionError(f"{path}: not a podium predictions file ({e!r}); regenerate it") from e
    check_boxes(images, str(path), len(classes))
    return classes, images, meta


def read_fold_predictions(path: Path, model: str, fold: int, stage: str) -> tuple[list[str], list[ImagePredictions]]:
    """(classes, predictions) of a file that must have been made by `model`'s fold `fold`; `stage` names the
    dvc.yaml stage that remakes it."""
    if not path.exists():
        raise PredictionError(f"{path}: missing; run {stage}@{model}-{fold}")
    classes, preds, meta = read_predictions(path)
    if (meta.get("model"), meta.get("fold")) != (model, fold):
        raise PredictionError(
            f"{path}: made by {meta.get('model')} fold {meta.get('fold')}, not {model} fold "
            f"{fold}; rerun {stage}@{model}-{fold}"
        )
    return classes, preds


def join_oof(
    parts: dict[int, tuple[list[str], list[ImagePredictions]]], folds: pd.DataFrame, where: str
) -> tuple[list[str], list[ImagePredictions]]:
    """(classes, predictions) of all folds; every image with a validation fold (folds: file_name, fold) must
    be predicted exactly once, by the model of its own fold."""
    expected = validation_folds(folds)
    if missing := sorted(set(expected) - set(parts)):
        raise PredictionError(f"{where}: no OOF predictions for fold(s) {missing}; train them first")
    class_lists = {tuple(classes) for classes, _ in parts.values()}
    if len(class_lists) > 1:
        raise PredictionError(f"{where}: folds were trained on different class lists {class_lists}")
    joined = [p for k in expected for p in parts[k][1]]
    want = dict(zip(folds.file_name[folds.fold >= 0], folds.fold[folds.fold >= 0], strict=True))
    check_coverage([(p.file_name, p.fold) for p in joined], want, where, PredictionError)
    return list(next(iter(class_lists))), joined


def read_model_sets(
    root: Path,
    models: list[str],
    folds: list[int],
    name: str,
) -> tuple[list[str], dict[str, list[list[ImagePredictions]]]]:
    """(classes, {model: [fold 0 set, fold 1 set, ...]}) of predict_detector's `name` (oof or test) files under
    `root` (predictions/): detection/<model>/fold<k>/<name>.json."""
    classes, sets = None, {}
    for model in models:
        sets[model] = []
        for fold in folds:
            path = fold_dir(root / "detection" / model, fold) / f"{name}.json"
            cls, preds = read_fold_predictions(path, model, fold, "predict_detector")
            if classes is not None and cls != classes:
                raise PredictionError(f"{path}: classes {cls} differ from the other models' {classes}")
            classes = cls
            sets[model].append(preds)
    return classes, sets


def read_model_oof(
    root: Path,
    models: list[str],
    folds_table: pd.DataFrame,
) -> tuple[list[str], dict[str, list[ImagePredictions]]]:
    """(classes, {model: its folds' OOF predictions joined, each validated image exactly once})."""
    folds = validation_folds(folds_table)
    classes, sets = read_model_sets(root, models, folds, "oof")
    joined = {}
    for model, per_fold in sets.items():
        _, joined[model] = join_oof(
            {k: (classes, s) for k, s in zip(folds, per_fold, strict=True)},
            folds_table,
            where=str(root / "detection" / model),
        )
    return classes, joined
