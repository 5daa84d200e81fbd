"""The competitions' own box metrics, compiled, behind one interface: `box_metric(name, truth, classes)` gives a
function from predictions to the competition's score, what CV, OOF ensemble tuning and the local leaderboard
all call.

- `coco_map`: COCO mAP@[.50:.05:.95] (podium.metrics.coco_fast; the embedded competition's).
- `wheat_precision` (Global Wheat Detection): per image, the mean over IoU thresholds 0.50:0.05:0.75 of
  TP / (TP + FP + FN), predictions matched in descending score order each to the unmatched truth box of highest
  IoU *greater than* the threshold (the Evaluation page: "a predicted object is considered a 'hit' if its
  intersection over union with a ground truth object is greater than 0.5"; pestipeti's reference kernel counts
  an IoU equal to the threshold, podium follows the page); the score is the mean over images. The page: "if
  there are no ground truth objects at all for a given image, ANY number of predictions (false positives) will
  result in the image receiving a score of zero, and being included in the mean average precision". An image
  with no truth *and* no prediction is 0/0 there (the reference code divides by zero); that sentence, which
  names predictions as what puts such an image in the mean, reads as: without predictions it is left out.
  `empty_images` chooses: `excluded` (that reading, params' default) or `one` (a perfect answer counts 1).
  The reference kernel (pestipeti, "Competition metric details + script") computes IoU with a "+1 pixel"
  width; the published test of amirassov/kaggle-global-wheat-detection (tests/test_evaluation.py) does not:
  `plus_one` chooses, off by default (continuous coordinates, as COCO).
- An image-level "no finding" class (VinBigData's class 14 "No finding", `no_finding` names it): the competition
  scores it as a class whose truth is the box 0 0 1 1 on every image without a finding, and a submission
  predicts it on every image with a `14 <p> 0 0 1 1` group. podium's groups come from `with_no_finding`:
  p = 1 - the image's highest finding score (1 when it has none); `box_metric` adds that class's truth and
  scores every image's predictions with their group (a prediction of that class is replaced by it), so CV,
  tuning, the training's best epoch and the local leaderboard score what the submission carries.
- `voc_map` (VinBigData, at IoU 0.4): PASCAL VOC 2010 mAP: per class, detections of every image in descending
  score order, a hit when the best IoU with that image's boxes of the class is *above* the threshold and that box
  is not taken yet (else a false positive), all-point interpolated AP (py-faster-rcnn's `voc_ap`); the mean
  over the classes that have truth boxes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from podium.boxes import ImagePredictions

BOX_METRICS = ("coco_map", "wheat_precision", "voc_map")
EMPTY_IMAGES = {"excluded": np.nan, "one": 1.0}  # wheat_precision's score of an image with no truth, no prediction
WHEAT_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


NO_FINDING_BOX = (0.0, 0.0, 1.0, 1.0)  # x1, y1, x2, y2 of the no-finding class, in any image's pixels


def with_no_finding(preds: list[ImagePredictions], label: int) -> list[ImagePredictions]:
    """Each image's predictions with the no-finding class `label` as one box NO_FINDING_BOX scored 1 - the
    image's highest other score (1 without boxes), last; a box of that class already there is replaced."""
    out = []
    for p in preds:
        findings = p.keep(p.labels != label)
        score = 1.0 - float(findings.scores.max()) if len(findings.scores) else 1.0
        out.append(
            ImagePredictions(
                p.file_name,
                p.width,
                p.height,
                np.vstack([findings.boxes, np.array([NO_FINDING_BOX], np.float32)]),
                np.append(findings.scores, np.float32(score)),
                np.append(findings.labels, label),
                p.fold,
            )
        )
    return out


def _with_no_finding_truth(truth: dict, name: str) -> dict:
    """`truth` with a NO_FINDING_BOX of class `name` on every image that has no other box."""
    category = next((c["id"] for c in truth["categories"] if c["name"] == name), None)
    if category is None:
        raise ValueError(f"the no-finding class {name!r} is not among the ground truth's categories")
    boxed = {a["image_id"] for a in truth["annotations"] if a["category_id"] != category}
    x1, y1, x2, y2 = NO_FINDING_BOX
    kept = [a for a in truth["annotations"] if a["category_id"] != category]
    added = [
        {"image_id": img["id"], "category_id": category, "bbox": [x1, y1, x2 - x1, y2 - y1]}
        for img in truth["images"]
        if img["id"] not in boxed
    ]
    return {**truth, "annotations": kept + added}


