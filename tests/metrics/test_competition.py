"""The competitions' metrics (podium.metrics.competition) on hand-computed cases, on published numbers, and
against the public reference code copied below (each copy names its source)."""

import numpy as np
import pytest

from podium.boxes import ImagePredictions
from podium.metrics import competition
from podium.metrics.competition import accuracy


def box_metric(name, truth, classes, *, iou_thr=0.4, empty_images="excluded", no_finding="", plus_one=False):
    """podium's box_metric with params' defaults for the knobs a case does not set."""
    return competition.box_metric(
        name, truth, classes, iou_thr=iou_thr, empty_images=empty_images, no_finding=no_finding, plus_one=plus_one
    )


def truth_of(images: dict[str, list], classes: list[str]) -> dict:
    """COCO dict from {file_name: [(class, x1, y1, x2, y2), ...]}."""
    anns, imgs = [], []
    for k, (name, boxes) in enumerate(images.items()):
        imgs.append({"id": k + 1, "file_name": name, "width": 1024, "height": 1024})
        for c, x1, y1, x2, y2 in boxes:
            anns.append({"image_id": k + 1, "category_id": classes.index(c) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1]})
    return {
        "images": imgs,
        "annotations": anns,
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(classes)],
    }


def pred(name, boxes, scores, labels=None):
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    labels = np.zeros(len(boxes), np.int64) if labels is None else labels
    return ImagePredictions(name, 1024, 1024, boxes, np.asarray(scores, np.float64), np.asarray(labels, np.int64))


# --- Global Wheat ---------------------------------------------------------------------------------------------
# Image 1ef16dab1 of Global Wheat's train set as used by pestipeti's kernel "Competition metric details + script"
# (kaggle.com/pestipeti/competition-metric-details-script) and by amirassov/kaggle-global-wheat-detection
# tests/test_evaluation.py, boxes [x, y, w, h]; the predictions are in descending score order there.
GT_1EF16DAB1 = [
    [954, 391, 70, 90], [660, 220, 95, 102], [64, 209, 76, 57], [896, 99, 102, 69], [747, 460, 72, 77],
    [885, 163, 103, 69], [514, 399, 90, 97], [702, 794, 97, 99], [721, 624, 98, 108], [826, 512, 82, 94],
    [883, 944, 79, 74], [247, 594, 123, 92], [673, 514, 95, 113], [829, 847, 102, 110], [94, 737, 92, 107],
    [588, 568, 75, 107], [158, 890, 103, 64], [744, 906, 75, 79], [826, 33, 72, 74], [601, 69, 67, 87],
]  # fmt: skip
PRED_1EF16DAB1 = [
    [956, 409, 68, 85], [883, 945, 85, 77], [745, 468, 81, 87], [658, 239, 103, 105], [518, 419, 91, 100],
    [711, 805, 92, 106], [62, 213, 72, 64], [884, 175, 109, 68], [721, 626, 96, 104], [878, 619, 121, 81],
    [887, 107, 111, 71], [827, 525, 88, 83], [816, 868, 102, 86], [166, 882, 78, 75], [603, 563, 78, 97],
    [744, 916, 68, 52], [582, 86, 86, 72], [79, 715, 91, 101], [246, 586, 95, 80], [181, 512, 93, 89],
    [655, 527, 99, 90], [568, 363, 61, 76], [9, 717, 152, 110], [576, 698, 75, 78], [805, 974, 75, 50],
    [10, 15, 78, 64], [826, 40, 69, 74], [32, 983, 106, 40],
]  # fmt: skip


def xyxy(boxes):
    b = np.asarray(boxes, np.float64)
    return np.hstack([b[:, :2], b[:, :2] + b[:, 2:]])


def wheat_1ef16dab1(**kw) -> float:
    truth = truth_of({"1ef16dab1": [("wheat", *b) for b in xyxy(GT_1EF16DAB1)]}, ["wheat"])
    scores = np.linspace(0.99, 0.50, len(PRED_1EF16DAB1))
    return box_metric("wheat_precision", truth, ["wheat"], **kw)([pred("1ef16dab1", xyxy(PRED_1EF16DAB1), scores)])


