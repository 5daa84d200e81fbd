"""train_detector: one MMDetection model on one fold (dvc.yaml's matrix expands models x folds).

Reads:  --folds (data/folds/detection.csv), --merged (data/merged/detection: images/, train.json); params
        `common.seed`, `train_detector` (with `per_model[--model]` applied).
Writes: --out (models/detection/<model>/fold<k>): model.pth (best weights by validation mAP), config.py
        (the resolved mmengine config), params.yaml, oof.json (validation predictions, original-image pixels);
        --reports (reports/detection/<model>/fold<k>): metrics.json (COCO mAP, mAP@0.5, per-class AP) and
        live/ (DVCLive: losses and mAP per epoch). --work (work/detection/<model>/fold<k>) keeps mmengine's
        checkpoints so an interrupted run resumes when rerun with the same config.
"""

import os

import pandas as pd
import yaml
from tqdm import tqdm

from podium import stage
from podium.data.folds import check_clone_folds
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params, resolve_model, to_dict


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "folds", "merged", "augmented", "work", "out", "reports", model=str,
                             fold=int)
    p = load_stage_params(args.params, "train_detector")
    seed, cfg = p["common.seed"], resolve_model(p["train_detector"], args.model, "train_detector")
    if cfg.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # mmengine puts the model on any visible GPU
    stage.relaunch_with_torchrun(cfg.gpus)
    rank, world = stage.init_distributed(cfg.device)
    import torch

    from podium.detection import config as det_config
    from podium.detection import predictions, train, tta
    from podium.metrics.detection import coco_map, nan_to_none

    coco = read_json(args.merged / "train.json")
    classes = [c["name"] for c in coco["categories"]]
    train.check_classes(coco, classes, str(args.merged / "train.json"))
    folds = pd.read_csv(args.folds)
    train_coco, val_coco = train.split_annotations(coco, folds, args.fold)
    clones = read_json(args.augmented / "train.json")
    check_clone_folds(clones["images"], dict(zip(folds.file_name, folds.fold, strict=True)), "file_name",
                      str(args.augmented / "train.json"))
    train_coco = train.with_image_paths(train.add_clones(train_coco, clones, args.fold), args.merged / "images",
                                        args.augmented / "images")
    use_cuda = torch.cuda.is_available()
    config = det_config.build_train_config(
        args.model, cfg, classes, "", str(args.work / "data/train.json"),
        str(args.work / "data/val.json"), str(args.work), str(args.reports / "live"), seed, use_cuda, world > 1)
    config.data_digest = train.data_digest(train_coco, val_coco)  # same config, other folds: no resume
    if rank == 0:
        train.prepare_work_dir(args.work, config)  # empties it unless it holds this very run, interrupted
        train.write_fold_files(train_coco, train.with_image_paths(val_coco, args.merged / "images"),
                               args.work / "data")
    if world > 1:
        torch.distributed.barrier()
    resume = (args.work / "last_checkpoint").exists()
    checkpoint = None
    if cfg.epochs > 0:
        _, checkpoint = train.run_training(config, resume)
    if rank != 0:
        return
    device = "cuda" if use_cuda else "cpu"
    model = train.build_detector(config, checkpoint, device)
    paths = [args.merged / "images" / img["file_name"] for img in val_coco["images"]]
    with tqdm(total=len(paths), desc=f"{args.model} fold {args.fold} OOF", unit="img") as bar:
        oof = tta.predict_view(model, paths, "original", 1.0, cfg.batch_size, bar.update)
    for pred in oof:
        pred.fold = args.fold
    scores = nan_to_none(coco_map(val_coco, oof, classes))
    scores["epochs_trained"] = cfg.epochs if checkpoint else 0
    resolved = {"common.seed": seed, "train_detector": to_dict(cfg)}
    with atomic_dir(args.out) as out:
        torch.save({"state_dict": model.state_dict(), "meta": {"classes": classes, "model": args.model,
                                                                 "fold": args.fold}}, out / "model.pth")
        config.dump(str(out / "config.py"))
        (out / "params.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        predictions.write_predictions(out / "oof.json", classes, oof, {"model": args.model, "fold": args.fold})
    write_json(args.reports / "metrics.json", scores)
    print(f"{args.model} fold {args.fold}: mAP {scores['mAP']:.4f}, mAP@0.5 {scores['mAP50']:.4f}")


if __name__ == "__main__":
    stage.run(main)