def box_metric(
    name: str,
    truth: dict,
    classes: list[str],
    *,
    iou_thr: float,
    empty_images: str,
    no_finding: str,
    plus_one: bool = False,
) -> Callable[[list[ImagePredictions]], float]:
    """The competition metric `name` (BOX_METRICS) of predictions against the COCO dict `truth` (images matched
    by file_name, classes by name); images without predictions predict nothing. `iou_thr`: voc_map's threshold;
    `empty_images` (excluded | one): how wheat_precision counts an image with neither truth nor prediction;
    `no_finding`: the image-level class scored as the competition does (above; "" for none). Built once,
    called per trial."""
    if no_finding:
        if no_finding not in classes:
            raise ValueError(f"the no-finding class {no_finding!r} is not in the class list {classes}")
        label = classes.index(no_finding)
        inner = box_metric(
            name, _with_no_finding_truth(truth, no_finding), classes, iou_thr=iou_thr, empty_images=empty_images,
            no_finding="", plus_one=plus_one,
        )  # fmt: skip
        images = [(img["file_name"], img.get("width", 0), img.get("height", 0)) for img in truth["images"]]

        def score(preds: list[ImagePredictions]) -> float:
            seen = {p.file_name for p in preds}  # an image without predictions still gets its group (p = 1)
            nothing = [ImagePredictions(f, w, h, [], [], []) for f, w, h in images if f not in seen]
            return inner(with_no_finding([*preds, *nothing], label))

        return score
    if name == "coco_map":
        from podium.metrics.coco_fast import CocoScorer
        from podium.metrics.detection import coco_map

        if any(a.get("iscrowd", 0) for a in truth["annotations"]):
            return lambda preds: coco_map(truth, preds, classes)["mAP"]
        scorer = CocoScorer(truth, classes)
        return lambda preds: scorer.score(preds)["mAP"]
    if name == "wheat_precision":
        if empty_images not in EMPTY_IMAGES:
            raise ValueError(f"empty_images is {empty_images!r}; podium has {list(EMPTY_IMAGES)}")
        matched = _Matched(truth, classes, plus_one)
        return lambda preds: matched.wheat(preds, EMPTY_IMAGES[empty_images])
    if name == "voc_map":
        matched = _Matched(truth, classes, plus_one)
        return lambda preds: matched.voc(preds, iou_thr)
    raise ValueError(f"unknown box metric {name!r}; podium has {list(BOX_METRICS)}")


class _Matched:
    """Truth laid out once per (image, class): boxes x1,y1,x2,y2 in one array with offsets."""

    def __init__(self, truth: dict, classes: list[str], plus_one: bool):
        names = {c["id"]: c["name"] for c in truth["categories"]}
        if missing := [c for c in classes if c not in names.values()]:
            raise ValueError(f"prediction classes {missing} are not in the ground truth's {list(names.values())}")
        label_of = {cid: classes.index(n) for cid, n in names.items() if n in classes}
        self.plus_one = plus_one
        self.n_classes = len(classes)
        self.image_index = {img["file_name"]: k for k, img in enumerate(truth["images"])}
        by_id = {img["id"]: k for k, img in enumerate(truth["images"])}
        anns = [a for a in truth["annotations"] if a["category_id"] in label_of]
        image = np.array([by_id[a["image_id"]] for a in anns], np.int64)
        label = np.array([label_of[a["category_id"]] for a in anns], np.int64)
        xywh = np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
        order = np.lexsort((np.arange(len(anns)), label, image))  # by image, then class, then annotation order
        self.gt = np.hstack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]])[order]
        self.gt_label = label[order]
        key = image[order] * self.n_classes + label[order]
        cells = np.arange(len(self.image_index) * self.n_classes + 1)
        self.gt_start = np.searchsorted(key, cells, side="left")
        self.npos = np.bincount(label, minlength=self.n_classes)

    def _layout(self, preds: list[ImagePredictions]):
        """Predictions grouped like the truth (image, class), each group in descending score order (ties: input
        order), with their (image, class) cell."""
        boxes, scores, cells = [], [], []
        for p in preds:
            if p.file_name not in self.image_index:
                raise ValueError(f"predictions for {p.file_name}, which is not in the ground truth")
            boxes.append(np.asarray(p.boxes, np.float64).reshape(-1, 4))
            scores.append(np.asarray(p.scores, np.float64))
            cells.append(self.image_index[p.file_name] * self.n_classes + np.asarray(p.labels, np.int64))
        if not boxes:
            return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
        boxes, scores, cells = np.concatenate(boxes), np.concatenate(scores), np.concatenate(cells)
        order = np.lexsort((-scores, cells))  # stable: equal scores keep input order
        return boxes[order], scores[order], cells[order]

    def wheat(self, preds: list[ImagePredictions], empty: float) -> float:
        """The mean over images; an image with neither truth nor prediction scores `empty` (NaN: left out)."""
        if self.n_classes != 1:
            raise ValueError(f"wheat_precision scores one class; these predictions have {self.n_classes}")
        boxes, _, cells = self._layout(preds)
        starts = np.searchsorted(cells, np.arange(len(self.image_index) + 1), side="left")
        per_image = _wheat_images(
            boxes, starts, self.gt, self.gt_start, np.array(WHEAT_THRESHOLDS), 1.0 if self.plus_one else 0.0, empty
        )
        counted = per_image[~np.isnan(per_image)]
        return float(counted.mean()) if len(counted) else 0.0

    def voc(self, preds: list[ImagePredictions], iou_thr: float) -> float:
        boxes, scores, cells = self._layout(preds)
        aps = [
            _voc_class(boxes, scores, cells, self.gt, self.gt_start, self.n_classes, c, iou_thr, float(self.plus_one))
            for c in range(self.n_classes)
            if self.npos[c]
        ]
        return float(np.mean(aps)) if aps else 0.0


