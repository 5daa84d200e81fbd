"""What podium adds to mmdet's training, registered in mmdet's own registries (hooks, a transform, the
competition's metric beside a quieter COCO one), the train pipeline steps for the online augmentation, and the
quiet console (mmengine's log goes to its file; podium prints one line per epoch)."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
import zlib

import numpy as np
from mmdet.datasets.transforms import Albu
from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS, TRANSFORMS
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS, VISBACKENDS
from mmengine.visualization import DVCLiveVisBackend

from podium.augment.policy import image_op
from podium.boxes import ImagePredictions
from podium.files import read_json
from podium.metrics.competition import box_metric


@TRANSFORMS.register_module()
class SeededAlbu(Albu):
    """mmdet's `Albu` whose draws are a function of (seed, epoch, image): the same for a resumed run as for an
    uninterrupted one, whatever the worker count. (albumentations 2 seeds each Compose from OS entropy otherwise,
    and a generator seeded once restarts from its first draw when a run resumes.) `AugmentEpochHook` tells it
    the epoch."""

    def __init__(self, *args, seed: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.seed, self.epoch = seed, 0

    def transform(self, results: dict) -> dict:
        path = str(results.get("img_path", results.get("img_id", "")))
        sample_seed = np.random.SeedSequence([self.seed, self.epoch, zlib.crc32(path.encode())]).generate_state(1)[0]
        self.aug.set_random_seed(int(sample_seed))
        return super().transform(results)


@HOOKS.register_module()
class AugmentEpochHook(Hook):
    """Before each training epoch, hands the epoch to the train pipeline's `SeededAlbu` (the dataloader's
    workers are started per epoch, so they see it)."""

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        for step in getattr(runner.train_dataloader.dataset.pipeline, "transforms", []):
            if isinstance(step, SeededAlbu):
                step.epoch = runner.epoch


@HOOKS.register_module()
class FreezeBackboneHook(Hook):
    """Two-phase training: the backbone is frozen (no gradients, batch-norm statistics fixed) for the first
    `epochs` epochs while the neck and heads learn, then unfrozen for the rest of training."""

    priority = "NORMAL"

    def __init__(self, epochs: int):
        self.epochs = epochs

    @staticmethod
    def _backbone(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return model.backbone

    def before_train_epoch(self, runner) -> None:
        frozen = runner.epoch < self.epochs
        backbone = self._backbone(runner)
        for param in backbone.parameters():
            param.requires_grad_(not frozen)
        if frozen:
            backbone.eval()  # keep batch-norm running statistics fixed too
        if runner.epoch == self.epochs and self.epochs > 0:
            backbone.train()
            # the stages ResNet keeps frozen for the whole run stay frozen
            if hasattr(backbone, "_freeze_stages"):
                backbone._freeze_stages()
            runner.logger.info(f"epoch {runner.epoch}: backbone unfrozen")


def online_augment(ops: dict, min_visibility: float, seed: int) -> list[dict]:
    """mmdet pipeline steps for the online image augmentations `ops` ({name: OnlineOp}), applied in order
    after resizing, through mmdet's `Albu` wrapper (`SeededAlbu`: draws from (seed, epoch, image)) with podium's
    op definitions (podium.augment.policy), so boxes move with the image: clipped to it, dropped when less than
    `min_visibility` of a box remains."""
    if not ops:
        return []
    return [
        dict(
            type="SeededAlbu",
            seed=seed,
            transforms=[image_op(name, op.strength, op.p) for name, op in ops.items()],
            bbox_params=dict(
                type="BboxParams",
                format="pascal_voc",
                min_visibility=min_visibility,
                clip=True,
                label_fields=["gt_bboxes_labels", "gt_ignore_flags"],
                filter_lost_elements=True,
            ),
            keymap=dict(img="image", gt_bboxes="bboxes"),
            skip_img_without_anno=False,
        )
    ]


@METRICS.register_module()
class QuietCocoMetric(CocoMetric):
    """mmdet's `CocoMetric`, whose per-epoch COCO summary (printed by pycocotools) and per-class table go to the
    training log file in the work folder, not the console. Its class-wise APs are logged as `class_ap/<class>`
    (mmdet calls them `coco/<class>_precision`, which for Global Wheat's one class reads exactly like the
    competition's `wheat_precision` and is not it)."""

    def __init__(self, *args, **kwargs):
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' "loading annotations into memory..."
            super().__init__(*args, **kwargs)

    def compute_metrics(self, results: list) -> dict:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            metrics = super().compute_metrics(results)
        if printed.getvalue().strip():
            MMLogger.get_current_instance().info("\n" + printed.getvalue().rstrip())
        return metrics

    def evaluate(self, size: int) -> dict:
        classwise = {f"{self.prefix}/{name}_precision": f"class_ap/{name}" for name in self.dataset_meta["classes"]}
        return {classwise.get(key, key): value for key, value in super().evaluate(size).items()}


@METRICS.register_module()
class CompetitionBoxMetric(BaseMetric):
    """The competition's own metric (podium.metrics.competition.box_metric: the one CV, tuning and the local
    leaderboard use) on the validation loop's predictions, logged as `competition/<metric>`: it keeps the best
    epoch and drives early stopping, so training aims at the leaderboard it is for. `ann_file`: the validation
    COCO file, images matched by the path the loop loads them from."""

    default_prefix = "competition"

    def __init__(self, ann_file: str, metric: str, iou_thr: float, empty_images: str, no_finding: str, **kwargs):
        super().__init__(**kwargs)
        truth = read_json(ann_file)
        classes = [c["name"] for c in truth["categories"]]
        self.metric = metric
        self.score = box_metric(
            metric, truth, classes, iou_thr=iou_thr, empty_images=empty_images, no_finding=no_finding
        )

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            pred = sample["pred_instances"]  # boxes x1,y1,x2,y2 in original-image pixels (mmdet rescales)
            height, width = sample["ori_shape"]
            self.results.append(
                ImagePredictions(
                    sample["img_path"],
                    width,
                    height,
                    pred["bboxes"].cpu().numpy(),
                    pred["scores"].cpu().numpy(),
                    pred["labels"].cpu().numpy(),
                )
            )

    def compute_metrics(self, results: list) -> dict:
        return {self.metric: self.score(results)}


@VISBACKENDS.register_module()
class TimelessDVCLiveVisBackend(DVCLiveVisBackend):
    """mmengine's DVCLive backend without its per-iteration timings (`time`, `data_time`: other seconds on
    every run), so the same training rewrites the same report bytes; the timings stay in mmengine's log."""

    TIMINGS = ("time", "data_time")

    def add_scalar(self, name: str, value, step: int = 0, **kwargs) -> None:  # add_scalars calls it per key
        if name not in self.TIMINGS:
            super().add_scalar(name, value, step, **kwargs)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


@HOOKS.register_module()
class ProgressHook(Hook):
    """podium's console lines for one training run (rank 0): where the full log is, then one line per epoch
    (mean training loss, the monitored validation score, the best so far, COCO mAP beside it, time per epoch
    and the time left), then the epoch kept. Plain lines, alike in a terminal and in a log file."""

    priority = "VERY_LOW"  # after the checkpoint and early-stopping hooks have seen the epoch's metrics

    def __init__(self, label: str, monitor: str):
        self.label, self.monitor = label, monitor
        self.best: tuple[float, int] | None = None
        self.losses: list[float] = []

    def _say(self, runner, text: str) -> None:
        if runner.rank == 0:
            print(f"{self.label}: {text}", flush=True)

    def before_train(self, runner) -> None:
        self.started, self.first_epoch = time.monotonic(), runner.epoch
        resumed = f", resumed after epoch {runner.epoch}" if runner.epoch else ""
        self._say(
            runner,
            f"training {runner.max_epochs} epochs of {len(runner.train_dataloader)} iterations{resumed}; "
            f"best epoch by {self.monitor}; mmengine's log: {runner.logger.log_file}",
        )

    def before_train_epoch(self, runner) -> None:
        self.losses = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if outputs and "loss" in outputs:
            loss = outputs["loss"]
            self.losses.append(float(loss.detach()) if hasattr(loss, "detach") else float(loss))

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not metrics or self.monitor not in metrics:
            return
        score, epoch = float(metrics[self.monitor]), runner.epoch
        if self.best is None or score > self.best[0]:
            self.best = (score, epoch)
        per_epoch = (time.monotonic() - self.started) / max(epoch - self.first_epoch, 1)
        loss = f"loss {sum(self.losses) / len(self.losses):.4f}, " if self.losses else ""
        coco = f", COCO mAP {metrics['coco/bbox_mAP']:.4f}" if "coco/bbox_mAP" in metrics else ""
        self._say(
            runner,
            f"epoch {epoch}/{runner.max_epochs}: {loss}{self.monitor} {score:.4f} "
            f"(best {self.best[0]:.4f}, epoch {self.best[1]}){coco}; {_minutes(per_epoch)}/epoch, "
            f"{_minutes(per_epoch * (runner.max_epochs - epoch))} left",
        )

    def after_train(self, runner) -> None:
        if self.best is not None:
            early = f"; stopped early after epoch {runner.epoch}" if runner.epoch < runner.max_epochs else ""
            self._say(runner, f"keeps epoch {self.best[1]} ({self.monitor} {self.best[0]:.4f}){early}")


def _console_worthy(record: logging.LogRecord) -> bool:
    """One-line records that are not mmengine's notices of its own API deprecations (FileClient...)."""
    message = record.getMessage()
    return "\n" not in message and "will be deprecated" not in message


def quiet_console(logger: logging.Logger) -> None:
    """mmengine's console handler shows warnings and errors only, one line each (tables, config dumps, its own
    deprecation notices and the per-iteration INFO lines stay in the log file); it writes to this process's
    stdout."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stdout)
            handler.setLevel(logging.WARNING)
            handler.addFilter(_console_worthy)