def test_wheat_precision_gives_the_published_score_of_image_1ef16dab1():
    """amirassov/kaggle-global-wheat-detection tests/test_evaluation.py: 0.3663 over IoU 0.5-0.75 (continuous
    IoU, no +1)."""
    assert wheat_1ef16dab1() == pytest.approx(0.3663, abs=1e-3)


# pestipeti's kernel, verbatim but for numba's @jit, the docstrings (form 'pascal_voc': x1, y1, x2, y2) and
# its match rule: it matches at IoU >= threshold, the Evaluation page (and podium) at IoU > threshold.
def calculate_iou(gt, pr, form="pascal_voc") -> float:
    dx = min(gt[2], pr[2]) - max(gt[0], pr[0]) + 1
    if dx < 0:
        return 0.0
    dy = min(gt[3], pr[3]) - max(gt[1], pr[1]) + 1
    if dy < 0:
        return 0.0
    overlap_area = dx * dy
    union_area = (gt[2] - gt[0] + 1) * (gt[3] - gt[1] + 1) + (pr[2] - pr[0] + 1) * (pr[3] - pr[1] + 1) - overlap_area
    return overlap_area / union_area


def find_best_match(gts, pred, pred_idx, threshold=0.5, form="pascal_voc", ious=None) -> int:
    best_match_iou = -np.inf
    best_match_idx = -1
    for gt_idx in range(len(gts)):
        if gts[gt_idx][0] < 0:
            continue
        iou = -1 if ious is None else ious[gt_idx][pred_idx]
        if iou < 0:
            iou = calculate_iou(gts[gt_idx], pred, form=form)
            if ious is not None:
                ious[gt_idx][pred_idx] = iou
        if iou <= threshold:  # the kernel: `iou < threshold`
            continue
        if iou > best_match_iou:
            best_match_iou = iou
            best_match_idx = gt_idx
    return best_match_idx


def calculate_precision(gts, preds, threshold=0.5, form="coco", ious=None) -> float:
    n = len(preds)
    tp = 0
    fp = 0
    for pred_idx in range(n):
        best_match_gt_idx = find_best_match(gts, preds[pred_idx], pred_idx, threshold=threshold, form=form, ious=ious)
        if best_match_gt_idx >= 0:
            tp += 1
            gts[best_match_gt_idx] = -1
        else:
            fp += 1
    fn = (gts.sum(axis=1) > 0).sum()
    return tp / (tp + fp + fn)


def calculate_image_precision(gts, preds, thresholds=(0.5,), form="coco") -> float:
    n_threshold = len(thresholds)
    image_precision = 0.0
    ious = np.ones((len(gts), len(preds))) * -1
    for threshold in thresholds:
        precision_at_threshold = calculate_precision(gts.copy(), preds, threshold=threshold, form=form, ious=ious)
        image_precision += precision_at_threshold / n_threshold
    return image_precision


THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def test_wheat_precision_with_plus_one_is_the_reference_kernel():
    expected = calculate_image_precision(xyxy(GT_1EF16DAB1), xyxy(PRED_1EF16DAB1), THRESHOLDS, "pascal_voc")
    assert wheat_1ef16dab1(plus_one=True) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.3827, abs=1e-4)  # and so the +1 moves this image's score by 0.016


