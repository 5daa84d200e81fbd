"""COCO mAP on cases computed by hand (101-point interpolated precision, IoU thresholds .50:.05:.95)."""

import pytest

from podium.boxes import ImagePredictions
from podium.metrics.detection import coco_map

CLASSES = ["a", "b"]


def _truth(boxes_per_image):
    images, annotations = [], []
    for i, boxes in enumerate(boxes_per_image):
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": 100, "height": 100})
        for x, y, w, h, cat in boxes:
            annotations.append({"image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h]})
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }


def _pred(i, boxes, scores, labels):
    return ImagePredictions(f"{i}.png", 100, 100, boxes, scores, labels)


def test_perfect_predictions_score_one():
    truth = _truth([[(10, 10, 20, 20, 1)], [(50, 50, 30, 10, 2)]])
    preds = [_pred(0, [[10, 10, 30, 30]], [0.9], [0]), _pred(1, [[50, 50, 80, 60]], [0.8], [1])]
    scores = coco_map(truth, preds, CLASSES)
    assert scores["mAP"] == pytest.approx(1.0) and scores["per_class"] == {"a": 1.0, "b": 1.0}


def test_half_the_objects_found():
    # Class a: 2 objects, one found exactly -> precision 1 up to recall 0.5, then 0: 51 of 101 recall points.
    truth = _truth([[(10, 10, 20, 20, 1), (60, 60, 20, 20, 1)]])
    scores = coco_map(truth, [_pred(0, [[10, 10, 30, 30]], [0.9], [0])], ["a"])
    assert scores["mAP"] == pytest.approx(51 / 101)


def test_box_at_iou_0_6_counts_for_three_of_ten_thresholds():
    # GT [0,0,10,10] vs prediction [0,0,10,6]: IoU = 60/100 = 0.6 -> a hit at IoU .50, .55, .60 only.
    truth = _truth([[(0, 0, 10, 10, 1)]])
    scores = coco_map(truth, [_pred(0, [[0, 0, 10, 6]], [0.9], [0])], ["a"])
    assert scores["mAP50"] == pytest.approx(1.0) and scores["mAP"] == pytest.approx(0.3)


def test_a_false_positive_ranked_first_halves_precision():
    # Ranked: FP (0.9) then TP (0.8): precision at recall 1 is 1/2 -> AP 0.5 at every threshold.
    truth = _truth([[(10, 10, 20, 20, 1)]])
    preds = [_pred(0, [[60, 60, 80, 80], [10, 10, 30, 30]], [0.9, 0.8], [0, 0])]
    assert coco_map(truth, preds, ["a"])["mAP"] == pytest.approx(0.5)


def test_no_predictions_score_zero_and_unknown_images_are_errors():
    truth = _truth([[(10, 10, 20, 20, 1)]])
    assert coco_map(truth, [], ["a"])["mAP"] == 0.0
    with pytest.raises(ValueError, match="not in the ground truth"):
        coco_map(truth, [_pred(7, [[0, 0, 1, 1]], [0.5], [0])], ["a"])
