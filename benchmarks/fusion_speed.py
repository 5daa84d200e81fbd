"""Box fusion speed: 5 models x 1,000 images x 300 boxes each, fused with podium's `fuse_sets` (the
adapter, checks, and a process pool) against calling ensemble-boxes' WBF image by image, in one run; plus
the time of one OOF tuning trial (fusion + COCO mAP) at that size.

    .venv/bin/python benchmarks/fusion_speed.py [--models 5] [--images 1000] [--boxes 300] [--workers 2]
"""

import argparse
import time

import numpy as np
from ensemble_boxes import weighted_boxes_fusion

from podium.boxes import ImagePredictions
from podium.ensemble import fuse_sets
from podium.metrics.detection import coco_map


def make_sets(models: int, images: int, boxes: int, seed: int = 0) -> list[list[ImagePredictions]]:
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(models):
        preds = []
        for i in range(images):
            xy = rng.uniform(0, 900, (boxes, 2))
            wh = rng.uniform(10, 120, (boxes, 2))
            preds.append(
                ImagePredictions(
                    f"{i}.png",
                    1024,
                    1024,
                    np.hstack([xy, np.minimum(xy + wh, 1024)]),
                    rng.uniform(0.01, 1, boxes),
                    rng.integers(0, 5, boxes),
                )
            )
        sets.append(preds)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sets = make_sets(args.models, args.images, args.boxes)
    weights = [1.0] * args.models

    start = time.perf_counter()
    for i in range(args.images):  # what a user writes by hand: normalise, fuse, denormalise, image by image
        group = [s[i] for s in sets]
        size = np.array([1024, 1024, 1024, 1024])
        boxes, scores, labels = weighted_boxes_fusion(
            [(p.boxes / size).tolist() for p in group],
            [p.scores.tolist() for p in group],
            [p.labels.tolist() for p in group],
            weights=weights,
            iou_thr=0.55,
            skip_box_thr=0.0,
        )
    plain = time.perf_counter() - start

    start = time.perf_counter()
    wbf = {"method": "wbf", "iou_thr": 0.55, "skip_box_thr": 0.0, "conf_type": "avg"}
    serial = fuse_sets(sets, weights, workers=1, **wbf)
    ours_serial = time.perf_counter() - start
    start = time.perf_counter()
    fused = fuse_sets(sets, weights, workers=args.workers, **wbf)
    ours = time.perf_counter() - start
    assert all(np.allclose(a.boxes, b.boxes) for a, b in zip(serial, fused, strict=True))

    truth = {
        "images": [{"id": i + 1, "file_name": f"{i}.png", "width": 1024, "height": 1024} for i in range(args.images)],
        "annotations": [
            {
                "image_id": i + 1,
                "category_id": 1 + int(p.labels[j]),
                "bbox": [*p.boxes[j, :2], *(p.boxes[j, 2:] - p.boxes[j, :2])],
            }
            for i, p in enumerate(sets[0])
            for j in range(20)
        ],
        "categories": [{"id": k + 1, "name": str(k)} for k in range(5)],
    }
    start = time.perf_counter()
    coco_map(truth, fused, [str(k) for k in range(5)])
    scoring = time.perf_counter() - start

    print(f"{args.models} models x {args.images} images x {args.boxes} boxes, WBF iou_thr 0.55, this machine")
    print(f"ensemble-boxes image by image:        {plain:7.1f} s")
    print(f"podium fuse_sets, 1 process:          {ours_serial:7.1f} s  ({plain / ours_serial:.2f}x)")
    print(f"podium fuse_sets, {args.workers} processes:        {ours:7.1f} s  ({plain / ours:.2f}x)")
    print(f"one OOF tuning trial = fusion + mAP:  {ours + scoring:7.1f} s  (COCO mAP {scoring:.1f} s)")


if __name__ == "__main__":
    main()
