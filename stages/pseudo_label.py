"""pseudo_label: one pseudo-labelling round's training data, from its source round's tuned ensemble on the test set.

Reads:  --predictions (the source round's predictions/: every model's and fold's test.json / test.csv), --ensemble
        (its ensemble/settings.json), --merged (data/merged) and --folds (data/folds), the base training data,
        --test_images (data/raw/detection/test/images), --test_clips (data/raw/audio/test/clips); never the test
        labels. Params `common.sample_rate`, `competition.tasks`, `models`, `split_folds.folds` and every
        `pseudo_label` knob but `rounds` (adding a round reruns no earlier one).
Writes: --out (rounds/<name>/data): merged/detection (images/, train.json) and merged/audio/clips, folds/
        (detection.csv, audio.csv): the base data plus the kept test samples as train-only (fold -1) samples,
        repeated; --reports (reports/rounds/<name>/pseudo): metrics.json (samples and boxes/clips per class) and
        previews/ (pseudo boxes drawn; spectrograms), as DVC metrics and plots.
"""

from dataclasses import asdict

from podium import boxes, probabilities, stage
from podium.augment import preview
from podium.data import pseudo
from podium.ensemble.tune import BoxSettings, VoteSettings, fuse_models, vote_models
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(
        __doc__, "params", "predictions", "ensemble", "merged", "folds", "test_images", "test_clips", "out", "reports"
    )
    p = load_stage_params(args.params, "pseudo_label")
    tasks, models, folds = p["competition.tasks"], p["models"], p["split_folds.folds"]
    knob = {key.removeprefix("pseudo_label."): value for key, value in p.items() if key.startswith("pseudo_label.")}
    settings = read_json(args.ensemble)
    report = {}
    (args.reports / "previews").mkdir(parents=True, exist_ok=True)
    with atomic_dir(args.out) as out:
        if "detection" in tasks:
            classes, sets = boxes.read_model_sets(args.predictions, models.detection, folds, "test")
            fused = fuse_models(sets, BoxSettings(**settings["detection"]))
            kept = pseudo.select_images(
                fused, box_thr=knob["box_thr"], high=knob["box_high"], min_fraction=knob["box_min_fraction"]
            )
            pseudo.write_detection_round(
                kept,
                classes,
                repeats=knob["box_repeats"],
                merged=args.merged / "detection",
                folds=args.folds / "detection.csv",
                test_images=args.test_images,
                out_merged=out / "merged/detection",
                out_folds=out / "folds/detection.csv",
            )
            report["detection"] = asdict(pseudo.detection_counts(kept, classes, len(fused)))
            panels = [{"file_name": k.file_name, "policy": k.file_name, "boxes": _xywh(k)} for k in kept]
            if rows := _grid(panels[: knob["preview"]]):
                preview.detection_grid(
                    rows, args.test_images, args.test_images, args.reports / "previews/detection.png"
                )
        if "audio" in tasks:
            tables = probabilities.read_model_sets(args.predictions, models.audio, folds, "test")
            classes, clips, probas = probabilities.align(tables)
            scores = vote_models(probas, VoteSettings(**settings["audio"]))
            kept = pseudo.select_clips(
                list(clips.fname),
                scores,
                classes,
                threshold=knob["clip_thr"],
                max_per_class=knob["clip_max_per_class"],
            )
            pseudo.write_audio_round(
                kept,
                repeats=knob["clip_repeats"],
                clips=args.merged / "audio/clips",
                folds=args.folds / "audio.csv",
                test_clips=args.test_clips,
                out_clips=out / "merged/audio/clips",
                out_folds=out / "folds/audio.csv",
            )
            report["audio"] = asdict(pseudo.audio_counts(kept, classes, len(clips)))
            panels = [
                {"fname": r.fname, "label": label, "policy": f"{r.fname} ({label})"}
                for r in kept.head(knob["preview"]).itertuples()
                for label in [f"{r.label} {r.probability:.2f}"]
            ]
            if rows := _grid(panels):
                preview.audio_grid(
                    rows, args.test_clips, args.test_clips, p["common.sample_rate"], args.reports / "previews/audio.png"
                )
    write_json(args.reports / "metrics.json", report)
    for task, counts in report.items():
        print(
            f"{task}: {counts['samples']} of {counts['of']} test samples pseudo-labelled; "
            f"per class {counts['per_class']}"
        )


def _grid(panels: list[dict], columns: int = 3) -> list[tuple[dict, list[dict]]]:
    """Preview rows for podium.augment.preview's grids: `columns` samples a row, the first as the row's
    "original", the rest as its "clones" (titled by their `policy`: here the sample's name)."""
    return [(panels[i], panels[i + 1 : i + columns]) for i in range(0, len(panels), columns)]


def _xywh(pred: boxes.ImagePredictions) -> list[list[float]]:
    return [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in pred.boxes.tolist()]


if __name__ == "__main__":
    stage.run(main)
