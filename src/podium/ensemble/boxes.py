"""Fusing several sets of box predictions (models, folds, TTA views) with ensemble-boxes.

The one adapter between podium's predictions (pixels, per-image width/height) and ensemble-boxes (boxes
normalised to [0, 1]) lives here. ensemble-boxes silently clips out-of-range boxes, swaps reversed corners
and divides by the weight sum; podium rejects such input instead, names the image, and handles what the
library does not: zero-weight sets, sets without boxes for an image, images missing from a set.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
from ensemble_boxes import nms, non_maximum_weighted, soft_nms, weighted_boxes_fusion

from podium.boxes import ImagePredictions, PredictionError, box_problem

METHODS: dict[str, Callable] = {
    "wbf": weighted_boxes_fusion,
    "nms": nms,
    "soft_nms": soft_nms,
    "nmw": non_maximum_weighted,
}
CONF_TYPES = ("avg", "max", "box_and_model_avg", "absent_model_aware_avg")  # WBF's, as ensemble-boxes names them


def _normalised(pred: ImagePredictions, where: str) -> np.ndarray:
    """(N, 4) boxes / (width, height), after podium's one box check (`podium.boxes.box_problem`)."""
    if problem := box_problem(pred):
        raise PredictionError(f"{where}: {pred.file_name} has {problem}")
    size = np.array([pred.width, pred.height, pred.width, pred.height], np.float32)
    return np.clip(pred.boxes.reshape(-1, 4) / size, 0.0, 1.0)


def fuse_image(
    preds: list[ImagePredictions],
    weights: list[float],
    *,
    method: str,
    iou_thr: float,
    skip_box_thr: float,
    conf_type: str,
    where: str = "fusion",
) -> ImagePredictions:
    """One image's predictions from several sets fused into one; sets with weight 0 are left out."""
    if method not in METHODS:
        raise ValueError(f"unknown fusion method {method!r}; valid methods are {sorted(METHODS)}")
    if len(preds) != len(weights):
        raise ValueError(f"{len(preds)} prediction sets but {len(weights)} weights")
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ValueError(f"weights must be >= 0 with at least one > 0, got {weights}")
    first = preds[0]
    for p in preds[1:]:
        if (p.file_name, p.width, p.height) != (first.file_name, first.width, first.height):
            raise PredictionError(
                f"{where}: cannot fuse {p.file_name} ({p.width}x{p.height}) with "
                f"{first.file_name} ({first.width}x{first.height})"
            )
    kept = [(p, w) for p, w in zip(preds, weights, strict=True) if w > 0]
    boxes = [_normalised(p, where) for p, _ in kept]
    if sum(len(b) for b in boxes) == 0:
        return ImagePredictions(first.file_name, first.width, first.height, [], [], [], first.fold)
    kw: dict = {"iou_thr": iou_thr, "weights": [w for _, w in kept]}
    if method == "wbf":
        kw.update(skip_box_thr=skip_box_thr, conf_type=conf_type)
    elif method in ("soft_nms", "nmw"):
        kw["thresh" if method == "soft_nms" else "skip_box_thr"] = skip_box_thr
    # ensemble-boxes takes python lists per set; empty sets need shape (0, 4) / (0,)
    fused_boxes, scores, labels = METHODS[method](
        [b.tolist() for b in boxes], [p.scores.tolist() for p, _ in kept], [p.labels.tolist() for p, _ in kept], **kw
    )
    size = np.array([first.width, first.height, first.width, first.height], np.float32)
    return ImagePredictions(
        first.file_name,
        first.width,
        first.height,
        np.asarray(fused_boxes) * size,
        np.clip(scores, 0, 1),
        np.asarray(labels).astype(np.int64),
        first.fold,
    )


def _fuse_one(group: list[ImagePredictions], **kw) -> ImagePredictions:
    return fuse_image(group, **kw)


def fuse_sets(
    sets: list[list[ImagePredictions]], weights: list[float], names: list[str] | None = None, workers: int = 1, **kw
) -> list[ImagePredictions]:
    """Fuse prediction sets image by image (matched by file name, in the first set's order). Every set must
    cover the same images: a missing image is an error naming the set. `workers` > 1 fuses in processes."""
    names = names or [f"set {i}" for i in range(len(sets))]
    index = [{p.file_name: p for p in s} for s in sets]
    order = [p.file_name for p in sets[0]]
    for name, idx in zip(names, index, strict=True):
        if missing := sorted(set(order) - set(idx)):
            raise PredictionError(f"{name}: no predictions for {len(missing)} image(s), e.g. {missing[:3]}")
        if extra := sorted(set(idx) - set(order)):
            raise PredictionError(f"{name}: predictions for {len(extra)} unexpected image(s), e.g. {extra[:3]}")
    groups = [[idx[f] for idx in index] for f in order]
    fuse = partial(_fuse_one, weights=weights, **kw)
    if workers > 1 and len(groups) > 64:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(fuse, groups, chunksize=max(1, len(groups) // (workers * 8))))
    return [fuse(g) for g in groups]


def _rank(scores: np.ndarray) -> np.ndarray:
    """Each score replaced by its rank quantile within the set (ties in input order)."""
    mapped = np.empty_like(scores)
    mapped[scores.argsort(kind="stable")] = (np.arange(len(scores)) + 1) / max(len(scores), 1)
    return mapped


# Score calibration applied to each prediction set before fusion, so models with differently scaled scores
# mix fairly (params: ensemble.box_calibration).
CALIBRATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"none": lambda scores: scores, "rank": _rank}


def rescore(preds: list[ImagePredictions], how: str) -> list[ImagePredictions]:
    """`preds` with every score mapped by the calibration `how` (a key of CALIBRATIONS), over the whole set."""
    if how not in CALIBRATIONS:
        raise ValueError(f"unknown calibration {how!r}; valid: {sorted(CALIBRATIONS)}")
    if how == "none":
        return preds
    scores = np.concatenate([p.scores for p in preds]) if preds else np.zeros(0, np.float32)
    mapped = CALIBRATIONS[how](scores)
    out, start = [], 0
    for p in preds:
        n = len(p.scores)
        out.append(
            ImagePredictions(p.file_name, p.width, p.height, p.boxes, mapped[start : start + n], p.labels, p.fold)
        )
        start += n
    return out


def threshold(preds: list[ImagePredictions], score_thr: float) -> list[ImagePredictions]:
    """Keep only boxes scoring at least `score_thr`."""
    return [p.keep(p.scores >= score_thr) for p in preds]


def fuse_views(sets: list[list[ImagePredictions]], method: str, iou_thr: float) -> list[ImagePredictions]:
    """Test-time-augmentation views of one model (already mapped back to the original image) fused per image
    with equal weights; a single view is returned as predicted."""
    if len(sets) == 1:
        return sets[0]
    names = [f"TTA view {i}" for i in range(len(sets))]
    return fuse_sets(sets, [1.0] * len(sets), names, method=method, iou_thr=iou_thr, skip_box_thr=0.0, conf_type="avg")