def test_wheat_precision_matches_the_reference_kernel_on_random_images():
    rng = np.random.default_rng(3)
    images, preds, expected = {}, [], []
    for k in range(60):
        n_gt, n_pred = int(rng.integers(1, 25)), int(rng.integers(1, 30))
        xy = rng.uniform(0, 900, (n_gt, 2))
        gt = np.hstack([xy, xy + rng.uniform(20, 120, (n_gt, 2))]).round()
        near = gt[rng.integers(0, n_gt, n_pred)] + rng.normal(0, 12, (n_pred, 4)).round()
        near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 5)
        scores = rng.permutation(n_pred) / n_pred  # distinct
        images[f"im{k}"] = [("wheat", *b) for b in gt]
        preds.append(pred(f"im{k}", near, scores))
        by_score = near[np.argsort(-scores)]
        expected.append(calculate_image_precision(gt, by_score, THRESHOLDS, "pascal_voc"))
    score = box_metric("wheat_precision", truth_of(images, ["wheat"]), ["wheat"], plus_one=True)(preds)
    assert score == pytest.approx(np.mean(expected), abs=1e-12)


def test_wheat_precision_hand_cases_and_empty_images():
    truth = truth_of(
        {"two": [("wheat", 0, 0, 10, 10), ("wheat", 20, 20, 30, 30)], "none": [], "none_either": []}, ["wheat"]
    )
    excluded = box_metric("wheat_precision", truth, ["wheat"], empty_images="excluded")
    one = box_metric("wheat_precision", truth, ["wheat"], empty_images="one")
    # image "two": one exact box: TP 1, FN 1 at every threshold -> 1/2 (amirassov's test_one_map); "none" gets a
    # box: 0 (Kaggle: any prediction on an image without truth scores 0, "and being included in the mean");
    # "none_either", neither truth nor prediction: left out of the mean (params' default), or 1
    got = [pred("two", [[0, 0, 10, 10]], [0.9]), pred("none", [[0, 0, 5, 5]], [0.1])]
    assert excluded(got) == pytest.approx((0.5 + 0.0) / 2)
    assert one(got) == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    # nothing predicted: 0 where there was truth (amirassov's test_empty_map); both empty images are left out,
    # or count 1 each
    assert excluded([]) == pytest.approx(0.0)
    assert one([]) == pytest.approx((0 + 1 + 1) / 3)
    # a hit needs IoU *greater than* the threshold (the Evaluation page): a box of IoU exactly 0.5 is a miss
    half = box_metric("wheat_precision", truth_of({"h": [("wheat", 0, 0, 10, 10)]}, ["wheat"]), ["wheat"])
    assert half([pred("h", [[0, 0, 10, 5]], [0.9])]) == 0.0  # IoU 50/100: no threshold of 0.5-0.75 is passed
    assert half([pred("h", [[0, 0, 10, 5.5]], [0.9])]) == pytest.approx(1 / 6 * (1 / 1))  # IoU 0.55 > 0.5 only
    # a shifted box: IoU 0.6 (12x10 box over 10x10: 80/ (100 + 100 - 80)... computed below) counts at t <= IoU only
    a, b = np.array([0, 0, 10, 10.0]), np.array([2, 0, 12, 10.0])
    iou = 80 / 120
    assert iou == pytest.approx(2 / 3)
    got = box_metric("wheat_precision", truth_of({"one": [("wheat", *a)]}, ["wheat"]), ["wheat"])(
        [pred("one", [b], [1])]
    )
    assert got == pytest.approx(np.mean([1.0 if iou > t else 0.0 for t in THRESHOLDS]))  # 4 of 6 -> 2/3


def test_wheat_precision_checks_matches_in_score_order():
    """Two predictions on one truth box: the higher score takes it even with the lower IoU; the other is an FP."""
    truth = truth_of({"a": [("wheat", 0, 0, 10, 10)]}, ["wheat"])
    metric = box_metric("wheat_precision", truth, ["wheat"])
    exact, shifted = [0, 0, 10, 10], [1, 0, 11, 10]  # IoU 90/110 = 0.818
    assert metric([pred("a", [shifted, exact], [0.9, 0.1])]) == pytest.approx(0.5)  # TP 1 FP 1: 1/2 everywhere
    assert metric([pred("a", [shifted, exact], [0.1, 0.9])]) == pytest.approx(0.5)


