"""The detection side's params section, as a plain dataclass (no torch import: params.py loads it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class DetectorTrainConfig:
    models: list[str]  # podium names (vfnet, cascade_rcnn, faster_rcnn); dvc.yaml's matrix: models x folds
    image_size: int  # px: images are resized (aspect kept) to fit this square
    backbone_depth: int  # ResNet depth: 18, 34, 50, 101
    base_channels: int  # ResNet stem width (64 in the standard ResNet)
    neck_channels: int  # FPN width (256 standard); heads are resized to match
    frozen_stages: int  # ResNet stages frozen for the whole run (-1: none)
    freeze_backbone_epochs: int  # two-phase training: the whole backbone frozen for the first N epochs
    epochs: int  # 0 evaluates the untrained model (a baseline)
    batch_size: int  # per process
    optimizer: Literal["sgd", "adamw"]
    lr: float
    weight_decay: float
    schedule: Literal["step", "cosine", "onecycle"]
    warmup_iters: int  # linear warm-up iterations (step and cosine)
    amp: bool  # mixed precision (CUDA only; ignored on CPU)
    ema: bool  # exponential moving average of the weights, validated and saved instead of the raw ones
    grad_clip: float  # max gradient norm; 0 = off
    patience: int  # epochs without a better validation mAP before stopping
    proposals: int  # RPN proposals per image kept for the RoI heads (two-stage models)
    roi_samples: int  # RoIs sampled per image for each R-CNN stage's loss (mmdet's default: 512)
    score_thr: float  # predictions above this score are kept (validation, OOF, test)
    max_per_img: int  # predictions kept per image
    load_from: str  # checkpoint path or URL (e.g. COCO-pretrained); "" trains from scratch
    device: Literal["auto", "cpu", "cuda"]
    gpus: int  # processes (one per GPU; on CPU, gloo processes); >1 runs under torchrun
    num_workers: int  # DataLoader workers
    per_model: dict[str, dict[str, Any]]  # per-model differences from the knobs above


@dataclass(frozen=True)
class DetectorPredictConfig:
    tta_views: list[Literal["original", "hflip", "vflip"]]
    tta_scales: list[float]  # multipliers of train_detector.image_size
    tta_merge: Literal["wbf", "nms"]  # how views are fused (mmdet's own TTA can only do NMS)
    tta_iou_thr: float
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]
