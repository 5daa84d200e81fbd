"""The config builder: mmdet's own configs, resized and made runnable from params."""

import dataclasses
from pathlib import Path

import pytest

from podium.detection.config import BASE_CONFIGS, build_train_config, load_base_config
from podium.detection.hooks import online_augment
from podium.params import load_params, resolve_model
from podium.settings import DetectorTrainConfig, OnlineOp

ROOT = Path(__file__).resolve().parents[2]


def _cfg(**changes) -> DetectorTrainConfig:
    shared = load_params(ROOT / "params.yaml")["train_detector"]
    return dataclasses.replace(resolve_model(shared, "faster_rcnn", "train_detector"), **changes)


def _build(model="faster_rcnn", classes=("a", "b", "c"), **changes):
    cfg = _cfg(**changes)
    return build_train_config(
        model,
        cfg,
        classes=list(classes),
        online=online_augment(cfg.online_augment, cfg.online_min_visibility, seed=1),
        train_ann="train.json",
        val_ann="val.json",
        work_dir="work",
        reports_dir="rep",
        seed=1,
        use_cuda=False,
        distributed=False,
        metric={"metric": "wheat_precision", "iou_thr": 0.5, "empty_images": "excluded", "no_finding": ""},
        label="test",
    )


@pytest.mark.parametrize("model", sorted(BASE_CONFIGS))
def test_every_model_gets_the_class_count_widths_and_no_download(model):
    config = _build(model, neck_channels=32, base_channels=8, backbone_depth=18)
    text = config.pretty_text
    assert "torchvision://" not in text and config.model.backbone.init_cfg is None
    assert config.model.neck.in_channels == [8, 16, 32, 64] and config.model.neck.out_channels == 32
    heads = config.model.roi_head.bbox_head if "roi_head" in config.model else [config.model.bbox_head]
    for head in heads if isinstance(heads, list) else [heads]:
        assert head.num_classes == 3 and head.in_channels == 32
    assert config.train_dataloader.dataset.metainfo.classes == ("a", "b", "c")


def test_bottleneck_backbones_widen_the_neck_input():
    assert _build(backbone_depth=50, base_channels=64).model.neck.in_channels == [256, 512, 1024, 2048]


def test_two_stage_speed_knobs():
    config = _build("cascade_rcnn", proposals=50, roi_samples=64, score_thr=0.02)
    assert config.model.train_cfg.rpn_proposal.max_per_img == 50 and config.model.test_cfg.rpn.max_per_img == 50
    assert [s.sampler.num for s in config.model.train_cfg.rcnn] == [64, 64, 64]
    assert config.model.test_cfg.rcnn.score_thr == 0.02


def test_training_tricks_become_hooks_and_schedulers():
    config = _build(
        ema=True, freeze_backbone_epochs=2, patience=3, schedule="step", epochs=12, grad_clip=5.0, optimizer="sgd"
    )
    hooks = {h["type"]: h for h in config.custom_hooks}
    assert hooks["EarlyStoppingHook"]["patience"] == 3 and hooks["FreezeBackboneHook"]["epochs"] == 2
    assert "EMAHook" in hooks
    # the best epoch and early stopping follow the competition's metric, COCO's is logged beside it
    assert config.default_hooks.checkpoint.save_best == "competition/wheat_precision"
    assert hooks["EarlyStoppingHook"]["monitor"] == "competition/wheat_precision"
    assert [e["type"] for e in config.val_evaluator] == ["QuietCocoMetric", "CompetitionBoxMetric"]
    assert config.val_evaluator[1]["metric"] == "wheat_precision" and config.val_evaluator[1]["iou_thr"] == 0.5
    assert config.param_scheduler[1].milestones == [8, 11]
    assert config.optim_wrapper.clip_grad.max_norm == 5.0 and config.optim_wrapper.optimizer.type == "SGD"
    assert _build(amp=True).optim_wrapper.type == "OptimWrapper"  # AMP only on CUDA


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="valid names are"):
        load_base_config("yolo")


def test_online_augmentation_goes_into_the_train_pipeline_only():
    ops = {"rain": OnlineOp(0.3, 0.5), "hflip": OnlineOp(0.5, 0.0)}
    config = _build(online_augment=ops, online_min_visibility=0.4)
    train = [t["type"] for t in config.train_dataloader.dataset.pipeline]
    assert train == ["LoadImageFromFile", "LoadAnnotations", "Resize", "SeededAlbu", "PackDetInputs"]
    albu = config.train_dataloader.dataset.pipeline[3]
    assert [(t["type"], t["p"]) for t in albu["transforms"]] == [("RandomRain", 0.3), ("HorizontalFlip", 0.5)]
    assert albu["bbox_params"]["min_visibility"] == 0.4
    assert "SeededAlbu" not in [t["type"] for t in config.val_dataloader.dataset.pipeline]
    assert "SeededAlbu" not in [t["type"] for t in _build(online_augment={}).train_dataloader.dataset.pipeline]