# --- VOC 2010 ------------------------------------------------------------------------------------------------
def voc_ap(rec, prec):
    """rbgirshick/py-faster-rcnn lib/datasets/voc_eval.py `voc_ap(use_07_metric=False)`, verbatim."""
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def voc_eval(truth_boxes: dict, dets: list, ovthresh: float) -> float:
    """py-faster-rcnn's voc_eval matching loop for one class (no 'difficult' boxes, IoU without the +1):
    dets [(image, score, box)], truth {image: boxes}."""
    npos = sum(len(b) for b in truth_boxes.values())
    taken = {k: [False] * len(v) for k, v in truth_boxes.items()}
    order = sorted(range(len(dets)), key=lambda d: -dets[d][1])
    tp, fp = np.zeros(len(dets)), np.zeros(len(dets))
    for d, k in enumerate(order):
        image, _, bb = dets[k]
        bbgt = np.asarray(truth_boxes.get(image, np.zeros((0, 4))), np.float64).reshape(-1, 4)
        ovmax = -np.inf
        if bbgt.size > 0:
            ixmin = np.maximum(bbgt[:, 0], bb[0])
            iymin = np.maximum(bbgt[:, 1], bb[1])
            ixmax = np.minimum(bbgt[:, 2], bb[2])
            iymax = np.minimum(bbgt[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin, 0.0)
            ih = np.maximum(iymax - iymin, 0.0)
            inters = iw * ih
            uni = (bb[2] - bb[0]) * (bb[3] - bb[1]) + (bbgt[:, 2] - bbgt[:, 0]) * (bbgt[:, 3] - bbgt[:, 1]) - inters
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not taken[image][jmax]:
                tp[d] = 1.0
                taken[image][jmax] = True
            else:
                fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec)


def test_voc_map_hand_computed():
    """Two truth boxes; detections by score: hit, miss, hit -> recall .5 .5 1, precision 1 .5 .667:
    AP = .5 * 1 + .5 * .667 = 0.8333. One truth box, detections miss then hit -> AP = 0.5."""
    truth = truth_of(
        {"a": [("nodule", 0, 0, 10, 10)], "b": [("nodule", 50, 50, 60, 60), ("mass", 0, 0, 10, 10)]},
        ["nodule", "mass"],
    )
    metric = box_metric("voc_map", truth, ["nodule", "mass"], iou_thr=0.4)
    preds = [
        pred("a", [[0, 0, 10, 10], [200, 200, 210, 210]], [0.9, 0.8], [0, 0]),
        pred("b", [[50, 50, 60, 60], [100, 100, 110, 110], [0, 0, 10, 10]], [0.7, 0.9, 0.5], [0, 1, 1]),
    ]
    assert metric(preds) == pytest.approx((5 / 6 + 0.5) / 2)


