"""COCO box mAP for the ensemble tuning loop, compiled with numba: the same numbers as `coco_map`
(faster-coco-eval, pycocotools' protocol) for mAP@[.5:.95], mAP@0.5 and mAP@0.75 (area "all", 100 detections
per image and class), in a fraction of the time, because the ground truth is prepared once and a trial's
predictions go in as arrays instead of one dict per box.

The protocol, step for step as pycocotools' COCOeval.evaluateImg/accumulate: per image and class, detections
sorted by score (stable) and cut to 100; greedy matching at each IoU threshold 0.50:0.05:0.95, a detection
taking the unmatched ground-truth box of highest IoU (at least the threshold; the later box on equal IoU);
per class, detections of every image (in image-id order) sorted by score (stable), cumulative TP/FP,
precision made monotone, read at the 101 recall points; classes without ground truth are left out of the
mean. Crowd annotations are not supported here (tuning refuses them; `coco_map` handles them).
tests/metrics/test_coco_fast.py holds it to `coco_map`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from podium.boxes import ImagePredictions

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
MAX_DETS = 100


class CocoScorer:
    """Built once from a COCO ground-truth dict and the prediction classes; `score(predictions)` gives
    {"mAP", "mAP50", "mAP75"} as `coco_map` would."""

    def __init__(self, ground_truth: dict, classes: list[str]):
        if any(a.get("iscrowd", 0) for a in ground_truth["annotations"]):
            raise ValueError("crowd annotations: score with podium.metrics.detection.coco_map instead")
        cat_ids = sorted(c["id"] for c in ground_truth["categories"])
        names = {c["id"]: c["name"] for c in ground_truth["categories"]}
        if missing := [c for c in classes if c not in names.values()]:
            raise ValueError(f"prediction classes {missing} are not in the ground truth's {list(names.values())}")
        self.cat_index = {cid: k for k, cid in enumerate(cat_ids)}
        self.label_to_cat = np.array([self.cat_index[{n: i for i, n in names.items()}[c]] for c in classes])
        images = sorted(ground_truth["images"], key=lambda img: img["id"])
        self.image_index = {img["file_name"]: k for k, img in enumerate(images)}
        by_id = {img["id"]: k for k, img in enumerate(images)}
        anns = ground_truth["annotations"]
        self.n_images, self.n_cats = len(images), len(cat_ids)
        self.gt_image = np.array([by_id[a["image_id"]] for a in anns], np.int64)
        self.gt_cat = np.array([self.cat_index[a["category_id"]] for a in anns], np.int64)
        self.gt_box = np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
        # each (image, class) group's ground truth, in annotation order
        order = np.lexsort((np.arange(len(anns)), self.gt_image, self.gt_cat))
        self.gt_order = order
        key = self.gt_cat[order] * self.n_images + self.gt_image[order]
        self.gt_start = np.searchsorted(key, np.arange(self.n_cats * self.n_images), side="left")
        self.gt_end = np.searchsorted(key, np.arange(self.n_cats * self.n_images), side="right")

    def score(self, predictions: list[ImagePredictions]) -> dict[str, float]:
        n = sum(len(p.scores) for p in predictions)
        image = np.empty(n, np.int64)
        start = 0
        for p in predictions:
            if p.file_name not in self.image_index:
                raise ValueError(f"predictions for {p.file_name}, which is not in the ground truth")
            image[start : start + len(p.scores)] = self.image_index[p.file_name]
            start += len(p.scores)
        if n == 0:
            return {"mAP": 0.0, "mAP50": 0.0, "mAP75": 0.0}
        boxes = np.concatenate([p.boxes.reshape(-1, 4) for p in predictions]).astype(np.float64)
        xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
        scores = np.concatenate([p.scores for p in predictions]).astype(np.float64)
        cats = self.label_to_cat[np.concatenate([p.labels for p in predictions]).astype(np.int64)]
        precision = _precision(
            image, cats, xywh, scores, self.gt_box[self.gt_order], self.gt_start, self.gt_end, self.n_images,
            self.n_cats, IOU_THRESHOLDS, RECALL_POINTS, MAX_DETS,
        )  # fmt: skip

        def mean(p):
            p = p[p > -1]
            return float(p.mean()) if len(p) else 0.0

        return {"mAP": mean(precision), "mAP50": mean(precision[0]), "mAP75": mean(precision[5])}


@njit(cache=True, error_model="numpy")
def _iou(d, g):
    """pycocotools' bbox IoU of [x, y, w, h] boxes (no crowd)."""
    iw = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    if iw <= 0:
        return 0.0
    ih = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (d[2] * d[3] + g[2] * g[3] - inter)


