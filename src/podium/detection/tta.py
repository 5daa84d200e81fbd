"""Test-time augmentation for detectors: predict each view, map its boxes back to the original image,
fuse the views per image (WBF by default; NMS as mmdet's own TTA does).

Views: "original", "hflip", "vflip", each at every scale in `scales` (multipliers of the training image
size). The same function serves OOF and test images, so ensembles are tuned on OOF exactly as applied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mmcv
import numpy as np
import torch

from podium.detection.predictions import ImagePredictions, PredictionError, from_det_data_sample
from podium.ensemble.boxes import fuse_sets

VIEWS = ("original", "hflip", "vflip")


def unflip(pred: ImagePredictions, view: str) -> ImagePredictions:
    """Boxes predicted on a flipped image -> boxes on the original image."""
    boxes = pred.boxes.copy()
    if view == "hflip":
        boxes[:, [0, 2]] = pred.width - pred.boxes[:, [2, 0]]
    elif view == "vflip":
        boxes[:, [1, 3]] = pred.height - pred.boxes[:, [3, 1]]
    elif view != "original":
        raise ValueError(f"unknown TTA view {view!r}; valid views are {list(VIEWS)}")
    return ImagePredictions(pred.file_name, pred.width, pred.height, boxes, pred.scores, pred.labels, pred.fold)


def _pipeline(model: torch.nn.Module, scale: float):
    from mmcv.transforms import Compose

    steps = []
    for step in model.cfg.test_dataloader.dataset.pipeline:
        step = dict(step)
        if step["type"] == "LoadAnnotations":
            continue
        if step["type"] == "LoadImageFromFile":
            step = dict(type="mmdet.LoadImageFromNDArray")
        if step["type"] == "Resize":
            step["scale"] = tuple(round(s * scale) for s in step["scale"])
        steps.append(step)
    return Compose(steps)


def read_image(path: Path) -> np.ndarray:
    if not Path(path).is_file():
        raise PredictionError(f"{path}: image not found")
    image = mmcv.imread(str(path))  # BGR, as mmdet's LoadImageFromFile
    if image is None:
        raise PredictionError(f"{path}: unreadable image; re-export it or remove it")
    return image


@torch.no_grad()
def predict_view(model: torch.nn.Module, paths: list[Path], view: str, scale: float, batch_size: int,
                 progress: Callable[[int], None] | None = None) -> list[ImagePredictions]:
    """One view of every image, boxes mapped back to original-image pixels."""
    from mmengine.dataset import pseudo_collate

    pipeline = _pipeline(model, scale)
    out = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        batch = []
        for i, path in enumerate(chunk):
            image = read_image(path)
            if view == "hflip":
                image = np.ascontiguousarray(image[:, ::-1])
            elif view == "vflip":
                image = np.ascontiguousarray(image[::-1])
            batch.append(pipeline(dict(img=image, img_id=start + i, img_path=str(path))))
        samples = model.test_step(pseudo_collate(batch))
        out.extend(unflip(from_det_data_sample(s, Path(p).name), view) for s, p in zip(samples, chunk, strict=True))
        if progress:
            progress(len(chunk))
    return out


def predict_tta(model: torch.nn.Module, paths: list[Path], views: list[str], scales: list[float], batch_size: int,
                merge: str = "wbf", iou_thr: float = 0.55, progress: Callable[[int], None] | None = None,
                ) -> list[ImagePredictions]:
    """Every (view, scale) predicted and fused per image with `merge` (wbf or nms), equal weights. A single
    view is returned as predicted."""
    if unknown := sorted(set(views) - set(VIEWS)):
        raise ValueError(f"unknown TTA view(s) {unknown}; valid views are {list(VIEWS)}")
    sets = [predict_view(model, paths, view, scale, batch_size, progress) for view in views for scale in scales]
    if len(sets) == 1:
        return sets[0]
    return fuse_sets(sets, [1.0] * len(sets), method=merge, iou_thr=iou_thr, skip_box_thr=0.0, conf_type="avg")
