"""train_audio: one speech-command classifier on one fold (dvc.yaml's matrix expands models x folds).

Reads:  --fold_table (data/folds/audio.csv), --clips (data/merged/audio/clips), --augmented (data/augmented/audio:
        clips/ + train.csv, the clones; only clones whose parent is not in --fold are trained on); params `common`,
        `numerics`, `audio_features`, `train_audio` (its shared knobs and `per_model[--model]`).
Writes: --out (models/audio/<model>/fold<k>): model.pt (best weights + classes, features, params), params.yaml
        (resolved), numerics.json (the numeric environment it was trained in), validation.csv (the fold's validation
        probabilities, no TTA); --reports (reports/audio/<model>/fold<k>): DVCLive metrics.json (accuracy, macro-F1,
        per-class recall), per-epoch plots and the confusion matrix.
"""

import dataclasses

import pandas as pd
import yaml
from dvclive import Live

from podium import devices, probabilities, stage
from podium.audio import train
from podium.coverage import check_clone_folds
from podium.files import atomic_dir, write_json
from podium.metrics import classification_scores
from podium.params import load_stage_params, to_dict
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(
        __doc__, "params", "fold_table", "clips", "augmented", "out", "reports", model=str, fold=int
    )
    p = load_stage_params(args.params, "train_audio", args.model)
    common, features, cfg = p["common"], p["audio_features"], p["train_audio"]
    devices.pin_numerics(p["numerics"])
    stage.relaunch_with_torchrun(cfg.gpus)
    rank, _ = stage.init_distributed(cfg.device)
    table = pd.read_csv(args.fold_table)
    classes = sorted(table.label.unique())
    length = round(common.sample_rate * common.clip_seconds)
    clones = pd.read_csv(args.augmented / "train.csv")
    check_clone_folds(
        clones.to_dict("records"),
        dict(zip(table.fname, table.fold, strict=True)),
        "fname",
        str(args.augmented / "train.csv"),
    )
    train_set, val_set = train.fold_datasets(
        table,
        args.fold,
        clips=args.clips,
        classes=classes,
        sample_rate=common.sample_rate,
        length=length,
        clones=clones,
        clone_clips=args.augmented / "clips",
    )
    model = train.build_model(
        features,
        args.model,
        num_classes=len(classes),
        sample_rate=common.sample_rate,
        pretrained=cfg.pretrained,
        seed=common.seed,
    )
    live = Live(str(args.reports), dvcyaml=False, save_dvc_exp=False, report=None) if rank == 0 else None

    def log_epoch(row: dict) -> None:
        if live:
            for key, value in row.items():
                if key != "epoch":
                    live.log_metric(key.replace("_", "/", 1), value)
            live.next_step()

    device = devices.pick_device(cfg.device)
    result = train.train_fold(
        model,
        train_set,
        val_set,
        cfg,
        sample_rate=common.sample_rate,
        seed=common.seed,
        device=device,
        log_epoch=log_epoch,
        progress=lambda steps: bar(total=steps, desc=f"{args.model} fold {args.fold}", unit="step", disable=rank != 0),
    )
    if rank != 0:
        return
    truth = [classes[i] for i in val_set.targets]
    predicted = [classes[i] for i in result.val_proba.argmax(1)]
    scores = classification_scores(truth, predicted, classes)
    live.summary = {**scores, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run}
    live.log_sklearn_plot("confusion_matrix", truth, predicted, name="confusion_matrix.json")
    live.end()
    resolved = {"common": to_dict(common), "audio_features": to_dict(features), "train_audio": to_dict(cfg)}
    model.load_state_dict(result.state_dict)
    numerics = devices.numeric_environment(p["numerics"], device)
    with atomic_dir(args.out) as out:
        train.save_checkpoint(
            out / "model.pt",
            model,
            {
                "classes": classes,
                "network": args.model,
                "features": dataclasses.asdict(features),
                "sample_rate": common.sample_rate,
                "clip_samples": length,
                "fold": args.fold,
                "params": resolved,
                "numerics": numerics,
            },
        )
        write_json(out / "numerics.json", numerics)
        (out / "params.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        table = probabilities.proba_table(
            [path.name for path in val_set.paths], truth, args.fold, result.val_proba, classes
        )
        probabilities.write_table(out / "validation.csv", table, args.model, args.fold)
    print(
        f"{args.model} fold {args.fold}: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f} "
        f"(best epoch {result.best_epoch})"
    )


if __name__ == "__main__":
    stage.run(main)
