"""Fusing several sets of box predictions (models, folds, TTA views): WBF, NMS, soft-NMS, NMW.

The fusion itself is podium.ensemble.fusion (compiled, ensemble-boxes' semantics); this is the one adapter
between podium's predictions (pixels, per-image width/height) and it (boxes normalised to [0, 1]).
ensemble-boxes silently clips out-of-range boxes, swaps reversed corners and divides by the weight sum;
podium rejects such input instead, names the image, and handles what the library does not: zero-weight sets,
sets without boxes for an image, images missing from a set. `PreparedSets` does the checks and the
normalisation once, so that a tuning loop fuses the same sets under many settings at the cost of fusion alone.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np

from podium.boxes import ImagePredictions, PredictionError, box_problem
from podium.ensemble.fusion import nms, non_maximum_weighted, soft_nms, weighted_boxes_fusion

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


def _check_args(method: str, n_sets: int, weights: list[float]) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown fusion method {method!r}; valid methods are {sorted(METHODS)}")
    if n_sets != len(weights):
        raise ValueError(f"{n_sets} prediction sets but {len(weights)} weights")
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ValueError(f"weights must be >= 0 with at least one > 0, got {weights}")


def _fuse_arrays(
    boxes: list[np.ndarray], scores: list[np.ndarray], labels: list[np.ndarray], weights: list[float], *,
    method: str, iou_thr: float, skip_box_thr: float, conf_type: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One image's normalised sets (weights > 0) fused: (boxes in [0, 1], scores clipped to [0, 1], labels)."""
    if sum(len(s) for s in scores) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    kw: dict = {"iou_thr": iou_thr, "weights": weights}
    if method == "wbf":
        kw.update(skip_box_thr=skip_box_thr, conf_type=conf_type)
    elif method in ("soft_nms", "nmw"):
        kw["thresh" if method == "soft_nms" else "skip_box_thr"] = skip_box_thr
    fused_boxes, fused_scores, fused_labels = METHODS[method](boxes, scores, labels, **kw)
    return fused_boxes, np.clip(fused_scores, 0, 1), np.asarray(fused_labels).astype(np.int64)


def _denormalised(first: ImagePredictions, fused: tuple[np.ndarray, np.ndarray, np.ndarray]) -> ImagePredictions:
    size = np.array([first.width, first.height, first.width, first.height], np.float32)
    boxes, scores, labels = fused
    return ImagePredictions(first.file_name, first.width, first.height, boxes * size, scores, labels, first.fold)


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
    _check_args(method, len(preds), weights)
    first = preds[0]
    for p in preds[1:]:
        if (p.file_name, p.width, p.height) != (first.file_name, first.width, first.height):
            raise PredictionError(
                f"{where}: cannot fuse {p.file_name} ({p.width}x{p.height}) with "
                f"{first.file_name} ({first.width}x{first.height})"
            )
    kept = [(p, w) for p, w in zip(preds, weights, strict=True) if w > 0]
    fused = _fuse_arrays(
        [_normalised(p, where) for p, _ in kept], [p.scores for p, _ in kept], [p.labels for p, _ in kept],
        [w for _, w in kept], method=method, iou_thr=iou_thr, skip_box_thr=skip_box_thr, conf_type=conf_type,
    )  # fmt: skip
    return _denormalised(first, fused)


class PreparedSets:
    """Prediction sets matched image by image (by file name, in the first set's order), checked and normalised
    once. Every set must cover the same images: a missing or unexpected image is an error naming the set."""

    def __init__(self, sets: list[list[ImagePredictions]], names: list[str] | None = None, where: str = "fusion"):
        names = names or [f"set {i}" for i in range(len(sets))]
        index = [{p.file_name: p for p in s} for s in sets]
        order = [p.file_name for p in sets[0]]
        for name, idx in zip(names, index, strict=True):
            if missing := sorted(set(order) - set(idx)):
                raise PredictionError(f"{name}: no predictions for {len(missing)} image(s), e.g. {missing[:3]}")
            if extra := sorted(set(idx) - set(order)):
                raise PredictionError(f"{name}: predictions for {len(extra)} unexpected image(s), e.g. {extra[:3]}")
        self.n_sets = len(sets)
        self.images: list[ImagePredictions] = []  # each image's first prediction: its name, size and fold
        self.boxes: list[list[np.ndarray]] = []  # [image][set] normalised boxes
        self.scores: list[list[np.ndarray]] = []
        self.labels: list[list[np.ndarray]] = []
        for f in order:
            group = [idx[f] for idx in index]
            first = group[0]
            for p in group[1:]:
                if (p.width, p.height) != (first.width, first.height):
                    raise PredictionError(
                        f"{where}: cannot fuse {f} ({p.width}x{p.height}) with {f} ({first.width}x{first.height})"
                    )
            self.images.append(first)
            self.boxes.append([_normalised(p, where) for p in group])
            self.scores.append([np.asarray(p.scores) for p in group])
            self.labels.append([np.asarray(p.labels) for p in group])

    def fuse(self, weights: list[float], workers: int = 1, **kw) -> list[ImagePredictions]:
        """Every image fused with `weights` (one per set; 0 leaves a set out) and the method's knobs (`method`,
        `iou_thr`, `skip_box_thr`, `conf_type`); `workers` > 1 fuses in processes."""
        _check_args(kw["method"], self.n_sets, weights)
        kept = [i for i, w in enumerate(weights) if w > 0]
        jobs = [
            ([b[i] for i in kept], [s[i] for i in kept], [lab[i] for i in kept])
            for b, s, lab in zip(self.boxes, self.scores, self.labels, strict=True)
        ]
        fuse = partial(_fuse_job, weights=[weights[i] for i in kept], **kw)
        if workers > 1 and len(jobs) > 64:
            with ProcessPoolExecutor(workers) as pool:
                fused = list(pool.map(fuse, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
        else:
            fused = [fuse(job) for job in jobs]
        return [_denormalised(first, f) for first, f in zip(self.images, fused, strict=True)]


def _fuse_job(job, **kw):
    return _fuse_arrays(*job, **kw)


def fuse_sets(
    sets: list[list[ImagePredictions]], weights: list[float], names: list[str] | None = None, workers: int = 1, **kw
) -> list[ImagePredictions]:
    """Fuse prediction sets image by image (see PreparedSets; `kw`: method, iou_thr, skip_box_thr,
    conf_type). `workers` > 1 fuses in processes."""
    return PreparedSets(sets, names).fuse(weights, workers, **kw)


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
