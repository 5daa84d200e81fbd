"""train_detector: one MMDetection model on one fold (dvc.yaml's matrix expands models x folds).

Reads:  --fold_table (data/folds/detection.csv), --merged (data/merged/detection: images/, train.json), --augmented
        (data/augmented/detection: the clones; only those whose parent trains here are used); params `common.seed`,
        `numerics`, `competition.detection.metric`, `.iou_thr`, `.empty_images`, `.no_finding` (the validation score
        that keeps the best epoch and stops early), `train_detector` (its shared knobs and `per_model[--model]`).
Writes: --out (models/detection/<model>/fold<k>): model.pth (best weights by the competition's metric on the fold's
        validation images, with classes, model, fold and numeric environment), numerics.json (the same environment),
        params.yaml (the resolved params: what predict_detector rebuilds the model from), config.py (the resolved
        mmengine config, for mmdet's own tools; podium never executes it), validation.json (the fold's validation
        predictions, original-image pixels, no TTA); --reports (reports/detection/<model>/fold<k>): metrics.json (the
        competition's metric and score, COCO mAP, mAP@0.5, per-class AP, best epoch) and live/ (DVCLive: losses,
        competition/<metric>, coco/*, class_ap/* per epoch). --work (work/detection/<model>/fold<k>, not a DVC output:
        git- and DVC-ignored) keeps mmengine's checkpoints and its log so an interrupted run resumes when rerun with the
        same config.
"""

import sys

import pandas as pd
import yaml

from podium import devices, stage
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params, to_dict
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(
        __doc__, "params", "fold_table", "merged", "augmented", "work", "out", "reports", model=str, fold=int
    )
    p = load_stage_params(args.params, "train_detector", args.model)
    seed, cfg = p["common.seed"], p["train_detector"]
    metric = {key: p[f"competition.detection.{key}"] for key in ("metric", "iou_thr", "empty_images", "no_finding")}
    devices.hide_gpus_for_cpu(cfg.device)
    devices.pin_numerics(p["numerics"])
    stage.relaunch_with_torchrun(cfg.gpus)
    stage.init_distributed(cfg.device)
    import torch

    from podium.boxes import write_predictions
    from podium.detection.train import downscale_warning, train_fold
    from podium.metrics.detection import nan_to_none

    name = f"{args.model} fold {args.fold}"
    coco = read_json(args.merged / "train.json")
    if warning := downscale_warning(coco, cfg.image_size):
        print(f"warning: {name}: {warning}", file=sys.stderr, flush=True)
    result = train_fold(
        args.model,
        cfg,
        seed=seed,
        fold=args.fold,
        coco=coco,
        folds=pd.read_csv(args.fold_table),
        clones=read_json(args.augmented / "train.json"),
        images=args.merged / "images",
        clone_images=args.augmented / "images",
        work=args.work,
        reports=args.reports,
        metric=metric,
        where=(str(args.merged / "train.json"), str(args.augmented / "train.json")),
        progress=lambda total: bar(total=total, desc=f"{name} validation", unit="img"),
    )
    if result is None:  # not rank 0
        return
    meta = {"model": args.model, "fold": args.fold}
    numerics = devices.numeric_environment(p["numerics"], next(result.model.parameters()).device)
    with atomic_dir(args.out) as out:
        torch.save(
            {
                "state_dict": result.model.state_dict(),
                "meta": {"classes": result.classes, **meta, "numerics": numerics},
            },
            out / "model.pth",
        )
        write_json(out / "numerics.json", numerics)
        (out / "params.yaml").write_text(
            yaml.safe_dump({"common.seed": seed, "train_detector": to_dict(cfg)}, sort_keys=False)
        )
        result.config.dump(str(out / "config.py"))
        write_predictions(out / "validation.json", result.classes, result.validation, meta)
    write_json(args.reports / "metrics.json", nan_to_none(result.scores))
    print(
        f"{name}: {metric['metric']} {result.scores['score']:.4f} (best epoch {result.scores['best_epoch']}); "
        f"COCO mAP {result.scores['mAP']:.4f}, mAP@0.5 {result.scores['mAP50']:.4f}"
    )


if __name__ == "__main__":
    stage.run(main)
