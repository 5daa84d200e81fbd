"""evaluate_detector: one detector's CV score: its folds' OOF predictions (from predict_detector, with the TTA
the ensemble sees) joined into one set and scored.

Reads:  --fold_table (data/folds/detection.csv), --merged (data/merged/detection/train.json: the ground
        truth), --predictions (predictions/: detection/<model>/fold<k>/oof.json for every fold of --model);
        params `competition.detection.metric`, `.iou_thr`, `.empty_images` and `.no_finding`.
Writes: --oof (oof/detection/<model>.json), --metrics (reports/detection/<model>/cv.json: `score`, the
        competition's metric, and per fold; COCO mAP, mAP@0.5, per-class AP, per-fold mAP whatever the metric).
        Fails unless every validation image is predicted exactly once.
"""

import pandas as pd

from podium import stage
from podium.boxes import join_oof, read_model_sets, write_predictions
from podium.coverage import validation_folds
from podium.files import read_json, write_json
from podium.metrics.competition import box_metric
from podium.metrics.detection import coco_map, nan_to_none, restrict
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "fold_table", "merged", "predictions", "oof", "metrics", model=str)
    p = load_stage_params(args.params, "evaluate_detector")
    metric_name, iou_thr = p["competition.detection.metric"], p["competition.detection.iou_thr"]
    empty_images, no_finding = p["competition.detection.empty_images"], p["competition.detection.no_finding"]
    folds = pd.read_csv(args.fold_table)
    fold_ids = validation_folds(folds)
    classes, sets = read_model_sets(args.predictions, [args.model], fold_ids, "oof")
    parts = dict(zip(fold_ids, sets[args.model], strict=True))
    _, joined = join_oof({k: (classes, s) for k, s in parts.items()}, folds, str(args.predictions / args.model))
    truth = read_json(args.merged / "train.json")

    def score(preds: list) -> dict:
        return coco_map(restrict(truth, [p.file_name for p in preds]), preds, classes)

    def competition_score(preds: list) -> float:
        scope = restrict(truth, [p.file_name for p in preds])
        metric = box_metric(
            metric_name, scope, classes, iou_thr=iou_thr, empty_images=empty_images, no_finding=no_finding
        )
        return metric(preds)

    scores = {
        "metric": metric_name,
        "score": competition_score(joined),
        "fold_score": {str(k): competition_score(s) for k, s in parts.items()},
        **score(joined),
        "fold_mAP": {str(k): score(s)["mAP"] for k, s in parts.items()},
    }
    write_predictions(args.oof, classes, joined, {"model": args.model, "folds": fold_ids})
    write_json(args.metrics, nan_to_none(scores))
    coco = f"COCO mAP {scores['mAP']:.4f}, mAP@0.5 {scores['mAP50']:.4f}"
    print(f"{args.model}: CV {metric_name} {scores['score']:.4f}; {coco}")


if __name__ == "__main__":
    stage.run(main)
