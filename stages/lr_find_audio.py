"""lr_find_audio: the LR range test of one audio model (lr_find/dvc.yaml, run on demand, not by `dvc repro`).

Reads:  --fold_table (data/folds/audio.csv), --clips (data/merged/audio/clips), --augmented (data/augmented/audio);
        params `common`, `numerics`, `audio_features`, `train_audio` (shared knobs and `per_model[--model]`: the
        optimizer, batch size and augmentation training uses) and `lr_find` (fold, steps, LR range, smoothing,
        divergence).
Writes: --out (lr_find/audio/<model>): lr_find.json (the suggestion, its rule, the LR params use now, every step's LR,
        loss and smoothed loss), lr_find.png (loss against LR, log axis) and metrics.json (the LRs).
"""

import pandas as pd

from podium import devices, stage
from podium.audio import train
from podium.lr_range import LrRange, lr_ramp
from podium.params import load_stage_params
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "fold_table", "clips", "augmented", "out", model=str)
    p = load_stage_params(args.params, "lr_find_audio", args.model)
    common, features, cfg, finder = p["common"], p["audio_features"], p["train_audio"], p["lr_find"]
    devices.pin_numerics(p["numerics"])
    table = pd.read_csv(args.fold_table)
    classes = sorted(table.label.unique())
    train_set, _ = train.fold_datasets(
        table,
        finder.fold,
        clips=args.clips,
        classes=classes,
        sample_rate=common.sample_rate,
        length=round(common.sample_rate * common.clip_seconds),
        clones=pd.read_csv(args.augmented / "train.csv"),
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
    tracker = LrRange(finder.smoothing, finder.diverge)
    train.lr_range_test(
        model,
        train_set,
        cfg,
        lr_ramp(finder.start_lr, finder.end_lr, finder.steps),
        tracker.record,
        sample_rate=common.sample_rate,
        seed=common.seed,
        device=devices.pick_device(cfg.device),
        progress=lambda steps: bar(total=steps, desc=f"{args.model} LR range test", unit="step"),
    )
    print(tracker.write(args.out, f"{args.model} (fold {finder.fold} training data, {cfg.optimizer})", cfg.lr))


if __name__ == "__main__":
    stage.run(main)
