"""What podium adds to mmdet's training, registered in mmdet's own registries: a hook and a transform."""

from __future__ import annotations

import numpy as np
from mmdet.datasets.transforms import Albu
from mmdet.registry import TRANSFORMS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@TRANSFORMS.register_module()
class SeededAlbu(Albu):
    """mmdet's `Albu`, with the albumentations pipeline seeded from numpy's generator when built. albumentations
    2 seeds each Compose from OS entropy otherwise, so training with the same `common.seed` would differ run to
    run; mmengine seeds numpy (per dataloader worker too) before the pipeline is built."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.aug.set_random_seed(int(np.random.randint(2**31)))


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