@njit(cache=True, error_model="numpy")
def _precision(
    image, cats, xywh, scores, gt_box, gt_start, gt_end, n_images, n_cats, thresholds, recall_points, max_dets
):
    """(thresholds, recall points, classes) precision, -1 for classes without ground truth."""
    n_t, n_r = len(thresholds), len(recall_points)
    precision = -np.ones((n_t, n_r, n_cats))
    # detections grouped by class, then image, each group by score (stable): evaluateImg's order
    order = np.argsort(-scores, kind="mergesort")
    order = order[np.argsort(image[order], kind="mergesort")]
    order = order[np.argsort(cats[order], kind="mergesort")]
    key = cats[order] * n_images + image[order]
    starts = np.searchsorted(key, np.arange(n_cats * n_images), side="left")
    ends = np.searchsorted(key, np.arange(n_cats * n_images), side="right")
    for k in range(n_cats):
        npig = 0
        for i in range(n_images):
            npig += gt_end[k * n_images + i] - gt_start[k * n_images + i]
        if npig == 0:
            continue
        chunks_s = []
        chunks_m = []
        for i in range(n_images):
            g0, g1 = gt_start[k * n_images + i], gt_end[k * n_images + i]
            d0, d1 = starts[k * n_images + i], ends[k * n_images + i]
            d1 = min(d1, d0 + max_dets)
            nd, ng = d1 - d0, g1 - g0
            if nd == 0:
                continue
            matched = np.zeros((n_t, nd), np.bool_)
            if ng > 0:
                ious = np.empty((nd, ng))
                for a in range(nd):
                    for b in range(ng):
                        ious[a, b] = _iou(xywh[order[d0 + a]], gt_box[g0 + b])
                for t in range(n_t):
                    taken = np.zeros(ng, np.bool_)
                    for a in range(nd):
                        best_iou = min(thresholds[t], 1 - 1e-10)
                        m = -1
                        for b in range(ng):
                            if taken[b]:
                                continue
                            if ious[a, b] < best_iou:
                                continue
                            best_iou = ious[a, b]
                            m = b
                        if m >= 0:
                            taken[m] = True
                            matched[t, a] = True
            s = np.empty(nd)
            for a in range(nd):
                s[a] = scores[order[d0 + a]]
            chunks_s.append(s)
            chunks_m.append(matched)
        total = 0
        for s in chunks_s:
            total += len(s)
        cat_scores = np.empty(total)
        cat_matched = np.empty((n_t, total), np.bool_)
        pos = 0
        for c in range(len(chunks_s)):
            n = len(chunks_s[c])
            cat_scores[pos : pos + n] = chunks_s[c]
            cat_matched[:, pos : pos + n] = chunks_m[c]
            pos += n
        rank = np.argsort(-cat_scores, kind="mergesort")
        eps = np.spacing(1.0)
        for t in range(n_t):
            tp, fp = 0.0, 0.0
            rc = np.empty(total)
            pr = np.empty(total)
            for j in range(total):
                if cat_matched[t, rank[j]]:
                    tp += 1
                else:
                    fp += 1
                rc[j] = tp / npig
                pr[j] = tp / (fp + tp + eps)
            for j in range(total - 1, 0, -1):
                if pr[j] > pr[j - 1]:
                    pr[j - 1] = pr[j]
            found = np.searchsorted(rc, recall_points, side="left")
            for r in range(n_r):
                precision[t, r, k] = pr[found[r]] if found[r] < total else 0.0
    return precision
