"""submit: fuse every model's folds on the test set with the tuned ensemble, validate, write the submission
CSVs, and score them on the local leaderboard when test labels are known.

Reads:  --predictions (predictions/: test.json / test.csv of every model and fold), --ensemble (ensemble/settings.json),
        --oof_report (reports/ensemble.json: CV scores for the manifest), --raw (data/raw: sample submissions, test
        images/clips, test labels, the test images' original sizes when an adapter resized them: boxes are written in
        original pixels); params `competition` (the tasks, the submission formats, the metric), `submit`,
        `split_folds.folds`, `models`.
Writes: --out (submissions/): detection.csv, audio.csv, each with a .manifest.json (git commit, params hash, models,
        folds, CV scores, the numeric environments the predictions were made in); --metrics (reports/leaderboard.json:
        local LB of the submission, of each model's fold ensemble and of every single (model, fold)). An invalid
        submission is never written.
"""

import hashlib
import subprocess
from functools import partial

import pandas as pd

from podium import boxes, devices, probabilities, stage
from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.ensemble.tune import BoxSettings, VoteSettings, box_candidates, vote_candidates
from podium.files import atomic_dir, fold_dir, read_json, write_json
from podium.metrics.competition import box_metric
from podium.params import load_stage_params
from podium.submission import detection_rows, validate_audio, validate_detection
from podium.submission.formats import (
    check_sample_grammar,
    check_test_coverage,
    read_original_sizes,
    submission_boxes,
    to_original_sizes,
)
from podium.submission.leaderboard import audio_score, by_stem, detection_score, image_sizes, leaderboard


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "predictions", "ensemble", "oof_report", "raw", "out", "metrics")
    p = load_stage_params(args.params, "submit")
    cfg, folds, models, competition = p["submit"], p["split_folds.folds"], p["models"], p["competition"]
    settings, cv = read_json(args.ensemble), read_json(args.oof_report)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    manifest = {
        "git_commit": commit,
        "params_sha256": hashlib.sha256(args.params.read_bytes()).hexdigest(),
        "folds": folds,
    }
    board = {}
    with atomic_dir(args.out) as out:
        if "detection" in competition.tasks:
            board["detection"] = submit_detection(args, out, manifest, settings, cv, models, folds, cfg, competition)
        if "audio" in competition.tasks:
            board["audio"] = submit_audio(args, out, manifest, settings, cv, models, folds, competition)
        board = {task: b for task, b in board.items() if b}
    write_json(args.metrics, board)
    for task, b in board.items():
        print(f"{task}: local LB {b['submission']:.4f}; best single {max(b['single'].values()):.4f}")


def submit_detection(args, out, manifest, settings, cv, models, folds, cfg, competition) -> dict | None:
    """detection.csv in the competition's format; its local LB by the competition's metric when test labels
    are known (None otherwise)."""
    fmt = competition.detection
    classes, sets = boxes.read_model_sets(args.predictions, models.detection, folds, "test")
    test_images = list_files(args.raw / "detection/test/images", IMAGE_SUFFIXES)
    check_test_coverage(sets, folds, test_images, args.predictions)
    sizes = image_sizes(test_images)
    candidates = box_candidates(sets, BoxSettings(**settings["detection"]), folds)
    # test images resized by an adapter (VinBigData's radiographs): boxes go back to the original pixels
    originals = read_original_sizes(args.raw / "detection/test/original_sizes.csv")
    restore = partial(to_original_sizes, originals=originals) if originals else (lambda preds: preds)
    sizes = originals or sizes
    sample_path = args.raw / "detection/sample_submission.csv"
    sample = pd.read_csv(sample_path, keep_default_na=False, dtype=str)
    check_sample_grammar(sample, classes, fmt, sample_path)
    room = cfg.max_boxes + bool(fmt.no_finding)  # the no-finding group is written beside max_boxes findings

    def submitted(preds):
        return submission_boxes(restore(preds), classes, fmt, cfg.max_boxes)

    rows = detection_rows(submitted(candidates["submission"]["all"]), classes, fmt, room)
    rows = rows.set_index(fmt.id_column).loc[sample[fmt.id_column]].reset_index()
    validate_detection(rows, sample, classes, sizes, fmt)
    rows.to_csv(out / "detection.csv", index=False)
    write_json(
        out / "detection.manifest.json",
        {
            **manifest,
            "models": list(sets),
            "ensemble": settings["detection"],
            "cv": cv["detection"],
            "numerics": _numerics(args.predictions / "detection", list(sets), folds),
        },  # fmt: skip
    )
    if not (args.raw / "detection/test_labels.json").exists():
        return None
    truth = by_stem(read_json(args.raw / "detection/test_labels.json"))
    metric = box_metric(
        fmt.metric, truth, classes, iou_thr=fmt.iou_thr, empty_images=fmt.empty_images, no_finding=fmt.no_finding
    )
    score = partial(detection_score, classes=classes, metric=metric, sizes=sizes, fmt=fmt, max_boxes=room)
    return {"metric": fmt.metric, **leaderboard(candidates, lambda preds: score(submitted(preds)))}


def submit_audio(args, out, manifest, settings, cv, models, folds, competition) -> dict | None:
    fmt = competition.audio
    tables = probabilities.read_model_sets(args.predictions, models.audio, folds, "test")
    classes, clips, probas = probabilities.align(tables)
    candidates = vote_candidates(probas, VoteSettings(**settings["audio"]), folds)

    def labels(scores) -> pd.DataFrame:
        return pd.DataFrame({fmt.id_column: clips.fname, fmt.column: [classes[i] for i in scores.argmax(1)]})

    sample = pd.read_csv(args.raw / "audio/sample_submission.csv", dtype=str)
    rows = labels(candidates["submission"]["all"]).set_index(fmt.id_column).loc[sample[fmt.id_column]].reset_index()
    validate_audio(rows, sample, classes, fmt)
    rows.to_csv(out / "audio.csv", index=False)
    write_json(
        out / "audio.manifest.json",
        {
            **manifest,
            "models": list(probas),
            "ensemble": settings["audio"],
            "cv": cv["audio"],
            "numerics": _numerics(args.predictions / "audio", list(probas), folds),
        },  # fmt: skip
    )
    if not (args.raw / "audio/test_labels.csv").exists():
        return None
    truth = pd.read_csv(args.raw / "audio/test_labels.csv")
    return {"metric": fmt.metric, **leaderboard(candidates, lambda scores: audio_score(labels(scores), truth, fmt))}


def _numerics(predictions, models, folds) -> list[dict]:
    return devices.recorded_numerics([fold_dir(predictions / m, k) for m in models for k in folds])


if __name__ == "__main__":
    stage.run(main)
