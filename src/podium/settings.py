"""The params sections as plain, typed dataclasses: the schema params.yaml is checked against, and the
configuration types library functions take. No torch import here: every stage loads this first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from podium.errors import PodiumError


class ParamsError(PodiumError, ValueError):
    """params.yaml does not match what podium expects."""


DetectorName = Literal["vfnet", "cascade_rcnn", "faster_rcnn"]  # keys of podium.detection.config.BASE_CONFIGS


@dataclass(frozen=True)
class Models:
    """The models in play. dvc.yaml's matrix trains and predicts each on every fold; tune_ensemble and submit
    combine them. Each listed model needs a `per_model` entry in its task's per-model sections."""

    detection: list[DetectorName]
    audio: list[str]  # podium baselines (podium.audio.models.BASELINES) or any timm model name


@dataclass(frozen=True)
class Common:
    seed: int
    sample_rate: int  # Hz; every clip is resampled to this rate, mono
    clip_seconds: float  # every clip is padded/cropped to this length


@dataclass(frozen=True)
class Download:
    source: Literal["synthetic", "local", "url", "kaggle"]
    local_path: str
    url: str
    sha256: str
    kaggle_competition: str
    detection_train_images: int
    detection_test_images: int
    image_size: int
    max_objects: int
    empty_fraction: float
    audio_train_per_word: int
    audio_test_per_word: int
    unseen_voice_fraction: float
    noise_clips: int


@dataclass(frozen=True)
class DetectionSource:
    name: str
    format: Literal["coco", "csv", "yolo"]
    path: str  # annotation file (coco, csv) or labels folder (yolo), relative to the external data folder
    images: str  # image folder, relative to the external data folder
    classes: dict[str, str]  # the source's class name -> the competition's class name; unlisted are bad


@dataclass(frozen=True)
class AudioSource:
    name: str
    format: Literal["folders", "csv"]
    path: str  # root folder (folders) or CSV file (csv), relative to the external data folder
    labels: dict[str, str]  # the source's label -> the competition's label; unlisted labels are skipped


@dataclass(frozen=True)
class MergeExternal:
    on_bad_sample: Literal["drop", "fail"]
    detection_sources: list[DetectionSource]
    audio_sources: list[AudioSource]


@dataclass(frozen=True)
class SplitFolds:
    folds: list[int]  # 0..K-1; a list (not K) so dvc.yaml's matrix can expand one training stage per fold
    external_train_only: bool  # external samples get fold -1: always trained on, never validated

    def __post_init__(self):
        if len(self.folds) < 2 or self.folds != list(range(len(self.folds))):
            raise ParamsError(f"split_folds.folds must be [0, 1, ..., K-1] with K >= 2, got {self.folds}")


@dataclass(frozen=True)
class AugmentOp:
    p: float  # probability that a clone gets this op
    weak: float  # strength in [0, 1] under the weak policy (podium.augment.policy says what it scales)
    strong: float  # strength under the strong policy

    def __post_init__(self):
        if not 0 <= self.p <= 1 or not 0 <= self.weak <= 1 or not 0 <= self.strong <= 1:
            raise ParamsError(f"augment op {self}: p, weak and strong must lie in [0, 1]")


@dataclass(frozen=True)
class AugmentConfig:
    detection_clones: int  # augmented copies written per training image (0 = off)
    audio_clones: int  # augmented copies written per training clip (0 = off)
    strong_fraction: float  # share of clones made with the strong policy, the rest weak
    min_visibility: float  # a box keeping less of its area inside the clone is dropped; others are clipped
    min_box_size: float  # px; boxes narrower or shorter after augmentation are dropped
    min_rms_db: float  # dBFS; an audio clone quieter than this counts as silent (a failed clone)
    retries: int  # new draws for a failed clone before it is skipped (and reported)
    workers: int  # processes; 0 = all cores
    preview: int  # samples shown in each preview grid (>= 1: the grids are declared plots)
    image_ops: dict[str, AugmentOp]  # applied in this order; names in podium.augment.policy.IMAGE_OPS
    audio_ops: dict[str, AugmentOp]  # names in podium.augment.policy.AUDIO_OP_NAMES

    def __post_init__(self):
        if self.detection_clones < 0 or self.audio_clones < 0:
            raise ParamsError("augment.detection_clones and augment.audio_clones must be >= 0")
        if not 0 <= self.strong_fraction <= 1:
            raise ParamsError(f"augment.strong_fraction must lie in [0, 1], got {self.strong_fraction}")
        if self.preview < 1:
            raise ParamsError(f"augment.preview must be >= 1 (the grids are declared plots), got {self.preview}")


