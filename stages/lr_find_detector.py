"""lr_find_detector: the LR range test of one detector (lr_find/dvc.yaml, run on demand, not by `dvc repro`).

Reads:  --fold_table (data/folds/detection.csv), --merged (data/merged/detection), --augmented
        (data/augmented/detection); params `common.seed`, `numerics`, `train_detector` (shared knobs and
        `per_model[--model]`: the model, optimizer, batch size and data pipeline training builds) and `lr_find`.
Writes: --out (lr_find/detection/<model>): lr_find.json (the suggestion, its rule, the LR params use now, every step's
        LR, loss and smoothed loss), lr_find.png (loss against LR, log axis) and metrics.json (the LRs). --work
        (work/lr_find/detection/<model>, git- and DVC-ignored): mmengine's scratch folder.
"""

import pandas as pd

from podium import devices, stage
from podium.files import read_json
from podium.lr_range import lr_ramp
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "fold_table", "merged", "augmented", "work", "out", model=str)
    p = load_stage_params(args.params, "lr_find_detector", args.model)
    seed, cfg, finder = p["common.seed"], p["train_detector"], p["lr_find"]
    devices.hide_gpus_for_cpu(cfg.device)
    devices.pin_numerics(p["numerics"])
    from podium.detection.lr_find import lr_range_test

    tracker = lr_range_test(
        args.model,
        cfg,
        seed=seed,
        fold=finder.fold,
        coco=read_json(args.merged / "train.json"),
        folds=pd.read_csv(args.fold_table),
        clones=read_json(args.augmented / "train.json"),
        images=args.merged / "images",
        clone_images=args.augmented / "images",
        work=args.work,
        lrs=lr_ramp(finder.start_lr, finder.end_lr, finder.steps),
        smoothing=finder.smoothing,
        diverge=finder.diverge,
    )
    print(tracker.write(args.out, f"{args.model} (fold {finder.fold} training data, {cfg.optimizer})", cfg.lr))


if __name__ == "__main__":
    stage.run(main)
