"""predict_detector: one trained (model, fold) predicts the test images and, with the same TTA, its fold's
validation images (OOF), so ensembles are tuned on OOF exactly as they are applied to test.

Reads:  --model_dir (models/detection/<model>/fold<k>: model.pth, params.yaml), --fold_table (data/folds/detection.csv),
        --merged (data/merged/detection/images), --test (data/raw/detection/test/images); params `numerics`,
        `predict_detector` (its shared knobs and `per_model[--model]`).
Writes: --out (predictions/detection/<model>/fold<k>): oof.json and test.json (boxes x1,y1,x2,y2 in original-image
        pixels, see podium.boxes), the TTA views fused per image; numerics.json (the numeric environment).
"""

import pandas as pd

from podium import devices, stage
from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.files import atomic_dir, write_json
from podium.params import load_stage_params
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "model_dir", "fold_table", "merged", "test", "out", model=str, fold=int)
    p = load_stage_params(args.params, "predict_detector", args.model)
    cfg = p["predict_detector"]
    devices.hide_gpus_for_cpu(cfg.device)
    devices.pin_numerics(p["numerics"])
    from podium.boxes import write_predictions
    from podium.detection.inference import load_detector, predict_views
    from podium.ensemble.boxes import fuse_views

    device = devices.pick_device(cfg.device)
    model, classes, trained = load_detector(args.model_dir, args.model, args.fold, device)
    folds = pd.read_csv(args.fold_table)
    sets = {
        "oof": [args.merged / "images" / f for f in folds.file_name[folds.fold == args.fold]],
        "test": list_files(args.test, IMAGE_SUFFIXES),
    }
    views = len(cfg.tta_views) * len(cfg.tta_scales)
    with atomic_dir(args.out) as out:
        write_json(out / "numerics.json", devices.numeric_environment(p["numerics"], device))
        for name, paths in sets.items():
            with bar(total=len(paths) * views, unit="img", desc=f"{args.model} fold {args.fold} {name}") as progress:
                per_view = predict_views(
                    model,
                    paths,
                    views=cfg.tta_views,
                    scales=cfg.tta_scales,
                    image_size=trained.image_size,
                    batch_size=cfg.batch_size,
                    progress=progress.update,
                )
            preds = fuse_views(per_view, cfg.tta_merge, cfg.tta_iou_thr)
            for p in preds:
                p.fold = args.fold if name == "oof" else -1
            write_predictions(
                out / f"{name}.json",
                classes,
                preds,
                {
                    "model": args.model,
                    "fold": args.fold,
                    "set": name,
                    "tta": cfg.tta_views,
                    "scales": cfg.tta_scales,
                    "merge": cfg.tta_merge,
                },
            )


if __name__ == "__main__":
    stage.run(main)
