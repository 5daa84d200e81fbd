"""How good would the pseudo labels be: the pseudo_label stage's rules (podium.data.pseudo) applied to predictions
whose truth is known, for a few thresholds side by side.

--on oof (any competition): the tuned ensemble's out-of-fold predictions (oof/, from evaluate_*) against the
training labels: a stand-in for the test set, to choose pseudo_label's thresholds before spending a round.
--on test (the embedded competition only, whose test labels are known): the test predictions the stage reads.

For boxes: images kept, pseudo boxes, their precision (a pseudo box matching a true box of its class at IoU >= 0.5)
and the share of the kept images' true boxes they cover (recall: a missed object trains as background). For
clips: clips kept and the share labelled right.

    .venv/bin/python benchmarks/pseudo_label_quality.py [--on oof|test]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from podium import boxes, probabilities
from podium.data.pseudo import select_clips, select_images
from podium.ensemble.tune import BoxSettings, VoteSettings, fuse_models, vote_models
from podium.files import read_json
from podium.params import load_params

BOX_RULES = [(0.5, 0.75, 0.6), (0.3, 0.4, 0.5), (0.2, 0.3, 0.5), (0.3, 0.3, 0.5)]  # (box_thr, high, min_fraction)
CLIP_THRESHOLDS = [0.6, 0.8, 0.9]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of x1, y1, x2, y2 boxes."""
    x1, y1 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x2, y2 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _truth(coco: dict) -> dict[str, list[tuple[int, list[float]]]]:
    names = {img["id"]: img["file_name"] for img in coco["images"]}
    out: dict[str, list] = {name: [] for name in names.values()}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        out[names[a["image_id"]]].append((a["category_id"] - 1, [x, y, x + w, y + h]))
    return out


def box_quality(fused: list[boxes.ImagePredictions], truth: dict) -> None:
    print(f"boxes: {len(fused)} images predicted")
    print("  box_thr  high  min_fraction | images  boxes  precision  recall in kept images")
    for box_thr, high, fraction in BOX_RULES:
        kept = select_images(fused, box_thr=box_thr, high=high, min_fraction=fraction)
        hits = n = true = 0
        for pred in kept:
            gt = truth.get(pred.file_name, [])
            true += len(gt)
            n += len(pred.scores)
            if not gt or not len(pred.scores):
                continue
            iou = _iou(pred.boxes, np.array([b for _, b in gt], np.float32))
            same = pred.labels[:, None] == np.array([c for c, _ in gt])[None, :]
            hits += int(((iou >= 0.5) & same).any(1).sum())
        print(
            f"  {box_thr:7.2f} {high:5.2f} {fraction:13.2f} | {len(kept):6d} {n:6d} {hits / max(n, 1):10.2f}"
            f" {hits / max(true, 1):10.2f}"
        )


def clip_quality(fnames: list[str], proba: np.ndarray, classes: list[str], truth: dict[str, str]) -> None:
    print(f"clips: {len(fnames)} predicted")
    for thr in CLIP_THRESHOLDS:
        kept = select_clips(fnames, proba, classes, threshold=thr, max_per_class=0)
        right = sum(truth[f] == label for f, label in zip(kept.fname, kept.label, strict=True))
        print(f"  clip_thr {thr:.2f}: {len(kept)} kept, {right / max(len(kept), 1):.3f} labelled right")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--on", choices=["oof", "test"], default="oof")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    params = load_params(args.params)
    models, folds = params["models"], params["split_folds"].folds
    settings = read_json(Path("ensemble/settings.json"))
    if models.detection:
        if args.on == "oof":
            sets = {m: [boxes.read_predictions(Path(f"oof/detection/{m}.json"))[1]] for m in models.detection}
            truth = _truth(read_json(Path("data/merged/detection/train.json")))
        else:
            _, sets = boxes.read_model_sets(Path("predictions"), models.detection, folds, "test")
            truth = _truth(read_json(Path("data/raw/detection/test_labels.json")))
        box_quality(fuse_models(sets, BoxSettings(**settings["detection"])), truth)
    if models.audio:
        if args.on == "oof":
            tables = {m: [(f"oof/audio/{m}.csv", pd.read_csv(f"oof/audio/{m}.csv"))] for m in models.audio}
        else:
            tables = probabilities.read_model_sets(Path("predictions"), models.audio, folds, "test")
        classes, rows, probas = probabilities.align(tables)
        truth_table = rows if args.on == "oof" else pd.read_csv("data/raw/audio/test_labels.csv")
        truth = dict(zip(truth_table.fname, truth_table.label, strict=True))
        clip_quality(list(rows.fname), vote_models(probas, VoteSettings(**settings["audio"])), classes, truth)


if __name__ == "__main__":
    main()
