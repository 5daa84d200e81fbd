"""predict_detector: one trained (model, fold) predicts the test images and, with the same TTA, its fold's
validation images (OOF), so ensembles are tuned on OOF exactly as they are applied to test.

Reads:  --models (models/detection/<model>/fold<k>: model.pth, config.py), --folds (data/folds/detection.csv),
        --merged (data/merged/detection/images), --test (data/raw/detection/test/images); params
        `predict_detector`.
Writes: --out (predictions/detection/<model>/fold<k>): oof.json and test.json (boxes x1,y1,x2,y2 in
        original-image pixels, see podium.detection.predictions).
"""

import os

import pandas as pd
from tqdm import tqdm

from podium import stage
from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.files import atomic_dir
from podium.params import load_stage_params, resolve_model


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "models", "folds", "merged", "test", "out", model=str, fold=int)
    cfg = resolve_model(load_stage_params(args.params, "predict_detector")["predict_detector"], args.model,
                        "predict_detector")
    if cfg.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch
    from mmengine.config import Config

    from podium.detection import predictions, train, tta

    checkpoint = args.models / "model.pth"
    meta = train.checkpoint_meta(checkpoint)
    if (meta.get("model"), meta.get("fold")) != (args.model, args.fold):
        raise predictions.PredictionError(
            f"{checkpoint}: holds model {meta.get('model')} fold {meta.get('fold')}, not {args.model} fold "
            f"{args.fold}; rerun train_detector@{args.model}-{args.fold}")
    device = "cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu"
    model = train.build_detector(Config.fromfile(str(args.models / "config.py")), checkpoint, device)
    folds = pd.read_csv(args.folds)
    sets = {"oof": [args.merged / "images" / f for f in folds.file_name[folds.fold == args.fold]],
            "test": list_files(args.test, IMAGE_SUFFIXES)}
    with atomic_dir(args.out) as out:
        for name, paths in sets.items():
            with tqdm(total=len(paths) * len(cfg.tta_views) * len(cfg.tta_scales), unit="img",
                      desc=f"{args.model} fold {args.fold} {name}") as bar:
                preds = tta.predict_tta(model, paths, cfg.tta_views, cfg.tta_scales, cfg.batch_size, cfg.tta_merge,
                                        cfg.tta_iou_thr, bar.update)
            for p in preds:
                p.fold = args.fold if name == "oof" else -1
            predictions.write_predictions(out / f"{name}.json", meta["classes"], preds,
                                          {"model": args.model, "fold": args.fold, "set": name,
                                           "tta": cfg.tta_views, "scales": cfg.tta_scales, "merge": cfg.tta_merge})


if __name__ == "__main__":
    stage.run(main)
