"""The LR range test of one detector, run by mmengine on the very model, data pipeline and optimizer training
builds (`podium.detection.config.build_train_config`), through a hook: only the loop (a fixed number of
iterations), the LR (set by the hook each iteration; no schedule, no warm-up) and the bookkeeping (no
validation, checkpoints or early stopping) differ from training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from podium.coverage import check_clone_folds
from podium.detection import config as det_config
from podium.detection.hooks import online_augment
from podium.detection.train import add_clones, run_training, split_annotations, with_image_paths, write_fold_files
from podium.lr_range import LrRange


@HOOKS.register_module()
class LrRangeHook(Hook):
    """Sets every parameter group's LR to lrs[i] before iteration i (groups keep their ratios to the first),
    records the iteration's total loss into an `LrRange`, stops the loop once it says the loss diverged, and
    writes what it recorded to `out` (JSON: lrs, losses) when training ends."""

    priority = "VERY_HIGH"  # before the optimizer step of the same iteration sees the LR

    def __init__(self, lrs: list[float], smoothing: float, diverge: float, out: str):
        self.lrs, self.out = list(lrs), out
        self.tracker = LrRange(smoothing, diverge)
        self.ratios: list[float] = []

    def before_train(self, runner) -> None:
        groups = runner.optim_wrapper.optimizer.param_groups
        self.ratios = [g["lr"] / groups[0]["lr"] if groups[0]["lr"] else 1.0 for g in groups]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for group, ratio in zip(runner.optim_wrapper.optimizer.param_groups, self.ratios, strict=True):
            group["lr"] = self.lrs[batch_idx] * ratio

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.tracker.record(self.lrs[batch_idx], _value(outputs["loss"])):
            runner.train_loop.stop_training = True

    def after_train(self, runner) -> None:
        Path(self.out).write_text(json.dumps({"lrs": self.tracker.lrs, "losses": self.tracker.losses}))


def lr_range_test(
    model_name: str,
    cfg,
    *,
    seed: int,
    fold: int,
    coco: dict,
    folds: pd.DataFrame,
    clones: dict,
    images: Path,
    clone_images: Path,
    work: Path,
    lrs: list[float],
    smoothing: float,
    diverge: float,
) -> LrRange:
    """The LR range test of `model_name` (a DetectorTrainConfig `cfg`) on `fold`'s training split (originals
    plus the clones it may train on, as `podium.detection.train.train_fold` builds it), one iteration per LR in
    `lrs`, in the scratch folder `work` (emptied first)."""
    import shutil

    import torch

    train, val = split_annotations(coco, folds, fold)
    check_clone_folds(clones["images"], dict(zip(folds.file_name, folds.fold, strict=True)), "file_name", "clones")
    train = with_image_paths(add_clones(train, clones, fold), images, clone_images)
    shutil.rmtree(work, ignore_errors=True)
    train_ann, val_ann = write_fold_files(train, with_image_paths(val, images), work / "data")
    config = det_config.build_train_config(
        model_name,
        cfg,
        classes=[c["name"] for c in coco["categories"]],
        online=online_augment(cfg.online_augment, cfg.online_min_visibility, seed),
        train_ann=str(train_ann),
        val_ann=str(val_ann),
        work_dir=str(work),
        reports_dir=str(work / "live"),
        seed=seed,
        use_cuda=torch.cuda.is_available(),
        distributed=False,
        metric=None,  # no validation
        label=f"{model_name} LR range test",
    )
    out = work / "lr_range.json"
    config.train_cfg = dict(type="IterBasedTrainLoop", max_iters=len(lrs))
    config.train_dataloader.sampler = dict(type="InfiniteSampler", shuffle=True)  # steps may outnumber one epoch
    config.param_scheduler = None
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg", "test_evaluator"):
        config[key] = None
    config.default_hooks.checkpoint = None
    config.custom_hooks = [h for h in config.custom_hooks if h["type"] != "EarlyStoppingHook"] + [
        dict(type="LrRangeHook", lrs=lrs, smoothing=smoothing, diverge=diverge, out=str(out))
    ]
    config.visualizer.vis_backends = []
    config.log_processor = dict(type="LogProcessor", window_size=10, by_epoch=False)
    run_training(config, resume=False)
    recorded = json.loads(out.read_text())
    tracker = LrRange(smoothing, diverge)
    for lr, loss in zip(recorded["lrs"], recorded["losses"], strict=True):
        tracker.record(lr, loss)
    return tracker


def _value(loss) -> float:
    """A logged loss as a float (mmengine logs tensors or floats)."""
    return float(loss.detach()) if hasattr(loss, "detach") else float(loss)
