"""evaluate_detector: join one detector's folds into one out-of-fold set and score it (its CV score).

Reads:  --folds (data/folds/detection.csv), --merged (data/merged/detection/train.json: the ground truth),
        --models (models/detection/<model>: fold<k>/oof.json for every fold).
Writes: --oof (oof/detection/<model>.json), --metrics (reports/detection/<model>/cv.json: COCO mAP, mAP@0.5,
        per-class AP, per-fold mAP). Fails unless every validation image is predicted exactly once.
"""

import pandas as pd

from podium import stage
from podium.detection.oof import join_oof
from podium.detection.predictions import read_predictions, write_predictions
from podium.files import read_json, write_json
from podium.metrics.detection import coco_map, nan_to_none


def main() -> None:
    args = stage.parse_paths(__doc__, "folds", "merged", "models", "oof", "metrics")
    folds = pd.read_csv(args.folds)
    parts = {}
    for fold in sorted(f for f in folds.fold.unique() if f >= 0):
        path = args.models / f"fold{fold}" / "oof.json"
        if path.exists():
            classes, preds, _ = read_predictions(path)
            parts[int(fold)] = (classes, preds)
    classes, joined = join_oof(parts, folds, where=str(args.models))
    truth = read_json(args.merged / "train.json")
    validated = set(folds.file_name[folds.fold >= 0])
    truth = {**truth, "images": [img for img in truth["images"] if img["file_name"] in validated]}
    scores = coco_map(truth, joined, classes)
    scores["fold_mAP"] = {}
    for fold, (_, preds) in sorted(parts.items()):
        names = {p.file_name for p in preds}
        subset = {**truth, "images": [img for img in truth["images"] if img["file_name"] in names]}
        scores["fold_mAP"][str(fold)] = coco_map(subset, preds, classes)["mAP"]
    write_predictions(args.oof, classes, joined, {"model": args.models.name, "folds": sorted(parts)})
    write_json(args.metrics, nan_to_none(scores))
    print(f"{args.models.name}: CV mAP {scores['mAP']:.4f}, mAP@0.5 {scores['mAP50']:.4f}")


if __name__ == "__main__":
    stage.run(main)