def test_voc_map_needs_iou_above_the_threshold_and_counts_a_second_hit_false():
    truth = truth_of({"a": [("x", 0, 0, 10, 10)]}, ["x"])
    b = [0, 0, 10, 4]  # IoU exactly 0.4: not above
    assert box_metric("voc_map", truth, ["x"], iou_thr=0.4)([pred("a", [b], [1])]) == 0.0
    assert box_metric("voc_map", truth, ["x"], iou_thr=0.39)([pred("a", [b], [1])]) == pytest.approx(1.0)
    twice = box_metric("voc_map", truth, ["x"])([pred("a", [[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8])])
    assert twice == pytest.approx(1.0)  # the duplicate is an FP after recall 1: the envelope keeps AP 1


def test_voc_map_matches_py_faster_rcnn_on_random_sets():
    rng = np.random.default_rng(5)
    classes = ["a", "b", "c"]
    images, preds = {}, []
    for k in range(40):
        n = int(rng.integers(0, 8))
        xy = rng.uniform(0, 500, (n, 2))
        gt = np.hstack([xy, xy + rng.uniform(10, 80, (n, 2))])
        lab = rng.integers(0, 3, n)
        images[f"im{k}"] = [(classes[c], *b) for c, b in zip(lab, gt, strict=True)]
        m = int(rng.integers(0, 10))
        src = rng.integers(0, max(n, 1), m)
        boxes = gt[src] + rng.normal(0, 8, (m, 4)) if n else rng.uniform(0, 500, (m, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2)
        labels = lab[src] if n else rng.integers(0, 3, m)
        labels = np.where(rng.random(m) < 0.2, rng.integers(0, 3, m), labels)
        preds.append(pred(f"im{k}", boxes, rng.uniform(0, 1, m), labels))
    truth = truth_of(images, classes)
    for thr in (0.4, 0.5):
        aps = []
        for c in range(3):
            gt_c = {n: [b[1:] for b in bs if b[0] == classes[c]] for n, bs in images.items()}
            if not sum(len(v) for v in gt_c.values()):
                continue
            dets = [
                (p.file_name, s, b)
                for p in preds
                for b, s, lab in zip(p.boxes, p.scores, p.labels, strict=True)
                if lab == c
            ]
            aps.append(voc_eval(gt_c, dets, thr))
        assert box_metric("voc_map", truth, classes, iou_thr=thr)(preds) == pytest.approx(np.mean(aps), abs=1e-12)


def test_accuracy_and_unknown_metric():
    assert accuracy(["yes", "no", "up"], ["yes", "no", "down"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown box metric 'f1'"):
        box_metric("f1", truth_of({}, ["x"]), ["x"])


def test_the_no_finding_group_adds_its_class_ap_to_the_voc_map():
    """VinBigData's class 14: truth 0 0 1 1 on the images without a finding; every image predicts it with
    p = 1 - its highest finding score. Image a: a nodule found (0.9); b: nothing but a false nodule (0.2); c:
    nothing. Nodule AP 1 (the hit outranks the false box). Class 14 without groups: AP 0, mAP (1 + 0) / 2; with
    them: c (p 1.0, hit), b (0.8, hit), a (0.1, false): AP 1, mAP 1."""
    from podium.metrics.competition import with_no_finding

    classes = ["nodule", "No finding"]
    images = {"a": [("nodule", 10, 10, 50, 50)], "b": [], "c": []}
    preds = [pred("a", [[10, 10, 50, 50]], [0.9]), pred("b", [[60, 60, 90, 90]], [0.2]), pred("c", [], [])]
    scored_by_hand = truth_of({**images, "b": [("No finding", 0, 0, 1, 1)], "c": [("No finding", 0, 0, 1, 1)]},
                              classes)  # fmt: skip
    plain = box_metric("voc_map", scored_by_hand, classes)
    assert plain(preds) == pytest.approx(0.5)  # what podium submitted before: no group beside findings
    grouped = with_no_finding(preds, 1)
    assert [float(p.scores[-1]) for p in grouped] == pytest.approx([0.1, 0.8, 1.0])
    assert grouped[0].boxes[-1].tolist() == [0, 0, 1, 1] and grouped[0].labels.tolist() == [0, 1]
    assert plain(grouped) == pytest.approx(1.0)  # + class 14's AP (1.0) / 2 classes
    # box_metric with no_finding adds that class's truth and the groups itself: the same score
    metric = box_metric("voc_map", truth_of(images, classes), classes, no_finding="No finding")
    assert metric(preds) == pytest.approx(1.0)
    # now b's false nodule scores 0.95 and c predicts nothing at all (it still gets its group, p = 1): nodule AP
    # 1/2 (the false box outranks the hit); class 14 ranks c 1.0 (hit), a 0.1 (false), b 0.05 (hit): recall 1/2 at
    # precision 1, then 1 at 2/3: AP 1/2 + 1/2 * 2/3
    worse = metric([pred("a", [[10, 10, 50, 50]], [0.9]), pred("b", [[60, 60, 90, 90]], [0.95])])
    assert worse == pytest.approx((1 / 2 + (1 / 2 + 1 / 2 * 2 / 3)) / 2)
