"""tune_ensemble: search the ensemble's knobs on out-of-fold predictions (never on test).

Reads:  --predictions (predictions/: every model's folds' oof.json / oof.csv), --folds (data/folds),
        --merged (data/merged: the OOF ground truth); params `common.seed`, `ensemble`, the model lists and folds.
Writes: --out (ensemble/settings.json: the chosen settings per task), --metrics (reports/ensemble.json: OOF
        score of each single model, of the equal-weight ensemble and of the tuned one).
"""

import pandas as pd

from podium import stage
from podium.ensemble.sets import audio_oof_probas, detection_oof
from podium.ensemble.tune import BoxSettings, VoteSettings, tune_boxes, tune_votes, vote_models
from podium.files import read_json, write_json
from podium.metrics.detection import coco_map
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "predictions", "folds", "merged", "out", "metrics")
    p = load_stage_params(args.params, "tune_ensemble")
    cfg, seed = p["ensemble"], p["common.seed"]
    settings, report = {}, {}

    folds = pd.read_csv(args.folds / "detection.csv")
    classes, oof = detection_oof(args.predictions, p["train_detector.models"], folds)
    truth = read_json(args.merged / "detection/train.json")
    validated = set(folds.file_name[folds.fold >= 0])
    truth = {**truth, "images": [img for img in truth["images"] if img["file_name"] in validated]}
    start = BoxSettings(dict(cfg.box_weights), cfg.box_method, cfg.box_iou_thr, cfg.box_skip_thr, cfg.box_conf_type,
                        cfg.box_score_thr, cfg.box_calibration)
    single = {m: coco_map(truth, preds, classes)["mAP"] for m, preds in oof.items()}
    _, equal = tune_boxes(oof, truth, classes, BoxSettings({}, cfg.box_method), 0, seed, cfg.workers)
    best, tuned = tune_boxes(oof, truth, classes, start, cfg.tune_trials, seed, cfg.workers)
    settings["detection"] = best.as_dict()
    report["detection"] = {"metric": "OOF mAP@[.5:.95]", "single": single, "equal_weights": equal, "tuned": tuned}

    folds = pd.read_csv(args.folds / "audio.csv")
    classes, rows, probas = audio_oof_probas(args.predictions, p["train_audio.models"], folds)
    targets = rows.label.map({c: i for i, c in enumerate(classes)}).to_numpy()
    single = {m: float((pr.argmax(1) == targets).mean()) for m, pr in probas.items()}
    equal = float((vote_models({m: [pr] for m, pr in probas.items()}, VoteSettings({})).argmax(1) == targets).mean())
    best, tuned = tune_votes(probas, targets, VoteSettings(dict(cfg.vote_weights), cfg.vote_method), cfg.tune_trials,
                             seed)
    settings["audio"] = best.as_dict()
    report["audio"] = {"metric": "OOF accuracy", "single": single, "equal_weights": equal, "tuned": tuned}

    write_json(args.out, settings)
    write_json(args.metrics, report)
    for task, r in report.items():
        print(f"{task}: {r['metric']} single {r['single']}, equal weights {r['equal_weights']:.4f}, "
              f"tuned {r['tuned']:.4f}")


if __name__ == "__main__":
    stage.run(main)
