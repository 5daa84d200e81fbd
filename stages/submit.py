"""submit: fuse every model's folds on the test set with the tuned ensemble, validate, write the submission
CSVs, and score them on the local leaderboard when test labels are known.

Reads:  --predictions (predictions/: test.json / test.csv of every model and fold), --ensemble
        (ensemble/settings.json), --oof_report (reports/ensemble.json: CV scores for the manifest), --raw
        (data/raw: sample submissions, test images/clips, test labels); params `submit`, `split_folds.folds`,
        `models`.
Writes: --out (submissions/): detection.csv, audio.csv, each with a .manifest.json (git commit, params hash,
        models, folds, CV scores); --metrics (reports/leaderboard.json: local LB of the submission, of each
        model's fold ensemble and of every single (model, fold)). An invalid submission is never written.
"""

import hashlib
import subprocess
from functools import partial

import pandas as pd

from podium import boxes, probabilities, stage
from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.ensemble.tune import BoxSettings, VoteSettings, box_candidates, vote_candidates
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params
from podium.submission import detection_rows, validate_audio, validate_detection
from podium.submission.formats import check_test_coverage
from podium.submission.leaderboard import audio_score, detection_score, image_sizes, leaderboard


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "predictions", "ensemble", "oof_report", "raw", "out", "metrics")
    p = load_stage_params(args.params, "submit")
    cfg, folds, models = p["submit"], p["split_folds.folds"], p["models"]
    settings, cv = read_json(args.ensemble), read_json(args.oof_report)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    manifest = {
        "git_commit": commit,
        "params_sha256": hashlib.sha256(args.params.read_bytes()).hexdigest(),
        "folds": folds,
    }
    board = {}
    with atomic_dir(args.out) as out:
        classes, sets = boxes.read_model_sets(args.predictions, models.detection, folds, "test")
        test_images = list_files(args.raw / "detection/test/images", IMAGE_SUFFIXES)
        check_test_coverage(sets, folds, test_images, args.predictions)
        sizes = image_sizes(test_images)
        candidates = box_candidates(sets, BoxSettings(**settings["detection"]), folds)
        rows = detection_rows(candidates["submission"]["all"], classes, cfg.empty_prediction, cfg.max_boxes)
        sample = pd.read_csv(args.raw / "detection/sample_submission.csv", keep_default_na=False)
        rows = rows.set_index("image_id").loc[sample.image_id.astype(str)].reset_index()
        validate_detection(rows, sample, classes, sizes, cfg.empty_prediction)
        rows.to_csv(out / "detection.csv", index=False)
        write_json(
            out / "detection.manifest.json",
            {**manifest, "models": list(sets), "ensemble": settings["detection"], "cv": cv["detection"]},
        )
        if (args.raw / "detection/test_labels.json").exists():
            board["detection"] = leaderboard(
                candidates,
                partial(
                    detection_score,
                    classes=classes,
                    truth=read_json(args.raw / "detection/test_labels.json"),
                    sizes=sizes,
                    empty=cfg.empty_prediction,
                    max_boxes=cfg.max_boxes,
                ),
            )

        tables = probabilities.read_model_sets(args.predictions, models.audio, folds, "test")
        classes, clips, probas = probabilities.align(tables)
        candidates = vote_candidates(probas, VoteSettings(**settings["audio"]), folds)

        def labels(scores) -> pd.DataFrame:
            return pd.DataFrame({"fname": clips.fname, "label": [classes[i] for i in scores.argmax(1)]})

        sample = pd.read_csv(args.raw / "audio/sample_submission.csv")
        rows = labels(candidates["submission"]["all"]).set_index("fname").loc[sample.fname].reset_index()
        validate_audio(rows, sample, classes)
        rows.to_csv(out / "audio.csv", index=False)
        write_json(
            out / "audio.manifest.json",
            {**manifest, "models": list(probas), "ensemble": settings["audio"], "cv": cv["audio"]},
        )
        if (args.raw / "audio/test_labels.csv").exists():
            truth = pd.read_csv(args.raw / "audio/test_labels.csv")
            board["audio"] = leaderboard(candidates, lambda scores: audio_score(labels(scores), truth))
    write_json(args.metrics, board)
    for task, b in board.items():
        print(f"{task}: local LB {b['submission']:.4f}; best single {max(b['single'].values()):.4f}")


if __name__ == "__main__":
    stage.run(main)
