"""mmengine hooks podium adds to mmdet's training (registered in mmengine's own HOOKS registry)."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


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
