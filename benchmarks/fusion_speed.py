"""Box fusion and tuning speed, side by side in one process.

1. Each method (WBF, NMS, soft-NMS, NMW) on 5 models x 1,000 images x 300 boxes: podium's compiled fusion
   (podium.ensemble.fusion; first call = numba compile or cache load, then warm) against ensemble-boxes 1.0.9
   image by image, and for WBF mmdet 3.x's own port (mmdet/models/utils/wbf.py) as a second anchor. The
   references are timed on the first --reference-images images (they take minutes at full size), alternating
   with podium on the same images for --rounds rounds, and the best per-image times are compared (the machine's
   load moves both alike); outputs are checked identical on those images.
2. A 200-trial OOF tuning (tune_boxes: fusion + COCO mAP per trial) on a synthetic OOF set of Global Wheat's
   size: 3,400 images, 3 models, ~100 boxes per image per model, one class; plus one trial the way podium ran
   it before (ensemble-boxes through the per-image adapter, faster-coco-eval's COCO mAP), for the ratio.

    .venv/bin/python benchmarks/fusion_speed.py [--images 1000] [--reference-images 100] [--trials 200]
"""

from __future__ import annotations

import argparse
import time
import warnings

import ensemble_boxes as eb
import numpy as np

from podium.boxes import ImagePredictions
from podium.ensemble import fusion
from podium.ensemble.tune import BoxSettings, tune_boxes
from podium.metrics.detection import coco_map

METHODS = {
    "wbf": (fusion.weighted_boxes_fusion, eb.weighted_boxes_fusion, dict(skip_box_thr=0.0)),
    "nms": (fusion.nms, eb.nms, {}),
    "soft_nms": (fusion.soft_nms, eb.soft_nms, dict(thresh=0.05)),
    "nmw": (fusion.non_maximum_weighted, eb.non_maximum_weighted, dict(skip_box_thr=0.0)),
}


def random_images(models: int, images: int, boxes: int, seed: int = 0):
    """Per image: each model's normalised boxes (objects seen by several models, plus noise), scores, labels."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(images):
        objects = rng.uniform(0, 0.9, (boxes // 2, 2))
        sizes = rng.uniform(0.01, 0.1, (boxes // 2, 2))
        per_model = []
        for _ in range(models):
            pick = rng.integers(0, len(objects), boxes)
            xy = objects[pick] + rng.normal(0, 0.004, (boxes, 2))
            b = np.hstack([xy, xy + sizes[pick]]).clip(0, 1)
            per_model.append((b, rng.uniform(0.01, 1, boxes), rng.integers(0, 5, boxes)))
        out.append(per_model)
    return out


def identical(a, b) -> str:
    """'exact', 'ties' (the same boxes, but some exactly equal scores in another order: ensemble-boxes' order
    among equal scores is numpy's unstable sort), or 'differ'."""
    a = [np.asarray(x, np.float64) for x in a]
    b = [np.asarray(x, np.float64) for x in b]

    def same(a, b):
        return (
            a[0].shape == b[0].shape
            and np.allclose(a[0], b[0], atol=1e-6)
            and np.allclose(a[1], b[1], atol=1e-6)
            and np.array_equal(a[2], b[2])
        )

    if same(a, b):
        return "exact"
    if len(np.unique(a[1])) < len(a[1]):
        a, b = ([x[np.lexsort((*r[0].T[::-1], r[2], -r[1]))] for x in r] for r in (a, b))
        if same(a, b):
            return "ties"
    return "differ"


def methods(args) -> None:
    data = random_images(args.models, args.images, args.boxes)
    weights = [1.0] * args.models
    ref = data[: args.reference_images]
    print(f"1. fusion: {args.models} models x {args.images} images x {args.boxes} boxes, 5 classes, one process; "
          f"per image, the best of {args.rounds} alternating rounds on the first {len(ref)} images")  # fmt: skip
    print(f"{'method':9} {'podium 1st call':>15} {'podium warm':>12} {'per image':>10} {'ensemble-boxes':>15} "
          f"{'ratio':>6} {'identical':>12}")  # fmt: skip
    for name, (ours, theirs, kw) in METHODS.items():
        kw = dict(weights=weights, iou_thr=0.55, **kw)
        start = time.perf_counter()
        ours(*zip(*data[0], strict=True), **kw)
        first = time.perf_counter() - start
        start = time.perf_counter()
        results = [ours(*zip(*image, strict=True), **kw) for image in data]
        warm = time.perf_counter() - start
        copies = [
            [list(x) for x in zip(*[(b.copy(), s.copy(), lab.copy()) for b, s, lab in image], strict=True)]
            for image in ref
        ]  # fmt: skip  (ensemble-boxes' NMS family writes into its inputs)
        per_ours, per_ref = np.inf, np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.rounds):  # alternating, so both see the same machine load
                start = time.perf_counter()
                for image in ref:
                    ours(*zip(*image, strict=True), **kw)
                per_ours = min(per_ours, (time.perf_counter() - start) / len(ref))
                start = time.perf_counter()
                expected = [theirs(*[[x.copy() for x in part] for part in image], **kw) for image in copies]
                per_ref = min(per_ref, (time.perf_counter() - start) / len(ref))
        checks = [identical(e, r) for e, r in zip(expected, results, strict=False)]
        same = f"{checks.count('exact')}" + (f"+{checks.count('ties')} tied" if "ties" in checks else "")
        print(f"{name:9} {first:14.2f}s {warm:11.2f}s {per_ours * 1e3:8.3f}ms {per_ref * 1e3:13.1f}ms "
              f"{per_ref / per_ours:5.0f}x {same:>6}/{len(ref)}")  # fmt: skip
    try:
        from mmdet.models.utils.wbf import weighted_boxes_fusion as mmdet_wbf
    except ImportError as e:
        print(f"mmdet's WBF port does not import here ({e})")
        return
    per_mmdet, per_ours = np.inf, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.rounds):
            start = time.perf_counter()
            for image in ref:
                mmdet_wbf(*(list(x) for x in zip(*image, strict=True)), weights=weights, iou_thr=0.55)
            per_mmdet = min(per_mmdet, (time.perf_counter() - start) / len(ref))
            start = time.perf_counter()
            for image in ref:
                fusion.weighted_boxes_fusion(*zip(*image, strict=True), weights=weights, iou_thr=0.55)
            per_ours = min(per_ours, (time.perf_counter() - start) / len(ref))
    print(f"wbf vs mmdet 3.3's port (mmdet.models.utils.wbf): {per_mmdet * 1e3:.1f} ms per image, "
          f"podium {per_ours * 1e3:.3f} ms: {per_mmdet / per_ours:.0f}x")  # fmt: skip