@dataclass(frozen=True)
class OnlineOp:
    p: float  # probability per training sample
    strength: float  # in [0, 1], as in podium.augment.policy


@dataclass(frozen=True)
class AudioFeatureConfig:
    kind: Literal["logmel", "mfcc", "trimel"]
    n_fft: int  # samples
    hop: int  # samples between frames
    n_mels: int
    fmin: float  # Hz
    fmax: float  # Hz
    n_mfcc: int  # used by kind: mfcc
    trimel: list[list[int]]  # three [n_fft, hop] pairs, used by kind: trimel


@dataclass(frozen=True)
class AudioTrainConfig:
    epochs: int
    batch_size: int
    optimizer: Literal["adamw", "sgd"]
    lr: float  # peak learning rate
    weight_decay: float
    schedule: Literal["onecycle", "cosine", "plateau"]
    patience: int  # epochs without a better validation accuracy before stopping
    label_smoothing: float
    mixup_alpha: float  # 0 turns mixup off
    spec_time_masks: int
    spec_time_width: int  # frames
    spec_freq_masks: int
    spec_freq_width: int  # mel bins
    time_shift: float  # seconds, each way
    gain_db: float  # random gain in [-gain_db, +gain_db]
    pretrained: str  # timm weights: local path or URL; "" trains from scratch
    device: Literal["auto", "cpu", "cuda"]
    gpus: int  # processes (one per GPU; on CPU, gloo processes); >1 launches through torchrun
    num_workers: int  # DataLoader workers reading clips
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above, e.g. {resnet18: {lr: 0.001}}


@dataclass(frozen=True)
class AudioPredictConfig:
    tta_shifts: list[float]  # seconds; each clip is also scored shifted by these (0.0 = as is)
    tta_polarity: bool  # also score every view polarity-inverted
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class DetectorTrainConfig:
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
    online_augment: dict[str, OnlineOp]  # mmdet train pipeline (albumentations via Albu), in this order
    online_min_visibility: float  # online ops drop a box keeping less of its area in the image; clip the rest
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above


@dataclass(frozen=True)
class DetectorPredictConfig:
    tta_views: list[Literal["original", "hflip", "vflip"]]  # keys of podium.detection.inference.VIEWS
    tta_scales: list[float]  # multipliers of train_detector.image_size
    tta_merge: Literal["wbf", "nms"]  # how views are fused (mmdet's own TTA can only do NMS)
    tta_iou_thr: float
    batch_size: int
    device: Literal["auto", "cpu", "cuda"]
    per_model: dict[str, dict[str, Any]]  # model -> its differences from the knobs above


@dataclass(frozen=True)
class EnsembleConfig:
    box_method: Literal["wbf", "nms", "soft_nms", "nmw"]
    box_iou_thr: float
    box_skip_thr: float  # boxes below this score are ignored by the fusion
    box_conf_type: Literal["avg", "max", "box_and_model_avg", "absent_model_aware_avg"]  # WBF only
    box_score_thr: float  # fused boxes below this are dropped
    box_calibration: Literal["none", "rank"]  # per prediction set, before fusion
    box_weights: dict[str, float]  # model -> weight (missing: 1)
    vote_method: Literal["soft", "geometric", "hard"]
    vote_weights: dict[str, float]
    tune_trials: int  # Optuna trials on OOF; 0 uses the settings above as they are
    workers: int  # processes fusing boxes


@dataclass(frozen=True)
class SubmitConfig:
    empty_prediction: str  # PredictionString of an image without boxes
    max_boxes: int  # per image, highest scores first
