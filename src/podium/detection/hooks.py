"""What podium adds to mmdet's training, registered in mmdet's own registries (a hook, a transform, a quieter
COCO metric), the train pipeline steps for the online augmentation, and the console filter for the logs."""

from __future__ import annotations

import contextlib
import io
import logging
import zlib

import numpy as np
from mmdet.datasets.transforms import Albu
from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS, TRANSFORMS
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from podium.augment.policy import image_op


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
    training log file in the work folder, not the console: `make repro`'s output keeps one line per epoch."""

    def compute_metrics(self, results: list) -> dict:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            metrics = super().compute_metrics(results)
        if printed.getvalue().strip():
            MMLogger.get_current_instance().info("\n" + printed.getvalue().rstrip())
        return metrics


def _single_line(record: logging.LogRecord) -> bool:
    return "\n" not in record.getMessage()


def keep_tables_out_of_the_console(logger: logging.Logger) -> None:
    """Multi-line records (COCO tables, config dumps) go to the log file only, not to the console handler."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.addFilter(_single_line)
