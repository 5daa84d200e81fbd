"""Detections as podium stores them, and the one adapter from mmdet's output.

Contract: boxes are `x1, y1, x2, y2` in pixels of the *original* image (mmdet rescales its predictions
back through `scale_factor`), each image carries its own width and height, labels are indices into the
class list stored beside them, scores are in [0, 1].

File format (JSON): {"classes": [...], "meta": {...}, "images": [{"file_name", "width", "height",
"fold", "boxes": [[x1, y1, x2, y2], ...], "scores": [...], "labels": [...]}]}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podium.errors import PodiumError
from podium.files import read_json, write_json


class PredictionError(PodiumError, ValueError):
    """A predictions file that does not fit what it is used with."""


@dataclass
class ImagePredictions:
    file_name: str
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2, original-image pixels
    scores: np.ndarray  # (N,) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64 class indices
    fold: int = -1  # the fold whose model predicted it (OOF); -1 for test predictions
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.labels = np.asarray(self.labels, np.int64).reshape(-1)
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise PredictionError(f"{self.file_name}: {len(self.boxes)} boxes, {len(self.scores)} scores and "
                                  f"{len(self.labels)} labels")


def from_det_data_sample(sample, file_name: str) -> ImagePredictions:
    """mmdet 3.x `DetDataSample` (predicted with rescale=True) -> ImagePredictions, boxes clipped to the
    image (mmdet can return boxes a fraction of a pixel outside it)."""
    height, width = sample.ori_shape
    inst = sample.pred_instances
    boxes = inst.bboxes.detach().cpu().float().numpy().reshape(-1, 4)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    return ImagePredictions(file_name, int(width), int(height), boxes, inst.scores.detach().cpu().numpy(),
                            inst.labels.detach().cpu().numpy())


def write_predictions(path: str | Path, classes: list[str], images: list[ImagePredictions], meta: dict) -> None:
    write_json(path, {"classes": classes, "meta": meta, "images": [
        {"file_name": p.file_name, "width": p.width, "height": p.height, "fold": p.fold,
         "boxes": np.round(p.boxes, 2).tolist(), "scores": np.round(p.scores, 5).tolist(),
         "labels": p.labels.tolist()} for p in images]})


def read_predictions(path: str | Path) -> tuple[list[str], list[ImagePredictions], dict]:
    """(classes, predictions, meta); checks scores, labels and box order."""
    data = read_json(path)
    try:
        classes, meta = data["classes"], data.get("meta", {})
        images = [ImagePredictions(d["file_name"], d["width"], d["height"], d["boxes"], d["scores"], d["labels"],
                                   d.get("fold", -1)) for d in data["images"]]
    except (KeyError, TypeError) as e:
        raise PredictionError(f"{path}: not a podium predictions file ({e!r}); regenerate it") from e
    for p in images:
        if not np.isfinite(p.scores).all() or not np.isfinite(p.boxes).all():
            raise PredictionError(f"{path}: {p.file_name} has NaN or infinite scores/boxes")
        if len(p.labels) and (p.labels.min() < 0 or p.labels.max() >= len(classes)):
            raise PredictionError(f"{path}: {p.file_name} has labels outside 0..{len(classes) - 1}")
        if (p.boxes[:, 2] < p.boxes[:, 0]).any() or (p.boxes[:, 3] < p.boxes[:, 1]).any():
            raise PredictionError(f"{path}: {p.file_name} has boxes with x2 < x1 or y2 < y1")
    return classes, images, meta
