"""Each fix in podium.compat, shown necessary and working."""

import pickle

import numpy as np
import pytest
import torch

from podium import compat
from podium.detection.config import load_base_config, resize_model


@pytest.fixture
def mmengine_checkpoint(tmp_path):
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance("compat-test")
    hub.update_scalar("train/loss", 0.5)
    hub.update_scalar("coco/bbox_mAP", np.float64(0.25))
    path = tmp_path / "epoch_1.pth"
    torch.save(
        {
            "meta": {"epoch": 1, "hook_msgs": {"best_score": np.float64(0.25)}},
            "state_dict": {"w": torch.ones(2)},
            "message_hub": hub.state_dict(),
        },
        path,
    )
    return path


def test_torch_refuses_mmengine_checkpoints_by_default(mmengine_checkpoint):
    with pytest.raises(pickle.UnpicklingError, match="HistoryBuffer|numpy"):
        torch.load(mmengine_checkpoint)


def test_mmengine_loads_its_own_checkpoints_after_apply(mmengine_checkpoint):
    from mmengine.runner.checkpoint import _load_checkpoint

    from podium.weights import WeightsError

    compat.apply()
    compat.apply()  # idempotent
    with pytest.raises(WeightsError, match="holds more than weights"):  # not trusted: weights-only, refused
        _load_checkpoint(str(mmengine_checkpoint), map_location="cpu")
    compat.trust(mmengine_checkpoint.parent)  # what run_training does for its own work folder
    checkpoint = _load_checkpoint(str(mmengine_checkpoint), map_location="cpu")
    assert checkpoint["meta"]["hook_msgs"]["best_score"] == 0.25
    assert checkpoint["message_hub"]["log_scalars"]["train/loss"].current() == 0.5


def test_missing_local_checkpoint_names_the_file(tmp_path):
    compat.apply()
    with pytest.raises(FileNotFoundError, match="nope.pth: checkpoint not found"):
        compat.load_local_checkpoint(str(tmp_path / "nope.pth"))


def test_resized_configs_never_download_backbone_weights():
    cfg = load_base_config("faster_rcnn")
    assert cfg.model.backbone.init_cfg.checkpoint == "torchvision://resnet50"  # what mmdet would fetch
    resized = resize_model(cfg.model, num_classes=2, depth=18, base_channels=8, neck_channels=16, frozen_stages=-1)
    assert resized.backbone.init_cfg is None
    assert cfg.model.backbone.init_cfg is not None  # the base config is not modified
