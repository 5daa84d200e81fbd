"""submit: fuse every model's folds on the test set with the tuned ensemble, validate, write the submission
CSVs, and score them on the local leaderboard when test labels are known.

Reads:  --predictions (predictions/: test.json / test.csv of every model and fold), --ensemble
        (ensemble/settings.json), --oof-report (reports/ensemble.json: CV scores for the manifest), --raw
        (data/raw: sample submissions, test images/clips, test labels); params `submit`, model lists, folds.
Writes: --out (submissions/): detection.csv, audio.csv, each with a .manifest.json (git commit, params hash,
        models, folds, CV scores); --metrics (reports/leaderboard.json: local LB of the submission, of each
        model's fold ensemble and of every single (model, fold)). An invalid submission is never written.
"""

import hashlib
import subprocess

import pandas as pd

from podium import stage
from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.ensemble.sets import audio_sets, detection_sets
from podium.ensemble.tune import BoxSettings, VoteSettings, fuse_models, vote_models
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params
from podium.submission import detection_rows, validate_audio, validate_detection
from podium.submission.leaderboard import audio_score, detection_score, image_sizes


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "predictions", "ensemble", "oof_report", "raw", "out", "metrics")
    p = load_stage_params(args.params, "submit")
    cfg, folds = p["submit"], p["split_folds"].folds
    settings, cv = read_json(args.ensemble), read_json(args.oof_report)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    manifest = {"git_commit": commit, "params_sha256": hashlib.sha256(args.params.read_bytes()).hexdigest(),
                "folds": folds}
    board = {}
    with atomic_dir(args.out) as out:
        classes, sets = detection_sets(args.predictions, p["train_detector.models"], folds, "test")
        sizes = image_sizes(list_files(args.raw / "detection/test/images", IMAGE_SUFFIXES))
        fused = fuse_models(sets, BoxSettings(**settings["detection"]))
        rows = detection_rows(fused, classes, cfg.empty_prediction, cfg.max_boxes)
        sample = pd.read_csv(args.raw / "detection/sample_submission.csv", keep_default_na=False)
        rows = rows.set_index("image_id").loc[sample.image_id.astype(str)].reset_index()
        validate_detection(rows, sample, classes, sizes, cfg.empty_prediction)
        rows.to_csv(out / "detection.csv", index=False)
        write_json(out / "detection.manifest.json", {**manifest, "models": list(sets),
                                                     "ensemble": settings["detection"], "cv": cv["detection"]})
        if (args.raw / "detection/test_labels.json").exists():
            truth = read_json(args.raw / "detection/test_labels.json")
            score = lambda preds: detection_score(preds, classes, truth, sizes, cfg.empty_prediction,  # noqa: E731
                                                  cfg.max_boxes)
            board["detection"] = {"submission": score(fused), "fold_ensemble": {
                m: score(fuse_models({m: s}, BoxSettings({}))) for m, s in sets.items()},
                "single": {f"{m}-{k}": score(s[i]) for m, s in sets.items() for i, k in enumerate(folds)}}

        tables = audio_sets(args.predictions, p["train_audio.models"], folds, "test")
        first = next(iter(tables.values()))[0]
        classes = [c[2:] for c in first.columns if c.startswith("p_")]
        probas = {m: [t.set_index("fname").loc[first.fname, [f"p_{c}" for c in classes]].to_numpy() for t in ts]
                  for m, ts in tables.items()}
        label = lambda scores: pd.DataFrame({"fname": first.fname, "label": [classes[i] for i in scores.argmax(1)]})  # noqa: E731
        sample = pd.read_csv(args.raw / "audio/sample_submission.csv")
        rows = label(vote_models(probas, VoteSettings(**settings["audio"]))).set_index("fname").loc[
            sample.fname].reset_index()
        validate_audio(rows, sample, classes)
        rows.to_csv(out / "audio.csv", index=False)
        write_json(out / "audio.manifest.json", {**manifest, "models": list(tables), "ensemble": settings["audio"],
                                                 "cv": cv["audio"]})
        if (args.raw / "audio/test_labels.csv").exists():
            truth = pd.read_csv(args.raw / "audio/test_labels.csv")
            board["audio"] = {"submission": audio_score(rows, truth), "fold_ensemble": {
                m: audio_score(label(vote_models({m: s}, VoteSettings({}))), truth) for m, s in probas.items()},
                "single": {f"{m}-{k}": audio_score(label(s[i]), truth) for m, s in probas.items()
                           for i, k in enumerate(folds)}}
    write_json(args.metrics, board)
    for task, b in board.items():
        print(f"{task}: local LB {b['submission']:.4f}; best single {max(b['single'].values()):.4f}")


if __name__ == "__main__":
    stage.run(main)