@njit(cache=True, error_model="numpy")
def _iou(a, b, one):
    w = min(a[2], b[2]) - max(a[0], b[0]) + one
    h = min(a[3], b[3]) - max(a[1], b[1]) + one
    if w <= 0.0 or h <= 0.0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0] + one) * (a[3] - a[1] + one) + (b[2] - b[0] + one) * (b[3] - b[1] + one) - inter)


@njit(cache=True, error_model="numpy")
def _wheat_images(boxes, starts, gt, gt_start, thresholds, one, empty):
    """Each image's mean over `thresholds` of TP / (TP + FP + FN), a match needing IoU > threshold; `empty`
    for an image with neither truth nor predictions. `boxes[starts[i]:starts[i + 1]]` are image i's
    predictions, best first; one class, so image i's truth is `gt[gt_start[i]:gt_start[i + 1]]`."""
    n_images = len(starts) - 1
    out = np.empty(n_images)
    for i in range(n_images):
        p0, p1, g0, g1 = starts[i], starts[i + 1], gt_start[i], gt_start[i + 1]
        n_pred, n_gt = p1 - p0, g1 - g0
        if n_pred == 0 and n_gt == 0:
            out[i] = empty
            continue
        ious = np.empty((n_pred, n_gt))
        for a in range(n_pred):
            for b in range(n_gt):
                ious[a, b] = _iou(boxes[p0 + a], gt[g0 + b], one)
        total = 0.0
        for t in thresholds:
            taken = np.zeros(n_gt, np.bool_)
            tp = 0
            for a in range(n_pred):  # best score first
                best, best_iou = -1, -np.inf
                for b in range(n_gt):
                    if not taken[b] and ious[a, b] > t and ious[a, b] > best_iou:
                        best, best_iou = b, ious[a, b]
                if best >= 0:
                    taken[best] = True
                    tp += 1
            total += tp / (n_pred + n_gt - tp)  # TP + FP + FN
        out[i] = total / len(thresholds)
    return out


@njit(cache=True, error_model="numpy")
def _voc_class(boxes, scores, cells, gt, gt_start, n_classes, c, iou_thr, one):
    """VOC 2010 AP of class `c`: its detections over all images by descending score (stable), each a hit when
    its best IoU among its image's class-`c` truth is above `iou_thr` and that box is not yet detected."""
    mine = np.where(cells % n_classes == c)[0]
    order = mine[np.argsort(-scores[mine], kind="mergesort")]
    npos = 0
    for cell in range(c, len(gt_start) - 1, n_classes):
        npos += gt_start[cell + 1] - gt_start[cell]
    detected = np.zeros(len(gt), np.bool_)
    tp = np.zeros(len(order))
    fp = np.zeros(len(order))
    for k in range(len(order)):
        d = order[k]
        cell = cells[d]
        best, best_iou = -1, -np.inf
        for g in range(gt_start[cell], gt_start[cell + 1]):
            iou = _iou(boxes[d], gt[g], one)
            if iou > best_iou:
                best, best_iou = g, iou
        if best >= 0 and best_iou > iou_thr and not detected[best]:
            detected[best] = True
            tp[k] = 1.0
        else:
            fp[k] = 1.0
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    # py-faster-rcnn voc_ap(use_07_metric=False): the precision envelope, summed where recall changes
    mrec = np.concatenate((np.zeros(1), rec, np.ones(1)))
    mpre = np.concatenate((np.zeros(1), prec, np.zeros(1)))
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    ap = 0.0
    for i in range(len(mrec) - 1):
        if mrec[i + 1] != mrec[i]:
            ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1]
    return ap


def accuracy(y_true, y_pred) -> float:
    """The speech challenge's metric: the share of clips whose label is right."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    if not len(y_true):
        raise ValueError("no samples to score")
    return float((y_true == y_pred).mean())
