"""tune_ensemble: search the ensemble's knobs on out-of-fold predictions (never on test).

Reads:  --predictions (predictions/: every model's folds' oof.json / oof.csv), --folds (data/folds: both fold
        tables), --merged (data/merged/detection/train.json: the OOF ground truth); params `common.seed`,
        `competition` (its tasks and metrics), `ensemble`, `models`.
Writes: --out (ensemble/settings.json: the chosen settings per task), --metrics (reports/ensemble.json: OOF
        score of each single model, of the equal-weight ensemble and of the tuned one, tuned on all the OOF and,
        `tuned_held_out`, tuned on half the folds and scored on the other half).
"""

import pandas as pd

from podium import boxes, probabilities, stage
from podium.ensemble.tune import BoxSettings, VoteSettings, held_out_boxes, held_out_votes, tune_boxes, tune_votes
from podium.files import read_json, write_json
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "predictions", "folds", "merged", "out", "metrics")
    p = load_stage_params(args.params, "tune_ensemble")
    cfg, seed, models, competition = p["ensemble"], p["common.seed"], p["models"], p["competition"]
    settings, report = {}, {}

    if "detection" in competition.tasks:
        fmt = competition.detection
        folds = pd.read_csv(args.folds / "detection.csv")
        classes, oof = boxes.read_model_oof(args.predictions, models.detection, folds)
        truth = read_json(args.merged / "detection/train.json")
        start = BoxSettings.from_params(cfg)
        tuning = dict(
            trials=cfg.tune_trials, seed=seed, workers=cfg.workers, metric=fmt.metric, iou_thr=fmt.iou_thr,
            empty_images=fmt.empty_images, no_finding=fmt.no_finding,
        )  # fmt: skip
        best, tuned, single, equal = tune_boxes(oof, truth, classes, start, **tuning)
        settings["detection"] = best.as_dict()
        report["detection"] = {
            "metric": f"OOF {fmt.metric}", "single": single, "equal_weights": equal, "tuned": tuned,
            "tuned_held_out": held_out_boxes(oof, truth, classes, start, **tuning),
        }  # fmt: skip

    if "audio" in competition.tasks:
        folds = pd.read_csv(args.folds / "audio.csv")
        classes, rows, probas = probabilities.read_oof_aligned(args.predictions, models.audio, folds)
        targets = rows.label.map({c: i for i, c in enumerate(classes)}).to_numpy()
        start, tuning = VoteSettings.from_params(cfg), dict(trials=cfg.tune_trials, seed=seed)
        best, tuned, single, equal = tune_votes(probas, targets, start, **tuning)
        settings["audio"] = best.as_dict()
        report["audio"] = {
            "metric": "OOF accuracy", "single": single, "equal_weights": equal, "tuned": tuned,
            "tuned_held_out": held_out_votes(probas, targets, rows.fold.to_numpy(), start, **tuning),
        }  # fmt: skip

    write_json(args.out, settings)
    write_json(args.metrics, report)
    for task, r in report.items():
        print(
            f"{task}: {r['metric']} single {r['single']}, equal weights {r['equal_weights']:.4f}, "
            f"tuned {r['tuned']:.4f} (tuned on half the folds, scored on the other half: {r['tuned_held_out']:.4f})"
        )


if __name__ == "__main__":
    stage.run(main)