def nms_profile(args) -> None:
    """Where an NMS call's time goes, podium's and ensemble-boxes' (whose core, nms_float_fast, numba compiles
    too), per image, best of 5 passes over the reference images."""
    from ensemble_boxes import ensemble_boxes_nms as ebn

    data = random_images(args.models, args.reference_images, args.boxes)
    weights = [1.0] * args.models

    def best(run) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times) / len(data) * 1e3

    stacked = [fusion._stack(*zip(*image, strict=True)) for image in data]
    groups = []  # each image's per-class boxes and scores, as NMS sees them
    for b, s, lab, _ in stacked:
        b, nonzero = fusion._prepare(b)
        groups += [(b[nonzero][lab[nonzero] == c].copy(), s[nonzero][lab[nonzero] == c].copy()) for c in range(5)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ebn.nms_float_fast(np.hstack([groups[0][0], groups[0][1][:, None]]), groups[0][1], 0.55)  # its compile
        rows = [
            ("podium, whole call", lambda: [fusion.nms(*zip(*im, strict=True), weights=weights, iou_thr=0.55)
                                            for im in data]),
            ("  arrays from the Python lists", lambda: [fusion._stack(*zip(*im, strict=True)) for im in data]),
            ("  compiled part", lambda: [fusion._nms_family(b, s, lab.astype(np.float64), 3, 0.55, 0.5, 0.001)
                                         for b, s, lab, _ in stacked]),
            ("    per-class greedy keep", lambda: [fusion._nms_keep(b, s, 0.55) for b, s in groups]),
            ("      its score sorts", lambda: [fusion._by_score(s) for _, s in groups]),
            ("ensemble-boxes, whole call", lambda: [eb.nms(*[[x.copy() for x in p] for p in zip(*im, strict=True)],
                                                           weights=weights, iou_thr=0.55) for im in data]),
            ("  its compiled core (nms_float_fast)", lambda: [ebn.nms_float_fast(np.hstack([b, s[:, None]]), s, 0.55)
                                                              for b, s in groups]),
        ]  # fmt: skip
        print(f"\nNMS profile, ms per image ({len(data)} images):")
        for name, run in rows:
            print(f"  {name:40} {best(run):7.3f}")


def global_wheat(images: int, models: int, seed: int = 0):
    """A synthetic OOF set of Global Wheat's shape: 1024 px images, 20-60 wheat heads each, per model 85% of
    them found (jittered) plus false positives, 100 boxes per image per model."""
    rng = np.random.default_rng(seed)
    truth = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "wheat"}]}
    oof = {f"model{m}": [] for m in range(models)}
    for i in range(images):
        truth["images"].append({"id": i + 1, "file_name": f"{i}.jpg", "width": 1024, "height": 1024})
        n = int(rng.integers(20, 60))
        xy = rng.uniform(0, 950, (n, 2))
        gt = np.hstack([xy, np.minimum(xy + rng.uniform(30, 110, (n, 2)), 1024)])
        truth["annotations"] += [
            {"image_id": i + 1, "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]} for b in gt
        ]
        for m in range(models):
            found = gt[rng.random(n) < 0.85]
            found = found + rng.normal(0, 6, found.shape)
            k = 100 - len(found)
            xy = rng.uniform(0, 950, (k, 2))
            boxes = np.vstack([found, np.hstack([xy, xy + rng.uniform(30, 110, (k, 2))])]).clip(0, 1023)
            boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
            scores = np.concatenate([rng.uniform(0.4, 1, len(found)), rng.uniform(0, 0.6, k)])
            oof[f"model{m}"].append(
                ImagePredictions(
                    f"{i}.jpg", 1024, 1024, boxes.astype(np.float32), scores.astype(np.float32), np.zeros(100, np.int64)
                )  # fmt: skip
            )
    return truth, oof


def old_trial(oof, truth, settings: BoxSettings) -> float:
    """One trial as podium ran it before: ensemble-boxes through the per-image adapter, then coco_map."""
    size = np.array([1024, 1024, 1024, 1024], np.float32)
    fused = []
    for group in zip(*oof.values(), strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b, s, lab = eb.weighted_boxes_fusion(
                [(p.boxes / size).clip(0, 1).tolist() for p in group], [p.scores.tolist() for p in group],
                [p.labels.tolist() for p in group], weights=[1.0] * len(group), iou_thr=settings.iou_thr,
            )  # fmt: skip
        p = group[0]
        fused.append(ImagePredictions(p.file_name, 1024, 1024, b * size, np.clip(s, 0, 1), lab.astype(np.int64)))
    return coco_map(truth, fused, ["wheat"])["mAP"]


def tuning(args) -> None:
    truth, oof = global_wheat(args.gw_images, 3)
    start_settings = BoxSettings({}, "wbf", 0.55, 0.0, "avg", 0.0, "none")
    print(f"\n2. tuning: {args.gw_images} images, 3 models, 100 boxes per image per model, "
          f"{len(truth['annotations'])} truth boxes")  # fmt: skip
    start = time.perf_counter()
    old = old_trial(oof, truth, start_settings)
    old_time = time.perf_counter() - start
    start = time.perf_counter()
    scoring = dict(
        metric="coco_map", iou_thr=0.5, empty_images="excluded", no_finding=""
    )  # what tune_boxes defaulted to
    tune_boxes(oof, truth, ["wheat"], start_settings, trials=1, seed=0, workers=1, **scoring)  # single, equal, 1 trial
    one = time.perf_counter() - start
    start = time.perf_counter()
    best, score, single, equal = tune_boxes(
        oof, truth, ["wheat"], start_settings, trials=args.trials, seed=0, workers=1, **scoring
    )
    total = time.perf_counter() - start
    print(f"one trial as before (ensemble-boxes + coco_map): {old_time:.1f} s (OOF mAP {old:.4f})")
    print(f"tune_boxes with 1 trial (3 single-model scores, the equal-weights baseline, 1 trial): {one:.1f} s")
    print(f"tune_boxes with {args.trials} trials: {total:.0f} s ({total / args.trials:.2f} s per trial); "
          f"OOF mAP equal weights {equal:.4f} -> tuned {score:.4f}; "
          f"{args.trials} trials as before would take ~{old_time * args.trials / 60:.0f} min")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--reference-images", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds on the reference images")
    parser.add_argument("--gw-images", type=int, default=3400)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--skip-tuning", action="store_true")
    args = parser.parse_args()
    methods(args)
    nms_profile(args)
    if not args.skip_tuning:
        tuning(args)


if __name__ == "__main__":
    main()
