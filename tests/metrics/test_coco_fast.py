"""The tuning loop's compiled COCO mAP (podium.metrics.coco_fast) gives coco_map's numbers (faster-coco-eval)."""

import numpy as np
import pytest

from podium.boxes import ImagePredictions
from podium.metrics.coco_fast import CocoScorer
from podium.metrics.detection import coco_map

CLASSES = ["a", "b", "c"]


def synthetic(rng: np.random.Generator, images: int, classes: int, dets: tuple[int, int]):
    truth = {"images": [], "annotations": [], "categories": [{"id": 10 + k, "name": CLASSES[k]} for k in range(3)]}
    preds = []
    for i in range(images):
        image_id = int(rng.permutation(10_000)[0]) * 100 + i  # ids not in file order
        truth["images"].append({"id": image_id, "file_name": f"{i}.jpg", "width": 500, "height": 400})
        n = int(rng.integers(0, 12))
        xy = rng.uniform(0, 400, (n, 2))
        wh = rng.uniform(5, 120, (n, 2))
        labels = rng.integers(0, classes, n)
        for b, lab in zip(np.hstack([xy, wh]), labels, strict=True):
            truth["annotations"].append({"image_id": image_id, "category_id": 10 + int(lab), "bbox": b.tolist()})
        m = int(rng.integers(*dets))
        near = np.hstack([xy, xy + wh])[rng.integers(0, max(n, 1), m)] if n else np.zeros((m, 4))
        boxes = near + rng.normal(0, 8, (m, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = rng.uniform(0, 1, m).round(int(rng.choice([2, 6])))  # ties too
        det_labels = labels[rng.integers(0, max(n, 1), m)] if n and rng.random() < 0.8 else rng.integers(0, 3, m)
        preds.append(ImagePredictions(f"{i}.jpg", 500, 400, boxes.astype(np.float32), scores.astype(np.float32),
                                      det_labels.astype(np.int64)))  # fmt: skip
    return truth, preds


@pytest.mark.parametrize("seed, classes, dets", [(0, 1, (0, 30)), (1, 3, (0, 30)), (2, 3, (80, 160))])
def test_the_same_numbers_as_coco_map(seed, classes, dets):
    """One class, several (one never in the truth), images without truth or predictions, more than 100
    detections per image (the cut), tied scores."""
    truth, preds = synthetic(np.random.default_rng(seed), 60, classes, dets)
    expected = coco_map(truth, preds, CLASSES)
    got = CocoScorer(truth, CLASSES).score(preds)
    for key in ("mAP", "mAP50", "mAP75"):
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key


def test_nothing_predicted_scores_zero():
    truth, preds = synthetic(np.random.default_rng(3), 5, 1, (0, 1))
    empty = [p.keep(np.zeros(len(p.scores), bool)) for p in preds]
    assert CocoScorer(truth, CLASSES).score(empty) == {"mAP": 0.0, "mAP50": 0.0, "mAP75": 0.0}


def test_crowd_truth_and_unknown_images_are_refused():
    truth, preds = synthetic(np.random.default_rng(4), 5, 1, (1, 3))
    with pytest.raises(ValueError, match="not in the ground truth"):
        CocoScorer(truth, CLASSES).score([ImagePredictions("other.jpg", 5, 5, np.zeros((0, 4)), [], [])])
    truth["annotations"][0]["iscrowd"] = 1
    with pytest.raises(ValueError, match="crowd"):
        CocoScorer(truth, CLASSES)
