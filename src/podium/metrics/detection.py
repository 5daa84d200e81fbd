"""COCO mAP (the standard protocol: mAP@[.50:.05:.95], 101-point interpolation, maxDets 100) with
faster-coco-eval, a drop-in, faster re-implementation of pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

from podium.boxes import ImagePredictions


def coco_map(ground_truth: dict, predictions: list[ImagePredictions], classes: list[str]) -> dict:
    """{"mAP", "mAP50", "mAP75", "per_class": {class: AP@[.5:.95]}} of `predictions` against the COCO dict
    `ground_truth` (images matched by file_name, classes by name). Images without predictions count as
    predicting nothing; predictions for images not in `ground_truth` are an error."""
    gt_names = {c["id"]: c["name"] for c in ground_truth["categories"]}
    cat_id = {name: i for i, name in gt_names.items()}
    if missing := [c for c in classes if c not in cat_id]:
        raise ValueError(f"prediction classes {missing} are not in the ground truth's {list(cat_id)}")
    image_id = {img["file_name"]: img["id"] for img in ground_truth["images"]}
    detections = []
    for pred in predictions:
        if pred.file_name not in image_id:
            raise ValueError(f"predictions for {pred.file_name}, which is not in the ground truth")
        for (x1, y1, x2, y2), score, label in zip(
            pred.boxes.tolist(), pred.scores.tolist(), pred.labels.tolist(), strict=True
        ):
            detections.append(
                {
                    "image_id": image_id[pred.file_name],
                    "category_id": cat_id[classes[label]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": score,
                }
            )
    gt = {
        **ground_truth,
        "annotations": [
            {**a, "area": a.get("area", a["bbox"][2] * a["bbox"][3]), "iscrowd": a.get("iscrowd", 0), "id": i + 1}
            for i, a in enumerate(ground_truth["annotations"])
        ],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt)
        if not detections:
            return {"mAP": 0.0, "mAP50": 0.0, "mAP75": 0.0, "per_class": {c: 0.0 for c in classes}}
        evaluator = COCOeval_faster(coco_gt, coco_gt.loadRes(detections), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"]  # (iou thresholds, recall points, classes, areas, max dets)
    per_class = {}
    for k, cid in enumerate(evaluator.params.catIds):
        p = precision[:, :, k, 0, -1]
        per_class[gt_names[cid]] = float(p[p > -1].mean()) if (p > -1).any() else float("nan")
    stats = evaluator.stats
    return {
        "mAP": float(max(stats[0], 0)),
        "mAP50": float(max(stats[1], 0)),
        "mAP75": float(max(stats[2], 0)),
        "per_class": {c: per_class.get(c, float("nan")) for c in classes},
    }


def nan_to_none(scores: dict) -> dict:
    """JSON-safe copy: NaN (a class absent from the ground truth) becomes null."""
    return {
        k: nan_to_none(v) if isinstance(v, dict) else (None if isinstance(v, float) and np.isnan(v) else v)
        for k, v in scores.items()
    }


def restrict(truth: dict, file_names) -> dict:
    """COCO `truth` limited to the images named in `file_names` (and their annotations): the ground truth of
    one fold's validation images, or of every validated image."""
    names = set(file_names)
    images = [img for img in truth["images"] if img["file_name"] in names]
    ids = {img["id"] for img in images}
    return {**truth, "images": images, "annotations": [a for a in truth["annotations"] if a["image_id"] in ids]}
